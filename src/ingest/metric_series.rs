//! The arithmetic of metric roll-ups, pure: series identity (service +
//! metric name + attribute set), deltas of cumulative points with counter
//! resets, and quantiles estimated from explicit-bucket and exponential
//! histograms. The store keeps per-series per-minute roll-ups built with these.

use sha2::{Digest, Sha256};

use super::row_chunks::attributes_text;
use crate::domain::metric::{ExponentialBuckets, ExponentialHistogramPoint};
use crate::domain::KeyValue;

/// The key of a series: 128 bits of SHA-256 over the service, the metric
/// name and the attribute set (attribute order does not matter).
pub fn series_key(service: &str, metric: &str, attributes: &[KeyValue<'_>]) -> String {
    let mut sorted: Vec<&KeyValue> = attributes.iter().collect();
    crate::sort::sort_by(&mut sorted, |a, b| a.key.cmp(&b.key));
    let owned: Vec<KeyValue> = sorted.into_iter().cloned().collect();
    let canonical = attributes_text(&owned);
    let mut hasher = Sha256::new();
    for part in [service, metric, &canonical] {
        hasher.update(part.len().to_le_bytes());
        hasher.update(part.as_bytes());
    }
    let digest: [u8; 32] = hasher.finalize().into();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// The last cumulative point seen of a series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CumulativeState {
    pub start_time_unix_nano: u64,
    pub time_unix_nano: u64,
    pub value: f64,
}

/// How much a cumulative point adds to its series since `previous`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Increase {
    /// The first point seen of the series: the baseline, nothing to add yet
    /// (unless the point says it started within the window, see `cumulative_increase`).
    Baseline,
    /// The counter went on: the difference.
    Delta(f64),
    /// The counter restarted (new start time, or a value below the last one):
    /// everything it counted since its new start.
    Reset(f64),
    /// Not newer than the last point (a retry or out of order): adds nothing.
    Stale,
}

impl Increase {
    pub fn amount(self) -> f64 {
        match self {
            Increase::Delta(v) | Increase::Reset(v) => v,
            Increase::Baseline | Increase::Stale => 0.0,
        }
    }
}

/// The increase a cumulative point brings, given the series' last point.
pub fn cumulative_increase(previous: Option<CumulativeState>, point: CumulativeState) -> Increase {
    let Some(prev) = previous else { return Increase::Baseline };
    if point.time_unix_nano <= prev.time_unix_nano {
        return Increase::Stale;
    }
    let restarted = point.start_time_unix_nano != prev.start_time_unix_nano && point.start_time_unix_nano > 0;
    if restarted || point.value < prev.value {
        Increase::Reset(point.value)
    } else {
        Increase::Delta(point.value - prev.value)
    }
}

/// Estimates the `q` quantile of an explicit-bucket histogram (`counts` has
/// `bounds.len() + 1` entries, as numbers: roll-ups add counts up), interpolating linearly inside the bucket
/// that holds it, as Prometheus' `histogram_quantile` does: the first
/// bucket starts at 0 (or at its bound when that is negative), and the
/// overflow bucket answers the last bound.
pub fn histogram_quantile(bounds: &[f64], counts: &[f64], q: f64) -> Option<f64> {
    let total: f64 = counts.iter().sum();
    if total <= 0.0 || counts.len() != bounds.len() + 1 || !(0.0..=1.0).contains(&q) {
        return None;
    }
    let rank = q * total;
    let mut seen = 0.0;
    let lowers = bounds.first().map(|b| b.min(0.0)).into_iter().chain(bounds.iter().copied());
    for ((&count, &upper), lower) in counts.iter().zip(bounds).zip(lowers) {
        if count > 0.0 && seen + count >= rank {
            return Some(lower + (upper - lower) * ((rank - seen) / count));
        }
        seen += count;
    }
    bounds.last().copied()
}

/// Each bucket's index (offset + position) with its count.
fn indexed(b: &ExponentialBuckets) -> Vec<(i64, u64)> {
    b.bucket_counts.iter().enumerate().map(|(i, c)| (i64::from(b.offset) + i as i64, *c)).collect()
}

/// An exponential histogram as explicit buckets (upper bounds and counts,
/// one more count than bounds for the overflow, 0 here), every bucket
/// keeping its true lower edge: empty buckets fill the gaps below the most
/// negative bucket, around the zero bucket and up to the first positive one.
pub fn exponential_to_explicit(p: &ExponentialHistogramPoint<'_>) -> (Vec<f64>, Vec<u64>) {
    let base = 2f64.powf(2f64.powi(-p.scale));
    let edge = |index: i64| base.powf(index as f64);
    let zero = p.zero_threshold.max(0.0);
    let (mut bounds, mut counts) = (Vec::new(), Vec::new());
    // Negative bucket i covers [-base^(i+1), -base^i): ascending values run from the highest index down.
    let negative = indexed(&p.negative);
    if let Some(&(highest, _)) = negative.last() {
        bounds.push(-edge(highest + 1));
        counts.push(0);
        for &(index, count) in negative.iter().rev() {
            bounds.push(-edge(index));
            counts.push(count);
        }
        bounds.push(-zero);
        counts.push(0);
    }
    bounds.push(zero);
    counts.push(p.zero_count);
    // Positive bucket i covers (base^i, base^(i+1)].
    let positive = indexed(&p.positive);
    if let Some(&(lowest, _)) = positive.first() {
        bounds.push(edge(lowest));
        counts.push(0);
    }
    for (index, count) in positive {
        bounds.push(edge(index + 1));
        counts.push(count);
    }
    counts.push(0);
    (bounds, counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::metric::PointHeader;
    use crate::domain::AnyValue;

    fn kv(k: &'static str, v: &'static str) -> KeyValue<'static> {
        KeyValue { key: k.into(), value: AnyValue::Str(v.into()) }
    }

    #[test]
    fn series_are_service_name_and_attribute_set_in_any_order() {
        let a = series_key("checkout", "http.requests", &[kv("route", "/a"), kv("method", "GET")]);
        assert_eq!(a, series_key("checkout", "http.requests", &[kv("method", "GET"), kv("route", "/a")]));
        assert_eq!(a.len(), 32);
        assert_ne!(a, series_key("cart", "http.requests", &[kv("route", "/a"), kv("method", "GET")]));
        assert_ne!(a, series_key("checkout", "http.requests", &[kv("route", "/b"), kv("method", "GET")]));
        assert_ne!(series_key("ab", "c", &[]), series_key("a", "bc", &[]), "parts cannot run into each other");
    }

    fn at(start: u64, time: u64, value: f64) -> CumulativeState {
        CumulativeState { start_time_unix_nano: start, time_unix_nano: time, value }
    }

    #[test]
    fn cumulative_counters_add_their_deltas_and_survive_resets() {
        // A counter reported every minute: 10, 25, 40, then the process restarts and reports 5, 12.
        let points = [at(1, 60, 10.0), at(1, 120, 25.0), at(1, 180, 40.0), at(200, 240, 5.0), at(200, 300, 12.0)];
        let mut prev = None;
        let mut increases = Vec::new();
        for p in points {
            increases.push(cumulative_increase(prev, p));
            prev = Some(p);
        }
        assert_eq!(
            increases,
            [
                Increase::Baseline,
                Increase::Delta(15.0),
                Increase::Delta(15.0),
                Increase::Reset(5.0),
                Increase::Delta(7.0)
            ]
        );
        assert_eq!(increases.iter().map(|i| i.amount()).sum::<f64>(), 42.0);
        // A value drop without a new start time is a reset too; a retried point adds nothing.
        assert_eq!(cumulative_increase(Some(at(0, 60, 50.0)), at(0, 120, 3.0)), Increase::Reset(3.0));
        assert_eq!(cumulative_increase(Some(at(1, 120, 25.0)), at(1, 120, 25.0)), Increase::Stale);
    }

    #[test]
    fn explicit_histogram_quantiles_match_exact_values_on_uniform_data() {
        // 1,000 values 0.5, 1.5, …, 999.5 in buckets of width 100: the estimate is exact for uniform data.
        let bounds: Vec<f64> = (1..10).map(|i| f64::from(i) * 100.0).collect();
        let counts = vec![100.0; 10]; // the last bucket, (900, +inf), holds 900..1000
        let exact = |q: f64| q * 1000.0;
        for q in [0.1, 0.5, 0.9] {
            let estimate = histogram_quantile(&bounds, &counts, q).unwrap();
            assert!((estimate - exact(q)).abs() < 1e-9, "q{q}: {estimate}");
        }
        assert_eq!(
            histogram_quantile(&bounds, &counts, 0.99),
            Some(900.0),
            "the overflow bucket answers its lower bound"
        );
        assert_eq!(histogram_quantile(&bounds, &[0.0; 10], 0.5), None);
        assert_eq!(histogram_quantile(&bounds, &[1.0, 2.0], 0.5), None, "counts must match the bounds");
    }

    #[test]
    fn exponential_histograms_become_explicit_buckets() {
        // scale 0: base 2; positive offset 1 → buckets (2, 4], (4, 8]; negative offset 0 → (-2, -1].
        let p = ExponentialHistogramPoint {
            header: PointHeader::default(),
            count: 10,
            sum: None,
            scale: 0,
            zero_count: 2,
            positive: ExponentialBuckets { offset: 1, bucket_counts: vec![3, 4] },
            negative: ExponentialBuckets { offset: 0, bucket_counts: vec![1] },
            min: None,
            max: None,
            zero_threshold: 0.0,
        };
        let (bounds, counts) = exponential_to_explicit(&p);
        assert_eq!(bounds, [-2.0, -1.0, -0.0, 0.0, 2.0, 4.0, 8.0]);
        assert_eq!(counts, [0, 1, 0, 2, 0, 3, 4, 0]);
        let counts: Vec<f64> = counts.iter().map(|&c| c as f64).collect();
        // 1 negative and 2 zeros lie below (2, 4]: rank 6 of 10 is its top, rank 5 two thirds in.
        assert_eq!(histogram_quantile(&bounds, &counts, 0.6), Some(4.0));
        assert!((histogram_quantile(&bounds, &counts, 0.5).unwrap() - (2.0 + 2.0 * 2.0 / 3.0)).abs() < 1e-12);
        assert_eq!(histogram_quantile(&bounds, &counts, 0.1), Some(-1.0), "the negative bucket (-2, -1]");
        // scale 1: base √2.
        let fine = ExponentialHistogramPoint {
            scale: 1,
            positive: ExponentialBuckets { offset: 0, bucket_counts: vec![1] },
            ..p
        };
        let (bounds, _) = exponential_to_explicit(&fine);
        assert!((bounds[bounds.len() - 1] - 2f64.sqrt()).abs() < 1e-12);
    }
}
