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
