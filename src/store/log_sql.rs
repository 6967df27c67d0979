//! SQL of the log store.

/// Inserts log rows, ignoring ones already stored (retries), and returns the
/// keys of the new ones. Records without any time are filed at ingestion.
/// - ?1: JSON array of log rows (`ingest::log_rows`)
/// - ?2: ingestion time, unix ms; ?3: ingestion time, 20-digit nanosecond text
pub const INSERT_LOGS: &str = r#"
INSERT INTO logs (record_key, service_name, time_ns, observed_ns, severity_number, severity_text, body, attributes,
  resource, scope_name, scope_version, trace_id, span_id, flags, dropped_attributes_count, event_name, ingested_at_ms)
SELECT r.value ->> 'key', r.value ->> 'service',
  CASE WHEN r.value ->> 'timeNs' = '00000000000000000000' THEN ?3 ELSE r.value ->> 'timeNs' END,
  r.value ->> 'observedNs', r.value ->> 'severityNumber', r.value ->> 'severityText', r.value -> 'body',
  r.value -> 'attributes', r.value -> 'resource', r.value ->> 'scopeName', r.value ->> 'scopeVersion',
  r.value ->> 'traceId', r.value ->> 'spanId', r.value ->> 'flags', r.value ->> 'droppedAttributesCount',
  r.value ->> 'eventName', ?2
FROM json_each(?1) AS r WHERE true
ON CONFLICT (record_key) DO NOTHING
RETURNING record_key"#;

/// The head of a log search; filters are appended, then `SEARCH_TAIL`.
pub const SEARCH_HEAD: &str = "SELECT id, service_name, time_ns, observed_ns, severity_number, severity_text, body, \
    attributes, resource, scope_name, scope_version, trace_id, span_id, flags, event_name FROM logs WHERE true";
/// - service
pub const SEARCH_SERVICE: &str = " AND service_name = ?";
/// - trace id (hex); the repeated `<> ''` lets SQLite use the partial index `logs_by_trace`.
pub const SEARCH_TRACE: &str = " AND trace_id = ? AND trace_id <> ''";
/// - span id (hex)
pub const SEARCH_SPAN: &str = " AND span_id = ?";
/// - minimum severity number
pub const SEARCH_SEVERITY: &str = " AND severity_number >= ?";
/// Case-insensitive substring of the body (a string body's text, else its JSON).
/// - text
pub const SEARCH_TEXT: &str =
    " AND instr(lower(CASE json_type(body) WHEN 'text' THEN body ->> '$' ELSE body END), lower(?)) > 0";
/// - start, nanosecond text (inclusive)
pub const SEARCH_START: &str = " AND time_ns >= ?";
/// - end, nanosecond text (exclusive)
pub const SEARCH_END: &str = " AND time_ns < ?";
/// Keyset paging, newest first: rows after the cursor.
/// - cursor time (nanosecond text), cursor time again, cursor id
pub const SEARCH_AFTER: &str = " AND (time_ns < ? OR (time_ns = ? AND id < ?))";
/// - limit
pub const SEARCH_TAIL: &str = " ORDER BY time_ns DESC, id DESC LIMIT ?";

/// Deletes up to ?2 records filed before ?1 (nanosecond text).
pub const PRUNE_LOGS: &str =
    "DELETE FROM logs WHERE id IN (SELECT id FROM logs WHERE time_ns < ?1 ORDER BY time_ns LIMIT ?2)";
