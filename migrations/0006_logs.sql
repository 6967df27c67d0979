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
