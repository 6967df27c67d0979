//! The metric model: OTLP metrics with every data point type (gauge, sum,
//! histogram, exponential histogram, summary), borrowed from the request
//! body wherever the encoding allows it.

use std::borrow::Cow;

use super::span::{Resource, Scope};
use super::value::KeyValue;

/// How a sum's or histogram's points relate to each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Temporality {
    #[default]
    Unspecified,
    /// Each point covers only its own interval.
    Delta,
    /// Each point covers everything since `start_time_unix_nano`.
    Cumulative,
}

impl Temporality {
    pub fn from_i64(n: i64) -> Option<Self> {
        match n {
            0 => Some(Self::Unspecified),
            1 => Some(Self::Delta),
            2 => Some(Self::Cumulative),
            _ => None,
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim().to_ascii_uppercase().trim_start_matches("AGGREGATION_TEMPORALITY_") {
            "UNSPECIFIED" => Some(Self::Unspecified),
            "DELTA" => Some(Self::Delta),
            "CUMULATIVE" => Some(Self::Cumulative),
            _ => None,
        }
    }
}

/// Fields every data point has.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PointHeader<'a> {
    pub attributes: Vec<KeyValue<'a>>,
    pub start_time_unix_nano: u64,
    pub time_unix_nano: u64,
    pub flags: u32,
}

/// A gauge or sum point (`as_int` values become exact f64 up to 2^53).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NumberPoint<'a> {
    pub header: PointHeader<'a>,
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct HistogramPoint<'a> {
    pub header: PointHeader<'a>,
    pub count: u64,
    pub sum: Option<f64>,
    /// `explicit_bounds.len() + 1` counts (or none).
    pub bucket_counts: Vec<u64>,
    pub explicit_bounds: Vec<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// The buckets of one sign of an exponential histogram.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExponentialBuckets {
    pub offset: i32,
    pub bucket_counts: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExponentialHistogramPoint<'a> {
    pub header: PointHeader<'a>,
    pub count: u64,
    pub sum: Option<f64>,
    pub scale: i32,
    pub zero_count: u64,
    pub positive: ExponentialBuckets,
    pub negative: ExponentialBuckets,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub zero_threshold: f64,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct SummaryPoint<'a> {
    pub header: PointHeader<'a>,
    pub count: u64,
    pub sum: f64,
    /// `(quantile, value)` pairs.
    pub quantiles: Vec<(f64, f64)>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub enum MetricData<'a> {
    /// A metric without data (allowed by the protocol, nothing to store).
    #[default]
    Empty,
    Gauge(Vec<NumberPoint<'a>>),
    Sum {
        points: Vec<NumberPoint<'a>>,
        temporality: Temporality,
        monotonic: bool,
    },
    Histogram {
        points: Vec<HistogramPoint<'a>>,
        temporality: Temporality,
    },
    ExponentialHistogram {
        points: Vec<ExponentialHistogramPoint<'a>>,
        temporality: Temporality,
    },
    Summary(Vec<SummaryPoint<'a>>),
}

impl MetricData<'_> {
    pub fn point_count(&self) -> usize {
        match self {
            MetricData::Empty => 0,
            MetricData::Gauge(p) | MetricData::Sum { points: p, .. } => p.len(),
            MetricData::Histogram { points, .. } => points.len(),
            MetricData::ExponentialHistogram { points, .. } => points.len(),
            MetricData::Summary(p) => p.len(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Metric<'a> {
    pub name: Cow<'a, str>,
    pub description: Cow<'a, str>,
    pub unit: Cow<'a, str>,
    pub data: MetricData<'a>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScopeMetrics<'a> {
    pub scope: Scope<'a>,
    pub metrics: Vec<Metric<'a>>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResourceMetrics<'a> {
    pub resource: Resource<'a>,
    pub scope_metrics: Vec<ScopeMetrics<'a>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporalities_parse_from_numbers_and_names() {
        assert_eq!(Temporality::from_i64(2), Some(Temporality::Cumulative));
        assert_eq!(Temporality::from_name("AGGREGATION_TEMPORALITY_DELTA"), Some(Temporality::Delta));
        assert_eq!(Temporality::from_name("cumulative"), Some(Temporality::Cumulative));
        assert_eq!(Temporality::from_i64(7), None);
    }
}
