//! SQL of span storage over `trace_index`, `span_blocks` and the roll-up
//! tables (migration 0008). Each statement reads its rows from one JSON
//! parameter with `json_each`, so a batch costs one statement per table
//! whatever its size; binary values travel as hex.

/// The records of some traces.
/// - ?1: JSON array of trace ids (hex)
pub const SELECT_RECORDS: &str = "SELECT hex(trace_id) AS id, hex(state) AS state FROM trace_index \
    WHERE trace_id IN (SELECT unhex(value) FROM json_each(?1))";

/// Fails (`json('x')`), and so rolls the whole batch back, when any record
/// differs from what the writer read: another writer merged the same trace.
/// - ?1: JSON array of `[trace id hex, state hex or null when there was none]`
pub const GUARD_RECORDS: &str = "SELECT json(CASE WHEN EXISTS (SELECT 1 FROM json_each(?1) AS g \
    LEFT JOIN trace_index AS t ON t.trace_id = unhex(g.value ->> 0) \
    WHERE t.state IS NOT unhex(g.value ->> 1)) THEN 'x' ELSE '0' END) AS unchanged";

/// - ?1: JSON array of `[trace id hex, state hex]`
pub const UPSERT_RECORDS: &str = "INSERT INTO trace_index (trace_id, state) \
    SELECT unhex(value ->> 0), unhex(value ->> 1) FROM json_each(?1) WHERE true \
    ON CONFLICT (trace_id) DO UPDATE SET state = excluded.state";

/// - ?1: JSON array of trace ids (hex)
pub const DELETE_RECORDS: &str = "DELETE FROM trace_index WHERE trace_id IN (SELECT unhex(value) FROM json_each(?1))";

/// - ?1 block id, ?2 earliest start ms, ?3 latest start ms, ?4 spans, ?5 trace ids (hex),
///   ?6 services (JSON), ?7 operations (JSON), ?8 Bloom filter (hex)
pub const INSERT_BLOCK: &str = "INSERT INTO span_blocks \
    (block_id, min_start_ms, max_start_ms, span_count, traces, services, operations, bloom) \
    VALUES (?1, ?2, ?3, ?4, unhex(?5), ?6, ?7, unhex(?8))";

/// Blocks whose spans started in a time range, latest first, one page after a
/// `(max_start_ms, block_id)` position.
/// - ?1 from ms, ?2 to ms, ?3 position's max_start_ms, ?4 position's block id, ?5 page size
pub const SELECT_BLOCKS: &str = "SELECT block_id, min_start_ms, max_start_ms, \
    services, operations, hex(bloom) AS bloom FROM span_blocks \
    WHERE max_start_ms >= ?1 AND min_start_ms <= ?2 AND (max_start_ms, block_id) < (?3, ?4) \
    ORDER BY max_start_ms DESC, block_id DESC LIMIT ?5";

/// The trace lists of some blocks (those a search's summaries let through).
/// - ?1: JSON array of `[max_start_ms, block_id]`
pub const SELECT_BLOCK_TRACES: &str = "SELECT block_id, hex(traces) AS traces FROM span_blocks \
    WHERE (max_start_ms, block_id) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?1))";

/// Blocks whose every span started before the cutoff, oldest first.
/// - ?1 cutoff ms, ?2 blocks per chunk
pub const SELECT_EXPIRED_BLOCKS: &str = "SELECT max_start_ms, block_id, hex(traces) AS traces FROM span_blocks \
    WHERE max_start_ms < ?1 ORDER BY max_start_ms LIMIT ?2";

/// - ?1: JSON array of `[max start ms, block id]`
pub const DELETE_BLOCKS: &str = "DELETE FROM span_blocks WHERE (max_start_ms, block_id) IN \
    (SELECT value ->> 0, value ->> 1 FROM json_each(?1))";

/// Registers services and moves their first/last seen times. A known
/// service's row is rewritten (and billed) only when something shows: a
/// new version or environment, an earlier first sighting, or a last
/// sighting at least a minute later than the stored one (`lastSeen` moves
/// in steps of a minute at most).
/// - ?1: JSON array of `[name, version, environment, first seen ms, last seen ms]`
pub const UPSERT_SERVICES: &str = "INSERT INTO services (id, name, version, environment, first_seen_ms, last_seen_ms) \
    SELECT s.value ->> 0, s.value ->> 0, s.value ->> 1, s.value ->> 2, s.value ->> 3, s.value ->> 4 \
    FROM json_each(?1) AS s WHERE true \
    ON CONFLICT (id) DO UPDATE SET \
    version = CASE WHEN excluded.last_seen_ms >= last_seen_ms THEN coalesce(excluded.version, version) ELSE version END, \
    environment = CASE WHEN excluded.last_seen_ms >= last_seen_ms \
      THEN coalesce(excluded.environment, environment) ELSE environment END, \
    first_seen_ms = min(first_seen_ms, excluded.first_seen_ms), \
    last_seen_ms = max(last_seen_ms, excluded.last_seen_ms) \
    WHERE excluded.first_seen_ms < first_seen_ms OR excluded.last_seen_ms >= last_seen_ms + 60000 \
    OR (excluded.last_seen_ms >= last_seen_ms AND (coalesce(excluded.version, version) IS NOT version \
      OR coalesce(excluded.environment, environment) IS NOT environment))";

/// - ?1: JSON array of `[service, operation, kind]`
pub const INSERT_OPERATIONS: &str = "INSERT INTO span_operations (service_name, name, kind) \
    SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(?1) WHERE true ON CONFLICT DO NOTHING";

macro_rules! red_columns {
    () => {
        "requests, errors, duration_sum_ms, b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13"
    };
}

macro_rules! red_values {
    () => {
        "r.value ->> 'n', r.value ->> 'e', r.value ->> 'd', r.value ->> '$.b[0]', r.value ->> '$.b[1]', \
         r.value ->> '$.b[2]', r.value ->> '$.b[3]', r.value ->> '$.b[4]', r.value ->> '$.b[5]', \
         r.value ->> '$.b[6]', r.value ->> '$.b[7]', r.value ->> '$.b[8]', r.value ->> '$.b[9]', \
         r.value ->> '$.b[10]', r.value ->> '$.b[11]', r.value ->> '$.b[12]', r.value ->> '$.b[13]' \
         FROM json_each(?1) AS r WHERE true"
    };
}

macro_rules! red_sums {
    () => {
        " DO UPDATE SET requests = requests + excluded.requests, errors = errors + excluded.errors, \
         duration_sum_ms = duration_sum_ms + excluded.duration_sum_ms, b0 = b0 + excluded.b0, b1 = b1 + excluded.b1, \
         b2 = b2 + excluded.b2, b3 = b3 + excluded.b3, b4 = b4 + excluded.b4, b5 = b5 + excluded.b5, \
         b6 = b6 + excluded.b6, b7 = b7 + excluded.b7, b8 = b8 + excluded.b8, b9 = b9 + excluded.b9, \
         b10 = b10 + excluded.b10, b11 = b11 + excluded.b11, b12 = b12 + excluded.b12, b13 = b13 + excluded.b13"
    };
}

/// - ?1: JSON array of `{s: service, o: operation, t: minute ms, n, e, d, b}`
pub const UPSERT_OPERATION_MINUTES: &str = concat!(
    "INSERT INTO operation_red_minutes (service_name, operation, minute_ms, ",
    red_columns!(),
    ") SELECT r.value ->> 's', r.value ->> 'o', r.value ->> 't', ",
    red_values!(),
    " ON CONFLICT (minute_ms, service_name, operation)",
    red_sums!()
);

/// How far the per-operation hours are rolled forward (migration 0014).
macro_rules! hours_mark {
    () => {
        "(SELECT minute_ms FROM rollup_marks WHERE name = 'operation_hours')"
    };
}

/// The RED sums of a group of roll-up rows, named as the columns.
#[macro_export]
macro_rules! red_column_sums {
    () => {
        "sum(requests) AS requests, sum(errors) AS errors, sum(duration_sum_ms) AS duration_sum_ms, \
         sum(b0) AS b0, sum(b1) AS b1, sum(b2) AS b2, sum(b3) AS b3, sum(b4) AS b4, sum(b5) AS b5, sum(b6) AS b6, \
         sum(b7) AS b7, sum(b8) AS b8, sum(b9) AS b9, sum(b10) AS b10, sum(b11) AS b11, sum(b12) AS b12, \
         sum(b13) AS b13"
    };
}

/// The operation minutes of minutes the hours were already rolled past
/// (late data), added to their hours by the batch itself; later minutes
/// wait for `ROLL_OPERATION_HOURS`.
/// - ?1: the same array as `UPSERT_OPERATION_MINUTES`
pub const ADD_LATE_OPERATION_HOURS: &str = concat!(
    "INSERT INTO operation_red_hours (service_name, operation, hour_ms, ",
    red_columns!(),
    ") SELECT r.value ->> 's', r.value ->> 'o', (r.value ->> 't') / 3600000 * 3600000, ",
    red_values!(),
    " AND r.value ->> 't' <= ",
    hours_mark!(),
    " ON CONFLICT (hour_ms, service_name, operation)",
    red_sums!()
);

/// Rolls the operation minutes after the mark and up to ?1 (unix ms) into their hours.
pub const ROLL_OPERATION_HOURS: &str = concat!(
    "INSERT INTO operation_red_hours (service_name, operation, hour_ms, ",
    red_columns!(),
    ") SELECT service_name, operation, minute_ms / 3600000 * 3600000, ",
    red_column_sums!(),
    " FROM operation_red_minutes WHERE minute_ms > ",
    hours_mark!(),
    " AND minute_ms <= ?1 GROUP BY service_name, operation, minute_ms / 3600000 \
     ON CONFLICT (hour_ms, service_name, operation)",
    red_sums!()
);

/// - ?1: the minute `ROLL_OPERATION_HOURS` rolled up to
pub const MOVE_HOURS_MARK: &str =
    "UPDATE rollup_marks SET minute_ms = ?1 WHERE name = 'operation_hours' AND minute_ms < ?1";

/// One SLO's per-operation RED sums from ?1 − its window (whole hours) to
/// ?1: the rolled hours and the minutes not rolled yet.
/// - ?1: now, unix ms; ?2: SLO id
pub const SELECT_SLO_WINDOW: &str = concat!(
    "SELECT service_name, ",
    red_column_sums!(),
    " FROM (SELECT h.service_name, ",
    red_columns!(),
    " FROM slos AS s JOIN operation_red_hours AS h ON h.service_name = s.slo ->> '$.serviceId' \
       AND h.hour_ms >= CAST((?1 - (s.slo ->> '$.windowDays') * 86400000) / 3600000 AS INTEGER) * 3600000 \
       AND h.hour_ms <= ?1 AND (s.slo ->> '$.operation' IS NULL OR h.operation = s.slo ->> '$.operation') \
     WHERE s.id = ?2 \
     UNION ALL SELECT m.service_name, ",
    red_columns!(),
    " FROM slos AS s JOIN operation_red_minutes AS m ON m.service_name = s.slo ->> '$.serviceId' \
       AND m.minute_ms > ",
    hours_mark!(),
    " AND m.minute_ms <= ?1 AND (s.slo ->> '$.operation' IS NULL OR m.operation = s.slo ->> '$.operation') \
     WHERE s.id = ?2) GROUP BY service_name"
);

/// Calls between services per minute; a negative count moves calls away.
/// - ?1: JSON array of `[caller, callee, minute ms, calls, errors, duration sum ms]`
pub const UPSERT_CALL_MINUTES: &str = "INSERT INTO dependency_minutes \
    (caller_service, callee_service, minute_ms, call_count, error_count, total_duration_ms) \
    SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5 FROM json_each(?1) WHERE true \
    ON CONFLICT (minute_ms, caller_service, callee_service) DO UPDATE SET \
    call_count = call_count + excluded.call_count, error_count = error_count + excluded.error_count, \
    total_duration_ms = total_duration_ms + excluded.total_duration_ms";

/// How far the call totals are rolled forward (migration 0012).
macro_rules! call_mark {
    () => {
        "(SELECT minute_ms FROM rollup_marks WHERE name = 'dependency_totals')"
    };
}

/// Adds the totals' side of an upsert of call sums into `service_dependencies`.
macro_rules! add_to_call_totals {
    () => {
        " ON CONFLICT (caller_service, callee_service) DO UPDATE SET \
         call_count = call_count + excluded.call_count, error_count = error_count + excluded.error_count, \
         total_duration_ms = total_duration_ms + excluded.total_duration_ms, \
         first_seen_ms = min(first_seen_ms, excluded.first_seen_ms), \
         last_seen_ms = max(last_seen_ms, excluded.last_seen_ms)"
    };
}

/// The calls of minutes the totals were already rolled past (late data),
/// added to the totals by the batch itself; later minutes wait for
/// `ROLL_CALL_TOTALS`.
/// - ?1: the same array as `UPSERT_CALL_MINUTES`
pub const ADD_LATE_CALL_TOTALS: &str = concat!(
    "INSERT INTO service_dependencies \
     (caller_service, callee_service, call_count, error_count, total_duration_ms, first_seen_ms, last_seen_ms) \
     SELECT value ->> 0, value ->> 1, sum(value ->> 3), sum(value ->> 4), sum(value ->> 5), \
     min(value ->> 2), max(value ->> 2) FROM json_each(?1) WHERE value ->> 2 <= ",
    call_mark!(),
    " GROUP BY value ->> 0, value ->> 1",
    add_to_call_totals!()
);

/// Rolls the call minutes after the mark and up to ?1 (unix ms) into the totals.
pub const ROLL_CALL_TOTALS: &str = concat!(
    "INSERT INTO service_dependencies \
     (caller_service, callee_service, call_count, error_count, total_duration_ms, first_seen_ms, last_seen_ms) \
     SELECT caller_service, callee_service, sum(call_count), sum(error_count), sum(total_duration_ms), \
     min(minute_ms), max(minute_ms) FROM dependency_minutes WHERE minute_ms > ",
    call_mark!(),
    " AND minute_ms <= ?1 GROUP BY caller_service, callee_service",
    add_to_call_totals!()
);

/// - ?1: the minute `ROLL_CALL_TOTALS` rolled up to
pub const MOVE_CALL_MARK: &str =
    "UPDATE rollup_marks SET minute_ms = ?1 WHERE name = 'dependency_totals' AND minute_ms < ?1";

/// Totals left without calls (calls moved away from them).
pub const DELETE_EMPTY_TOTALS: &str = "DELETE FROM service_dependencies WHERE call_count <= 0";

/// Caller → callee totals over the retention window: the rolled totals and
/// the minutes not rolled yet.
pub const SELECT_CALL_TOTALS: &str = concat!(
    "SELECT caller_service, callee_service, sum(call_count) AS call_count, sum(error_count) AS error_count, \
     sum(total_duration_ms) AS total_duration_ms FROM (\
     SELECT caller_service, callee_service, call_count, error_count, total_duration_ms FROM service_dependencies \
     UNION ALL SELECT caller_service, callee_service, call_count, error_count, total_duration_ms \
     FROM dependency_minutes WHERE minute_ms > ",
    call_mark!(),
    ") GROUP BY caller_service, callee_service HAVING sum(call_count) > 0 ORDER BY caller_service, callee_service"
);

/// After calls moved away: the minutes left without calls.
/// - ?1: the same array as `UPSERT_CALL_MINUTES`
pub const DELETE_EMPTY_CALL_MINUTES: &str = "DELETE FROM dependency_minutes WHERE call_count <= 0 \
    AND (minute_ms, caller_service, callee_service) IN (SELECT value ->> 2, value ->> 0, value ->> 1 FROM json_each(?1))";

/// After calls moved away: the totals left without calls.
/// - ?1: the same array as `UPSERT_CALL_MINUTES`
pub const DELETE_EMPTY_CALL_TOTALS: &str = "DELETE FROM service_dependencies WHERE call_count <= 0 \
    AND (caller_service, callee_service) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?1))";
