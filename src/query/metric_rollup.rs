//! Minute roll-ups of metric series from their stored points (`metric_packs`):
//! per series and minute the sums, extremes, and the first and last point by
//! time, as `query::metric_query` evaluates them. Points repeated in several
//! packs count once. Points merge in any order: first and last go
//! by time; delta buckets whose bounds change start over from the point read
//! last (as the SQL roll-up they replace did, by arrival).
//!
//! Buckets of a delta series add up while the bounds stay the same (new
//! bounds start over); a cumulative series keeps its last point's, with the
//! first point's in `first_buckets`.

use std::collections::{HashMap, HashSet};

use super::metric_query::{StoredMinute, StoredSeries};
use crate::ingest::metric_packs::StoredPoint;

const NANOS_PER_MINUTE: u64 = 60_000_000_000;

/// The minutes of `series` from their points (points of any other series
/// are left out), in no order.
pub fn minutes(points: Vec<StoredPoint>, series: &[StoredSeries]) -> Vec<StoredMinute> {
    let cumulative: HashMap<&str, bool> =
        series.iter().map(|s| (s.series_key.as_str(), s.temporality == "cumulative")).collect();
    let mut seen: HashSet<(String, u64)> = HashSet::new();
    let points = points.into_iter().filter(|p| seen.insert((p.series.clone(), p.time_ns))).map(minute_of);
    let mut by_minute: HashMap<(String, u64), StoredMinute> = HashMap::new();
    for minute in points {
        let Some(&cumulative) = cumulative.get(minute.series_key.as_str()) else { continue };
        let key = (minute.series_key.clone(), minute.minute_ms as u64);
        match by_minute.get_mut(&key) {
            Some(into) => merge(into, minute, cumulative),
            None => {
                by_minute.insert(key, minute);
            }
        }
    }
    by_minute.into_values().collect()
}

/// The minute of one point.
fn minute_of(p: StoredPoint) -> StoredMinute {
    let buckets: Vec<f64> = p.buckets.unwrap_or_default().into_iter().map(|b| b as f64).collect();
    StoredMinute {
        minute_ms: (p.time_ns / NANOS_PER_MINUTE * 60_000) as f64,
        points: 1.0,
        value_sum: p.value.unwrap_or(0.0),
        count_sum: p.count.unwrap_or(0.0),
        low: p.low,
        high: p.high,
        first_time_ns: p.time_ns,
        first_start_ns: p.start_ns,
        first_value: p.value,
        first_count: p.count,
        first_buckets: buckets.clone(),
        last_time_ns: p.time_ns,
        last_start_ns: p.start_ns,
        last_value: p.value,
        last_count: p.count,
        bounds: p.bounds.unwrap_or_default(),
        buckets,
        quantiles: p.quantiles.unwrap_or_default(),
        series_key: p.series,
    }
}

/// Adds `other` (the same series and minute) into `into`.
fn merge(into: &mut StoredMinute, other: StoredMinute, cumulative: bool) {
    into.points += other.points;
    into.value_sum += other.value_sum;
    into.count_sum += other.count_sum;
    into.low = extreme(into.low, other.low, f64::min);
    into.high = extreme(into.high, other.high, f64::max);
    if other.first_time_ns < into.first_time_ns {
        into.first_time_ns = other.first_time_ns;
        into.first_start_ns = other.first_start_ns;
        into.first_value = other.first_value;
        into.first_count = other.first_count;
        into.first_buckets = other.first_buckets;
    }
    let later = other.last_time_ns > into.last_time_ns;
    if later {
        into.last_time_ns = other.last_time_ns;
        into.last_start_ns = other.last_start_ns;
        into.last_value = other.last_value;
        into.last_count = other.last_count;
        into.quantiles = other.quantiles;
    }
    if other.buckets.is_empty() {
        return;
    }
    if cumulative {
        if later {
            (into.bounds, into.buckets) = (other.bounds, other.buckets);
        }
    } else if into.buckets.is_empty() || into.bounds != other.bounds || into.buckets.len() != other.buckets.len() {
        (into.bounds, into.buckets) = (other.bounds, other.buckets);
    } else {
        into.buckets.iter_mut().zip(&other.buckets).for_each(|(b, o)| *b += o);
    }
}

fn extreme(a: Option<f64>, b: Option<f64>, pick: fn(f64, f64) -> f64) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(pick(a, b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = 1_795_789_920_000_000_000; // a whole minute
    const S: u64 = 1_000_000_000;

    fn series(key: &str, temporality: &str) -> StoredSeries {
        StoredSeries {
            series_key: key.into(),
            service_name: "svc".into(),
            metric_name: "m".into(),
            kind: "histogram".into(),
            temporality: temporality.into(),
            monotonic: 0.0,
            unit: "ms".into(),
            attributes: "{}".into(),
        }
    }

    fn point(series: &str, time_ns: u64, value: f64) -> StoredPoint {
        StoredPoint {
            series: series.into(),
            time_ns,
            start_ns: T - 60 * S,
            value: Some(value),
            low: Some(value),
            high: Some(value),
            ..Default::default()
        }
    }

    fn histogram(series: &str, time_ns: u64, bounds: Vec<f64>, buckets: Vec<u64>) -> StoredPoint {
        let count = buckets.iter().sum::<u64>() as f64;
        StoredPoint { count: Some(count), bounds: Some(bounds), buckets: Some(buckets), ..point(series, time_ns, 10.0) }
    }

    fn sorted(mut minutes: Vec<StoredMinute>) -> Vec<StoredMinute> {
        crate::sort::sort_by(&mut minutes, |a, b| {
            a.series_key.cmp(&b.series_key).then(a.minute_ms.total_cmp(&b.minute_ms))
        });
        minutes
    }

    #[test]
    fn points_roll_into_their_series_minute_whatever_their_order() {
        let points = vec![point("a", T + 30 * S, 5.0), point("a", T + 10 * S, 2.0), point("a", T + 70 * S, 1.0)];
        let minutes = sorted(minutes(points, &[series("a", "")]));
        assert_eq!(minutes.len(), 2);
        let first = &minutes[0];
        assert_eq!((first.minute_ms, first.points, first.value_sum), ((T / 1_000_000) as f64, 2.0, 7.0));
        assert_eq!((first.low, first.high), (Some(2.0), Some(5.0)));
        assert_eq!((first.first_time_ns, first.first_value), (T + 10 * S, Some(2.0)));
        assert_eq!((first.last_time_ns, first.last_value), (T + 30 * S, Some(5.0)));
        assert_eq!(minutes[1].minute_ms, (T / 1_000_000 + 60_000) as f64);
    }

    #[test]
    fn a_point_in_two_packs_counts_once_and_unknown_series_are_left_out() {
        let points = vec![point("a", T, 5.0), point("a", T, 5.0), point("gone", T, 1.0)];
        let minutes = minutes(points, &[series("a", "")]);
        assert_eq!(minutes.len(), 1);
        assert_eq!((minutes[0].points, minutes[0].value_sum), (1.0, 5.0));
    }

    #[test]
    fn delta_buckets_add_up_until_the_bounds_change() {
        let points = vec![
            histogram("d", T, vec![1.0, 10.0], vec![1, 2, 0]),
            histogram("d", T + S, vec![1.0, 10.0], vec![0, 1, 4]),
            histogram("n", T, vec![1.0], vec![1, 1]),
            histogram("n", T + S, vec![2.0], vec![3, 0]),
        ];
        let minutes = sorted(minutes(points, &[series("d", "delta"), series("n", "delta")]));
        assert_eq!((minutes[0].buckets.clone(), minutes[0].count_sum), (vec![1.0, 3.0, 4.0], 8.0));
        assert_eq!((minutes[1].bounds.clone(), minutes[1].buckets.clone()), (vec![2.0], vec![3.0, 0.0]));
    }

    #[test]
    fn cumulative_buckets_are_the_last_points_with_the_first_kept() {
        let points = vec![
            histogram("c", T + 2 * S, vec![1.0], vec![4, 6]),
            histogram("c", T, vec![1.0], vec![1, 2]),
            histogram("c", T + S, vec![1.0], vec![2, 3]),
        ];
        let minutes = minutes(points, &[series("c", "cumulative")]);
        assert_eq!(minutes[0].buckets, vec![4.0, 6.0]);
        assert_eq!(minutes[0].first_buckets, vec![1.0, 2.0]);
        assert_eq!(minutes[0].first_count, Some(3.0));
        assert_eq!(minutes[0].last_count, Some(10.0));
    }

    #[test]
    fn summaries_keep_the_last_points_quantiles() {
        let first = StoredPoint { quantiles: Some(vec![(0.5, 1.0)]), ..point("a", T + 5 * S, 3.0) };
        let last = StoredPoint { quantiles: Some(vec![(0.5, 2.0)]), ..point("a", T + 20 * S, 4.0) };
        let minutes = minutes(vec![last, first], &[series("a", "cumulative")]);
        assert_eq!((minutes[0].points, minutes[0].value_sum), (2.0, 7.0));
        assert_eq!((minutes[0].first_value, minutes[0].last_value), (Some(3.0), Some(4.0)));
        assert_eq!(minutes[0].quantiles, vec![(0.5, 2.0)]);
    }

    #[test]
    fn extremes_ignore_missing_values() {
        assert_eq!(extreme(None, Some(2.0), f64::min), Some(2.0));
        assert_eq!(extreme(Some(1.0), Some(2.0), f64::max), Some(2.0));
        assert_eq!(extreme(None, None, f64::max), None);
    }
}
