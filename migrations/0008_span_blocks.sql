-- 0008: spans live in R2 blocks (docs/storage.md); D1 keeps one row per
-- trace and one row per block. Both tables are WITHOUT ROWID with no
-- secondary index on `trace_index`, so a new trace costs one row written.
-- The roll-up tables of 0001–0005 are now written by the worker, one upsert
-- per key per stored batch; the `spans` table and its triggers stay for the
-- rows stored before this migration, read until they age out.

-- One record per trace: `ingest::trace_index::TraceRecord` in its binary
-- form (counts, times, services, root, export pieces, open calls, orphans
-- and the block segments holding its spans).
CREATE TABLE trace_index (
  trace_id BLOB PRIMARY KEY,
  state BLOB NOT NULL
) WITHOUT ROWID;

-- One row per R2 block of spans, with its search summary
-- (`ingest::block_summary`). `block_id` is 16 hex digits: the store time in
-- ms shifted left 16 bits plus 16 random bits; the object key is
-- spans/<yyyy>/<mm>/<dd>/<block_id>.
CREATE TABLE span_blocks (
  block_id TEXT PRIMARY KEY,
  -- Earliest and latest span start in the block, unix ms.
  min_start_ms INTEGER NOT NULL,
  max_start_ms INTEGER NOT NULL,
  span_count INTEGER NOT NULL,
  -- The trace ids, 16 bytes each.
  traces BLOB NOT NULL,
  -- JSON arrays of the service and operation names.
  services TEXT NOT NULL,
  operations TEXT NOT NULL,
  -- Bloom filter of (service, operation) and indexed key=value pairs.
  bloom BLOB NOT NULL
) WITHOUT ROWID;

CREATE INDEX span_blocks_by_start ON span_blocks (max_start_ms);
