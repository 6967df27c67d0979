//! SQL of SLOs and of the per-operation roll-ups their SLIs and burn rates read.

/// Every SLO, oldest first.
pub const SELECT_SLOS: &str = "SELECT id, slo, enabled, created_ms, updated_ms FROM slos ORDER BY created_ms, id";

/// - ?1: SLO id
pub const SELECT_SLO: &str = "SELECT id, slo, enabled, created_ms, updated_ms FROM slos WHERE id = ?1";

/// - ?1: SLO JSON; ?2: enabled (0/1); ?3: now, unix ms
pub const INSERT_SLO: &str = "INSERT INTO slos (slo, enabled, created_ms, updated_ms) VALUES (?1, ?2, ?3, ?3) \
    RETURNING id, slo, enabled, created_ms, updated_ms";

/// - ?1: SLO id; ?2: SLO JSON; ?3: enabled (0/1); ?4: now, unix ms
pub const UPDATE_SLO: &str = "UPDATE slos SET slo = ?2, enabled = ?3, updated_ms = ?4 WHERE id = ?1 \
    RETURNING id, slo, enabled, created_ms, updated_ms";

/// - ?1: SLO id
pub const DELETE_SLO: &str = "DELETE FROM slos WHERE id = ?1 RETURNING id";

/// Resolves the open burn-rate incidents of a deleted SLO.
/// - ?1: JSON array of its burn-rate rule ids; ?2: now, unix ms
pub const RESOLVE_SLO_INCIDENTS: &str = "UPDATE alert_incidents SET state = 'resolved', resolved_ms = ?2, \
    resolution = 'rule_removed' WHERE rule_id IN (SELECT value FROM json_each(?1)) AND state <> 'resolved'";

/// Per SLO and burn window, the summed per-operation minutes of the SLO's
/// service (and operation) from the window's first minute to now.
/// - ?1: now, unix ms; ?2: JSON `[[name, seconds], …]`; ?3: one SLO id, or null for every enabled SLO
pub const SELECT_BURN_WINDOWS: &str = "WITH windows AS (SELECT w.value ->> 0 AS name, w.value ->> 1 AS seconds \
    FROM json_each(?2) AS w) \
    SELECT s.id AS slo_id, w.name AS window, m.service_name, sum(m.requests) AS requests, sum(m.errors) AS errors, \
    sum(m.duration_sum_ms) AS duration_sum_ms, sum(m.b0) AS b0, sum(m.b1) AS b1, sum(m.b2) AS b2, sum(m.b3) AS b3, \
    sum(m.b4) AS b4, sum(m.b5) AS b5, sum(m.b6) AS b6, sum(m.b7) AS b7, sum(m.b8) AS b8, sum(m.b9) AS b9, \
    sum(m.b10) AS b10, sum(m.b11) AS b11, sum(m.b12) AS b12, sum(m.b13) AS b13 \
    FROM slos AS s CROSS JOIN windows AS w JOIN operation_red_minutes AS m \
      ON m.service_name = s.slo ->> '$.serviceId' \
      AND m.minute_ms >= CAST((?1 - w.seconds * 1000) / 60000 AS INTEGER) * 60000 AND m.minute_ms <= ?1 \
      AND (s.slo ->> '$.operation' IS NULL OR m.operation = s.slo ->> '$.operation') \
    WHERE (?3 IS NULL AND s.enabled = 1) OR s.id = ?3 \
    GROUP BY s.id, w.name";

/// Deletes up to ?2 per-operation minutes older than ?1 (unix ms).
pub const PRUNE_OPERATION_MINUTES: &str = "DELETE FROM operation_red_minutes \
    WHERE (minute_ms, service_name, operation) IN (SELECT minute_ms, service_name, operation \
      FROM operation_red_minutes WHERE minute_ms < ?1 ORDER BY minute_ms LIMIT ?2)";

/// Deletes up to ?2 per-operation hours older than ?1 (unix ms).
pub const PRUNE_OPERATION_HOURS: &str = "DELETE FROM operation_red_hours \
    WHERE (hour_ms, service_name, operation) IN (SELECT hour_ms, service_name, operation \
      FROM operation_red_hours WHERE hour_ms < ?1 ORDER BY hour_ms LIMIT ?2)";
