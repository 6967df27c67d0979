//! SQL of the D1-only span table (read until its rows age out), one
//! constant per statement with its bound parameters listed.

/// - ?1: trace id
pub const SELECT_TRACE: &str = r#"
SELECT trace_id, root_span_id, root_service, root_operation, has_root, start_ns, end_ns,
  duration_ms, span_count, error_count, services
FROM trace_summaries WHERE trace_id = ?1"#;

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
FROM trace_summaries AS t WHERE 1 = 1"#;
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
/// - ?: operation name, ?: service name
pub const SEARCH_EXACT_OPERATION: &str =
    " AND EXISTS (SELECT 1 FROM spans AS s WHERE s.trace_id = t.trace_id AND s.name = ? AND s.service_name = ?)";
/// - ?: JSON path, ?: JSON string form, ?: JSON scalar form, then the same three for the resource
pub const SEARCH_ATTRIBUTE: &str = " AND EXISTS (SELECT 1 FROM spans AS s WHERE s.trace_id = t.trace_id \
    AND (s.attributes -> ? IN (?, ?) OR s.resource -> ? IN (?, ?)))";
/// - ?: limit
pub const SEARCH_TAIL: &str = " ORDER BY t.start_ms DESC, t.trace_id LIMIT ?";

/// Spans of several traces, for Jaeger search results.
/// - ?1: JSON array of trace ids
pub const SELECT_SPANS_OF_TRACES: &str = r#"
SELECT trace_id, span_id, parent_span_id, service_name, name, kind, start_ns, end_ns, duration_ms,
  status_code, status_message, attributes, events, links, resource, scope_name, scope_version,
  trace_state, flags, dropped_attributes_count, dropped_events_count, dropped_links_count
FROM spans WHERE trace_id IN (SELECT value FROM json_each(?1)) ORDER BY trace_id, start_ns, span_id"#;

/// Operations of a service, for Jaeger.
/// - ?1: service name
pub const SELECT_OPERATIONS: &str =
    "SELECT name, kind FROM span_operations WHERE service_name = ?1 ORDER BY name, kind";

/// Retention works trace by trace: the oldest traces (by start) go with all
/// their spans and dependency calls. Run in this order (metadata last, as the
/// other two select through it).
/// - ?1: cutoff, unix ms; ?2: traces per chunk
pub const PRUNE_SPANS: &str = r#"
DELETE FROM spans WHERE trace_id IN
  (SELECT trace_id FROM trace_metadata WHERE start_ms < ?1 ORDER BY start_ms LIMIT ?2)"#;

/// Dependency calls of the same traces; the triggers take them out of
/// `service_dependencies`, which so counts calls within retention.
/// - ?1: cutoff, unix ms; ?2: traces per chunk
pub const PRUNE_DEPENDENCY_CALLS: &str = r#"
DELETE FROM dependency_calls WHERE trace_id IN
  (SELECT trace_id FROM trace_metadata WHERE start_ms < ?1 ORDER BY start_ms LIMIT ?2)"#;

/// - ?1: cutoff, unix ms; ?2: traces per chunk
pub const PRUNE_TRACE_METADATA: &str = r#"
DELETE FROM trace_metadata WHERE trace_id IN
  (SELECT trace_id FROM trace_metadata WHERE start_ms < ?1 ORDER BY start_ms LIMIT ?2)"#;

/// How many log records carry the trace id.
/// - ?1: trace id
pub const COUNT_TRACE_LOGS: &str = "SELECT count(*) AS n FROM logs WHERE trace_id = ?1 AND trace_id <> ''";
