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
