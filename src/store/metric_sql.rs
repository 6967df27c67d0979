//! SQL of the metric store.

/// Sets the cardinality caps the `metric_series_capped` trigger applies
/// (writes only when they changed).
/// - ?1: series per service; ?2: series per metric
pub const SET_SERIES_CAPS: &str = r#"
INSERT INTO metric_series_caps (id, per_service, per_metric) VALUES (1, ?1, ?2)
ON CONFLICT (id) DO UPDATE SET per_service = excluded.per_service, per_metric = excluded.per_metric
WHERE per_service <> excluded.per_service OR per_metric <> excluded.per_metric"#;

/// Registers the series of an export (or notes that they were seen again);
/// the `metric_series_capped` trigger skips new series past a cap. Returns
/// every series that exists afterwards.
/// - ?1: JSON array of series rows (`ingest::metric_rows`); ?2: now, unix ms
pub const UPSERT_SERIES: &str = r#"
INSERT INTO metric_series (series_key, service_name, metric_name, kind, temporality, monotonic, unit, description,
  attributes, first_seen_ms, last_seen_ms)
SELECT r.value ->> 'key', r.value ->> 'service', r.value ->> 'name', r.value ->> 'kind', r.value ->> 'temporality',
  r.value ->> 'monotonic', r.value ->> 'unit', r.value ->> 'description', r.value -> 'attributes', ?2, ?2
FROM json_each(?1) AS r WHERE true
ON CONFLICT (series_key) DO UPDATE SET
  kind = excluded.kind, temporality = excluded.temporality, monotonic = excluded.monotonic, unit = excluded.unit,
  description = excluded.description, last_seen_ms = max(last_seen_ms, excluded.last_seen_ms)
RETURNING series_key"#;

/// Inserts points of registered series, ignoring ones already stored
/// (retries); the `metric_points_rolled_up` trigger rolls each new one into
/// its minute. Returns the new points.
/// - ?1: JSON array of point rows (`ingest::metric_rows`)
pub const INSERT_POINTS: &str = r#"
INSERT INTO metric_points (series_key, time_ns, start_ns, value, count, low, high, bounds, buckets, quantiles)
SELECT r.value ->> 'series', r.value ->> 'timeNs', r.value ->> 'startNs', r.value ->> 'value', r.value ->> 'count',
  r.value ->> 'low', r.value ->> 'high', r.value -> 'bounds', r.value -> 'buckets', r.value -> 'quantiles'
FROM json_each(?1) AS r
WHERE EXISTS (SELECT 1 FROM metric_series AS s WHERE s.series_key = r.value ->> 'series')
ON CONFLICT (series_key, time_ns) DO NOTHING
RETURNING series_key, time_ns"#;

/// Metric names with their kind, unit and description, optionally for one service.
/// - ?1: service or NULL for every service
pub const LIST_METRICS: &str = r#"
SELECT metric_name, service_name, kind, temporality, monotonic, unit, description, count(*) AS series,
  max(last_seen_ms) AS last_seen_ms
FROM metric_series WHERE ?1 IS NULL OR service_name = ?1
GROUP BY metric_name, service_name ORDER BY metric_name, service_name"#;

/// The series of one metric, optionally of one service.
/// - ?1: metric name; ?2: service or NULL
pub const SERIES_OF_METRIC: &str = r#"
SELECT series_key, service_name, metric_name, kind, temporality, monotonic, unit, attributes FROM metric_series
WHERE metric_name = ?1 AND (?2 IS NULL OR service_name = ?2)"#;

/// The columns of a minute roll-up as `query::metric_query::StoredMinute` reads them (alias `m`).
macro_rules! minute_columns {
    () => {
        "m.series_key, m.minute_ms, m.points, m.value_sum, m.count_sum, m.low, m.high, m.first_time_ns, \
         m.first_start_ns, m.first_value, m.first_count, m.first_buckets, m.last_time_ns, m.last_start_ns, \
         m.last_value, m.last_count, m.bounds, m.buckets, m.quantiles"
    };
}

/// The minutes of some series in a time range.
/// - ?1: JSON array of series keys; ?2: first minute (unix ms, inclusive); ?3: end (unix ms, exclusive)
pub const MINUTES_OF_SERIES: &str = concat!(
    "SELECT ",
    minute_columns!(),
    " FROM json_each(?1) AS k JOIN metric_minutes AS m ON m.series_key = k.value \
     WHERE m.minute_ms >= ?2 AND m.minute_ms < ?3 ORDER BY m.series_key, m.minute_ms"
);

/// OTLP metric names of enabled alert rules (every other name is a span metric).
macro_rules! rule_metric_names {
    () => {
        "SELECT rule ->> '$.metricName' FROM alert_configs WHERE enabled = 1 AND rule ->> '$.metricName' NOT LIKE 'span.%'"
    };
}

/// The series of every OTLP metric an enabled alert rule names.
pub const RULE_METRIC_SERIES: &str = concat!(
    "SELECT series_key, service_name, metric_name, kind, temporality, monotonic, unit, attributes FROM metric_series \
     WHERE metric_name IN (",
    rule_metric_names!(),
    ")"
);

/// Their minutes over the longest window of those rules, with the lookback for baselines.
/// - ?1: now, unix ms; ?2: lookback, ms
pub const RULE_METRIC_MINUTES: &str = concat!(
    "SELECT ",
    minute_columns!(),
    " FROM metric_series AS s JOIN metric_minutes AS m ON m.series_key = s.series_key \
     WHERE s.metric_name IN (",
    rule_metric_names!(),
    ") AND m.minute_ms >= ?1 - ?2 - 60000 - 1000 * (SELECT coalesce(max(rule ->> '$.windowSeconds'), 0) \
       FROM alert_configs WHERE enabled = 1 AND rule ->> '$.metricName' NOT LIKE 'span.%') \
     AND m.minute_ms <= ?1"
);

/// Deletes up to ?2 minute roll-ups before ?1 (unix ms).
pub const PRUNE_MINUTES: &str = r#"
DELETE FROM metric_minutes WHERE (series_key, minute_ms) IN
  (SELECT series_key, minute_ms FROM metric_minutes WHERE minute_ms < ?1 ORDER BY minute_ms LIMIT ?2)"#;

/// Deletes up to ?2 raw points before ?1 (nanosecond text): they only guard against retries.
pub const PRUNE_POINTS: &str = r#"
DELETE FROM metric_points WHERE (series_key, time_ns) IN
  (SELECT series_key, time_ns FROM metric_points WHERE time_ns < ?1 ORDER BY time_ns LIMIT ?2)"#;

/// Deletes up to ?2 series last seen before ?1 (unix ms), which frees their place under the caps.
pub const PRUNE_SERIES: &str = r#"
DELETE FROM metric_series WHERE series_key IN
  (SELECT series_key FROM metric_series WHERE last_seen_ms < ?1 ORDER BY last_seen_ms LIMIT ?2)"#;

/// One service's per-minute RED roll-ups in a range (span metrics).
/// - ?1: service; ?2: first minute (unix ms, inclusive); ?3: end (unix ms, exclusive)
pub const RED_MINUTES_OF_SERVICE: &str = r#"
SELECT service_name, minute_ms, requests, errors, duration_sum_ms,
  b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13
FROM service_red_minutes WHERE service_name = ?1 AND minute_ms >= ?2 AND minute_ms < ?3 ORDER BY minute_ms"#;

/// One operation's per-minute RED roll-ups in a range (span metrics).
/// - ?1: service; ?2: first minute (unix ms, inclusive); ?3: end (unix ms, exclusive); ?4: operation
pub const RED_MINUTES_OF_OPERATION: &str = r#"
SELECT service_name, minute_ms, requests, errors, duration_sum_ms,
  b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13
FROM operation_red_minutes WHERE service_name = ?1 AND operation = ?4 AND minute_ms >= ?2 AND minute_ms < ?3
ORDER BY minute_ms"#;
