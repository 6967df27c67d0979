//! `GET /api/services` and `GET /api/services/:id`: services with the RED of
//! their entry spans (rate, errors, latency percentiles from the per-minute
//! histograms) over a time window, and a service's callers and callees.

use serde::{Deserialize, Serialize};

use crate::api::params::{time_ms, window_seconds};
use crate::api::ApiError;
use crate::query::trace_view::rfc3339_ms;
use crate::topology::{StoredDependency, StoredService};

/// Upper bounds (ms) of the duration buckets `b0..b12` of `service_red_minutes`; `b13` is the rest.
pub const BUCKET_BOUNDS_MS: [f64; 13] =
    [1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0];

/// Window used when none is given: the last hour.
pub const DEFAULT_WINDOW_SECONDS: f64 = 3600.0;

/// A time window over whole minutes: `[start_minute_ms, end_ms)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub start_ms: f64,
    pub end_ms: f64,
}

impl Window {
    /// From `window` (a duration ending now) or `start`/`end` (end defaults
    /// to now, start to end minus the default window). `None` when none is given.
    pub fn parse<'p>(
        pairs: impl IntoIterator<Item = (&'p str, &'p str)>,
        now_ms: f64,
    ) -> Result<Option<Self>, ApiError> {
        let (mut window, mut start, mut end) = (None, None, None);
        for (k, v) in pairs.into_iter().filter(|(_, v)| !v.trim().is_empty()) {
            match k {
                "window" => window = Some(window_seconds(k, v)?),
                "start" => start = Some(time_ms(k, v)?),
                "end" => end = Some(time_ms(k, v)?),
                _ => {}
            }
        }
        if window.is_none() && start.is_none() && end.is_none() {
            return Ok(None);
        }
        let end_ms = end.unwrap_or(now_ms);
        let start_ms = start.unwrap_or(end_ms - window.unwrap_or(DEFAULT_WINDOW_SECONDS) * 1000.0);
        if start_ms >= end_ms {
            return Err(ApiError::bad_request("start must be before end"));
        }
        Ok(Some(Window { start_ms, end_ms }))
    }

    pub fn last_hour(now_ms: f64) -> Self {
        Window { start_ms: now_ms - DEFAULT_WINDOW_SECONDS * 1000.0, end_ms: now_ms }
    }

    /// The first minute the window touches (roll-ups are per minute).
    pub fn start_minute_ms(&self) -> f64 {
        (self.start_ms / 60_000.0).floor() * 60_000.0
    }

    pub fn seconds(&self) -> f64 {
        (self.end_ms - self.start_ms) / 1000.0
    }
}

/// Sums of `service_red_minutes` over a window, for one service.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StoredRed {
    pub service_name: String,
    pub requests: f64,
    pub errors: f64,
    pub duration_sum_ms: f64,
    pub b0: f64,
    pub b1: f64,
    pub b2: f64,
    pub b3: f64,
    pub b4: f64,
    pub b5: f64,
    pub b6: f64,
    pub b7: f64,
    pub b8: f64,
    pub b9: f64,
    pub b10: f64,
    pub b11: f64,
    pub b12: f64,
    pub b13: f64,
}

impl StoredRed {
    pub fn buckets(&self) -> [f64; 14] {
        [
            self.b0, self.b1, self.b2, self.b3, self.b4, self.b5, self.b6, self.b7, self.b8, self.b9, self.b10,
            self.b11, self.b12, self.b13,
        ]
    }
}

/// Estimates the `q` quantile from bucket counts, interpolating linearly
/// inside the bucket that holds it (as Prometheus' `histogram_quantile`);
/// the open last bucket answers its lower bound.
pub fn quantile_ms(buckets: &[f64; 14], q: f64) -> Option<f64> {
    let total: f64 = buckets.iter().sum();
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let mut seen = 0.0;
    let lowers = std::iter::once(0.0).chain(BUCKET_BOUNDS_MS);
    for ((&count, upper), lower) in buckets.iter().zip(BUCKET_BOUNDS_MS).zip(lowers) {
        if count > 0.0 && seen + count >= rank {
            return Some(lower + (upper - lower) * ((rank - seen) / count));
        }
        seen += count;
    }
    Some(BUCKET_BOUNDS_MS[12])
}

#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Red {
    pub requests: u64,
    /// Requests per second over the window.
    pub request_rate: f64,
    pub errors: u64,
    pub error_rate: f64,
    pub avg_ms: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

pub fn red(stored: Option<&StoredRed>, window: &Window) -> Red {
    let empty = StoredRed::default();
    let s = stored.unwrap_or(&empty);
    let buckets = s.buckets();
    Red {
        requests: s.requests as u64,
        request_rate: s.requests / window.seconds(),
        errors: s.errors as u64,
        error_rate: if s.requests > 0.0 { s.errors / s.requests } else { 0.0 },
        avg_ms: (s.requests > 0.0).then(|| s.duration_sum_ms / s.requests),
        p50_ms: quantile_ms(&buckets, 0.50),
        p95_ms: quantile_ms(&buckets, 0.95),
        p99_ms: quantile_ms(&buckets, 0.99),
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WindowView {
    pub start: String,
    pub end: String,
    pub seconds: f64,
}

impl From<&Window> for WindowView {
    fn from(w: &Window) -> Self {
        WindowView { start: rfc3339_ms(w.start_ms), end: rfc3339_ms(w.end_ms), seconds: w.seconds() }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceView {
    pub id: String,
    pub name: String,
    pub version: Option<String>,
    pub environment: Option<String>,
    pub first_seen: String,
    pub last_seen: String,
    pub red: Red,
}

pub fn service_view(s: StoredService, reds: &[StoredRed], window: &Window) -> ServiceView {
    let red = red(reds.iter().find(|r| r.service_name == s.id), window);
    ServiceView {
        first_seen: rfc3339_ms(s.first_seen_ms),
        last_seen: rfc3339_ms(s.last_seen_ms),
        id: s.id,
        name: s.name,
        version: s.version,
        environment: s.environment,
        red,
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Neighbour {
    pub service: String,
    pub request_count: u64,
    pub error_count: u64,
    pub error_rate: f64,
    pub avg_latency_ms: f64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceDetail {
    #[serde(flatten)]
    pub service: ServiceView,
    /// Services that call this one.
    pub upstream: Vec<Neighbour>,
    /// Services and external callees this one calls.
    pub downstream: Vec<Neighbour>,
    pub window: WindowView,
}

fn neighbour(service: String, d: &StoredDependency) -> Neighbour {
    Neighbour {
        service,
        request_count: d.calls(),
        error_count: d.errors(),
        error_rate: d.error_rate(),
        avg_latency_ms: d.avg_latency_ms(),
    }
}

pub fn service_detail(
    s: StoredService,
    reds: &[StoredRed],
    edges: &[StoredDependency],
    window: &Window,
) -> ServiceDetail {
    let id = s.id.clone();
    ServiceDetail {
        upstream: edges
            .iter()
            .filter(|d| d.callee_service == id)
            .map(|d| neighbour(d.caller_service.clone(), d))
            .collect(),
        downstream: edges
            .iter()
            .filter(|d| d.caller_service == id)
            .map(|d| neighbour(d.callee_service.clone(), d))
            .collect(),
        service: service_view(s, reds, window),
        window: window.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_come_from_a_duration_or_start_and_end() {
        let now = 10_000_000.0;
        assert_eq!(Window::parse([], now).unwrap(), None);
        assert_eq!(Window::parse([("start", ""), ("window", " ")], now).unwrap(), None);
        assert_eq!(
            Window::parse([("window", "15m")], now).unwrap(),
            Some(Window { start_ms: now - 900_000.0, end_ms: now })
        );
        let w = Window::parse([("start", "1000"), ("end", "61000")], now).unwrap().unwrap();
        assert_eq!((w.start_ms, w.end_ms, w.seconds()), (1000.0, 61000.0, 60.0));
        assert_eq!(w.start_minute_ms(), 0.0);
        assert!(Window::parse([("start", "5000"), ("end", "1000")], now).is_err());
        assert!(Window::parse([("window", "soon")], now).is_err());
    }

    #[test]
    fn quantiles_interpolate_inside_their_bucket() {
        // 100 requests: 50 in (5,10], 40 in (10,25], 10 in (100,250].
        let mut b = [0.0; 14];
        b[3] = 50.0;
        b[4] = 40.0;
        b[7] = 10.0;
        assert_eq!(quantile_ms(&b, 0.5), Some(10.0));
        assert_eq!(quantile_ms(&b, 0.25), Some(7.5));
        assert_eq!(quantile_ms(&b, 0.95), Some(175.0));
        assert_eq!(quantile_ms(&b, 0.99), Some(235.0));
        assert_eq!(quantile_ms(&[0.0; 14], 0.5), None);
        let mut slow = [0.0; 14];
        slow[13] = 3.0;
        assert_eq!(quantile_ms(&slow, 0.99), Some(10_000.0));
    }

    #[test]
    fn quantile_estimates_stay_within_one_bucket_of_the_exact_value() {
        // Durations 1..=1000 ms, one each: exact p50 = 500, p95 = 950, p99 = 990.
        let mut b = [0.0; 14];
        for d in 1..=1000 {
            let i = BUCKET_BOUNDS_MS.iter().position(|u| f64::from(d) <= *u).unwrap_or(13);
            b[i] += 1.0;
        }
        for (q, exact) in [(0.5, 500.0), (0.95, 950.0), (0.99, 990.0)] {
            let estimate = quantile_ms(&b, q).unwrap();
            assert!((estimate - exact).abs() <= 10.0, "q{q}: {estimate} vs {exact}");
        }
    }

    #[test]
    fn red_gives_rates_over_the_window() {
        let w = Window { start_ms: 0.0, end_ms: 60_000.0 };
        let stored = StoredRed {
            service_name: "a".into(),
            requests: 120.0,
            errors: 6.0,
            duration_sum_ms: 1200.0,
            b3: 120.0,
            ..Default::default()
        };
        let r = red(Some(&stored), &w);
        assert_eq!((r.requests, r.request_rate, r.errors, r.error_rate, r.avg_ms), (120, 2.0, 6, 0.05, Some(10.0)));
        let none = red(None, &w);
        assert_eq!((none.requests, none.error_rate, none.p50_ms), (0, 0.0, None));
    }
}
