//! SQL of the metric store (`storage::metrics`) and of the alert cycle's metric reads.

/// Sets the cardinality caps the `metric_series_capped` trigger applies
/// (writes only when they changed).
/// - ?1: series per service; ?2: series per metric
pub const SET_SERIES_CAPS: &str = r#"
INSERT INTO metric_series_caps (id, per_service, per_metric) VALUES (1, ?1, ?2)
ON CONFLICT (id) DO UPDATE SET per_service = excluded.per_service, per_metric = excluded.per_metric
WHERE per_service <> excluded.per_service OR per_metric <> excluded.per_metric"#;

/// Registers the series of an export; the `metric_series_capped` trigger
/// skips new series past a cap. A known series is rewritten only when its
/// description changed or its last-seen time moves by an hour or more, so a
/// steady export writes no series row.
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
WHERE excluded.last_seen_ms >= last_seen_ms + 3600000 OR kind IS NOT excluded.kind
  OR temporality IS NOT excluded.temporality OR monotonic IS NOT excluded.monotonic OR unit IS NOT excluded.unit
  OR description IS NOT excluded.description"#;

/// Which series of an export exist (a new one past a cap does not).
/// - ?1: JSON array of series rows
pub const EXISTING_SERIES: &str = r#"
SELECT series_key AS value FROM metric_series WHERE series_key IN (SELECT r.value ->> 'key' FROM json_each(?1) AS r)"#;

/// Inserts packs whose every series exists; a pack already stored (a
/// retried export) is left alone. Returns the packs inserted.
/// - ?1: JSON array of pack rows (`ingest::metric_packs::PackRow`)
pub const INSERT_PACKS: &str = r#"
INSERT INTO metric_packs (service_name, metric_name, end_ms, pack_id, start_ms, points, body)
SELECT p.value ->> 0, p.value ->> 1, p.value ->> 2, p.value ->> 3, p.value ->> 4, p.value ->> 5, unhex(p.value ->> 6)
FROM json_each(?1) AS p
WHERE NOT EXISTS (SELECT 1 FROM json_each(p.value -> 7) AS k
  WHERE NOT EXISTS (SELECT 1 FROM metric_series AS s WHERE s.series_key = k.value))
ON CONFLICT DO NOTHING
RETURNING pack_id AS value"#;

/// Metric names per service with their kind, unit and description, as the
/// JSON array `GET /api/metrics` answers (one row, `value`).
/// - ?1: service or NULL for every service
pub const LIST_METRICS: &str = r#"
SELECT json_group_array(json_object('name', metric_name, 'service', service_name, 'type', kind,
  'temporality', temporality, 'monotonic', json(CASE WHEN monotonic THEN 'true' ELSE 'false' END), 'unit', unit,
  'description', description, 'series', series, 'lastSeen', last_seen_ms)) AS value
FROM (SELECT metric_name, service_name, kind, temporality, monotonic, unit, description, count(*) AS series,
    max(last_seen_ms) AS last_seen_ms
  FROM metric_series WHERE ?1 IS NULL OR service_name = ?1
  GROUP BY metric_name, service_name ORDER BY metric_name, service_name)"#;

/// The series of one metric, optionally of one service.
/// - ?1: metric name; ?2: service or NULL
pub const SERIES_OF_METRIC: &str = r#"
SELECT series_key, service_name, metric_name, kind, temporality, monotonic, unit, attributes FROM metric_series
WHERE metric_name = ?1 AND (?2 IS NULL OR service_name = ?2)"#;

/// The packs of a metric holding points of minutes in a time range (a pack
/// spans at most `PACK_SPAN_MS`).
/// - ?1: metric name; ?2: service or NULL; ?3: first minute (unix ms, inclusive); ?4: end (unix ms, exclusive)
pub const PACKS_OF_METRIC: &str = r#"
SELECT hex(p.body) AS value
FROM (SELECT DISTINCT service_name FROM metric_series WHERE metric_name = ?1 AND (?2 IS NULL OR service_name = ?2)) AS k
JOIN metric_packs AS p ON p.service_name = k.service_name AND p.metric_name = ?1
WHERE p.end_ms >= ?3 AND p.end_ms < ?4 + 3600000 AND p.start_ms < ?4 + 60000"#;

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

/// Where the rules' longest window (with the lookback for baselines) starts, unix ms.
/// - ?1: now, unix ms; ?2: lookback, ms
macro_rules! rule_window_start {
    () => {
        "?1 - ?2 - 60000 - 1000 * (SELECT coalesce(max(rule ->> '$.windowSeconds'), 0) \
         FROM alert_configs WHERE enabled = 1 AND rule ->> '$.metricName' NOT LIKE 'span.%')"
    };
}

/// Their packs over that window.
/// - ?1: now, unix ms; ?2: lookback, ms
pub const RULE_METRIC_PACKS: &str = concat!(
    "SELECT hex(p.body) AS value FROM (SELECT DISTINCT service_name, metric_name FROM metric_series \
     WHERE metric_name IN (",
    rule_metric_names!(),
    ")) AS k JOIN metric_packs AS p ON p.service_name = k.service_name AND p.metric_name = k.metric_name \
     WHERE p.end_ms >= ",
    rule_window_start!(),
    " AND p.end_ms < ?1 + 3600000 AND p.start_ms <= ?1"
);

/// Deletes up to ?2 packs whose newest point is before ?1 (unix ms), metric by metric
/// (`metric_series_counts` lists every service and metric that had series).
pub const PRUNE_PACKS: &str = r#"
DELETE FROM metric_packs WHERE (service_name, metric_name, end_ms, pack_id) IN
  (SELECT p.service_name, p.metric_name, p.end_ms, p.pack_id FROM metric_series_counts AS c
   JOIN metric_packs AS p ON p.service_name = c.service_name AND p.metric_name = c.metric_name AND p.end_ms < ?1
   WHERE c.metric_name <> '' LIMIT ?2)
RETURNING 1 AS deleted"#;

/// Deletes up to ?2 series last seen before ?1 (unix ms), which frees their place under the caps.
pub const PRUNE_SERIES: &str = r#"
DELETE FROM metric_series WHERE series_key IN
  (SELECT series_key FROM metric_series WHERE last_seen_ms < ?1 ORDER BY last_seen_ms LIMIT ?2)
RETURNING 1 AS deleted"#;
