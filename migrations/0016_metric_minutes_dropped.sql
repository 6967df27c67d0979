-- 0016: the per-series minute roll-ups written before 0013 are dropped.
-- Metric queries and alert rules read the point packs only; reading the old
-- minutes beside them cost the worker ~3.7 KB gzip of wasm (a row type of its
-- own), which the bundle budget could not keep. A deployment upgraded from
-- before 0013 starts its metric history at the upgrade (alert baselines look
-- back 10 minutes); its traces and logs are unaffected.
DROP TABLE metric_minutes;
