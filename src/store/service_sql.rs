//! SQL of the service store.

/// Every registered service.
pub const SELECT_SERVICES: &str =
    "SELECT id, name, version, environment, first_seen_ms, last_seen_ms FROM services ORDER BY id";

/// One service.
/// - ?1: service id
pub const SELECT_SERVICE: &str =
    "SELECT id, name, version, environment, first_seen_ms, last_seen_ms FROM services WHERE id = ?1";

/// Calls per caller → callee over the minutes of a window.
/// - ?1: first minute, unix ms; ?2: window end, unix ms (exclusive)
pub const SELECT_DEPENDENCIES_IN_WINDOW: &str = "SELECT caller_service, callee_service, \
    sum(call_count) AS call_count, sum(error_count) AS error_count, sum(total_duration_ms) AS total_duration_ms \
    FROM dependency_minutes WHERE minute_ms >= ?1 AND minute_ms < ?2 \
    GROUP BY caller_service, callee_service HAVING sum(call_count) > 0 ORDER BY caller_service, callee_service";

/// RED sums of every service's entry spans over the minutes of a window
/// (the sums of its operations' minutes, migration 0015).
/// - ?1: first minute, unix ms; ?2: window end, unix ms (exclusive)
pub const SELECT_RED_IN_WINDOW: &str = concat!(
    "SELECT service_name, ",
    crate::red_column_sums!(),
    " FROM operation_red_minutes WHERE minute_ms >= ?1 AND minute_ms < ?2 GROUP BY service_name"
);

/// Calls of the oldest dependency minutes before ?1 (at most ?2 rows, the
/// same rows `PRUNE_CALL_MINUTES` deletes) taken out of the totals, which so
/// count calls within retention.
/// - ?1: cutoff, unix ms; ?2: rows
pub const UNCOUNT_PRUNED_CALLS: &str = "UPDATE service_dependencies SET \
    call_count = call_count - d.calls, error_count = error_count - d.errors, \
    total_duration_ms = total_duration_ms - d.duration \
    FROM (SELECT caller_service AS caller, callee_service AS callee, sum(call_count) AS calls, \
      sum(error_count) AS errors, sum(total_duration_ms) AS duration \
      FROM (SELECT * FROM dependency_minutes WHERE minute_ms < ?1 \
        ORDER BY minute_ms, caller_service, callee_service LIMIT ?2) \
      GROUP BY caller_service, callee_service) AS d \
    WHERE service_dependencies.caller_service = d.caller AND service_dependencies.callee_service = d.callee";

/// - ?1: cutoff, unix ms; ?2: rows
pub const PRUNE_CALL_MINUTES: &str = "DELETE FROM dependency_minutes \
    WHERE (minute_ms, caller_service, callee_service) IN (SELECT minute_ms, caller_service, callee_service \
      FROM dependency_minutes WHERE minute_ms < ?1 ORDER BY minute_ms, caller_service, callee_service LIMIT ?2)";

/// Totals left without calls.
pub const DELETE_EMPTY_DEPENDENCIES: &str = "DELETE FROM service_dependencies WHERE call_count <= 0";

/// One service's per-minute RED roll-ups in a range (span metrics): its operations' minutes summed.
/// - ?1: service; ?2: first minute (unix ms, inclusive); ?3: end (unix ms, exclusive)
pub const RED_MINUTES_OF_SERVICE: &str = concat!(
    "SELECT service_name, minute_ms, ",
    crate::red_column_sums!(),
    " FROM operation_red_minutes WHERE service_name = ?1 AND minute_ms >= ?2 AND minute_ms < ?3 \
     GROUP BY minute_ms ORDER BY minute_ms"
);

/// One operation's per-minute RED roll-ups in a range (span metrics).
/// - ?1: service; ?2: first minute (unix ms, inclusive); ?3: end (unix ms, exclusive); ?4: operation
pub const RED_MINUTES_OF_OPERATION: &str = r#"
SELECT service_name, minute_ms, requests, errors, duration_sum_ms,
  b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13
FROM operation_red_minutes WHERE service_name = ?1 AND operation = ?4 AND minute_ms >= ?2 AND minute_ms < ?3
ORDER BY minute_ms"#;
