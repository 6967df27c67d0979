//! Metric queries, pure: the parameters of `GET /api/metrics/query`, and the
//! time series built from per-series minute roll-ups with an aggregation
//! (avg, sum, min, max, count, rate, last, p50/p90/p95/p99), per the kind
//! and temporality of the metric. Alert rules on OTLP metrics use the same
//! arithmetic over their window.
//!
//! Cumulative series count increases between consecutive points (counter
//! resets detected by `ingest::metric_series::cumulative_increase`); the
//! increase between two points belongs to the step of the later one. A
//! series' first point is a baseline, unless its start time lies inside
//! what was read: then everything it counted is new.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::alerting::rule::Aggregation;
use crate::api::params::{time_ms, window_seconds};
use crate::api::ApiError;
use crate::domain::time::nanos_to_ms;
use crate::ingest::metric_series::{cumulative_increase, histogram_quantile, CumulativeState};

const MINUTE_MS: f64 = 60_000.0;
/// How far before the range minutes are read, as baselines of cumulative series.
pub const LOOKBACK_MS: f64 = 10.0 * MINUTE_MS;
/// Range when none is given: the last hour.
const DEFAULT_RANGE_MS: f64 = 3_600_000.0;
/// Points a default step aims at, and the most a query may ask for.
const DEFAULT_POINTS: f64 = 120.0;
pub const MAX_POINTS: usize = 1_440;

/// How points of a step are reduced to one value: an alert-rule
/// aggregation, or a quantile of a histogram or summary.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MetricAggregation {
    Rule(Aggregation),
    /// A quantile (0.5, 0.9, 0.95, 0.99).
    Quantile(f64),
}

const QUANTILES: [(&str, f64); 4] = [("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99)];

impl MetricAggregation {
    pub fn parse(name: &str) -> Option<Self> {
        let name = name.trim().to_ascii_lowercase();
        match QUANTILES.iter().find(|(n, _)| *n == name) {
            Some((_, q)) => Some(Self::Quantile(*q)),
            None => serde_json::from_value(serde_json::Value::String(name)).ok().map(Self::Rule),
        }
    }

    pub fn name(self) -> String {
        match self {
            Self::Rule(a) => {
                serde_json::to_value(a).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
            }
            Self::Quantile(q) => format!("p{}", (q * 100.0).round()),
        }
    }
}

/// The parameters of `GET /api/metrics/query`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricQuery {
    pub name: String,
    pub service: Option<String>,
    /// Span metrics only: one operation's roll-ups instead of the service's.
    pub operation: Option<String>,
    /// `None`: the metric kind's default (see `default_aggregation`).
    pub aggregation: Option<MetricAggregation>,
    pub steps: Steps,
    /// `attr.<key>=<value>`: series whose attribute `key` has this value.
    pub attributes: Vec<(String, String)>,
}

impl MetricQuery {
    pub fn parse<'p>(pairs: impl IntoIterator<Item = (&'p str, &'p str)>, now_ms: f64) -> Result<Self, ApiError> {
        let (mut name, mut service, mut operation, mut aggregation) = (None, None, None, None);
        let (mut start, mut end, mut step, mut attributes) = (None, None, None, Vec::new());
        for (k, v) in pairs.into_iter().filter(|(_, v)| !v.trim().is_empty()) {
            match k {
                "name" => name = Some(v.trim().to_string()),
                "service" => service = Some(v.to_string()),
                "operation" => operation = Some(v.to_string()),
                "aggregation" => {
                    aggregation = Some(MetricAggregation::parse(v).ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "aggregation must be one of avg, sum, min, max, count, rate, last, p50, p90, p95, p99, got {v:?}"
                        ))
                    })?)
                }
                "start" => start = Some(time_ms(k, v)?),
                "end" => end = Some(time_ms(k, v)?),
                "step" => step = Some(window_seconds(k, v)?),
                _ => {
                    if let Some(key) = k.strip_prefix("attr.").filter(|key| !key.is_empty()) {
                        attributes.push((key.to_string(), v.to_string()));
                    }
                }
            }
        }
        let name = name.ok_or_else(|| ApiError::bad_request("name is required"))?;
        let end_ms = end.unwrap_or(now_ms);
        let start_ms = start.unwrap_or(end_ms - DEFAULT_RANGE_MS);
        if start_ms >= end_ms {
            return Err(ApiError::bad_request("start must be before end"));
        }
        Ok(Self { name, service, operation, aggregation, steps: Steps::new(start_ms, end_ms, step)?, attributes })
    }
}

/// The step buckets of a query: `count` steps of `step_ms` from `start_ms`
/// (a minute boundary); roll-ups are per minute, so steps are whole minutes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Steps {
    pub start_ms: f64,
    pub step_ms: f64,
    pub count: usize,
}

impl Steps {
    /// Steps covering `[start_ms, end_ms)`; `step_seconds` is rounded up to
    /// whole minutes and defaults to about `DEFAULT_POINTS` steps.
    pub fn new(start_ms: f64, end_ms: f64, step_seconds: Option<f64>) -> Result<Self, ApiError> {
        let start = (start_ms / MINUTE_MS).floor() * MINUTE_MS;
        let range = end_ms - start;
        let wanted = step_seconds.map(|s| s * 1000.0).unwrap_or(range / DEFAULT_POINTS);
        let step_ms = (wanted / MINUTE_MS).ceil().max(1.0) * MINUTE_MS;
        let count = (range / step_ms).ceil() as usize;
        if count > MAX_POINTS {
            return Err(ApiError::bad_request(format!(
                "step too small for the range: {count} points, at most {MAX_POINTS}"
            )));
        }
        Ok(Self { start_ms: start, step_ms, count })
    }

    /// One step from the minute holding `now - seconds` to `now` (an alert
    /// rule's window, over the minutes it touches, as span metrics read it).
    pub fn window(now_ms: f64, seconds: f64) -> Self {
        let start_ms = ((now_ms - seconds * 1000.0) / MINUTE_MS).floor() * MINUTE_MS;
        Self { start_ms, step_ms: now_ms - start_ms, count: 1 }
    }

    fn index(&self, minute_ms: f64) -> Option<usize> {
        let offset = minute_ms - self.start_ms;
        let i = (offset / self.step_ms).floor();
        (offset >= 0.0 && (i as usize) < self.count).then_some(i as usize)
    }

    pub fn end_ms(&self) -> f64 {
        self.start_ms + self.step_ms * self.count as f64
    }

    /// Where reading minutes starts (with the lookback for baselines).
    pub fn read_from_ms(&self) -> f64 {
        (self.start_ms / MINUTE_MS).floor() * MINUTE_MS - LOOKBACK_MS
    }

    pub fn times(&self) -> impl Iterator<Item = f64> + '_ {
        (0..self.count).map(|i| self.start_ms + i as f64 * self.step_ms)
    }
}

/// A row of `metric_series` as queries read it.
#[derive(Debug, Clone, Deserialize)]
pub struct StoredSeries {
    pub series_key: String,
    pub service_name: String,
    pub metric_name: String,
    pub kind: String,
    pub temporality: String,
    pub monotonic: f64,
    pub unit: String,
    /// JSON object.
    pub attributes: String,
}

impl StoredSeries {
    /// Whether every `(key, value)` filter matches an attribute (numbers and booleans by their text).
    pub fn matches(&self, filters: &[(String, String)]) -> bool {
        if filters.is_empty() {
            return true;
        }
        let Ok(attributes) = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&self.attributes)
        else {
            return false;
        };
        filters.iter().all(|(key, wanted)| match attributes.get(key) {
            Some(serde_json::Value::String(s)) => s == wanted,
            Some(other) => serde_json::from_str::<serde_json::Value>(wanted).is_ok_and(|w| w == *other),
            None => false,
        })
    }

    fn semantics(&self) -> Semantics {
        let cumulative = self.temporality == "cumulative";
        match self.kind.as_str() {
            "sum" if cumulative && self.monotonic != 0.0 => Semantics::Counter,
            "sum" if !cumulative => Semantics::DeltaSum,
            "histogram" | "exponential_histogram" if cumulative => Semantics::CumulativeHistogram,
            "histogram" | "exponential_histogram" => Semantics::DeltaHistogram,
            "summary" => Semantics::Summary,
            // Gauges, and cumulative up-down counters, whose value is a level.
            _ => Semantics::Level,
        }
    }
}

/// One series' minute, rolled from its points (`query::metric_rollup`):
/// bucket lists and quantiles empty when absent.
#[derive(Debug, Clone, Default)]
pub struct StoredMinute {
    pub series_key: String,
    pub minute_ms: f64,
    pub points: f64,
    pub value_sum: f64,
    pub count_sum: f64,
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub first_time_ns: u64,
    pub first_start_ns: u64,
    pub first_value: Option<f64>,
    pub first_count: Option<f64>,
    pub first_buckets: Vec<f64>,
    pub last_time_ns: u64,
    pub last_start_ns: u64,
    pub last_value: Option<f64>,
    pub last_count: Option<f64>,
    pub bounds: Vec<f64>,
    pub buckets: Vec<f64>,
    pub quantiles: Vec<(f64, f64)>,
}

/// How a series' points combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Semantics {
    /// Gauges and cumulative up-down counters: each point is a level.
    Level,
    /// Delta sums: points add up.
    DeltaSum,
    /// Cumulative monotonic sums: increases between points.
    Counter,
    DeltaHistogram,
    CumulativeHistogram,
    Summary,
}

impl Semantics {
    fn default_aggregation(self) -> MetricAggregation {
        match self {
            Semantics::DeltaSum | Semantics::Counter => MetricAggregation::Rule(Aggregation::Rate),
            _ => MetricAggregation::Rule(Aggregation::Avg),
        }
    }

    /// Why `aggregation` means nothing for such series, if it does not.
    fn refuses(self, aggregation: MetricAggregation) -> Option<&'static str> {
        use Aggregation as A;
        use MetricAggregation::{Quantile, Rule};
        match (self, aggregation) {
            (Semantics::Level, Rule(A::Rate)) => Some("rate needs a counter (a monotonic sum) or a histogram"),
            (Semantics::Level | Semantics::DeltaSum | Semantics::Counter, Quantile(_)) => {
                Some("quantiles need a histogram or a summary")
            }
            (Semantics::DeltaHistogram | Semantics::CumulativeHistogram, Rule(A::Last)) => {
                Some("last is not defined for histograms: use avg or a quantile")
            }
            (Semantics::Summary, Rule(A::Last | A::Min | A::Max)) => {
                Some("summaries support count, sum, avg, rate and quantiles")
            }
            _ => None,
        }
    }

    fn cumulative(self) -> bool {
        matches!(self, Semantics::Counter | Semantics::CumulativeHistogram | Semantics::Summary)
    }
}

/// Why a metric query has no answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MetricQueryError {
    #[error("no series of metric {0:?} match")]
    NoSeries(String),
    #[error("{aggregation} of {kind} metric {name:?}: {reason}")]
    Unsupported { name: String, kind: String, aggregation: String, reason: &'static str },
}

impl From<MetricQueryError> for ApiError {
    fn from(e: MetricQueryError) -> Self {
        match e {
            MetricQueryError::NoSeries(_) => ApiError::not_found(e.to_string()),
            MetricQueryError::Unsupported { .. } => ApiError::bad_request(e.to_string()),
        }
    }
}

/// A distribution's explicit buckets, counts as numbers (sums of counts).
type Buckets = (Vec<f64>, Vec<f64>);

/// What one step gathers over every series.
#[derive(Debug, Clone, Default)]
struct Step {
    points: f64,
    value_sum: f64,
    count_sum: f64,
    low: Option<f64>,
    high: Option<f64>,
    last_sum: Option<f64>,
    /// Cumulative series: increases of the value (or a distribution's sum) and of the count.
    increase: f64,
    count_increase: f64,
    histograms: Vec<Buckets>,
    /// Summaries: the asked quantile of each series' last point.
    quantiles: Vec<f64>,
}

impl Step {
    fn add_extremes(&mut self, low: Option<f64>, high: Option<f64>) {
        self.low = match (self.low, low) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.high = match (self.high, high) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }

    fn add_histogram(&mut self, bounds: &[f64], counts: &[f64]) {
        if bounds.is_empty() || counts.iter().all(|c| *c == 0.0) {
            return;
        }
        match self.histograms.iter_mut().find(|(b, _)| b == bounds) {
            Some((_, sum)) => sum.iter_mut().zip(counts).for_each(|(s, c)| *s += c),
            None => self.histograms.push((bounds.to_vec(), counts.to_vec())),
        }
    }

    /// The quantile over every histogram: the count-weighted mean of each
    /// bucket layout's quantile (layouts cannot be merged exactly).
    fn histogram_quantile(&self, q: f64) -> Option<f64> {
        let (mut weighted, mut total) = (0.0, 0.0);
        for (bounds, counts) in &self.histograms {
            let n: f64 = counts.iter().sum();
            if let Some(v) = histogram_quantile(bounds, counts, q) {
                weighted += v * n;
                total += n;
            }
        }
        (total > 0.0).then(|| weighted / total)
    }

    fn value(&self, semantics: Semantics, aggregation: MetricAggregation, step_seconds: f64) -> Option<f64> {
        use Aggregation as A;
        use MetricAggregation::{Quantile, Rule};
        if self.points == 0.0 {
            return None;
        }
        let per_point = self.value_sum / self.points;
        let (total, count) = if semantics.cumulative() {
            (self.increase, self.count_increase)
        } else {
            (self.value_sum, self.count_sum)
        };
        let distribution =
            matches!(semantics, Semantics::DeltaHistogram | Semantics::CumulativeHistogram | Semantics::Summary);
        match aggregation {
            Rule(A::Avg) if distribution => (count > 0.0).then(|| total / count),
            Rule(A::Avg) => Some(per_point),
            Rule(A::Sum) if semantics == Semantics::Level => Some(self.value_sum),
            Rule(A::Sum) => Some(total),
            Rule(A::Count) if distribution => Some(count),
            Rule(A::Count) => Some(self.points),
            Rule(A::Rate) if distribution => Some(count / step_seconds),
            Rule(A::Rate) => Some(total / step_seconds),
            Rule(A::Min) => self.low,
            Rule(A::Max) => self.high,
            Rule(A::Last) => self.last_sum,
            Quantile(_) if semantics == Semantics::Summary => self.quantiles.iter().copied().reduce(f64::max),
            Quantile(q) => self.histogram_quantile(q),
        }
    }
}

fn state(start_time_unix_nano: u64, time_unix_nano: u64, value: Option<f64>) -> CumulativeState {
    CumulativeState { start_time_unix_nano, time_unix_nano, value: value.unwrap_or(0.0) }
}

/// A cumulative distribution's buckets between two of its points: the
/// difference, or everything since the later point's start after a reset.
fn bucket_increase(earlier: &[f64], later: &[f64], reset: bool) -> Vec<f64> {
    if reset || earlier.len() != later.len() || later.iter().zip(earlier).any(|(l, e)| l < e) {
        later.to_vec()
    } else {
        later.iter().zip(earlier).map(|(l, e)| l - e).collect()
    }
}

/// The increase from the previous minute's last point (or from nothing, for
/// a series' first minute) to this minute's first point, and within the minute.
struct MinuteIncrease {
    value: f64,
    count: f64,
    buckets: Vec<f64>,
}

/// Bucket increases are only worked out `with_buckets` (quantile queries).
fn minute_increase(
    prev: Option<&StoredMinute>,
    m: &StoredMinute,
    read_from_ms: f64,
    with_buckets: bool,
) -> MinuteIncrease {
    let first = |v: Option<f64>| state(m.first_start_ns, m.first_time_ns, v);
    let last = |v: Option<f64>| state(m.last_start_ns, m.last_time_ns, v);
    let none: &[f64] = &[];
    let (first_buckets, last_buckets) =
        if with_buckets { (&m.first_buckets[..], &m.buckets[..]) } else { (none, none) };
    let within = m.first_time_ns != m.last_time_ns;
    let within_value =
        if within { cumulative_increase(Some(first(m.first_value)), last(m.last_value)).amount() } else { 0.0 };
    let within_count =
        if within { cumulative_increase(Some(first(m.first_count)), last(m.last_count)).amount() } else { 0.0 };
    let mut buckets = if within {
        bucket_increase(first_buckets, last_buckets, m.first_start_ns != m.last_start_ns)
    } else {
        vec![0.0; last_buckets.len()]
    };
    let (value, count, before) = match prev {
        Some(p) => {
            let at = |v: Option<f64>| state(p.last_start_ns, p.last_time_ns, v);
            let value = cumulative_increase(Some(at(p.last_value)), first(m.first_value)).amount();
            let count = cumulative_increase(Some(at(p.last_count)), first(m.first_count)).amount();
            let restarted = p.last_start_ns != m.first_start_ns;
            let before = if with_buckets { &p.buckets[..] } else { none };
            (value, count, bucket_increase(before, first_buckets, restarted))
        }
        None => {
            let start_ms = nanos_to_ms(m.first_start_ns);
            if start_ms > 0.0 && start_ms >= read_from_ms {
                (m.first_value.unwrap_or(0.0), m.first_count.unwrap_or(0.0), first_buckets.to_vec())
            } else {
                (0.0, 0.0, vec![0.0; first_buckets.len()])
            }
        }
    };
    if before.len() == buckets.len() {
        buckets.iter_mut().zip(&before).for_each(|(b, x)| *b += x);
    }
    MinuteIncrease { value: within_value + value, count: within_count + count, buckets }
}

/// The semantics shared by every series, or why the aggregation does not apply.
fn semantics_of(
    name: &str,
    first: &StoredSeries,
    series: &[&StoredSeries],
    aggregation: Option<MetricAggregation>,
) -> Result<(Semantics, MetricAggregation), MetricQueryError> {
    let semantics = first.semantics();
    let aggregation = aggregation.unwrap_or(semantics.default_aggregation());
    for s in series {
        if let Some(reason) = s.semantics().refuses(aggregation) {
            return Err(MetricQueryError::Unsupported {
                name: name.to_string(),
                kind: s.kind.clone(),
                aggregation: aggregation.name(),
                reason,
            });
        }
    }
    Ok((semantics, aggregation))
}

/// Minute roll-ups by series key, each list sorted by minute.
pub type MinutesBySeries<'a> = HashMap<&'a str, Vec<&'a StoredMinute>>;

/// Groups and sorts minute rows once, for any number of `evaluate` calls.
pub fn by_series(minutes: &[StoredMinute]) -> MinutesBySeries<'_> {
    let mut grouped: MinutesBySeries = HashMap::new();
    for m in minutes {
        grouped.entry(m.series_key.as_str()).or_default().push(m);
    }
    for rows in grouped.values_mut() {
        crate::sort::sort_by(rows, |a, b| a.minute_ms.total_cmp(&b.minute_ms));
    }
    grouped
}

/// One value per step over the matching series. `minutes` hold the
/// series' roll-ups from `steps.read_from_ms()` on (earlier ones are skipped).
pub fn evaluate(
    name: &str,
    series: &[&StoredSeries],
    minutes: &MinutesBySeries<'_>,
    aggregation: Option<MetricAggregation>,
    steps: &Steps,
) -> Result<MetricSeriesResult, MetricQueryError> {
    let first = series.first().ok_or_else(|| MetricQueryError::NoSeries(name.to_string()))?;
    let (semantics, aggregation) = semantics_of(name, first, series, aggregation)?;
    let mut steps_data = vec![Step::default(); steps.count];
    let read_from = steps.read_from_ms();
    let quantile = match aggregation {
        MetricAggregation::Quantile(q) => Some(q),
        MetricAggregation::Rule(_) => None,
    };
    for s in series {
        let rows = minutes.get(s.series_key.as_str()).map(Vec::as_slice).unwrap_or(&[]);
        let series_semantics = s.semantics();
        let mut last: Vec<Option<f64>> = vec![None; steps.count];
        let mut prev: Option<&StoredMinute> = None;
        let from = rows.partition_point(|m| m.minute_ms < read_from);
        for &m in rows.iter().skip(from) {
            let increase =
                series_semantics.cumulative().then(|| minute_increase(prev, m, read_from, quantile.is_some()));
            prev = Some(m);
            let Some((step, last_value)) =
                steps.index(m.minute_ms).and_then(|i| steps_data.get_mut(i).zip(last.get_mut(i)))
            else {
                continue;
            };
            step.points += m.points;
            step.value_sum += m.value_sum;
            step.count_sum += m.count_sum;
            step.add_extremes(m.low, m.high);
            *last_value = m.last_value.or(*last_value);
            if let Some(inc) = &increase {
                step.increase += inc.value;
                step.count_increase += inc.count;
            }
            let Some(q) = quantile else { continue };
            match &increase {
                Some(inc) => step.add_histogram(&m.bounds, &inc.buckets),
                None => step.add_histogram(&m.bounds, &m.buckets),
            }
            if let Some((_, v)) = m.quantiles.iter().find(|(at, _)| (at - q).abs() < 1e-9) {
                step.quantiles.push(*v);
            }
        }
        for (step, value) in steps_data.iter_mut().zip(last) {
            if let Some(v) = value {
                step.last_sum = Some(step.last_sum.unwrap_or(0.0) + v);
            }
        }
    }
    let step_seconds = steps.step_ms / 1000.0;
    let points = steps
        .times()
        .zip(&steps_data)
        .map(|(time, step)| MetricPoint { time, value: step.value(semantics, aggregation, step_seconds) })
        .collect();
    Ok(MetricSeriesResult {
        kind: first.kind.clone(),
        temporality: first.temporality.clone(),
        unit: first.unit.clone(),
        aggregation: aggregation.name(),
        series: series.len(),
        points,
    })
}

/// One step's value; `None` when no point fell in it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricPoint {
    /// Step start, unix ms.
    pub time: f64,
    pub value: Option<f64>,
}

/// A query's answer before the route adds its parameters.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricSeriesResult {
    pub kind: String,
    pub temporality: String,
    pub unit: String,
    pub aggregation: String,
    /// Series that matched.
    pub series: usize,
    pub points: Vec<MetricPoint>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: f64 = 1_700_000_040_000.0; // a minute boundary

    fn ns(ms: f64) -> u64 {
        crate::domain::time::ms_to_nanos(ms)
    }

    fn series(key: &str, kind: &str, temporality: &str, monotonic: bool, attributes: &str) -> StoredSeries {
        StoredSeries {
            series_key: key.into(),
            service_name: "checkout".into(),
            metric_name: "m".into(),
            kind: kind.into(),
            temporality: temporality.into(),
            monotonic: if monotonic { 1.0 } else { 0.0 },
            unit: "1".into(),
            attributes: attributes.into(),
        }
    }

    /// A minute holding the given points `(offset ms from the minute, start ms, value)` of a number series.
    fn minute(key: &str, minute: u32, points: &[(f64, f64, f64)]) -> StoredMinute {
        let minute_ms = T0 + f64::from(minute) * MINUTE_MS;
        let first = points.iter().copied().min_by(|a, b| a.0.total_cmp(&b.0)).unwrap();
        let last = points.iter().copied().max_by(|a, b| a.0.total_cmp(&b.0)).unwrap();
        StoredMinute {
            series_key: key.into(),
            minute_ms,
            points: points.len() as f64,
            value_sum: points.iter().map(|p| p.2).sum(),
            low: points.iter().map(|p| p.2).reduce(f64::min),
            high: points.iter().map(|p| p.2).reduce(f64::max),
            first_time_ns: ns(minute_ms + first.0),
            first_start_ns: ns(first.1),
            first_value: Some(first.2),
            last_time_ns: ns(minute_ms + last.0),
            last_start_ns: ns(last.1),
            last_value: Some(last.2),
            ..Default::default()
        }
    }

    fn steps(count: usize, step_minutes: f64) -> Steps {
        Steps { start_ms: T0, step_ms: step_minutes * MINUTE_MS, count }
    }

    fn values(result: &MetricSeriesResult) -> Vec<Option<f64>> {
        result.points.iter().map(|p| p.value).collect()
    }

    fn run(
        series: &[StoredSeries],
        minutes: &[StoredMinute],
        aggregation: &str,
        steps: &Steps,
    ) -> Result<MetricSeriesResult, MetricQueryError> {
        let series: Vec<&StoredSeries> = series.iter().collect();
        evaluate("m", &series, &by_series(minutes), MetricAggregation::parse(aggregation), steps)
    }

    #[test]
    fn cumulative_counters_count_increases_across_minutes_and_resets() {
        // Started long before the range: the first point is a baseline. 100 → 130 → 160, restart, 20 → 50.
        let s = [series("a", "sum", "cumulative", true, "{}")];
        let old = T0 - 3_600_000.0;
        let minutes = [
            minute("a", 0, &[(0.0, old, 100.0), (30_000.0, old, 130.0)]),
            minute("a", 1, &[(0.0, old, 160.0)]),
            minute("a", 2, &[(0.0, T0 + 110_000.0, 20.0), (30_000.0, T0 + 110_000.0, 50.0)]),
        ];
        let r = run(&s, &minutes, "sum", &steps(3, 1.0)).unwrap();
        assert_eq!(values(&r), [Some(30.0), Some(30.0), Some(50.0)]);
        assert_eq!(r.aggregation, "sum");
        let per_second = run(&s, &minutes, "rate", &steps(1, 3.0)).unwrap();
        assert_eq!(values(&per_second), [Some(110.0 / 180.0)]);
        assert_eq!(values(&run(&s, &minutes, "last", &steps(1, 3.0)).unwrap()), [Some(50.0)]);
        assert_eq!(run(&s, &minutes, "", &steps(1, 3.0)).unwrap().aggregation, "rate", "counters default to rate");
        // A minute before the range is only the baseline of the first step.
        let from_minute_one = Steps { start_ms: T0 + MINUTE_MS, ..steps(2, 1.0) };
        assert_eq!(values(&run(&s, &minutes, "sum", &from_minute_one).unwrap()), [Some(30.0), Some(50.0)]);
    }

    #[test]
    fn a_counter_that_started_inside_what_was_read_counts_from_zero() {
        let s = [series("a", "sum", "cumulative", true, "{}")];
        let minutes = [minute("a", 0, &[(10_000.0, T0 + 1_000.0, 12.0)])];
        assert_eq!(values(&run(&s, &minutes, "sum", &steps(1, 1.0)).unwrap()), [Some(12.0)]);
    }

    #[test]
    fn delta_sums_add_up_and_steps_without_points_are_empty() {
        let s = [series("a", "sum", "delta", true, "{}"), series("b", "sum", "delta", true, "{}")];
        let minutes = [
            minute("a", 0, &[(0.0, T0, 5.0), (20_000.0, T0, 7.0)]),
            minute("b", 0, &[(5_000.0, T0, 3.0)]),
            minute("a", 2, &[(0.0, T0, 1.0)]),
        ];
        let r = run(&s, &minutes, "sum", &steps(3, 1.0)).unwrap();
        assert_eq!(values(&r), [Some(15.0), None, Some(1.0)]);
        assert_eq!(r.series, 2);
        assert_eq!(values(&run(&s, &minutes, "rate", &steps(1, 3.0)).unwrap()), [Some(16.0 / 180.0)]);
        assert_eq!(values(&run(&s, &minutes, "count", &steps(1, 3.0)).unwrap()), [Some(4.0)]);
    }

    #[test]
    fn gauges_average_points_and_sum_the_last_value_of_each_series() {
        let s = [series("a", "gauge", "", false, "{}"), series("b", "gauge", "", false, "{}")];
        let minutes = [minute("a", 0, &[(0.0, 0.0, 10.0), (30_000.0, 0.0, 20.0)]), minute("b", 0, &[(0.0, 0.0, 3.0)])];
        let one = steps(1, 1.0);
        assert_eq!(values(&run(&s, &minutes, "avg", &one).unwrap()), [Some(11.0)]);
        assert_eq!(values(&run(&s, &minutes, "min", &one).unwrap()), [Some(3.0)]);
        assert_eq!(values(&run(&s, &minutes, "max", &one).unwrap()), [Some(20.0)]);
        assert_eq!(values(&run(&s, &minutes, "last", &one).unwrap()), [Some(23.0)]);
        let refused = run(&s, &minutes, "rate", &one).unwrap_err();
        assert!(refused.to_string().contains("rate needs a counter"), "{refused}");
        assert!(matches!(run(&s, &minutes, "p99", &one), Err(MetricQueryError::Unsupported { .. })));
        assert_eq!(run(&[], &[], "avg", &one).unwrap_err(), MetricQueryError::NoSeries("m".into()));
    }

    fn histogram_minute(key: &str, at: u32, start_ms: f64, count: f64, sum: f64, buckets: &[f64]) -> StoredMinute {
        StoredMinute {
            count_sum: count,
            first_count: Some(count),
            last_count: Some(count),
            bounds: vec![10.0, 100.0],
            buckets: buckets.to_vec(),
            first_buckets: buckets.to_vec(),
            ..minute(key, at, &[(0.0, start_ms, sum)])
        }
    }

    #[test]
    fn histogram_quantiles_come_from_bucket_increases() {
        // Cumulative: 10 observations in (10, 100] before the range, then 10 more in (0, 10].
        let s = [series("h", "histogram", "cumulative", false, "{}")];
        let old = T0 - 3_600_000.0;
        let before = StoredMinute {
            minute_ms: T0 - MINUTE_MS,
            first_time_ns: ns(T0 - MINUTE_MS),
            last_time_ns: ns(T0 - MINUTE_MS),
            ..histogram_minute("h", 0, old, 10.0, 500.0, &[0.0, 10.0, 0.0])
        };
        let minutes = [before, histogram_minute("h", 0, old, 20.0, 550.0, &[10.0, 10.0, 0.0])];
        let one = steps(1, 1.0);
        assert_eq!(values(&run(&s, &minutes, "p50", &one).unwrap()), [Some(5.0)], "only the new observations");
        assert_eq!(values(&run(&s, &minutes, "count", &one).unwrap()), [Some(10.0)]);
        assert_eq!(values(&run(&s, &minutes, "avg", &one).unwrap()), [Some(5.0)]);
        assert_eq!(values(&run(&s, &minutes, "rate", &one).unwrap()), [Some(10.0 / 60.0)]);
        assert!(run(&s, &minutes, "last", &one).is_err());
        // Delta: buckets of every point add up.
        let d = [series("d", "histogram", "delta", false, "{}")];
        let deltas = [histogram_minute("d", 0, T0, 4.0, 40.0, &[2.0, 2.0, 0.0])];
        assert_eq!(values(&run(&d, &deltas, "p50", &one).unwrap()), [Some(10.0)]);
        assert_eq!(values(&run(&d, &deltas, "p90", &one).unwrap()), [Some(82.0)]);
        assert_eq!(values(&run(&d, &deltas, "sum", &one).unwrap()), [Some(40.0)]);
    }

    #[test]
    fn summaries_answer_the_quantiles_they_carry() {
        let s = [series("s", "summary", "cumulative", false, "{}")];
        let m = [StoredMinute { quantiles: vec![(0.5, 12.0), (0.99, 80.0)], ..minute("s", 0, &[(0.0, 0.0, 1.0)]) }];
        let one = steps(1, 1.0);
        assert_eq!(values(&run(&s, &m, "p99", &one).unwrap()), [Some(80.0)]);
        assert_eq!(values(&run(&s, &m, "p90", &one).unwrap()), [None], "a quantile it does not carry");
        assert!(run(&s, &m, "max", &one).is_err());
    }

    #[test]
    fn attribute_filters_match_text_and_json_forms() {
        let s = series("a", "gauge", "", false, r#"{"route":"/a","code":200,"ok":true}"#);
        assert!(s.matches(&[]));
        assert!(s.matches(&[
            ("route".into(), "/a".into()),
            ("code".into(), "200".into()),
            ("ok".into(), "true".into())
        ]));
        assert!(!s.matches(&[("route".into(), "/b".into())]));
        assert!(!s.matches(&[("missing".into(), "x".into())]));
    }

    #[test]
    fn queries_parse_with_defaults_and_bounded_steps() {
        let parse = |q: &str| MetricQuery::parse(q.split('&').filter_map(|p| p.split_once('=')), T0 + 3_600_000.0);
        let q = parse("name=http.requests&service=checkout&aggregation=p95&step=5m&attr.route=/a").unwrap();
        assert_eq!(q.name, "http.requests");
        assert_eq!(q.aggregation, Some(MetricAggregation::Quantile(0.95)));
        assert_eq!(q.steps, Steps { start_ms: T0, step_ms: 300_000.0, count: 12 });
        assert_eq!(q.attributes, [("route".to_string(), "/a".to_string())]);
        let default = parse("name=x").unwrap();
        assert_eq!((default.steps.step_ms, default.steps.count, default.aggregation), (60_000.0, 60, None));
        assert_eq!(parse("name=x&step=90").unwrap().steps.step_ms, 120_000.0, "whole minutes");
        for bad in ["", "name=x&aggregation=median", "name=x&start=2&end=1", "name=x&step=0", "name=x&start=0&step=60"]
        {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
