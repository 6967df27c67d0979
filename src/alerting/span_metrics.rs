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
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RedMinute {
    pub minute_ms: f64,
    #[serde(flatten)]
    pub red: StoredRed,
}

const MINUTE_MS: f64 = 60_000.0;

/// The value of `metric` for one minute; `None` when the minute has no requests.
fn minute_value(metric: &str, red: &StoredRed) -> Option<f64> {
    let per_request = |v: f64| (red.requests > 0.0).then(|| v / red.requests);
    match metric {
        "span.count" => Some(red.requests),
        "span.error_count" => Some(red.errors),
        "span.error_rate" => per_request(red.errors),
        "span.duration.avg" => per_request(red.duration_sum_ms),
        "span.duration.p50" => quantile_ms(&red.buckets(), 0.50),
        "span.duration.p90" => quantile_ms(&red.buckets(), 0.90),
        "span.duration.p95" => quantile_ms(&red.buckets(), 0.95),
        "span.duration.p99" => quantile_ms(&red.buckets(), 0.99),
        _ => None,
    }
}

fn is_count(metric: &str) -> bool {
    matches!(metric, "span.count" | "span.error_count")
}

/// Observes `metric` with `aggregation` over `window`, from one service's
/// minutes (in any order; minutes outside the window are ignored).
pub fn observe(metric: &str, aggregation: Aggregation, minutes: &[&RedMinute], window: &Window) -> Observation {
    let first = window.start_minute_ms();
    let mut in_window: Vec<&RedMinute> =
        minutes.iter().copied().filter(|m| m.minute_ms >= first && m.minute_ms < window.end_ms).collect();
    in_window.sort_by(|a, b| a.minute_ms.total_cmp(&b.minute_ms));
    let values: Vec<f64> = if is_count(metric) {
        let mut dense = Vec::new();
        let mut minute = first;
        let mut rows = in_window.iter().peekable();
        while minute < window.end_ms {
            let row = rows.next_if(|m| m.minute_ms == minute);
            dense.push(row.and_then(|m| minute_value(metric, &m.red)).unwrap_or(0.0));
            minute += MINUTE_MS;
        }
        dense
    } else {
        in_window.iter().filter_map(|m| minute_value(metric, &m.red)).collect()
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
        observe(metric, aggregation, &minutes.iter().collect::<Vec<_>>(), &window())
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
