-- 0015: a service's RED minute is the sum of its operations' minutes
-- (`operation_red_minutes`, written for the same entry spans since 0005 and
-- backfilled then), so reads sum those and batches stop writing a second,
-- per-service row for every service and minute: one D1 row less per
-- service and stored batch.
DROP TABLE service_red_minutes;
