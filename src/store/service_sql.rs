//! SQL of the service store.

/// Every registered service.
pub const SELECT_SERVICES: &str =
    "SELECT id, name, version, environment, first_seen_ms, last_seen_ms FROM services ORDER BY id";

/// Caller → callee totals over the retention window (calls older than
/// `SPAN_RETENTION_DAYS` were taken out when their traces were pruned).
pub const SELECT_DEPENDENCIES: &str = "SELECT caller_service, callee_service, call_count, error_count, total_duration_ms \
    FROM service_dependencies WHERE call_count > 0 ORDER BY caller_service, callee_service";
