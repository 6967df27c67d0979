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
CREATE INDEX spans_by_service_start ON spans (service_name, start_ms);
CREATE INDEX spans_by_start ON spans (start_ms);

CREATE TABLE trace_metadata (
  trace_id TEXT PRIMARY KEY,
  root_span_id TEXT NOT NULL,
  root_service TEXT NOT NULL,
  root_operation TEXT NOT NULL,
  has_root INTEGER NOT NULL,
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
-- the caller's client/producer span ('peer'). Keys make retries idempotent.
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

CREATE INDEX dependency_calls_by_time ON dependency_calls (time_ms);

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

CREATE TRIGGER dependency_calls_count AFTER INSERT ON dependency_calls
BEGIN
  INSERT INTO service_dependencies (caller_service, callee_service, call_count, error_count, total_duration_ms, first_seen_ms, last_seen_ms)
  VALUES (NEW.caller, NEW.callee, 1, NEW.is_error, NEW.duration_ms, NEW.time_ms, NEW.time_ms)
  ON CONFLICT (caller_service, callee_service) DO UPDATE SET
    call_count = call_count + 1,
    error_count = error_count + excluded.error_count,
    total_duration_ms = total_duration_ms + excluded.total_duration_ms,
    first_seen_ms = min(first_seen_ms, excluded.first_seen_ms),
    last_seen_ms = max(last_seen_ms, excluded.last_seen_ms);
END;

CREATE TRIGGER dependency_calls_uncount AFTER DELETE ON dependency_calls
BEGIN
  UPDATE service_dependencies SET
    call_count = call_count - 1,
    error_count = error_count - OLD.is_error,
    total_duration_ms = total_duration_ms - OLD.duration_ms
  WHERE caller_service = OLD.caller AND callee_service = OLD.callee;
  DELETE FROM service_dependencies
  WHERE caller_service = OLD.caller AND callee_service = OLD.callee AND call_count <= 0;
END;
