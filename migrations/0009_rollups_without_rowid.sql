-- 0009: the roll-up tables rebuilt for what D1 bills. The worker upserts one
-- row per key per stored batch (docs/storage.md); a new key in a rowid table
-- with a TEXT primary key and a time index cost 3 rows written, in a
-- WITHOUT ROWID table keyed by time first it costs 1, and the time-first key
-- serves the window queries and the pruning without a second index.
-- The triggers that fed these tables from the D1-only `spans` and
-- `dependency_calls` tables go: nothing inserts spans there any more, and
-- calls leave the totals when their minutes are pruned by age.

DROP TRIGGER spans_red;
DROP TRIGGER spans_operation_red;
DROP TRIGGER dependency_calls_count;
DROP TRIGGER dependency_calls_uncount;
DROP TRIGGER dependency_calls_count_minutes;
DROP TRIGGER dependency_calls_uncount_minutes;

CREATE TABLE service_red_minutes_0009 (
  service_name TEXT NOT NULL,
  minute_ms INTEGER NOT NULL,
  requests INTEGER NOT NULL,
  errors INTEGER NOT NULL,
  duration_sum_ms REAL NOT NULL,
  b0 INTEGER NOT NULL, b1 INTEGER NOT NULL, b2 INTEGER NOT NULL, b3 INTEGER NOT NULL,
  b4 INTEGER NOT NULL, b5 INTEGER NOT NULL, b6 INTEGER NOT NULL, b7 INTEGER NOT NULL,
  b8 INTEGER NOT NULL, b9 INTEGER NOT NULL, b10 INTEGER NOT NULL, b11 INTEGER NOT NULL,
  b12 INTEGER NOT NULL, b13 INTEGER NOT NULL,
  PRIMARY KEY (minute_ms, service_name)
) WITHOUT ROWID;
INSERT INTO service_red_minutes_0009 SELECT * FROM service_red_minutes;
DROP TABLE service_red_minutes;
ALTER TABLE service_red_minutes_0009 RENAME TO service_red_minutes;

CREATE TABLE dependency_minutes_0009 (
  caller_service TEXT NOT NULL,
  callee_service TEXT NOT NULL,
  minute_ms INTEGER NOT NULL,
  call_count INTEGER NOT NULL,
  error_count INTEGER NOT NULL,
  total_duration_ms REAL NOT NULL,
  PRIMARY KEY (minute_ms, caller_service, callee_service)
) WITHOUT ROWID;
INSERT INTO dependency_minutes_0009 SELECT * FROM dependency_minutes;
DROP TABLE dependency_minutes;
ALTER TABLE dependency_minutes_0009 RENAME TO dependency_minutes;

CREATE TABLE operation_red_minutes_0009 (
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
INSERT INTO operation_red_minutes_0009 SELECT * FROM operation_red_minutes;
DROP TABLE operation_red_minutes;
ALTER TABLE operation_red_minutes_0009 RENAME TO operation_red_minutes;

CREATE TABLE operation_red_hours_0009 (
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
INSERT INTO operation_red_hours_0009 SELECT * FROM operation_red_hours;
DROP TABLE operation_red_hours;
ALTER TABLE operation_red_hours_0009 RENAME TO operation_red_hours;
