//! `ExportMetricsServiceRequest` from OTLP/JSON into the metric model, with
//! the same leniency as traces (camelCase or snake_case names, 64-bit
//! numbers as strings or numbers, enum names).

use std::borrow::Cow;

use serde::Deserialize;

use super::json_values::{nullable, u32_lenient, u64_lenient, EnumValue, JsonAttributes, Num};
use super::traces_json::{resource, JsonResource, JsonScope};
use super::{DecodeError, Rejections};
use crate::domain::metric::{
    ExponentialBuckets, ExponentialHistogramPoint, HistogramPoint, NumberPoint, PointHeader, SummaryPoint,
};
use crate::domain::{Metric, MetricData, ResourceMetrics, Scope, ScopeMetrics, Temporality};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Request<'a> {
    #[serde(borrow, default, deserialize_with = "nullable", alias = "resource_metrics")]
    resource_metrics: Vec<JsonResourceMetrics<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonResourceMetrics<'a> {
    #[serde(borrow, default, deserialize_with = "nullable")]
    resource: JsonResource<'a>,
    #[serde(borrow, default, deserialize_with = "nullable", alias = "scope_metrics")]
    scope_metrics: Vec<JsonScopeMetrics<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonScopeMetrics<'a> {
    #[serde(borrow, default, deserialize_with = "nullable")]
    scope: JsonScope<'a>,
    #[serde(borrow, default, deserialize_with = "nullable")]
    metrics: Vec<JsonMetric<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonMetric<'a> {
    #[serde(borrow, default, deserialize_with = "nullable")]
    name: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "nullable")]
    description: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "nullable")]
    unit: Cow<'a, str>,
    #[serde(borrow, default)]
    gauge: Option<JsonData<'a>>,
    #[serde(borrow, default)]
    sum: Option<JsonData<'a>>,
    #[serde(borrow, default)]
    histogram: Option<JsonData<'a>>,
    #[serde(borrow, default, alias = "exponential_histogram")]
    exponential_histogram: Option<JsonData<'a>>,
    #[serde(borrow, default)]
    summary: Option<JsonData<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonData<'a> {
    #[serde(borrow, default = "Vec::new", deserialize_with = "nullable", alias = "data_points")]
    data_points: Vec<JsonPoint<'a>>,
    #[serde(default, alias = "aggregation_temporality")]
    aggregation_temporality: EnumValue<'a>,
    #[serde(default, deserialize_with = "nullable", alias = "is_monotonic")]
    is_monotonic: bool,
}

/// A data point of any kind: the fields of every kind, each defaulted, read
/// by the kind's conversion. (One struct rather than one per kind around a
/// `serde(flatten)`ed header: flattening buffers every point and cost ≈ 20 KB
/// of wasm.) Fields of another kind are read and ignored.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonPoint<'a> {
    #[serde(borrow, default)]
    attributes: JsonAttributes<'a>,
    #[serde(default, deserialize_with = "u64_lenient", alias = "start_time_unix_nano")]
    start_time_unix_nano: u64,
    #[serde(default, deserialize_with = "u64_lenient", alias = "time_unix_nano")]
    time_unix_nano: u64,
    #[serde(default, deserialize_with = "u32_lenient")]
    flags: u32,
    // Gauges and sums.
    #[serde(default, alias = "as_double")]
    as_double: Option<Num>,
    #[serde(default, alias = "as_int")]
    as_int: Option<Num>,
    // Histograms, exponential histograms and summaries.
    #[serde(default, deserialize_with = "u64_lenient")]
    count: u64,
    #[serde(default)]
    sum: Option<Num>,
    #[serde(default)]
    min: Option<Num>,
    #[serde(default)]
    max: Option<Num>,
    #[serde(default, deserialize_with = "nullable", alias = "bucket_counts")]
    bucket_counts: Vec<Num>,
    #[serde(default, deserialize_with = "nullable", alias = "explicit_bounds")]
    explicit_bounds: Vec<Num>,
    #[serde(default)]
    scale: Num,
    #[serde(default, deserialize_with = "u64_lenient", alias = "zero_count")]
    zero_count: u64,
    #[serde(default, deserialize_with = "nullable")]
    positive: JsonBuckets,
    #[serde(default, deserialize_with = "nullable")]
    negative: JsonBuckets,
    #[serde(default, alias = "zero_threshold")]
    zero_threshold: Option<Num>,
    #[serde(default, deserialize_with = "nullable", alias = "quantile_values")]
    quantile_values: Vec<JsonQuantile>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct JsonBuckets {
    #[serde(default)]
    offset: Num,
    #[serde(default, deserialize_with = "nullable", alias = "bucket_counts")]
    bucket_counts: Vec<Num>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonQuantile {
    #[serde(default)]
    quantile: Num,
    #[serde(default)]
    value: Num,
}

/// Decodes an OTLP/JSON `ExportMetricsServiceRequest`; points with unreadable
/// attributes or counts are counted in `rejections` and left out.
pub fn decode<'a>(body: &'a [u8], rejections: &mut Rejections) -> Result<Vec<ResourceMetrics<'a>>, DecodeError> {
    let request: Request<'a> =
        serde_json::from_slice(body).map_err(|e| DecodeError::Malformed(format!("invalid OTLP/JSON: {e}")))?;
    Ok(request
        .resource_metrics
        .into_iter()
        .map(|rm| ResourceMetrics {
            resource: resource(rm.resource, rejections),
            scope_metrics: rm
                .scope_metrics
                .into_iter()
                .map(|sm| ScopeMetrics {
                    scope: Scope { name: sm.scope.name, version: sm.scope.version },
                    metrics: sm.metrics.into_iter().map(|m| metric(m, rejections)).collect(),
                })
                .collect(),
        })
        .collect())
}

fn header<'a>(p: &mut JsonPoint<'a>) -> Result<PointHeader<'a>, String> {
    Ok(PointHeader {
        attributes: std::mem::take(&mut p.attributes).0?,
        start_time_unix_nano: p.start_time_unix_nano,
        time_unix_nano: p.time_unix_nano,
        flags: p.flags,
    })
}

fn counts(values: Vec<Num>, what: &str) -> Result<Vec<u64>, String> {
    values.into_iter().map(|n| n.as_u64().ok_or_else(|| format!("{what} must be unsigned integers"))).collect()
}

fn number_point(mut p: JsonPoint<'_>) -> Result<NumberPoint<'_>, String> {
    let value = match (p.as_double, p.as_int) {
        (Some(d), _) => d.as_f64(),
        (None, Some(i)) => i.as_i64().ok_or("asInt is not a 64-bit integer")? as f64,
        (None, None) => 0.0,
    };
    Ok(NumberPoint { header: header(&mut p)?, value })
}

fn histogram_point(mut p: JsonPoint<'_>) -> Result<HistogramPoint<'_>, String> {
    Ok(HistogramPoint {
        header: header(&mut p)?,
        count: p.count,
        sum: p.sum.map(Num::as_f64),
        bucket_counts: counts(p.bucket_counts, "bucketCounts")?,
        explicit_bounds: p.explicit_bounds.into_iter().map(Num::as_f64).collect(),
        min: p.min.map(Num::as_f64),
        max: p.max.map(Num::as_f64),
    })
}

fn buckets(b: JsonBuckets) -> Result<ExponentialBuckets, String> {
    Ok(ExponentialBuckets {
        offset: b.offset.as_i64().and_then(|o| i32::try_from(o).ok()).ok_or("offset is not a 32-bit integer")?,
        bucket_counts: counts(b.bucket_counts, "bucketCounts")?,
    })
}

fn exponential_point(mut p: JsonPoint<'_>) -> Result<ExponentialHistogramPoint<'_>, String> {
    Ok(ExponentialHistogramPoint {
        header: header(&mut p)?,
        count: p.count,
        sum: p.sum.map(Num::as_f64),
        scale: p.scale.as_i64().and_then(|s| i32::try_from(s).ok()).ok_or("scale is not a 32-bit integer")?,
        zero_count: p.zero_count,
        positive: buckets(p.positive)?,
        negative: buckets(p.negative)?,
        min: p.min.map(Num::as_f64),
        max: p.max.map(Num::as_f64),
        zero_threshold: p.zero_threshold.map_or(0.0, Num::as_f64),
    })
}

fn summary_point(mut p: JsonPoint<'_>) -> Result<SummaryPoint<'_>, String> {
    Ok(SummaryPoint {
        header: header(&mut p)?,
        count: p.count,
        sum: p.sum.map_or(0.0, Num::as_f64),
        quantiles: p.quantile_values.into_iter().map(|q| (q.quantile.as_f64(), q.value.as_f64())).collect(),
    })
}

/// Converts every point; a point that cannot be read is refused, the rest kept.
fn convert<'a, P>(
    name: &str,
    points: Vec<JsonPoint<'a>>,
    one: fn(JsonPoint<'a>) -> Result<P, String>,
    rejections: &mut Rejections,
) -> Vec<P> {
    points
        .into_iter()
        .filter_map(|p| one(p).map_err(|e| rejections.reject(format!("metric {name:?}: {e}"))).ok())
        .collect()
}

fn temporality(t: &EnumValue<'_>) -> Temporality {
    t.resolve(Temporality::from_i64, Temporality::from_name)
}

fn metric<'a>(m: JsonMetric<'a>, rejections: &mut Rejections) -> Metric<'a> {
    let name = m.name.to_string();
    let data = if let Some(g) = m.gauge {
        MetricData::Gauge(convert(&name, g.data_points, number_point, rejections))
    } else if let Some(s) = m.sum {
        MetricData::Sum {
            temporality: temporality(&s.aggregation_temporality),
            monotonic: s.is_monotonic,
            points: convert(&name, s.data_points, number_point, rejections),
        }
    } else if let Some(h) = m.histogram {
        MetricData::Histogram {
            temporality: temporality(&h.aggregation_temporality),
            points: convert(&name, h.data_points, histogram_point, rejections),
        }
    } else if let Some(e) = m.exponential_histogram {
        MetricData::ExponentialHistogram {
            temporality: temporality(&e.aggregation_temporality),
            points: convert(&name, e.data_points, exponential_point, rejections),
        }
    } else if let Some(s) = m.summary {
        MetricData::Summary(convert(&name, s.data_points, summary_point, rejections))
    } else {
        MetricData::Empty
    };
    Metric { name: m.name, description: m.description, unit: m.unit, data }
}
