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
  PRIMARY KEY (service_name, minute_ms, operation)
);

CREATE INDEX operation_red_minutes_by_time ON operation_red_minutes (minute_ms);

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
  PRIMARY KEY (service_name, hour_ms, operation)
);

CREATE INDEX operation_red_hours_by_time ON operation_red_hours (hour_ms);

CREATE TRIGGER spans_operation_red AFTER INSERT ON spans
WHEN NEW.kind IN (2, 5) OR NEW.parent_span_id = ''
BEGIN
  INSERT INTO operation_red_minutes (service_name, operation, minute_ms, requests, errors, duration_sum_ms, b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13)
  VALUES (NEW.service_name, NEW.name, CAST(NEW.start_ms / 60000 AS INTEGER) * 60000, 1, NEW.status_code = 2, NEW.duration_ms,
    NEW.duration_ms <= 1,
    NEW.duration_ms > 1 AND NEW.duration_ms <= 2,
    NEW.duration_ms > 2 AND NEW.duration_ms <= 5,
    NEW.duration_ms > 5 AND NEW.duration_ms <= 10,
    NEW.duration_ms > 10 AND NEW.duration_ms <= 25,
    NEW.duration_ms > 25 AND NEW.duration_ms <= 50,
    NEW.duration_ms > 50 AND NEW.duration_ms <= 100,
    NEW.duration_ms > 100 AND NEW.duration_ms <= 250,
    NEW.duration_ms > 250 AND NEW.duration_ms <= 500,
    NEW.duration_ms > 500 AND NEW.duration_ms <= 1000,
    NEW.duration_ms > 1000 AND NEW.duration_ms <= 2500,
    NEW.duration_ms > 2500 AND NEW.duration_ms <= 5000,
    NEW.duration_ms > 5000 AND NEW.duration_ms <= 10000,
    NEW.duration_ms > 10000)
  ON CONFLICT (service_name, minute_ms, operation) DO UPDATE SET
    requests = requests + 1, errors = errors + excluded.errors,
    duration_sum_ms = duration_sum_ms + excluded.duration_sum_ms,
    b0 = b0 + excluded.b0, b1 = b1 + excluded.b1, b2 = b2 + excluded.b2, b3 = b3 + excluded.b3, b4 = b4 + excluded.b4, b5 = b5 + excluded.b5, b6 = b6 + excluded.b6, b7 = b7 + excluded.b7, b8 = b8 + excluded.b8, b9 = b9 + excluded.b9, b10 = b10 + excluded.b10, b11 = b11 + excluded.b11, b12 = b12 + excluded.b12, b13 = b13 + excluded.b13;
  INSERT INTO operation_red_hours (service_name, operation, hour_ms, requests, errors, duration_sum_ms, b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13)
  VALUES (NEW.service_name, NEW.name, CAST(NEW.start_ms / 3600000 AS INTEGER) * 3600000, 1, NEW.status_code = 2, NEW.duration_ms,
    NEW.duration_ms <= 1,
    NEW.duration_ms > 1 AND NEW.duration_ms <= 2,
    NEW.duration_ms > 2 AND NEW.duration_ms <= 5,
    NEW.duration_ms > 5 AND NEW.duration_ms <= 10,
    NEW.duration_ms > 10 AND NEW.duration_ms <= 25,
    NEW.duration_ms > 25 AND NEW.duration_ms <= 50,
    NEW.duration_ms > 50 AND NEW.duration_ms <= 100,
    NEW.duration_ms > 100 AND NEW.duration_ms <= 250,
    NEW.duration_ms > 250 AND NEW.duration_ms <= 500,
    NEW.duration_ms > 500 AND NEW.duration_ms <= 1000,
    NEW.duration_ms > 1000 AND NEW.duration_ms <= 2500,
    NEW.duration_ms > 2500 AND NEW.duration_ms <= 5000,
    NEW.duration_ms > 5000 AND NEW.duration_ms <= 10000,
    NEW.duration_ms > 10000)
  ON CONFLICT (service_name, hour_ms, operation) DO UPDATE SET
    requests = requests + 1, errors = errors + excluded.errors,
    duration_sum_ms = duration_sum_ms + excluded.duration_sum_ms,
    b0 = b0 + excluded.b0, b1 = b1 + excluded.b1, b2 = b2 + excluded.b2, b3 = b3 + excluded.b3, b4 = b4 + excluded.b4, b5 = b5 + excluded.b5, b6 = b6 + excluded.b6, b7 = b7 + excluded.b7, b8 = b8 + excluded.b8, b9 = b9 + excluded.b9, b10 = b10 + excluded.b10, b11 = b11 + excluded.b11, b12 = b12 + excluded.b12, b13 = b13 + excluded.b13;
END;

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
