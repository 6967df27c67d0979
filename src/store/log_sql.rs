//! SQL of the `logs` table (migration 0006), which holds the records stored
//! before log blocks (0010): searched and pruned until they age out.

/// The head of a log search; filters are appended, then `SEARCH_TAIL`.
pub const SEARCH_HEAD: &str = "SELECT record_key AS key, service_name, time_ns, observed_ns, severity_number, \
    severity_text, body, attributes, resource, scope_name, scope_version, trace_id, span_id, flags, event_name \
    FROM logs WHERE true";
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
/// Keyset paging, newest first: rows after the cursor (`query::log_search::Cursor`).
/// - cursor time (nanosecond text), cursor time again, cursor key
pub const SEARCH_AFTER: &str = " AND (time_ns < ? OR (time_ns = ? AND record_key < ?))";
/// - limit
pub const SEARCH_TAIL: &str = " ORDER BY time_ns DESC, record_key DESC LIMIT ?";

/// Deletes up to ?2 records filed before ?1 (nanosecond text).
pub const PRUNE_LOGS: &str =
    "DELETE FROM logs WHERE id IN (SELECT id FROM logs WHERE time_ns < ?1 ORDER BY time_ns LIMIT ?2)";
