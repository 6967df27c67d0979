//! SQL of the alert store: rules, channels, incidents and the notification outbox.

/// Every rule, oldest first.
pub const SELECT_RULES: &str =
    "SELECT id, rule, enabled, created_ms, updated_ms FROM alert_configs ORDER BY created_ms, id";

/// - ?1: rule id
pub const SELECT_RULE: &str = "SELECT id, rule, enabled, created_ms, updated_ms FROM alert_configs WHERE id = ?1";

/// - ?1: rule JSON; ?2: enabled (0/1); ?3: now, unix ms
pub const INSERT_RULE: &str =
    "INSERT INTO alert_configs (rule, enabled, created_ms, updated_ms) VALUES (?1, ?2, ?3, ?3) \
    RETURNING id, rule, enabled, created_ms, updated_ms";

/// - ?1: rule id; ?2: rule JSON; ?3: enabled (0/1); ?4: now, unix ms
pub const UPDATE_RULE: &str = "UPDATE alert_configs SET rule = ?2, enabled = ?3, updated_ms = ?4 WHERE id = ?1 \
    RETURNING id, rule, enabled, created_ms, updated_ms";

/// - ?1: rule id
pub const DELETE_RULE: &str = "DELETE FROM alert_configs WHERE id = ?1 RETURNING id";

/// Resolves the open incidents of a rule that was deleted.
/// - ?1: rule id; ?2: now, unix ms
pub const RESOLVE_RULE_INCIDENTS: &str = "UPDATE alert_incidents SET state = 'resolved', resolved_ms = ?2, \
    resolution = 'rule_removed' WHERE rule_id = ?1 AND state <> 'resolved'";

pub const SELECT_CHANNELS: &str =
    "SELECT id, name, kind, url, secret, enabled, created_ms, updated_ms FROM notification_channels ORDER BY created_ms, id";

/// - ?1: channel id
pub const SELECT_CHANNEL: &str =
    "SELECT id, name, kind, url, secret, enabled, created_ms, updated_ms FROM notification_channels WHERE id = ?1";

/// - ?1 name; ?2 kind; ?3 url; ?4 secret or null; ?5 enabled (0/1); ?6 now, unix ms
pub const INSERT_CHANNEL: &str =
    "INSERT INTO notification_channels (name, kind, url, secret, enabled, created_ms, updated_ms) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) RETURNING id, name, kind, url, secret, enabled, created_ms, updated_ms";

/// - ?1 id; ?2 name; ?3 kind; ?4 url; ?5 secret or null; ?6 enabled (0/1); ?7 now, unix ms;
///   ?8 1 to keep the stored secret (and ignore ?5)
pub const UPDATE_CHANNEL: &str = "UPDATE notification_channels SET name = ?2, kind = ?3, url = ?4, \
    secret = CASE WHEN ?8 = 1 AND ?3 = 'webhook' THEN secret ELSE ?5 END, \
    enabled = ?6, updated_ms = ?7 WHERE id = ?1 RETURNING id, name, kind, url, secret, enabled, created_ms, updated_ms";

/// - ?1: channel id
pub const DELETE_CHANNEL: &str = "DELETE FROM notification_channels WHERE id = ?1 RETURNING id";

/// Incidents, newest first, optionally in one state.
/// - ?1: state or null for all; ?2: limit
pub const SELECT_INCIDENTS: &str = "SELECT id, rule_id, rule_name, service_name, metric_name, severity, condition, \
    threshold, state, value, started_ms, acknowledged_ms, acknowledged_by, resolved_ms, resolved_value, resolution, \
    notification_error FROM alert_incidents WHERE ?1 IS NULL OR state = ?1 ORDER BY started_ms DESC, id LIMIT ?2";

/// Incidents firing or acknowledged.
pub const SELECT_OPEN_INCIDENTS: &str = "SELECT id, rule_id, rule_name, service_name, metric_name, severity, \
    condition, threshold, state, value, started_ms, acknowledged_ms, acknowledged_by, resolved_ms, resolved_value, \
    resolution, notification_error FROM alert_incidents WHERE state <> 'resolved'";

/// - ?1: incident id
pub const SELECT_INCIDENT: &str = "SELECT id, rule_id, rule_name, service_name, metric_name, severity, condition, \
    threshold, state, value, started_ms, acknowledged_ms, acknowledged_by, resolved_ms, resolved_value, resolution, \
    notification_error FROM alert_incidents WHERE id = ?1";

/// - ?1: incident id; ?2: who; ?3: now, unix ms
pub const ACKNOWLEDGE_INCIDENT: &str = "UPDATE alert_incidents SET state = 'acknowledged', acknowledged_by = ?2, \
    acknowledged_ms = ?3 WHERE id = ?1 AND state = 'firing' RETURNING id";

/// Opens an incident unless the rule already has one open for the service
/// (the unique index `alert_incidents_one_open`); returns it only if opened.
/// - ?1 id; ?2 rule id; ?3 rule name; ?4 service; ?5 metric; ?6 severity; ?7 condition; ?8 threshold; ?9 value;
///   ?10 now, unix ms
pub const OPEN_INCIDENT: &str = "INSERT OR IGNORE INTO alert_incidents (id, rule_id, rule_name, service_name, \
    metric_name, severity, condition, threshold, state, value, started_ms) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'firing', ?9, ?10) \
    RETURNING id, rule_id, rule_name, service_name, metric_name, severity, condition, threshold, state, value, \
    started_ms, acknowledged_ms, acknowledged_by, resolved_ms, resolved_value, resolution, notification_error";

/// Resolves an incident if still open; returns it only if this statement resolved it.
/// - ?1 incident id; ?2 value or null; ?3 resolution; ?4 now, unix ms
pub const RESOLVE_INCIDENT: &str = "UPDATE alert_incidents SET state = 'resolved', resolved_value = ?2, \
    resolution = ?3, resolved_ms = ?4 WHERE id = ?1 AND state <> 'resolved' \
    RETURNING id, rule_id, rule_name, service_name, metric_name, severity, condition, threshold, state, value, \
    started_ms, acknowledged_ms, acknowledged_by, resolved_ms, resolved_value, resolution, notification_error";

/// Registered service ids.
pub const SELECT_SERVICE_IDS: &str = "SELECT id FROM services ORDER BY id";

/// Per-minute RED roll-ups (each service's operations summed) over the
/// longest window of the enabled span-metric rules.
/// - ?1: now, unix ms
pub const SELECT_RED_MINUTES_FOR_RULES: &str = concat!(
    "SELECT service_name, minute_ms, ",
    crate::red_column_sums!(),
    " FROM operation_red_minutes \
     WHERE minute_ms >= ?1 - 60000 - 1000 * (SELECT coalesce(max(rule ->> '$.windowSeconds'), 0) FROM alert_configs \
       WHERE enabled = 1 AND rule ->> '$.metricName' LIKE 'span.%') \
     AND minute_ms <= ?1 \
     AND EXISTS (SELECT 1 FROM alert_configs WHERE enabled = 1 AND rule ->> '$.metricName' LIKE 'span.%') \
     GROUP BY service_name, minute_ms"
);

/// Queues one notification, once per incident, event and channel, and only
/// if its incident was written: opened (firing) or resolved as recovered.
/// Runs in the same batch as the incident write.
/// - ?1 incident id; ?2 event; ?3 channel id; ?4 payload; ?5 now, unix ms
pub const QUEUE_NOTIFICATION: &str = "INSERT OR IGNORE INTO alert_notifications \
    (incident_id, event, channel_id, payload, status, next_attempt_ms) \
    SELECT ?1, ?2, ?3, ?4, 'pending', ?5 WHERE EXISTS (SELECT 1 FROM alert_incidents WHERE id = ?1 \
      AND (?2 = 'firing' OR (state = 'resolved' AND resolution = 'recovered')))";

/// Claims due notifications for one delivery round: a claimed row is not
/// picked by an overlapping cycle until the claim expires, and a resolve
/// waits while the firing notification of its incident and channel is still
/// pending (receivers see firing before resolved).
/// - ?1: now, unix ms; ?2: claim length, ms; ?3: limit
pub const CLAIM_DUE_NOTIFICATIONS: &str = "UPDATE alert_notifications SET attempts = attempts + 1, \
    claimed_until_ms = ?1 + ?2 WHERE id IN (SELECT n.id FROM alert_notifications AS n WHERE n.status = 'pending' \
    AND n.next_attempt_ms <= ?1 AND n.claimed_until_ms <= ?1 \
    AND NOT (n.event = 'resolved' AND EXISTS (SELECT 1 FROM alert_notifications AS f WHERE f.incident_id = n.incident_id \
      AND f.channel_id = n.channel_id AND f.event = 'firing' AND f.status = 'pending')) \
    ORDER BY n.id LIMIT ?3) \
    RETURNING id, incident_id, event, channel_id, payload, attempts";

/// Records one attempt.
/// - ?1 id; ?2 status; ?3 next attempt, unix ms; ?4 error or null; ?5 delivered at or null
pub const RECORD_ATTEMPT: &str = "UPDATE alert_notifications SET status = ?2, next_attempt_ms = ?3, \
    claimed_until_ms = 0, last_error = ?4, delivered_ms = ?5 WHERE id = ?1";

/// Records a failed delivery on its incident.
/// - ?1 incident id; ?2 error
pub const RECORD_INCIDENT_NOTIFICATION_ERROR: &str = "UPDATE alert_incidents SET notification_error = ?2 WHERE id = ?1";

/// The notifications of one incident.
/// - ?1: incident id
pub const SELECT_INCIDENT_NOTIFICATIONS: &str = "SELECT event, channel_id, status, attempts, \
    next_attempt_ms, last_error, delivered_ms FROM alert_notifications WHERE incident_id = ?1 ORDER BY id";

/// Deletes the notifications of up to ?2 incidents resolved before ?1 (unix ms).
pub const PRUNE_RESOLVED_NOTIFICATIONS: &str = "DELETE FROM alert_notifications WHERE incident_id IN \
    (SELECT id FROM alert_incidents WHERE state = 'resolved' AND resolved_ms < ?1 ORDER BY resolved_ms LIMIT ?2)";

/// Deletes up to ?2 incidents resolved before ?1 (unix ms); open incidents are never pruned.
pub const PRUNE_RESOLVED_INCIDENTS: &str = "DELETE FROM alert_incidents WHERE id IN \
    (SELECT id FROM alert_incidents WHERE state = 'resolved' AND resolved_ms < ?1 ORDER BY resolved_ms LIMIT ?2)";
