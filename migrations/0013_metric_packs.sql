-- 0013: metric data points are stored in packs instead of one row each.
-- A pack holds the points of one metric of one service from one export
-- (within one hour of point time), as one gzip member of a JSON array of
-- points (`ingest::metric_packs`). It is keyed by its content hash, so a
-- retried export writes nothing; reads decode the packs of a metric over a
-- range and roll their points into minutes in Rust (`query::metric_rollup`),
-- a point repeated in another export counting once. This replaces the
-- per-point row, its index and the trigger upsert into `metric_minutes`
-- (≥ 4 rows written per point) by one row per pack.
--
-- `metric_minutes` written before this migration was read beside the packs
-- until 0016 dropped it.
DROP TRIGGER metric_points_rolled_up;
DROP TABLE metric_points;

CREATE TABLE metric_packs (
  service_name TEXT NOT NULL,
  metric_name TEXT NOT NULL,
  -- The pack's newest point time, unix ms (whole ms, rounded down).
  end_ms INTEGER NOT NULL,
  -- 16 hex digits of the SHA-256 of the pack's JSON.
  pack_id TEXT NOT NULL,
  -- Its oldest point time, unix ms; within the same hour as end_ms.
  start_ms INTEGER NOT NULL,
  points INTEGER NOT NULL,
  body BLOB NOT NULL,
  PRIMARY KEY (service_name, metric_name, end_ms, pack_id)
) WITHOUT ROWID;
