//! Span-derived alert metrics (`span.count`, `span.error_rate`, …) read from
//! the per-minute RED roll-ups of a service's entry spans.
//!
//! Each span metric is a per-minute series over the rule's window; the
//! rule's aggregation reduces it to one value. Counts (`span.count`,
//! `span.error_count`) are dense: a minute without traffic counts 0, so
//! "no requests" can alert. Ratios and durations exist only for minutes
//! with requests: a window without any is no data.

use serde::Deserialize;

use super::engine::Observation;
use super::rule::Aggregation;
use crate::query::service_view::{quantile_ms, StoredRed, Window};

/// One service's RED roll-up of one minute.
#[derive(Debug, Clone, Default)]
pub struct RedMinute {
    pub minute_ms: f64,
    pub red: StoredRed,
}

/// The column of a RED minute row besides its `StoredRed` ones (the store
/// reads a row as both: `serde(flatten)` costs ≈ 7 KB of wasm).
#[derive(Debug, Clone, Deserialize)]
pub struct MinuteKey {
    pub minute_ms: f64,
}

impl From<(MinuteKey, StoredRed)> for RedMinute {
    fn from((key, red): (MinuteKey, StoredRed)) -> Self {
        RedMinute { minute_ms: key.minute_ms, red }
    }
}

const MINUTE_MS: f64 = 60_000.0;

/// A span-derived metric, parsed once per rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SpanMetric {
    Count,
    ErrorCount,
    ErrorRate,
    DurationAvg,
    /// A duration quantile (0.5, 0.9, 0.95, 0.99).
    DurationQuantile(f64),
}

impl SpanMetric {
    /// `span.count`, …; `None` for any other name.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "span.count" => Self::Count,
            "span.error_count" => Self::ErrorCount,
            "span.error_rate" => Self::ErrorRate,
            "span.duration.avg" => Self::DurationAvg,
            "span.duration.p50" => Self::DurationQuantile(0.50),
            "span.duration.p90" => Self::DurationQuantile(0.90),
            "span.duration.p95" => Self::DurationQuantile(0.95),
            "span.duration.p99" => Self::DurationQuantile(0.99),
            _ => return None,
        })
    }

    /// Counts are dense: a minute without traffic counts 0.
    fn is_count(self) -> bool {
        matches!(self, Self::Count | Self::ErrorCount)
    }

    /// The value for one minute; `None` when the minute has no requests.
    fn minute_value(self, red: &StoredRed) -> Option<f64> {
        let per_request = |v: f64| (red.requests > 0.0).then(|| v / red.requests);
        match self {
            Self::Count => Some(red.requests),
            Self::ErrorCount => Some(red.errors),
            Self::ErrorRate => per_request(red.errors),
            Self::DurationAvg => per_request(red.duration_sum_ms),
            Self::DurationQuantile(q) => quantile_ms(&red.buckets(), q),
        }
    }
}

/// Observes `metric` with `aggregation` over `window`, from one service's
/// minutes sorted by minute (minutes outside the window are ignored).
pub fn observe(metric: SpanMetric, aggregation: Aggregation, minutes: &[&RedMinute], window: &Window) -> Observation {
    let first = window.start_minute_ms();
    let from = minutes.partition_point(|m| m.minute_ms < first);
    let to = minutes.partition_point(|m| m.minute_ms < window.end_ms);
    let in_window = minutes.get(from..to).unwrap_or_default();
    let values: Vec<f64> = if metric.is_count() {
        let mut dense = Vec::with_capacity(((window.end_ms - first) / MINUTE_MS).ceil().max(0.0) as usize);
        let mut minute = first;
        let mut rows = in_window.iter().peekable();
        while minute < window.end_ms {
            let row = rows.next_if(|m| m.minute_ms == minute);
            dense.push(row.and_then(|m| metric.minute_value(&m.red)).unwrap_or(0.0));
            minute += MINUTE_MS;
        }
        dense
    } else {
        in_window.iter().filter_map(|m| metric.minute_value(&m.red)).collect()
    };
    match aggregation.apply(&values, window.seconds().round() as u32) {
        Some(v) => Observation::Value(v),
        None => Observation::NoData,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: f64 = 1_700_000_040_000.0; // a minute boundary

    /// A minute with `requests`, `errors` and every request taking `ms`.
    fn minute(offset: u32, requests: f64, errors: f64, ms: f64) -> RedMinute {
        let mut red = StoredRed { requests, errors, duration_sum_ms: requests * ms, ..Default::default() };
        match ms {
            m if m <= 10.0 => red.b3 = requests,
            m if m <= 100.0 => red.b6 = requests,
            _ => red.b9 = requests,
        }
        RedMinute { minute_ms: T0 + f64::from(offset) * MINUTE_MS, red }
    }

    /// The five minutes `T0 .. T0 + 5 min`.
    fn window() -> Window {
        Window { start_ms: T0, end_ms: T0 + 5.0 * MINUTE_MS }
    }

    fn value(metric: &str, aggregation: Aggregation, minutes: &[RedMinute]) -> Observation {
        let mut sorted: Vec<&RedMinute> = minutes.iter().collect();
        crate::sort::sort_by(&mut sorted, |a, b| a.minute_ms.total_cmp(&b.minute_ms));
        observe(SpanMetric::parse(metric).unwrap(), aggregation, &sorted, &window())
    }

    #[test]
    fn counts_are_dense_so_quiet_minutes_count_zero() {
        let minutes = [minute(0, 60.0, 6.0, 5.0), minute(3, 30.0, 0.0, 5.0)];
        assert_eq!(value("span.count", Aggregation::Sum, &minutes), Observation::Value(90.0));
        assert_eq!(value("span.count", Aggregation::Avg, &minutes), Observation::Value(18.0));
        assert_eq!(value("span.count", Aggregation::Min, &minutes), Observation::Value(0.0));
        assert_eq!(value("span.count", Aggregation::Rate, &minutes), Observation::Value(0.3));
        assert_eq!(value("span.count", Aggregation::Count, &minutes), Observation::Value(5.0));
        assert_eq!(value("span.error_count", Aggregation::Max, &minutes), Observation::Value(6.0));
        assert_eq!(value("span.count", Aggregation::Sum, &[]), Observation::Value(0.0), "no traffic is zero requests");
    }

    #[test]
    fn ratios_and_durations_only_exist_for_minutes_with_requests() {
        let minutes = [minute(0, 100.0, 10.0, 5.0), minute(1, 100.0, 30.0, 50.0)];
        assert_eq!(value("span.error_rate", Aggregation::Avg, &minutes), Observation::Value(0.2));
        assert_eq!(value("span.error_rate", Aggregation::Last, &minutes), Observation::Value(0.3));
        assert_eq!(value("span.duration.avg", Aggregation::Max, &minutes), Observation::Value(50.0));
        assert_eq!(value("span.error_rate", Aggregation::Avg, &[]), Observation::NoData);
        assert_eq!(value("span.duration.p95", Aggregation::Avg, &[]), Observation::NoData);
    }

    #[test]
    fn percentiles_come_from_each_minutes_histogram() {
        // 100 requests in (50, 100] ms: p50 interpolates to 75 ms, p99 to 99.5 ms.
        let minutes = [minute(2, 100.0, 0.0, 80.0)];
        assert_eq!(value("span.duration.p50", Aggregation::Avg, &minutes), Observation::Value(75.0));
        assert_eq!(value("span.duration.p99", Aggregation::Avg, &minutes), Observation::Value(99.5));
        assert_eq!(value("span.duration.p90", Aggregation::Avg, &minutes), Observation::Value(95.0));
    }

    #[test]
    fn only_span_metric_names_parse() {
        assert_eq!(SpanMetric::parse("span.duration.p90"), Some(SpanMetric::DurationQuantile(0.90)));
        assert_eq!(SpanMetric::parse("http_requests_total"), None);
        for name in crate::alerting::rule::SPAN_METRICS {
            assert!(SpanMetric::parse(name).is_some(), "{name}");
        }
    }

    #[test]
    fn minutes_outside_the_window_are_ignored() {
        let minutes = [
            minute(0, 1.0, 1.0, 5.0),
            minute(5, 1000.0, 0.0, 5.0),
            RedMinute { minute_ms: T0 - MINUTE_MS, ..minute(0, 500.0, 0.0, 5.0) },
        ];
        assert_eq!(value("span.count", Aggregation::Sum, &minutes), Observation::Value(1.0));
        assert_eq!(value("span.error_rate", Aggregation::Avg, &minutes), Observation::Value(1.0));
    }
}
