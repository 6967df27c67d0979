-- The whole schema: equal to every file in migrations/ applied in order (a test checks it).
-- Nanosecond timestamps are 20-digit zero-padded TEXT (exact, text-ordered);
-- *_ms columns are REAL unix milliseconds for range filters.

CREATE TABLE services (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  version TEXT,
  environment TEXT,
  first_seen_ms REAL NOT NULL,
  last_seen_ms REAL NOT NULL
);

CREATE TABLE spans (
  trace_id TEXT NOT NULL,
  span_id TEXT NOT NULL,
  parent_span_id TEXT NOT NULL DEFAULT '',
  service_name TEXT NOT NULL,
  service_version TEXT,
  environment TEXT,
  name TEXT NOT NULL,
  kind INTEGER NOT NULL,
  start_ns TEXT NOT NULL,
  end_ns TEXT NOT NULL,
  start_ms REAL NOT NULL,
  duration_ms REAL NOT NULL,
  status_code INTEGER NOT NULL,
  status_message TEXT NOT NULL DEFAULT '',
  callee TEXT,
  attributes TEXT NOT NULL DEFAULT '{}',
  events TEXT NOT NULL DEFAULT '[]',
  links TEXT NOT NULL DEFAULT '[]',
  resource TEXT NOT NULL DEFAULT '{}',
  scope_name TEXT NOT NULL DEFAULT '',
  scope_version TEXT NOT NULL DEFAULT '',
  trace_state TEXT NOT NULL DEFAULT '',
  flags INTEGER NOT NULL DEFAULT 0,
  dropped_attributes_count INTEGER NOT NULL DEFAULT 0,
  dropped_events_count INTEGER NOT NULL DEFAULT 0,
  dropped_links_count INTEGER NOT NULL DEFAULT 0,
  ingested_at_ms REAL NOT NULL,
  PRIMARY KEY (trace_id, span_id)
);

CREATE INDEX spans_by_parent ON spans (trace_id, parent_span_id);

-- Aggregates of each trace, kept up to date span by span (see spans_derive).
CREATE TABLE trace_metadata (
  trace_id TEXT PRIMARY KEY,
  start_ns TEXT NOT NULL,
  end_ns TEXT NOT NULL,
  start_ms REAL NOT NULL,
  duration_ms REAL NOT NULL,
  span_count INTEGER NOT NULL,
  error_count INTEGER NOT NULL,
  services TEXT NOT NULL DEFAULT '[]'
);

CREATE INDEX trace_metadata_by_start ON trace_metadata (start_ms);

-- One row per observed call between two services, keyed by the span that
-- proves it: the callee's span ('child') or, for an uninstrumented callee,
-- the caller's client/producer span ('peer').
CREATE TABLE dependency_calls (
  trace_id TEXT NOT NULL,
  span_id TEXT NOT NULL,
  via TEXT NOT NULL CHECK (via IN ('child', 'peer')),
  caller TEXT NOT NULL,
  callee TEXT NOT NULL,
  time_ms REAL NOT NULL,
  duration_ms REAL NOT NULL,
  is_error INTEGER NOT NULL,
  PRIMARY KEY (trace_id, span_id, via)
) WITHOUT ROWID;


CREATE TABLE service_dependencies (
  caller_service TEXT NOT NULL,
  callee_service TEXT NOT NULL,
  call_count INTEGER NOT NULL,
  error_count INTEGER NOT NULL,
  total_duration_ms REAL NOT NULL,
  first_seen_ms REAL NOT NULL,
  last_seen_ms REAL NOT NULL,
  PRIMARY KEY (caller_service, callee_service)
);

-- Everything a stored span implies, derived inside the INSERT that stores it,
-- so an ingest is one statement per chunk of spans. Only spans really
-- inserted fire it (a retried span hits ON CONFLICT DO NOTHING), which makes
-- every count below idempotent; each step looks both ways (parent and
-- children), so the result does not depend on the order spans arrive in.
CREATE TRIGGER spans_derive AFTER INSERT ON spans
BEGIN
  INSERT INTO services (id, name, version, environment, first_seen_ms, last_seen_ms)
  VALUES (NEW.service_name, NEW.service_name, NEW.service_version, NEW.environment,
    NEW.start_ms, NEW.start_ms + NEW.duration_ms)
  ON CONFLICT (id) DO UPDATE SET
    version = CASE WHEN excluded.last_seen_ms >= last_seen_ms
      THEN coalesce(excluded.version, version) ELSE version END,
    environment = CASE WHEN excluded.last_seen_ms >= last_seen_ms
      THEN coalesce(excluded.environment, environment) ELSE environment END,
    first_seen_ms = min(first_seen_ms, excluded.first_seen_ms),
    last_seen_ms = max(last_seen_ms, excluded.last_seen_ms);

  INSERT INTO trace_metadata (trace_id, start_ns, end_ns, start_ms, duration_ms, span_count, error_count, services)
  VALUES (NEW.trace_id, NEW.start_ns, NEW.end_ns, NEW.start_ms,
    max(0, CAST(NEW.end_ns AS INTEGER) - CAST(NEW.start_ns AS INTEGER)) / 1e6,
    1, NEW.status_code = 2, json_array(NEW.service_name))
  ON CONFLICT (trace_id) DO UPDATE SET
    start_ns = min(start_ns, excluded.start_ns),
    end_ns = max(end_ns, excluded.end_ns),
    start_ms = min(start_ms, excluded.start_ms),
    duration_ms = max(0, CAST(max(end_ns, excluded.end_ns) AS INTEGER)
      - CAST(min(start_ns, excluded.start_ns) AS INTEGER)) / 1e6,
    span_count = span_count + 1,
    error_count = error_count + excluded.error_count,
    services = CASE WHEN EXISTS (SELECT 1 FROM json_each(services) WHERE value = NEW.service_name)
      THEN services ELSE json_insert(services, '$[#]', NEW.service_name) END;

  -- The parent is stored and in another service: it called this span's service.
  INSERT OR IGNORE INTO dependency_calls (trace_id, span_id, via, caller, callee, time_ms, duration_ms, is_error)
  SELECT NEW.trace_id, NEW.span_id, 'child', p.service_name, NEW.service_name,
    NEW.start_ms, NEW.duration_ms, NEW.status_code = 2
  FROM spans AS p
  WHERE p.trace_id = NEW.trace_id AND p.span_id = NEW.parent_span_id AND p.service_name <> NEW.service_name;

  -- ... and a call the parent made to an uninstrumented callee is now known to be this one.
  DELETE FROM dependency_calls
  WHERE trace_id = NEW.trace_id AND span_id = NEW.parent_span_id AND via = 'peer'
    AND caller <> NEW.service_name;

  -- Children stored before their parent, in other services: calls from this span's service.
  INSERT OR IGNORE INTO dependency_calls (trace_id, span_id, via, caller, callee, time_ms, duration_ms, is_error)
  SELECT c.trace_id, c.span_id, 'child', NEW.service_name, c.service_name,
    c.start_ms, c.duration_ms, c.status_code = 2
  FROM spans AS c
  WHERE c.trace_id = NEW.trace_id AND c.parent_span_id = NEW.span_id AND c.service_name <> NEW.service_name;

  -- A client/producer span naming an uninstrumented callee, with no child span in another service.
  INSERT OR IGNORE INTO dependency_calls (trace_id, span_id, via, caller, callee, time_ms, duration_ms, is_error)
  SELECT NEW.trace_id, NEW.span_id, 'peer', NEW.service_name, NEW.callee,
    NEW.start_ms, NEW.duration_ms, NEW.status_code = 2
  WHERE NEW.callee IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM spans AS c
      WHERE c.trace_id = NEW.trace_id AND c.parent_span_id = NEW.span_id AND c.service_name <> NEW.service_name);
END;



-- A trace with its root: the span without a parent; while that has not
-- arrived (or lives outside our system), the earliest span whose parent is
-- unknown; else the earliest span.
CREATE VIEW trace_summaries AS
SELECT t.trace_id, r.span_id AS root_span_id, r.service_name AS root_service,
  r.name AS root_operation, r.parent_span_id = '' AS has_root,
  t.start_ns, t.end_ns, t.start_ms, t.duration_ms, t.span_count, t.error_count, t.services
FROM trace_metadata AS t
JOIN spans AS r ON r.trace_id = t.trace_id AND r.span_id = (
  SELECT x.span_id FROM spans AS x WHERE x.trace_id = t.trace_id
  ORDER BY x.parent_span_id <> '',
    EXISTS (SELECT 1 FROM spans AS y WHERE y.trace_id = x.trace_id AND y.span_id = x.parent_span_id),
    x.start_ns, x.span_id
  LIMIT 1);


-- (0002's per-service RED minutes were dropped by 0015: a service's RED is
-- the sum of its operations' minutes.)

-- Calls per caller → callee and minute (the minute the call started).
CREATE TABLE dependency_minutes (
  caller_service TEXT NOT NULL,
  callee_service TEXT NOT NULL,
  minute_ms INTEGER NOT NULL,
  call_count INTEGER NOT NULL,
  error_count INTEGER NOT NULL,
  total_duration_ms REAL NOT NULL,
  PRIMARY KEY (minute_ms, caller_service, callee_service)
) WITHOUT ROWID;



CREATE TABLE span_operations (
  service_name TEXT NOT NULL,
  name TEXT NOT NULL,
  kind INTEGER NOT NULL,
  PRIMARY KEY (service_name, name, kind)
);

CREATE TRIGGER spans_operations AFTER INSERT ON spans
BEGIN
  INSERT OR IGNORE INTO span_operations (service_name, name, kind) VALUES (NEW.service_name, NEW.name, NEW.kind);
END;
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

-- 0005: SLOs. Per-operation RED roll-ups of entry spans (server, consumer
-- or root), per minute (burn rates over minutes to hours, pruned with the
-- spans) and per hour (SLO windows of days, pruned after SLO_RETENTION_DAYS),
-- maintained by one trigger, and the SLO definitions. b0..b13 count
-- durations in the buckets (ms) of 0002.

-- Entry spans per service, operation (span name) and minute.
CREATE TABLE operation_red_minutes (
  service_name TEXT NOT NULL,
  operation TEXT NOT NULL,
  minute_ms INTEGER NOT NULL,
  requests INTEGER NOT NULL,
  errors INTEGER NOT NULL,
  duration_sum_ms REAL NOT NULL,
  b0 INTEGER NOT NULL, b1 INTEGER NOT NULL, b2 INTEGER NOT NULL, b3 INTEGER NOT NULL,
  b4 INTEGER NOT NULL, b5 INTEGER NOT NULL, b6 INTEGER NOT NULL, b7 INTEGER NOT NULL,
  b8 INTEGER NOT NULL, b9 INTEGER NOT NULL, b10 INTEGER NOT NULL, b11 INTEGER NOT NULL,
  b12 INTEGER NOT NULL, b13 INTEGER NOT NULL,
  PRIMARY KEY (minute_ms, service_name, operation)
) WITHOUT ROWID;

-- Entry spans per service, operation and hour.
CREATE TABLE operation_red_hours (
  service_name TEXT NOT NULL,
  operation TEXT NOT NULL,
  hour_ms INTEGER NOT NULL,
  requests INTEGER NOT NULL,
  errors INTEGER NOT NULL,
  duration_sum_ms REAL NOT NULL,
  b0 INTEGER NOT NULL, b1 INTEGER NOT NULL, b2 INTEGER NOT NULL, b3 INTEGER NOT NULL,
  b4 INTEGER NOT NULL, b5 INTEGER NOT NULL, b6 INTEGER NOT NULL, b7 INTEGER NOT NULL,
  b8 INTEGER NOT NULL, b9 INTEGER NOT NULL, b10 INTEGER NOT NULL, b11 INTEGER NOT NULL,
  b12 INTEGER NOT NULL, b13 INTEGER NOT NULL,
  PRIMARY KEY (hour_ms, service_name, operation)
) WITHOUT ROWID;


-- Spans stored before this migration.
INSERT INTO operation_red_minutes (service_name, operation, minute_ms, requests, errors, duration_sum_ms, b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13)
SELECT service_name, name, CAST(start_ms / 60000 AS INTEGER) * 60000, count(*), sum(status_code = 2), sum(duration_ms),
  sum(duration_ms <= 1),
  sum(duration_ms > 1 AND duration_ms <= 2),
  sum(duration_ms > 2 AND duration_ms <= 5),
  sum(duration_ms > 5 AND duration_ms <= 10),
  sum(duration_ms > 10 AND duration_ms <= 25),
  sum(duration_ms > 25 AND duration_ms <= 50),
  sum(duration_ms > 50 AND duration_ms <= 100),
  sum(duration_ms > 100 AND duration_ms <= 250),
  sum(duration_ms > 250 AND duration_ms <= 500),
  sum(duration_ms > 500 AND duration_ms <= 1000),
  sum(duration_ms > 1000 AND duration_ms <= 2500),
  sum(duration_ms > 2500 AND duration_ms <= 5000),
  sum(duration_ms > 5000 AND duration_ms <= 10000),
  sum(duration_ms > 10000)
FROM spans WHERE kind IN (2, 5) OR parent_span_id = ''
GROUP BY service_name, name, CAST(start_ms / 60000 AS INTEGER) * 60000;

INSERT INTO operation_red_hours (service_name, operation, hour_ms, requests, errors, duration_sum_ms, b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13)
SELECT service_name, name, CAST(start_ms / 3600000 AS INTEGER) * 3600000, count(*), sum(status_code = 2), sum(duration_ms),
  sum(duration_ms <= 1),
  sum(duration_ms > 1 AND duration_ms <= 2),
  sum(duration_ms > 2 AND duration_ms <= 5),
  sum(duration_ms > 5 AND duration_ms <= 10),
  sum(duration_ms > 10 AND duration_ms <= 25),
  sum(duration_ms > 25 AND duration_ms <= 50),
  sum(duration_ms > 50 AND duration_ms <= 100),
  sum(duration_ms > 100 AND duration_ms <= 250),
  sum(duration_ms > 250 AND duration_ms <= 500),
  sum(duration_ms > 500 AND duration_ms <= 1000),
  sum(duration_ms > 1000 AND duration_ms <= 2500),
  sum(duration_ms > 2500 AND duration_ms <= 5000),
  sum(duration_ms > 5000 AND duration_ms <= 10000),
  sum(duration_ms > 10000)
FROM spans WHERE kind IN (2, 5) OR parent_span_id = ''
GROUP BY service_name, name, CAST(start_ms / 3600000 AS INTEGER) * 3600000;

-- `slo` is the SLO body as the API returns it (JSON, camelCase).
CREATE TABLE slos (
  id TEXT PRIMARY KEY DEFAULT (lower(hex(randomblob(8)))),
  slo TEXT NOT NULL,
  enabled INTEGER NOT NULL,
  created_ms REAL NOT NULL,
  updated_ms REAL NOT NULL
);

-- 0006: log records, kept hot for the REST API. `record_key` is a content
-- hash (see `ingest::log_rows`), so a retried export stores nothing twice.
-- Times are 20-digit zero-padded nanosecond TEXT, ordered as text.

CREATE TABLE logs (
  id INTEGER PRIMARY KEY,
  record_key TEXT NOT NULL UNIQUE,
  service_name TEXT NOT NULL,
  time_ns TEXT NOT NULL,
  observed_ns TEXT NOT NULL,
  severity_number INTEGER NOT NULL,
  severity_text TEXT NOT NULL,
  body TEXT NOT NULL,
  attributes TEXT NOT NULL,
  resource TEXT NOT NULL,
  scope_name TEXT NOT NULL,
  scope_version TEXT NOT NULL,
  trace_id TEXT NOT NULL,
  span_id TEXT NOT NULL,
  flags INTEGER NOT NULL,
  dropped_attributes_count INTEGER NOT NULL,
  event_name TEXT NOT NULL,
  ingested_at_ms REAL NOT NULL
);

CREATE INDEX logs_by_time ON logs (time_ns, id);
CREATE INDEX logs_by_service_time ON logs (service_name, time_ns, id);
CREATE INDEX logs_by_trace ON logs (trace_id, span_id) WHERE trace_id <> '';

-- 0007: OTLP metrics. A series is service + metric name + attribute set
-- (`ingest::metric_series::series_key`). Points are stored in
-- `metric_packs` (0013).

CREATE TABLE metric_series (
  series_key TEXT PRIMARY KEY,
  service_name TEXT NOT NULL,
  metric_name TEXT NOT NULL,
  -- gauge | sum | histogram | exponential_histogram | summary
  kind TEXT NOT NULL,
  -- delta | cumulative | '' (gauges, unspecified)
  temporality TEXT NOT NULL,
  monotonic INTEGER NOT NULL,
  unit TEXT NOT NULL,
  description TEXT NOT NULL,
  attributes TEXT NOT NULL,
  first_seen_ms REAL NOT NULL,
  last_seen_ms REAL NOT NULL
) WITHOUT ROWID;

CREATE INDEX metric_series_by_name ON metric_series (metric_name, service_name);
CREATE INDEX metric_series_by_service ON metric_series (service_name, metric_name);
CREATE INDEX metric_series_by_last_seen ON metric_series (last_seen_ms);

-- Series per service (metric_name '') and per service and metric: the
-- cardinality caps read these instead of counting series on every insert.
CREATE TABLE metric_series_counts (
  service_name TEXT NOT NULL,
  metric_name TEXT NOT NULL,
  series INTEGER NOT NULL,
  PRIMARY KEY (service_name, metric_name)
) WITHOUT ROWID;

-- The caps in force (`METRIC_MAX_SERIES_PER_*`), written by each ingest
-- before its series, so the trigger below can refuse series one by one.
CREATE TABLE metric_series_caps (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  per_service INTEGER NOT NULL,
  per_metric INTEGER NOT NULL
);

-- A new series past a cap is skipped (its points then find no series and
-- are reported refused); series already stored always go on.
CREATE TRIGGER metric_series_capped BEFORE INSERT ON metric_series
WHEN NOT EXISTS (SELECT 1 FROM metric_series WHERE series_key = NEW.series_key)
  AND (coalesce((SELECT series FROM metric_series_counts WHERE service_name = NEW.service_name AND metric_name = ''), 0)
      >= (SELECT per_service FROM metric_series_caps)
    OR coalesce((SELECT series FROM metric_series_counts
        WHERE service_name = NEW.service_name AND metric_name = NEW.metric_name), 0)
      >= (SELECT per_metric FROM metric_series_caps))
BEGIN
  SELECT RAISE(IGNORE);
END;

CREATE TRIGGER metric_series_counted AFTER INSERT ON metric_series
BEGIN
  INSERT INTO metric_series_counts (service_name, metric_name, series)
  VALUES (NEW.service_name, '', 1), (NEW.service_name, NEW.metric_name, 1)
  ON CONFLICT (service_name, metric_name) DO UPDATE SET series = series + 1;
END;

CREATE TRIGGER metric_series_uncounted AFTER DELETE ON metric_series
BEGIN
  UPDATE metric_series_counts SET series = series - 1
  WHERE service_name = OLD.service_name AND metric_name IN ('', OLD.metric_name);
END;


-- 0008: spans live in R2 blocks (docs/storage.md); D1 keeps one row per
-- trace and one row per block. Both tables are WITHOUT ROWID with no
-- secondary index on `trace_index`, so a new trace costs one row written.
-- The roll-up tables of 0001–0005 are now written by the worker, one upsert
-- per key per stored batch; the `spans` table and its triggers stay for the
-- rows stored before this migration, read until they age out.

-- One record per trace: `ingest::trace_index::TraceRecord` in its binary
-- form (counts, times, services, root, export pieces, open calls, orphans
-- and the block segments holding its spans).
CREATE TABLE trace_index (
  trace_id BLOB PRIMARY KEY,
  state BLOB NOT NULL
) WITHOUT ROWID;

-- One row per R2 block of spans, with its search summary
-- (`ingest::block_summary`). `block_id` is 16 hex digits: the store time in
-- ms shifted left 16 bits plus 16 random bits; the object key is
-- spans/<yyyy>/<mm>/<dd>/<block_id>. Keyed by the latest span start first,
-- WITHOUT ROWID, no secondary index (0011): one row written per block.
CREATE TABLE span_blocks (
  -- Latest and earliest span start in the block, unix ms.
  max_start_ms INTEGER NOT NULL,
  block_id TEXT NOT NULL,
  min_start_ms INTEGER NOT NULL,
  span_count INTEGER NOT NULL,
  -- The trace ids, 16 bytes each.
  traces BLOB NOT NULL,
  -- JSON arrays of the service and operation names.
  services TEXT NOT NULL,
  operations TEXT NOT NULL,
  -- Bloom filter of (service, operation) and indexed key=value pairs.
  bloom BLOB NOT NULL,
  PRIMARY KEY (max_start_ms, block_id)
) WITHOUT ROWID;

-- 0009: the roll-up tables above are WITHOUT ROWID, keyed by time first, and
-- the triggers that fed them from `spans` and `dependency_calls` are gone
-- (the worker upserts them per stored batch).

-- 0010: log records live in R2 blocks (docs/storage.md), like spans; D1
-- keeps one row per block segment, a segment holding the records of one
-- minute of record time (`ingest::log_batch`). WITHOUT ROWID and keyed by
-- the latest record time first, so a segment costs one row written and a
-- time range reads one key range. The `logs` table of 0006 stays for the
-- records stored before this migration, read until they age out.
CREATE TABLE log_segments (
  -- Latest and earliest record time in the segment, unix ms (less than a minute apart).
  max_time_ms INTEGER NOT NULL,
  -- 16 hex digits; the object key is logs/<yyyy>/<mm>/<dd>/<block_id>.
  block_id TEXT NOT NULL,
  -- The segment's byte range in the block.
  offset INTEGER NOT NULL,
  length INTEGER NOT NULL,
  min_time_ms INTEGER NOT NULL,
  records INTEGER NOT NULL,
  -- 1 on the block's last segment: pruning that row deletes the object.
  newest INTEGER NOT NULL,
  -- The highest severity number among the records.
  max_severity INTEGER NOT NULL,
  -- JSON array of the service names.
  services TEXT NOT NULL,
  -- Bloom filter of the records' trace and span ids.
  bloom BLOB NOT NULL,
  -- 8-byte hashes of the messages stored in the block: a retried export or
  -- a message delivered again is found here and stored nothing twice.
  messages BLOB NOT NULL,
  PRIMARY KEY (max_time_ms, block_id, offset)
) WITHOUT ROWID;

-- 0012: the call totals (`service_dependencies`) are rolled forward from
-- `dependency_minutes` by the cron trigger, once a minute, instead of being
-- upserted by every stored batch. `rollup_marks` holds how far: minutes up
-- to `minute_ms` are in the totals; a batch writing such a (late) minute
-- adds it to the totals itself. Starts 10 minutes ahead so that a worker
-- still running the previous release (which adds every batch to the totals)
-- cannot have its minutes rolled in a second time.
CREATE TABLE rollup_marks (
  name TEXT PRIMARY KEY,
  minute_ms INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO rollup_marks (name, minute_ms)
VALUES ('dependency_totals', (CAST(strftime('%s', 'now') AS INTEGER) / 60 + 10) * 60000);

-- 0013: metric data points are stored in packs instead of one row each.
-- A pack holds the points of one metric of one service from one export
-- (within one hour of point time), as one gzip member of a JSON array of
-- points (`ingest::metric_packs`). It is keyed by its content hash, so a
-- retried export writes nothing; reads decode the packs of a metric over a
-- range and roll their points into minutes in Rust (`query::metric_rollup`),
-- a point repeated in another export counting once. This replaces the
-- per-point row, its index and the trigger upsert into `metric_minutes`
-- (≥ 4 rows written per point) by one row per pack.
--
-- `metric_minutes` written before this migration was read beside the packs
-- until 0016 dropped it.
CREATE TABLE metric_packs (
  service_name TEXT NOT NULL,
  metric_name TEXT NOT NULL,
  -- The pack's newest point time, unix ms (whole ms, rounded down).
  end_ms INTEGER NOT NULL,
  -- 16 hex digits of the SHA-256 of the pack's JSON.
  pack_id TEXT NOT NULL,
  -- Its oldest point time, unix ms; within the same hour as end_ms.
  start_ms INTEGER NOT NULL,
  points INTEGER NOT NULL,
  body BLOB NOT NULL,
  PRIMARY KEY (service_name, metric_name, end_ms, pack_id)
) WITHOUT ROWID;

-- 0014: the per-operation hours (`operation_red_hours`, what SLO windows
-- read) are rolled forward from `operation_red_minutes` by the cron trigger,
-- as the call totals are since 0012, instead of being upserted by every
-- stored batch: one row written less per operation and batch. Minutes up to
-- the mark are in the hours; a batch writing such a (late) minute adds it to
-- its hour itself; reads add the minutes after the mark. Starts 10 minutes
-- ahead so that a worker still running the previous release (which adds
-- every batch to the hours) cannot have its minutes rolled in a second time.
INSERT INTO rollup_marks (name, minute_ms)
VALUES ('operation_hours', (CAST(strftime('%s', 'now') AS INTEGER) / 60 + 10) * 60000);

-- 0015: a service's RED minute is the sum of its operations' minutes
-- (`operation_red_minutes`, written for the same entry spans since 0005 and
-- backfilled then), so reads sum those and batches stop writing a second,
-- per-service row for every service and minute: one D1 row less per
-- service and stored batch.

-- 0016: the per-series minute roll-ups written before 0013 are dropped.
-- Metric queries and alert rules read the point packs only; reading the old
-- minutes beside them cost the worker ~3.7 KB gzip of wasm (a row type of its
-- own), which the bundle budget could not keep. A deployment upgraded from
-- before 0013 starts its metric history at the upgrade (alert baselines look
-- back 10 minutes); its traces and logs are unaffected.

-- 0017: counters of the collector's own failures that nothing else records:
-- Analytics Engine points it could not write (a binding missing or throwing,
-- a hand-over that failed). `GET /health` shows them. Written only when
-- something fails.
CREATE TABLE collector_counters (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL,
  -- When it last grew, unix ms.
  updated_ms INTEGER NOT NULL
) WITHOUT ROWID;

-- 0018: API keys (docs/api.md "API keys"). The secret is never stored, only
-- its SHA-256 (hex); a rotation keeps the previous hash valid for a grace
-- period. Revoked keys stay listed. Times are unix ms.
CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  scope TEXT NOT NULL CHECK (scope IN ('ingest', 'read', 'admin')),
  secret_hash TEXT NOT NULL,
  previous_hash TEXT,
  previous_valid_until_ms INTEGER,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER,
  revoked_ms INTEGER,
  rotated_ms INTEGER
) WITHOUT ROWID;
