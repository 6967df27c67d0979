//! Flattens a metric export into what storage writes: one row per series
//! seen (service, name, kind, attribute set), the data points in packs (one
//! per metric of a service and hour, `metric_packs`), and one Analytics
//! Engine point per data point.
//!
//! A series' attribute set is the point's attributes plus the resource's
//! `service.instance.id` when it has one, so the cumulative counters of two
//! processes of one service never interleave in one series.

use std::collections::HashSet;

use serde::Serialize;

use super::data_points::{metric_point, DataPoint, MetricNumbers, MetricTexts};
use super::metric_packs::{MetricPack, Packer, StoredPoint};
use super::metric_series::{exponential_to_explicit, series_key};
use super::row_chunks::{attributes_text, RowChunks};
use crate::domain::metric::{MetricData, PointHeader, Temporality};
use crate::domain::time::nanos_to_ms;
use crate::domain::value::{find, Attributes};
use crate::domain::{KeyValue, Metric, ResourceMetrics};
use crate::otlp::Rejections;

/// Cardinality caps: a new series is refused (its points reported in
/// `partialSuccess`) once its service has `per_service` series or its metric
/// `per_metric`; series seen before always go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeriesCaps {
    pub per_service: u32,
    pub per_metric: u32,
}

impl Default for SeriesCaps {
    fn default() -> Self {
        Self { per_service: 10_000, per_metric: 2_000 }
    }
}

/// OTLP `DataPointFlags.FLAG_NO_RECORDED_VALUE`: the point marks a gap and carries no value.
const FLAG_NO_RECORDED_VALUE: u32 = 1;

/// The stored form of one series.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SeriesRow<'s> {
    key: &'s str,
    service: &'s str,
    name: &'s str,
    kind: &'static str,
    temporality: &'static str,
    monotonic: bool,
    unit: &'s str,
    description: &'s str,
    attributes: Attributes<'s, 's>,
}

/// What one point stores: its numbers and, for distributions, buckets or quantiles.
#[derive(Default)]
struct PointValues {
    value: Option<f64>,
    count: Option<f64>,
    low: Option<f64>,
    high: Option<f64>,
    bounds: Option<Vec<f64>>,
    buckets: Option<Vec<u64>>,
    quantiles: Option<Vec<(f64, f64)>>,
}

/// A metric's kind and temporality as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeriesKind {
    pub kind: &'static str,
    pub temporality: &'static str,
    pub monotonic: bool,
}

impl SeriesKind {
    fn of(data: &MetricData<'_>) -> Self {
        let temporality = |t: &Temporality| match t {
            Temporality::Delta => "delta",
            Temporality::Cumulative => "cumulative",
            Temporality::Unspecified => "",
        };
        let (kind, temporality, monotonic) = match data {
            MetricData::Empty | MetricData::Gauge(_) => ("gauge", "", false),
            MetricData::Sum { temporality: t, monotonic, .. } => ("sum", temporality(t), *monotonic),
            MetricData::Histogram { temporality: t, .. } => ("histogram", temporality(t), false),
            MetricData::ExponentialHistogram { temporality: t, .. } => ("exponential_histogram", temporality(t), false),
            // Summaries are cumulative by definition.
            MetricData::Summary(_) => ("summary", "cumulative", false),
        };
        Self { kind, temporality, monotonic }
    }
}

/// Everything one metric export writes.
#[derive(Debug, Default)]
pub struct MetricBatch<'s> {
    /// JSON arrays of series rows, one row per series in the export.
    pub series_chunks: Vec<String>,
    /// The data points, packed.
    pub packs: Vec<MetricPack>,
    /// The Analytics Engine point of each data point (packs hold their indices).
    pub points: Vec<DataPoint<'s>>,
    /// Series key and service of each stored data point (for refusals past a series cap).
    pub point_series: Vec<(String, &'s str)>,
}

impl MetricBatch<'_> {
    pub fn point_count(&self) -> usize {
        self.point_series.len()
    }
}

/// Builds the batch. Points that cannot be stored (no time, a value that is
/// not a finite number, buckets that do not match their bounds) are refused
/// into `rejections`; points flagged "no recorded value" mark gaps and store nothing.
pub fn metric_batch<'s>(resource_metrics: &'s [ResourceMetrics<'_>], rejections: &mut Rejections) -> MetricBatch<'s> {
    let mut batch = MetricBatch::default();
    let (mut series_chunks, mut packer) = (RowChunks::default(), Packer::default());
    let mut seen_series = HashSet::new();
    for rm in resource_metrics {
        let service = rm.resource.service_name();
        let instance = find(&rm.resource.attributes, "service.instance.id")
            .filter(|v| v.as_str().is_some_and(|s| !s.is_empty()))
            .map(|v| KeyValue { key: "service.instance.id".into(), value: v.clone() });
        let (service_version, environment) =
            (rm.resource.service_version().unwrap_or(""), rm.resource.environment().unwrap_or(""));
        for sm in &rm.scope_metrics {
            for metric in &sm.metrics {
                let kind = SeriesKind::of(&metric.data);
                for (header, values) in points(metric) {
                    if header.flags & FLAG_NO_RECORDED_VALUE != 0 {
                        continue;
                    }
                    let values = match values.and_then(|v| check(header, v)) {
                        Ok(values) => values,
                        Err(reason) => {
                            rejections.reject(format!("metric {:?}: {reason}", metric.name));
                            continue;
                        }
                    };
                    let attributes: Vec<KeyValue> = header.attributes.iter().cloned().chain(instance.clone()).collect();
                    let key = series_key(service, &metric.name, &attributes);
                    let attributes_json = attributes_text(&attributes);
                    if !seen_series.contains(&key) {
                        let row = SeriesRow {
                            key: &key,
                            service,
                            name: &metric.name,
                            kind: kind.kind,
                            temporality: kind.temporality,
                            monotonic: kind.monotonic,
                            unit: &metric.unit,
                            description: &metric.description,
                            attributes: Attributes(&attributes),
                        };
                        if let Err(bytes) = series_chunks.push(&row, |_| {}) {
                            rejections.reject(format!("metric {:?}: a series of {bytes} bytes", metric.name));
                            continue;
                        }
                        seen_series.insert(key.clone());
                    }
                    let numbers = MetricNumbers {
                        value: values.value.unwrap_or(0.0),
                        count: values.count.unwrap_or(0.0),
                        min: values.low.unwrap_or(0.0),
                        max: values.high.unwrap_or(0.0),
                        time_ms: nanos_to_ms(header.time_unix_nano),
                        start_time_ms: nanos_to_ms(header.start_time_unix_nano),
                        monotonic: kind.monotonic,
                        attribute_count: attributes.len(),
                    };
                    let texts = MetricTexts {
                        metric_name: &metric.name,
                        service,
                        kind: kind.kind,
                        temporality: kind.temporality,
                        unit: &metric.unit,
                        series_key: key.clone(),
                        attributes_json,
                        service_version,
                        environment,
                        scope_name: &sm.scope.name,
                        description: &metric.description,
                    };
                    let point = match metric_point(texts, numbers) {
                        Ok(point) => point,
                        Err(e) => {
                            rejections.reject(format!("metric {:?}: {e}", metric.name));
                            continue;
                        }
                    };
                    let stored = StoredPoint {
                        series: key.clone(),
                        time_ns: header.time_unix_nano,
                        start_ns: header.start_time_unix_nano,
                        value: values.value,
                        count: values.count,
                        low: values.low,
                        high: values.high,
                        bounds: values.bounds,
                        buckets: values.buckets,
                        quantiles: values.quantiles,
                    };
                    if let Err(bytes) = packer.push(service, &metric.name, &stored, batch.points.len()) {
                        rejections.reject(format!("metric {:?}: a data point of {bytes} bytes", metric.name));
                        continue;
                    }
                    batch.points.push(point);
                    batch.point_series.push((key, service));
                }
            }
        }
    }
    batch.series_chunks = series_chunks.finish();
    batch.packs = packer.finish();
    batch
}

/// Each data point of a metric with what it stores (or why it cannot be stored).
fn points<'m, 'a>(metric: &'m Metric<'a>) -> Vec<(&'m PointHeader<'a>, Result<PointValues, String>)> {
    let number = |v: f64| PointValues { value: Some(v), low: Some(v), high: Some(v), ..Default::default() };
    match &metric.data {
        MetricData::Empty => Vec::new(),
        MetricData::Gauge(points) | MetricData::Sum { points, .. } => {
            points.iter().map(|p| (&p.header, Ok(number(p.value)))).collect()
        }
        MetricData::Histogram { points, .. } => points
            .iter()
            .map(|p| {
                let buckets = if p.bucket_counts.is_empty() {
                    Ok(PointValues::default())
                } else if p.bucket_counts.len() != p.explicit_bounds.len() + 1 {
                    Err(format!(
                        "{} bucket counts for {} bounds (need one more count than bounds)",
                        p.bucket_counts.len(),
                        p.explicit_bounds.len()
                    ))
                } else {
                    Ok(PointValues {
                        bounds: Some(p.explicit_bounds.clone()),
                        buckets: Some(p.bucket_counts.clone()),
                        ..Default::default()
                    })
                };
                let values = buckets.map(|b| PointValues {
                    value: p.sum,
                    count: Some(p.count as f64),
                    low: p.min,
                    high: p.max,
                    ..b
                });
                (&p.header, values)
            })
            .collect(),
        MetricData::ExponentialHistogram { points, .. } => points
            .iter()
            .map(|p| {
                let (bounds, buckets) = exponential_to_explicit(p);
                let values = PointValues {
                    value: p.sum,
                    count: Some(p.count as f64),
                    low: p.min,
                    high: p.max,
                    bounds: Some(bounds),
                    buckets: Some(buckets),
                    quantiles: None,
                };
                (&p.header, Ok(values))
            })
            .collect(),
        MetricData::Summary(points) => points
            .iter()
            .map(|p| {
                let values = PointValues {
                    value: Some(p.sum),
                    count: Some(p.count as f64),
                    quantiles: Some(p.quantiles.clone()),
                    ..Default::default()
                };
                (&p.header, Ok(values))
            })
            .collect(),
    }
}

/// Refuses points without a time or with a number that is not finite.
fn check(header: &PointHeader<'_>, values: PointValues) -> Result<PointValues, String> {
    if header.time_unix_nano == 0 {
        return Err("a data point without timeUnixNano".into());
    }
    let numbers = [values.value, values.count, values.low, values.high];
    let bounds = values.bounds.iter().flatten().copied();
    let quantiles = values.quantiles.iter().flatten().flat_map(|&(q, v)| [q, v]);
    if numbers.into_iter().flatten().chain(bounds).chain(quantiles).any(|v| !v.is_finite()) {
        return Err("a value that is not a finite number".into());
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::metric::{
        ExponentialBuckets, ExponentialHistogramPoint, HistogramPoint, NumberPoint, SummaryPoint,
    };
    use crate::domain::{AnyValue, Resource, ScopeMetrics};

    const T: u64 = 1_763_900_000_000_000_000;

    fn kv(k: &'static str, v: &'static str) -> KeyValue<'static> {
        KeyValue { key: k.into(), value: AnyValue::Str(v.into()) }
    }

    fn header(attributes: Vec<KeyValue<'static>>, time: u64) -> PointHeader<'static> {
        PointHeader { attributes, start_time_unix_nano: T - 60_000_000_000, time_unix_nano: time, flags: 0 }
    }

    fn export(metrics: Vec<Metric<'static>>, resource: Vec<KeyValue<'static>>) -> Vec<ResourceMetrics<'static>> {
        vec![ResourceMetrics {
            resource: Resource { attributes: resource, dropped_attributes_count: 0 },
            scope_metrics: vec![ScopeMetrics { metrics, ..Default::default() }],
        }]
    }

    fn metric(name: &'static str, data: MetricData<'static>) -> Metric<'static> {
        Metric { name: name.into(), unit: "1".into(), description: "d".into(), data }
    }

    fn rows(chunks: &[String]) -> Vec<serde_json::Value> {
        chunks.iter().flat_map(|c| serde_json::from_str::<Vec<serde_json::Value>>(c).unwrap()).collect()
    }

    /// Every packed point, pack by pack.
    fn packed(batch: &MetricBatch<'_>) -> Vec<serde_json::Value> {
        let bodies = batch
            .packs
            .iter()
            .map(|p| rows(&[p.row(|_| true).unwrap().json.get().to_string()])[6].as_str().unwrap().to_string());
        bodies
            .flat_map(|b| crate::ingest::metric_packs::decode(&b).unwrap())
            .map(|p| serde_json::to_value(p).unwrap())
            .collect()
    }

    #[test]
    fn sums_store_one_series_and_a_point_each() {
        let points = vec![
            NumberPoint { header: header(vec![kv("route", "/a")], T), value: 5.0 },
            NumberPoint { header: header(vec![kv("route", "/a")], T + 10), value: 7.0 },
            NumberPoint { header: header(vec![kv("route", "/b")], T), value: 1.0 },
        ];
        let data = MetricData::Sum { points, temporality: Temporality::Cumulative, monotonic: true };
        let export = export(vec![metric("requests", data)], vec![kv("service.name", "checkout")]);
        let mut rejections = Rejections::default();
        let batch = metric_batch(&export, &mut rejections);
        let series = rows(&batch.series_chunks);
        assert_eq!(series.len(), 2, "two attribute sets");
        assert_eq!(series[0]["service"], "checkout");
        assert_eq!((series[0]["kind"].as_str(), series[0]["temporality"].as_str()), (Some("sum"), Some("cumulative")));
        assert_eq!(series[0]["monotonic"], true);
        assert_eq!(series[0]["attributes"]["route"], "/a");
        let points = packed(&batch);
        assert_eq!(points.len(), 3);
        assert_eq!(points[0]["series"], series[0]["key"]);
        assert_eq!(points[1]["value"], 7.0);
        assert_eq!(points[1]["timeNs"], 1_763_900_000_000_000_010u64);
        assert!(points[0].get("bounds").is_none());
        assert_eq!(batch.point_count(), 3);
        assert_eq!(rejections.count, 0);
        let point = &batch.points[1];
        assert_eq!(point.index(), "checkout");
        assert_eq!(&point.blobs()[..5], ["requests", "checkout", "sum", "cumulative", "1"]);
        assert_eq!(point.doubles()[0], 7.0);
        assert_eq!(point.doubles()[6], 1.0, "monotonic");
    }

    #[test]
    fn the_instance_id_keeps_two_processes_apart() {
        let data = || MetricData::Gauge(vec![NumberPoint { header: header(vec![], T), value: 1.0 }]);
        let one = export(vec![metric("g", data())], vec![kv("service.name", "s"), kv("service.instance.id", "a")]);
        let two = export(vec![metric("g", data())], vec![kv("service.name", "s"), kv("service.instance.id", "b")]);
        let key =
            |e: &[ResourceMetrics]| rows(&metric_batch(e, &mut Rejections::default()).series_chunks)[0]["key"].clone();
        assert_ne!(key(&one), key(&two));
        assert_eq!(
            rows(&metric_batch(&one, &mut Rejections::default()).series_chunks)[0]["attributes"]["service.instance.id"],
            "a"
        );
    }

    #[test]
    fn histograms_keep_buckets_and_exponential_ones_are_converted() {
        let histogram = HistogramPoint {
            header: header(vec![], T),
            count: 3,
            sum: Some(12.0),
            bucket_counts: vec![1, 2, 0],
            explicit_bounds: vec![1.0, 10.0],
            min: Some(0.5),
            max: Some(9.0),
        };
        let exponential = ExponentialHistogramPoint {
            header: header(vec![], T),
            count: 2,
            sum: Some(6.0),
            scale: 0,
            positive: ExponentialBuckets { offset: 1, bucket_counts: vec![2] },
            ..Default::default()
        };
        let export = export(
            vec![
                metric("h", MetricData::Histogram { points: vec![histogram], temporality: Temporality::Delta }),
                metric(
                    "e",
                    MetricData::ExponentialHistogram { points: vec![exponential], temporality: Temporality::Delta },
                ),
            ],
            vec![],
        );
        let batch = metric_batch(&export, &mut Rejections::default());
        let points = packed(&batch);
        assert_eq!(points[0]["bounds"], serde_json::json!([1.0, 10.0]));
        assert_eq!(points[0]["buckets"], serde_json::json!([1, 2, 0]));
        assert_eq!((points[0]["value"].as_f64(), points[0]["count"].as_f64()), (Some(12.0), Some(3.0)));
        assert_eq!((points[0]["low"].as_f64(), points[0]["high"].as_f64()), (Some(0.5), Some(9.0)));
        assert_eq!(points[1]["bounds"], serde_json::json!([0.0, 2.0, 4.0]));
        assert_eq!(points[1]["buckets"], serde_json::json!([0, 0, 2, 0]));
        assert_eq!(rows(&batch.series_chunks)[1]["kind"], "exponential_histogram");
        assert_eq!(batch.points[0].doubles()[..4], [12.0, 3.0, 0.5, 9.0]);
    }

    #[test]
    fn summaries_keep_quantiles() {
        let summary = SummaryPoint { header: header(vec![], T), count: 4, sum: 10.0, quantiles: vec![(0.5, 2.0)] };
        let export = export(vec![metric("s", MetricData::Summary(vec![summary]))], vec![]);
        let batch = metric_batch(&export, &mut Rejections::default());
        assert_eq!(packed(&batch)[0]["quantiles"], serde_json::json!([[0.5, 2.0]]));
        assert_eq!(rows(&batch.series_chunks)[0]["temporality"], "cumulative");
    }

    #[test]
    fn unstorable_points_are_refused_and_gaps_skipped() {
        let mut no_value = header(vec![], T + 1);
        no_value.flags = FLAG_NO_RECORDED_VALUE;
        let bad_histogram = HistogramPoint {
            header: header(vec![], T),
            bucket_counts: vec![1, 2],
            explicit_bounds: vec![1.0, 2.0],
            ..Default::default()
        };
        let export = export(
            vec![
                metric(
                    "g",
                    MetricData::Gauge(vec![
                        NumberPoint { header: header(vec![], 0), value: 1.0 },
                        NumberPoint { header: header(vec![], T), value: f64::NAN },
                        NumberPoint { header: no_value, value: 0.0 },
                        NumberPoint { header: header(vec![], T + 2), value: 3.0 },
                    ]),
                ),
                metric("h", MetricData::Histogram { points: vec![bad_histogram], temporality: Temporality::Delta }),
            ],
            vec![],
        );
        let mut rejections = Rejections::default();
        let batch = metric_batch(&export, &mut rejections);
        assert_eq!(batch.point_count(), 1);
        assert_eq!(rejections.count, 3);
        let message = rejections.message();
        assert!(message.contains("without timeUnixNano"), "{message}");
        assert!(message.contains("not a finite number"), "{message}");
        assert!(message.contains("2 bucket counts for 2 bounds"), "{message}");
    }

    #[test]
    fn a_series_too_large_to_store_is_refused_not_a_panic() {
        let huge: &'static str = Box::leak("x".repeat(1_500_000).into_boxed_str());
        let gauge =
            |attributes, time| MetricData::Gauge(vec![NumberPoint { header: header(attributes, time), value: 1.0 }]);
        let export = export(
            vec![metric("big", gauge(vec![kv("user", huge)], T)), metric("small", gauge(vec![], T))],
            vec![kv("service.name", "s")],
        );
        let mut rejections = Rejections::default();
        let batch = metric_batch(&export, &mut rejections);
        assert_eq!((batch.point_count(), rejections.count), (1, 1));
        assert!(rejections.message().contains("a series of"), "{}", rejections.message());
        assert_eq!(rows(&batch.series_chunks).len(), 1, "only the small series is stored");
    }

    #[test]
    fn point_times_in_milliseconds_are_exact_whole_milliseconds() {
        // 2026-11-27: `nanos as f64 / 1e6` gives 1795789962169.9998 for this time.
        let time = 1_795_789_962_170_000_000;
        let export = export(
            vec![metric("g", MetricData::Gauge(vec![NumberPoint { header: header(vec![], time), value: 9.0 }]))],
            vec![],
        );
        let batch = metric_batch(&export, &mut Rejections::default());
        assert_eq!(batch.points[0].doubles()[4], 1_795_789_962_170.0);
    }
}
