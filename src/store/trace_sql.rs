//! SQL of the trace store, one constant per statement with its bound
//! parameters listed. Batch statements read the batch from one JSON
//! parameter with `json_each`, so their cost does not grow with the number of
//! bound values (D1 allows 100 per statement).

/// Inserts span rows, ignoring ones already stored (retries), and returns the new keys.
/// - ?1: JSON array of span rows (`ingest::span_rows`)
/// - ?2: ingestion time, unix ms
pub const INSERT_SPANS: &str = r#"
INSERT INTO spans (trace_id, span_id, parent_span_id, service_name, name, kind, start_ns, end_ns,
  start_ms, duration_ms, status_code, status_message, callee, attributes, events, links, resource,
  scope_name, scope_version, trace_state, flags, dropped_attributes_count, dropped_events_count,
  dropped_links_count, ingested_at_ms)
SELECT r.value ->> 'traceId', r.value ->> 'spanId', r.value ->> 'parentSpanId', r.value ->> 'service',
  r.value ->> 'name', r.value ->> 'kind', r.value ->> 'startNs', r.value ->> 'endNs',
  r.value ->> 'startMs', r.value ->> 'durationMs', r.value ->> 'statusCode', r.value ->> 'statusMessage',
  r.value ->> 'callee', r.value -> 'attributes', r.value -> 'events', r.value -> 'links', r.value -> 'resource',
  r.value ->> 'scopeName', r.value ->> 'scopeVersion', r.value ->> 'traceState', r.value ->> 'flags',
  r.value ->> 'droppedAttributesCount', r.value ->> 'droppedEventsCount', r.value ->> 'droppedLinksCount', ?2
FROM json_each(?1) AS r WHERE true
ON CONFLICT (trace_id, span_id) DO NOTHING
RETURNING trace_id, span_id"#;

/// Registers services or widens their first/last seen; version and environment follow the latest sighting.
/// - ?1: JSON array of service sightings
pub const UPSERT_SERVICES: &str = r#"
INSERT INTO services (id, name, version, environment, first_seen_ms, last_seen_ms)
SELECT s.value ->> 'name', s.value ->> 'name', s.value ->> 'version', s.value ->> 'environment',
  s.value ->> 'firstSeenMs', s.value ->> 'lastSeenMs'
FROM json_each(?1) AS s WHERE true
ON CONFLICT (id) DO UPDATE SET
  version = CASE WHEN excluded.last_seen_ms >= services.last_seen_ms
    THEN coalesce(excluded.version, services.version) ELSE services.version END,
  environment = CASE WHEN excluded.last_seen_ms >= services.last_seen_ms
    THEN coalesce(excluded.environment, services.environment) ELSE services.environment END,
  first_seen_ms = min(services.first_seen_ms, excluded.first_seen_ms),
  last_seen_ms = max(services.last_seen_ms, excluded.last_seen_ms)"#;

/// Calls to uninstrumented callees: client/producer spans of the batch that
/// name a callee and have no child span in another service.
/// - ?1: JSON array of `[traceId, spanId]` of the batch
pub const INSERT_PEER_CALLS: &str = r#"
INSERT OR IGNORE INTO dependency_calls (trace_id, span_id, via, caller, callee, time_ms, duration_ms, is_error)
SELECT s.trace_id, s.span_id, 'peer', s.service_name, s.callee, s.start_ms, s.duration_ms, s.status_code = 2
FROM json_each(?1) AS b
JOIN spans AS s ON s.trace_id = b.value ->> 0 AND s.span_id = b.value ->> 1
WHERE s.callee IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM spans AS c
    WHERE c.trace_id = s.trace_id AND c.parent_span_id = s.span_id AND c.service_name <> s.service_name)"#;

/// Drops peer calls of traces in the batch whose callee has since shown up instrumented
/// (its child span arrived): the child call below replaces them.
/// - ?1: JSON array of `[traceId, spanId]` of the batch
pub const DELETE_SUPERSEDED_PEER_CALLS: &str = r#"
DELETE FROM dependency_calls
WHERE via = 'peer'
  AND trace_id IN (SELECT DISTINCT b.value ->> 0 FROM json_each(?1) AS b)
  AND EXISTS (SELECT 1 FROM spans AS c
    WHERE c.trace_id = dependency_calls.trace_id AND c.parent_span_id = dependency_calls.span_id
      AND c.service_name <> dependency_calls.caller)"#;

/// Calls between instrumented services: parent → child span pairs that cross
/// services where either side is in the batch (so arrival order does not matter).
/// - ?1: JSON array of `[traceId, spanId]` of the batch
pub const INSERT_CHILD_CALLS: &str = r#"
INSERT OR IGNORE INTO dependency_calls (trace_id, span_id, via, caller, callee, time_ms, duration_ms, is_error)
SELECT c.trace_id, c.span_id, 'child', p.service_name, c.service_name, c.start_ms, c.duration_ms, c.status_code = 2
FROM json_each(?1) AS b
JOIN spans AS c ON c.trace_id = b.value ->> 0 AND c.span_id = b.value ->> 1
JOIN spans AS p ON p.trace_id = c.trace_id AND p.span_id = c.parent_span_id
WHERE p.service_name <> c.service_name
UNION
SELECT c.trace_id, c.span_id, 'child', p.service_name, c.service_name, c.start_ms, c.duration_ms, c.status_code = 2
FROM json_each(?1) AS b
JOIN spans AS p ON p.trace_id = b.value ->> 0 AND p.span_id = b.value ->> 1
JOIN spans AS c ON c.trace_id = p.trace_id AND c.parent_span_id = p.span_id
WHERE p.service_name <> c.service_name"#;

/// Recomputes the metadata of every trace in the batch from all its stored
/// spans. The root is the parentless span, else the earliest span whose parent
/// is missing, else the earliest span.
/// - ?1: JSON array of `[traceId, spanId]` of the batch
pub const UPSERT_TRACE_METADATA: &str = r#"
INSERT INTO trace_metadata (trace_id, root_span_id, root_service, root_operation, has_root,
  start_ns, end_ns, start_ms, duration_ms, span_count, error_count, services)
SELECT a.trace_id, r.span_id, r.service_name, r.name, r.parent_span_id = '',
  a.start_ns, a.end_ns, a.start_ms,
  max(0, CAST(a.end_ns AS INTEGER) - CAST(a.start_ns AS INTEGER)) / 1e6,
  a.span_count, a.error_count, a.services
FROM (
  SELECT s.trace_id, min(s.start_ns) AS start_ns, max(s.end_ns) AS end_ns, min(s.start_ms) AS start_ms,
    count(*) AS span_count, sum(s.status_code = 2) AS error_count,
    json_group_array(DISTINCT s.service_name) AS services
  FROM spans AS s
  WHERE s.trace_id IN (SELECT DISTINCT b.value ->> 0 FROM json_each(?1) AS b)
  GROUP BY s.trace_id
) AS a
JOIN spans AS r ON r.trace_id = a.trace_id AND r.span_id = (
  SELECT x.span_id FROM spans AS x WHERE x.trace_id = a.trace_id
  ORDER BY x.parent_span_id <> '',
    EXISTS (SELECT 1 FROM spans AS y WHERE y.trace_id = x.trace_id AND y.span_id = x.parent_span_id),
    x.start_ns, x.span_id
  LIMIT 1)
WHERE true
ON CONFLICT (trace_id) DO UPDATE SET
  root_span_id = excluded.root_span_id, root_service = excluded.root_service,
  root_operation = excluded.root_operation, has_root = excluded.has_root,
  start_ns = excluded.start_ns, end_ns = excluded.end_ns, start_ms = excluded.start_ms,
  duration_ms = excluded.duration_ms, span_count = excluded.span_count,
  error_count = excluded.error_count, services = excluded.services"#;

/// - ?1: trace id
pub const SELECT_TRACE: &str = r#"
SELECT trace_id, root_span_id, root_service, root_operation, has_root, start_ns, end_ns,
  duration_ms, span_count, error_count, services
FROM trace_metadata WHERE trace_id = ?1"#;

/// - ?1: trace id
pub const SELECT_TRACE_SPANS: &str = r#"
SELECT trace_id, span_id, parent_span_id, service_name, name, kind, start_ns, end_ns, duration_ms,
  status_code, status_message, attributes, events, links, resource, scope_name, scope_version,
  trace_state, flags, dropped_attributes_count, dropped_events_count, dropped_links_count
FROM spans WHERE trace_id = ?1 ORDER BY start_ns, span_id"#;

/// Head of the trace search; the store appends one fixed condition per filter.
pub const SEARCH_TRACES_HEAD: &str = r#"
SELECT t.trace_id, t.root_span_id, t.root_service, t.root_operation, t.has_root, t.start_ns, t.end_ns,
  t.duration_ms, t.span_count, t.error_count, t.services
FROM trace_metadata AS t WHERE 1 = 1"#;
pub const SEARCH_START: &str = " AND t.start_ms >= ?";
pub const SEARCH_END: &str = " AND t.start_ms <= ?";
pub const SEARCH_MIN_DURATION: &str = " AND t.duration_ms >= ?";
pub const SEARCH_MAX_DURATION: &str = " AND t.duration_ms <= ?";
pub const SEARCH_ERRORS: &str = " AND t.error_count > 0";
pub const SEARCH_NO_ERRORS: &str = " AND t.error_count = 0";
/// - ?: service name
pub const SEARCH_SERVICE: &str =
    " AND EXISTS (SELECT 1 FROM spans AS s WHERE s.trace_id = t.trace_id AND s.service_name = ?)";
/// - ?: operation substring (case-insensitive)
pub const SEARCH_OPERATION: &str =
    " AND EXISTS (SELECT 1 FROM spans AS s WHERE s.trace_id = t.trace_id AND instr(lower(s.name), lower(?)) > 0)";
/// - ?: JSON path, ?: JSON string form, ?: JSON scalar form, then the same three for the resource
pub const SEARCH_ATTRIBUTE: &str = " AND EXISTS (SELECT 1 FROM spans AS s WHERE s.trace_id = t.trace_id \
    AND (s.attributes -> ? IN (?, ?) OR s.resource -> ? IN (?, ?)))";
/// - ?: limit
pub const SEARCH_TAIL: &str = " ORDER BY t.start_ms DESC, t.trace_id LIMIT ?";

/// Health check: D1 answers.
pub const PING: &str = "SELECT 1 AS ok";

/// Deletes up to ?2 spans that started before ?1 (unix ms).
pub const PRUNE_SPANS: &str = r#"
DELETE FROM spans WHERE (trace_id, span_id) IN
  (SELECT trace_id, span_id FROM spans WHERE start_ms < ?1 ORDER BY start_ms LIMIT ?2)"#;

/// Deletes up to ?2 trace metadata rows of traces that started before ?1.
pub const PRUNE_TRACE_METADATA: &str = r#"
DELETE FROM trace_metadata WHERE trace_id IN
  (SELECT trace_id FROM trace_metadata WHERE start_ms < ?1 ORDER BY start_ms LIMIT ?2)"#;

/// Deletes up to ?2 dependency calls made before ?1; the triggers take them
/// out of `service_dependencies`, which so counts calls within retention.
pub const PRUNE_DEPENDENCY_CALLS: &str = r#"
DELETE FROM dependency_calls WHERE (trace_id, span_id, via) IN
  (SELECT trace_id, span_id, via FROM dependency_calls WHERE time_ms < ?1 ORDER BY time_ms LIMIT ?2)"#;
