-- 0004: alerting. Rules, notification channels, incidents (at most one open
-- per rule and service, enforced by a unique index so that overlapping
-- evaluations cannot open two), and the notification outbox (one row per
-- incident, event and channel, so a notification is queued once and its
-- delivery is claimed by one evaluation at a time).

-- `rule` is the rule body as the API returns it (JSON, camelCase).
CREATE TABLE alert_configs (
  id TEXT PRIMARY KEY DEFAULT (lower(hex(randomblob(8)))),
  rule TEXT NOT NULL,
  enabled INTEGER NOT NULL,
  created_ms REAL NOT NULL,
  updated_ms REAL NOT NULL
);

CREATE TABLE notification_channels (
  id TEXT PRIMARY KEY DEFAULT (lower(hex(randomblob(8)))),
  name TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('webhook', 'slack')),
  url TEXT NOT NULL,
  secret TEXT,
  enabled INTEGER NOT NULL,
  created_ms REAL NOT NULL,
  updated_ms REAL NOT NULL
);

CREATE TABLE alert_incidents (
  id TEXT PRIMARY KEY DEFAULT (lower(hex(randomblob(8)))),
  rule_id TEXT NOT NULL,
  rule_name TEXT NOT NULL,
  service_name TEXT NOT NULL,
  metric_name TEXT NOT NULL,
  severity TEXT NOT NULL,
  condition TEXT NOT NULL,
  threshold REAL NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('firing', 'acknowledged', 'resolved')),
  value REAL NOT NULL,
  started_ms REAL NOT NULL,
  acknowledged_ms REAL,
  acknowledged_by TEXT,
  resolved_ms REAL,
  resolved_value REAL,
  resolution TEXT,
  notification_error TEXT
);

CREATE UNIQUE INDEX alert_incidents_one_open ON alert_incidents (rule_id, service_name) WHERE state <> 'resolved';
CREATE INDEX alert_incidents_by_start ON alert_incidents (started_ms);

CREATE TABLE alert_notifications (
  id INTEGER PRIMARY KEY,
  incident_id TEXT NOT NULL,
  event TEXT NOT NULL CHECK (event IN ('firing', 'resolved')),
  channel_id TEXT NOT NULL,
  payload TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms REAL NOT NULL,
  claimed_until_ms REAL NOT NULL DEFAULT 0,
  last_error TEXT,
  delivered_ms REAL,
  UNIQUE (incident_id, event, channel_id)
);

CREATE INDEX alert_notifications_due ON alert_notifications (status, next_attempt_ms);
