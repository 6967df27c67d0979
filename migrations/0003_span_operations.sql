-- 0003: every (service, operation, span kind) seen, for the Jaeger
-- operations routes, kept by a trigger so listing them never scans spans.

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
