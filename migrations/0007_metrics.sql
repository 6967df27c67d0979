-- 0007: OTLP metrics. A series is service + metric name + attribute set
-- (`ingest::metric_series::series_key`). Each accepted point is kept in
-- `metric_points` under (series, time): a retried export inserts nothing, so
-- nothing is counted twice. A trigger rolls every new point into its
-- series' minute in `metric_minutes`, which the query API and alert
-- evaluation read. Times are 20-digit zero-padded nanosecond TEXT.

CREATE TABLE metric_series (
  series_key TEXT PRIMARY KEY,
  service_name TEXT NOT NULL,
  metric_name TEXT NOT NULL,
  -- gauge | sum | histogram | exponential_histogram | summary
  kind TEXT NOT NULL,
  -- delta | cumulative | '' (gauges, unspecified)
  temporality TEXT NOT NULL,
  monotonic INTEGER NOT NULL,
  unit TEXT NOT NULL,
  description TEXT NOT NULL,
  attributes TEXT NOT NULL,
  first_seen_ms REAL NOT NULL,
  last_seen_ms REAL NOT NULL
) WITHOUT ROWID;

CREATE INDEX metric_series_by_name ON metric_series (metric_name, service_name);
CREATE INDEX metric_series_by_service ON metric_series (service_name, metric_name);
CREATE INDEX metric_series_by_last_seen ON metric_series (last_seen_ms);

-- Series per service (metric_name '') and per service and metric: the
-- cardinality caps read these instead of counting series on every insert.
CREATE TABLE metric_series_counts (
  service_name TEXT NOT NULL,
  metric_name TEXT NOT NULL,
  series INTEGER NOT NULL,
  PRIMARY KEY (service_name, metric_name)
) WITHOUT ROWID;

-- The caps in force (`METRIC_MAX_SERIES_PER_*`), written by each ingest
-- before its series, so the trigger below can refuse series one by one.
CREATE TABLE metric_series_caps (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  per_service INTEGER NOT NULL,
  per_metric INTEGER NOT NULL
);

-- A new series past a cap is skipped (its points then find no series and
-- are reported refused); series already stored always go on.
CREATE TRIGGER metric_series_capped BEFORE INSERT ON metric_series
WHEN NOT EXISTS (SELECT 1 FROM metric_series WHERE series_key = NEW.series_key)
  AND (coalesce((SELECT series FROM metric_series_counts WHERE service_name = NEW.service_name AND metric_name = ''), 0)
      >= (SELECT per_service FROM metric_series_caps)
    OR coalesce((SELECT series FROM metric_series_counts
        WHERE service_name = NEW.service_name AND metric_name = NEW.metric_name), 0)
      >= (SELECT per_metric FROM metric_series_caps))
BEGIN
  SELECT RAISE(IGNORE);
END;

CREATE TRIGGER metric_series_counted AFTER INSERT ON metric_series
BEGIN
  INSERT INTO metric_series_counts (service_name, metric_name, series)
  VALUES (NEW.service_name, '', 1), (NEW.service_name, NEW.metric_name, 1)
  ON CONFLICT (service_name, metric_name) DO UPDATE SET series = series + 1;
END;

CREATE TRIGGER metric_series_uncounted AFTER DELETE ON metric_series
BEGIN
  UPDATE metric_series_counts SET series = series - 1
  WHERE service_name = OLD.service_name AND metric_name IN ('', OLD.metric_name);
END;

-- One row per accepted point. `value` is a gauge's or sum's value, or a
-- histogram's / summary's sum; `count` the observations of a histogram or
-- summary; `low`/`high` its min/max (a number point's value for both).
-- `bounds`/`buckets` are a histogram's explicit bounds and counts (an
-- exponential histogram's converted), `quantiles` a summary's [[q, v], …].
CREATE TABLE metric_points (
  series_key TEXT NOT NULL,
  time_ns TEXT NOT NULL,
  start_ns TEXT NOT NULL,
  value REAL,
  count REAL,
  low REAL,
  high REAL,
  bounds TEXT,
  buckets TEXT,
  quantiles TEXT,
  PRIMARY KEY (series_key, time_ns)
) WITHOUT ROWID;

CREATE INDEX metric_points_by_time ON metric_points (time_ns);

-- Per series and minute: sums, extremes, and the first and last point by
-- time (cumulative series: increases come from these at query time, with
-- counter resets detected). `buckets` are summed for delta series and the
-- last point's for cumulative ones (with `first_buckets` the first's).
CREATE TABLE metric_minutes (
  series_key TEXT NOT NULL,
  minute_ms INTEGER NOT NULL,
  points INTEGER NOT NULL,
  value_sum REAL NOT NULL,
  count_sum REAL NOT NULL,
  low REAL,
  high REAL,
  first_time_ns TEXT NOT NULL,
  first_start_ns TEXT NOT NULL,
  first_value REAL,
  first_count REAL,
  first_buckets TEXT,
  last_time_ns TEXT NOT NULL,
  last_start_ns TEXT NOT NULL,
  last_value REAL,
  last_count REAL,
  bounds TEXT,
  buckets TEXT,
  quantiles TEXT,
  PRIMARY KEY (series_key, minute_ms)
) WITHOUT ROWID;

CREATE INDEX metric_minutes_by_minute ON metric_minutes (minute_ms);

CREATE TRIGGER metric_points_rolled_up AFTER INSERT ON metric_points
BEGIN
  INSERT INTO metric_minutes (series_key, minute_ms, points, value_sum, count_sum, low, high,
    first_time_ns, first_start_ns, first_value, first_count, first_buckets,
    last_time_ns, last_start_ns, last_value, last_count, bounds, buckets, quantiles)
  VALUES (NEW.series_key, CAST(substr(NEW.time_ns, 1, 14) AS INTEGER) / 60000 * 60000, 1,
    coalesce(NEW.value, 0), coalesce(NEW.count, 0), NEW.low, NEW.high,
    NEW.time_ns, NEW.start_ns, NEW.value, NEW.count, NEW.buckets,
    NEW.time_ns, NEW.start_ns, NEW.value, NEW.count, NEW.bounds, NEW.buckets, NEW.quantiles)
  ON CONFLICT (series_key, minute_ms) DO UPDATE SET
    points = points + 1,
    value_sum = value_sum + excluded.value_sum,
    count_sum = count_sum + excluded.count_sum,
    low = coalesce(min(low, excluded.low), low, excluded.low),
    high = coalesce(max(high, excluded.high), high, excluded.high),
    first_time_ns = min(first_time_ns, excluded.first_time_ns),
    first_start_ns = CASE WHEN excluded.first_time_ns < first_time_ns THEN excluded.first_start_ns ELSE first_start_ns END,
    first_value = CASE WHEN excluded.first_time_ns < first_time_ns THEN excluded.first_value ELSE first_value END,
    first_count = CASE WHEN excluded.first_time_ns < first_time_ns THEN excluded.first_count ELSE first_count END,
    first_buckets = CASE WHEN excluded.first_time_ns < first_time_ns THEN excluded.first_buckets ELSE first_buckets END,
    last_time_ns = max(last_time_ns, excluded.last_time_ns),
    last_start_ns = CASE WHEN excluded.last_time_ns > last_time_ns THEN excluded.last_start_ns ELSE last_start_ns END,
    last_value = CASE WHEN excluded.last_time_ns > last_time_ns THEN excluded.last_value ELSE last_value END,
    last_count = CASE WHEN excluded.last_time_ns > last_time_ns THEN excluded.last_count ELSE last_count END,
    quantiles = CASE WHEN excluded.last_time_ns > last_time_ns THEN excluded.quantiles ELSE quantiles END,
    -- Delta buckets add up when the bounds match (new bounds start over);
    -- cumulative ones are the last point's.
    buckets = CASE
      WHEN excluded.buckets IS NULL THEN buckets
      WHEN (SELECT temporality FROM metric_series WHERE series_key = excluded.series_key) = 'cumulative'
        THEN CASE WHEN excluded.last_time_ns > last_time_ns THEN excluded.buckets ELSE buckets END
      WHEN buckets IS NULL OR bounds IS NOT excluded.bounds THEN excluded.buckets
      ELSE (SELECT json_group_array(b.value + (excluded.buckets ->> ('$[' || b.key || ']'))) FROM json_each(buckets) AS b)
    END,
    bounds = CASE
      WHEN excluded.bounds IS NULL THEN bounds
      WHEN (SELECT temporality FROM metric_series WHERE series_key = excluded.series_key) = 'cumulative'
        THEN CASE WHEN excluded.last_time_ns > last_time_ns THEN excluded.bounds ELSE bounds END
      ELSE excluded.bounds END;
END;
