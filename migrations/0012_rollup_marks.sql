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
