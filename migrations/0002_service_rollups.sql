-- 0002: per-minute roll-ups for windowed queries: RED (rate, errors,
-- duration histogram) of each service's entry spans, and calls per
-- caller → callee. Both are maintained by triggers, so they are exactly as
-- idempotent and order-independent as the rows they count.

-- Entry spans (server, consumer, or root) per service and minute.
-- b0..b13 count durations in the buckets (ms) ≤1, ≤2, ≤5, ≤10, ≤25, ≤50,
-- ≤100, ≤250, ≤500, ≤1000, ≤2500, ≤5000, ≤10000, >10000.
CREATE TABLE service_red_minutes (
  service_name TEXT NOT NULL,
  minute_ms INTEGER NOT NULL,
  requests INTEGER NOT NULL,
  errors INTEGER NOT NULL,
  duration_sum_ms REAL NOT NULL,
  b0 INTEGER NOT NULL, b1 INTEGER NOT NULL, b2 INTEGER NOT NULL, b3 INTEGER NOT NULL,
  b4 INTEGER NOT NULL, b5 INTEGER NOT NULL, b6 INTEGER NOT NULL, b7 INTEGER NOT NULL,
  b8 INTEGER NOT NULL, b9 INTEGER NOT NULL, b10 INTEGER NOT NULL, b11 INTEGER NOT NULL,
  b12 INTEGER NOT NULL, b13 INTEGER NOT NULL,
  PRIMARY KEY (service_name, minute_ms)
);

CREATE INDEX service_red_minutes_by_minute ON service_red_minutes (minute_ms);

CREATE TRIGGER spans_red AFTER INSERT ON spans
WHEN NEW.kind IN (2, 5) OR NEW.parent_span_id = ''
BEGIN
  INSERT INTO service_red_minutes (service_name, minute_ms, requests, errors, duration_sum_ms,
    b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13)
  VALUES (NEW.service_name, CAST(NEW.start_ms / 60000 AS INTEGER) * 60000, 1, NEW.status_code = 2, NEW.duration_ms,
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
  ON CONFLICT (service_name, minute_ms) DO UPDATE SET
    requests = requests + 1, errors = errors + excluded.errors,
    duration_sum_ms = duration_sum_ms + excluded.duration_sum_ms,
    b0 = b0 + excluded.b0, b1 = b1 + excluded.b1, b2 = b2 + excluded.b2, b3 = b3 + excluded.b3,
    b4 = b4 + excluded.b4, b5 = b5 + excluded.b5, b6 = b6 + excluded.b6, b7 = b7 + excluded.b7,
    b8 = b8 + excluded.b8, b9 = b9 + excluded.b9, b10 = b10 + excluded.b10, b11 = b11 + excluded.b11,
    b12 = b12 + excluded.b12, b13 = b13 + excluded.b13;
END;

-- Calls per caller → callee and minute (the minute the call started).
CREATE TABLE dependency_minutes (
  caller_service TEXT NOT NULL,
  callee_service TEXT NOT NULL,
  minute_ms INTEGER NOT NULL,
  call_count INTEGER NOT NULL,
  error_count INTEGER NOT NULL,
  total_duration_ms REAL NOT NULL,
  PRIMARY KEY (caller_service, callee_service, minute_ms)
);

CREATE INDEX dependency_minutes_by_minute ON dependency_minutes (minute_ms);

CREATE TRIGGER dependency_calls_count_minutes AFTER INSERT ON dependency_calls
BEGIN
  INSERT INTO dependency_minutes (caller_service, callee_service, minute_ms, call_count, error_count, total_duration_ms)
  VALUES (NEW.caller, NEW.callee, CAST(NEW.time_ms / 60000 AS INTEGER) * 60000, 1, NEW.is_error, NEW.duration_ms)
  ON CONFLICT (caller_service, callee_service, minute_ms) DO UPDATE SET
    call_count = call_count + 1,
    error_count = error_count + excluded.error_count,
    total_duration_ms = total_duration_ms + excluded.total_duration_ms;
END;

CREATE TRIGGER dependency_calls_uncount_minutes AFTER DELETE ON dependency_calls
BEGIN
  UPDATE dependency_minutes SET
    call_count = call_count - 1,
    error_count = error_count - OLD.is_error,
    total_duration_ms = total_duration_ms - OLD.duration_ms
  WHERE caller_service = OLD.caller AND callee_service = OLD.callee
    AND minute_ms = CAST(OLD.time_ms / 60000 AS INTEGER) * 60000;
  DELETE FROM dependency_minutes
  WHERE caller_service = OLD.caller AND callee_service = OLD.callee
    AND minute_ms = CAST(OLD.time_ms / 60000 AS INTEGER) * 60000 AND call_count <= 0;
END;
