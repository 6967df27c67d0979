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
