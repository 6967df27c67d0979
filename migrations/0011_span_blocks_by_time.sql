-- 0011: `span_blocks` keyed by (max_start_ms, block_id), WITHOUT ROWID with
-- no secondary index: a stored batch's block row costs one row written
-- instead of two (row and index), and searches and pruning walk the key.
CREATE TABLE span_blocks_by_time (
  max_start_ms INTEGER NOT NULL,
  block_id TEXT NOT NULL,
  min_start_ms INTEGER NOT NULL,
  span_count INTEGER NOT NULL,
  traces BLOB NOT NULL,
  services TEXT NOT NULL,
  operations TEXT NOT NULL,
  bloom BLOB NOT NULL,
  PRIMARY KEY (max_start_ms, block_id)
) WITHOUT ROWID;

INSERT INTO span_blocks_by_time
  (max_start_ms, block_id, min_start_ms, span_count, traces, services, operations, bloom)
SELECT max_start_ms, block_id, min_start_ms, span_count, traces, services, operations, bloom FROM span_blocks;

DROP TABLE span_blocks;
ALTER TABLE span_blocks_by_time RENAME TO span_blocks;
