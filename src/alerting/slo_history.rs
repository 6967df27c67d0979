//! SLO burn rates over time (`GET /api/slos/:id/burn-rates`): at the end of
//! each step, the burn rate over each window the burn-rate alerts read and
//! whether each alert would fire there, from the SLO's per-minute roll-ups.
//! A window at time `t` covers the minutes from the one holding `t − window`
//! up to `t` (exclusive), as the status and the alert cycle read it at `t`.

use serde::Serialize;

use super::engine::Observation;
use super::slo::{alert_burn_windows, Events, Slo, BURN_ALERTS};
use super::span_metrics::RedMinute;
use crate::api::params::{time_ms, window_seconds};
use crate::api::ApiError;
use crate::query::metric_query::Steps;

const MINUTE_MS: f64 = 60_000.0;
/// Without `start`: the day before `end`.
const DEFAULT_RANGE_MS: f64 = 86_400_000.0;
/// At most a week (the per-minute roll-ups are kept `SPAN_RETENTION_DAYS`, 7 by default).
const MAX_RANGE_MS: f64 = 7.0 * DEFAULT_RANGE_MS;

/// The points asked for: `start`, `end` (RFC 3339 or unix ms; default the
/// last day up to now) and `step` (seconds or a duration, whole minutes;
/// default about 120 points).
pub fn history_steps<'p>(
    pairs: impl IntoIterator<Item = (&'p str, &'p str)>,
    now_ms: f64,
) -> Result<(Steps, f64), ApiError> {
    let (mut start, mut end, mut step) = (None, None, None);
    for (k, v) in pairs.into_iter().filter(|(_, v)| !v.trim().is_empty()) {
        match k {
            "start" => start = Some(time_ms(k, v)?),
            "end" => end = Some(time_ms(k, v)?),
            "step" => step = Some(window_seconds(k, v)?),
            _ => {}
        }
    }
    let end_ms = end.unwrap_or(now_ms).min(now_ms);
    let start_ms = start.unwrap_or(end_ms - DEFAULT_RANGE_MS);
    if start_ms >= end_ms {
        return Err(ApiError::bad_request("start must be before end (and before now)"));
    }
    if end_ms - start_ms > MAX_RANGE_MS {
        return Err(ApiError::bad_request("the range from start to end is at most 7 days"));
    }
    Ok((Steps::new(start_ms, end_ms, step)?, end_ms))
}

/// Burn rates and alert states per point, one value per point in each list.
#[derive(Debug)]
pub struct BurnHistory {
    /// Each point's time, unix ms: the end of its step, the last one at most `end`.
    pub times: Vec<f64>,
    /// Per alert window, shortest first.
    pub burn_rates: Vec<WindowBurnRates>,
    /// Per burn-rate alert (`fast`, `slow`).
    pub alerts: Vec<AlertFiring>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowBurnRates {
    /// `5m`, `30m`, `1h` or `6h`.
    pub window: &'static str,
    /// `None` without events.
    pub values: Vec<Option<f64>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertFiring {
    pub name: &'static str,
    /// Whether both its windows burn faster than its factor; `None` without events.
    pub firing: Vec<Option<bool>>,
}

/// How far before the first step the minutes must be read: the longest alert window.
pub fn lookback_ms() -> f64 {
    alert_burn_windows().iter().map(|(_, seconds)| f64::from(*seconds) * 1000.0).fold(0.0, f64::max)
}

/// The burn history of `slo` over `steps`, ending at most at `end_ms`, from
/// its per-minute roll-ups in time order (as the store reads them), from
/// `lookback_ms()` before the first step on.
pub fn burn_history(slo: &Slo, minutes: &[RedMinute], steps: &Steps, end_ms: f64) -> BurnHistory {
    // Running totals: `running[i]` sums the first `i` minutes.
    let mut running = Vec::with_capacity(minutes.len() + 1);
    let mut sum = Events::default();
    running.push(sum);
    for m in minutes {
        let e = slo.events(&m.red);
        sum = Events { total: sum.total + e.total, good: sum.good + e.good };
        running.push(sum);
    }
    let before = |t: f64| minutes.partition_point(|m| m.minute_ms < t);
    let windows = alert_burn_windows();
    let times: Vec<f64> = steps.times().map(|start| (start + steps.step_ms).min(end_ms)).collect();
    let mut burn_rates: Vec<WindowBurnRates> =
        windows.iter().map(|(window, _)| WindowBurnRates { window, values: Vec::with_capacity(times.len()) }).collect();
    let mut alerts: Vec<AlertFiring> =
        BURN_ALERTS.iter().map(|a| AlertFiring { name: a.name, firing: Vec::with_capacity(times.len()) }).collect();
    for &t in &times {
        for ((_, seconds), rates) in windows.iter().zip(&mut burn_rates) {
            let from = ((t - f64::from(*seconds) * 1000.0) / MINUTE_MS).floor() * MINUTE_MS;
            let sum = match (running.get(before(from)), running.get(before(t))) {
                (Some(a), Some(b)) => Events { total: b.total - a.total, good: b.good - a.good },
                _ => Events::default(),
            };
            rates.values.push(slo.burn_rate(sum));
        }
        let rate_at_t =
            |w: &str| burn_rates.iter().find(|r| r.window == w).and_then(|r| r.values.last().copied().flatten());
        for (alert, firing) in BURN_ALERTS.iter().zip(&mut alerts) {
            firing.firing.push(match alert.observe_rates(rate_at_t) {
                Observation::Value(v) => Some(v > alert.factor),
                Observation::NoData => None,
            });
        }
    }
    BurnHistory { times, burn_rates, alerts }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::service_view::StoredRed;

    const HOUR_MS: f64 = 3_600_000.0;

    fn availability() -> Slo {
        Slo::parse(br#"{"name":"a","serviceId":"checkout","kind":"availability","target":99}"#).unwrap()
    }

    fn minute(minute_ms: f64, requests: f64, errors: f64) -> RedMinute {
        RedMinute { minute_ms, red: StoredRed { requests, errors, ..Default::default() } }
    }

    #[test]
    fn each_point_sums_its_windows_minutes_and_says_which_alert_fires() {
        // From 06:00: 100 requests a minute, healthy until 11:00, then 20 %
        // errors for 10 minutes (20× a 1 % budget), then healthy again.
        let start = 6.0 * HOUR_MS;
        let minutes: Vec<RedMinute> = (0..7 * 60)
            .map(|i| {
                let t = start + f64::from(i) * MINUTE_MS;
                let bad = (11.0 * HOUR_MS..11.0 * HOUR_MS + 10.0 * MINUTE_MS).contains(&t);
                minute(t, 100.0, if bad { 20.0 } else { 0.0 })
            })
            .collect();
        // Points every 5 minutes from 11:00 to 12:00.
        let steps = Steps::new(11.0 * HOUR_MS, 12.0 * HOUR_MS, Some(300.0)).unwrap();
        let h = burn_history(&availability(), &minutes, &steps, 12.0 * HOUR_MS);
        assert_eq!(h.times.len(), 12);
        assert_eq!(h.times[0], 11.0 * HOUR_MS + 5.0 * MINUTE_MS);
        let rates = |w: &str| h.burn_rates.iter().find(|r| r.window == w).unwrap().values.clone();
        let firing = |name: &str| h.alerts.iter().find(|a| a.name == name).unwrap().firing.clone();
        let rate = |w: &str, i: usize| rates(w)[i].unwrap();
        // 11:05: the last 5 minutes all at 20 %: 20×; the hour: 100 bad of 6,000.
        assert!((rate("5m", 0) - 20.0).abs() < 1e-9);
        assert!((rate("1h", 0) - 100.0 / 6000.0 / 0.01).abs() < 1e-9);
        // 11:10: the hour holds all 200 bad; 11:15: the 5 minutes are healthy again.
        assert!((rate("1h", 1) - 200.0 / 6000.0 / 0.01).abs() < 1e-9);
        assert!((rate("30m", 1) - 200.0 / 3000.0 / 0.01).abs() < 1e-9);
        assert_eq!(rate("5m", 2), 0.0);
        assert!((rate("6h", 11) - 200.0 / 36_000.0 / 0.01).abs() < 1e-9);
        // Fast: both 1h (> 14.4 needs 864 bad) and 5m: never; slow (6×): the
        // 6h window never reaches it either, but the shape is per point.
        assert_eq!(firing("fast"), vec![Some(false); 12]);
        assert_eq!(firing("slow").len(), 12);
        assert_eq!(h.burn_rates.iter().map(|r| r.window).collect::<Vec<_>>(), ["5m", "30m", "1h", "6h"]);
    }

    #[test]
    fn a_fast_burn_fires_where_both_windows_exceed_the_factor() {
        // Every request fails for two hours: 100× a 1 % budget everywhere.
        let minutes: Vec<RedMinute> = (0..120).map(|i| minute(f64::from(i) * MINUTE_MS, 10.0, 10.0)).collect();
        let steps = Steps::new(0.0, 2.0 * HOUR_MS, Some(1800.0)).unwrap();
        let h = burn_history(&availability(), &minutes, &steps, 2.0 * HOUR_MS);
        assert_eq!(
            h.alerts.iter().map(|a| (a.name, a.firing.clone())).collect::<Vec<_>>(),
            [("fast", vec![Some(true); 4]), ("slow", vec![Some(true); 4])]
        );
        assert!((h.burn_rates[3].values[3].unwrap() - 100.0).abs() < 1e-9);
    }

    #[test]
    fn ranges_default_to_the_last_day_and_refuse_what_cannot_be_answered() {
        let now = 30.0 * 86_400_000.0 + 123.0;
        let (steps, end) = history_steps([], now).unwrap();
        assert_eq!(end, now);
        assert_eq!(steps.start_ms, ((now - DEFAULT_RANGE_MS) / MINUTE_MS).floor() * MINUTE_MS);
        assert!((100..=130).contains(&steps.count), "{}", steps.count);
        let (steps, end) = history_steps([("start", "0"), ("end", "3600000"), ("step", "5m")], now).unwrap();
        assert_eq!((steps.start_ms, steps.step_ms, steps.count, end), (0.0, 300_000.0, 12, 3_600_000.0));
        assert_eq!(history_steps([("end", "1e15")], now).unwrap().1, now, "no point after now");
        for (pairs, message) in [
            (vec![("start", "7200000"), ("end", "3600000")], "before end"),
            (vec![("start", "0"), ("end", "700000000")], "7 days"),
            (vec![("start", "0"), ("end", "172800000"), ("step", "1")], "points"),
            (vec![("start", "yesterday")], "start"),
        ] {
            let err = history_steps(pairs.clone(), now).unwrap_err();
            assert_eq!(err.status, 400);
            assert!(err.message.contains(message), "{pairs:?}: {}", err.message);
        }
    }

    #[test]
    fn points_without_events_have_no_rate_and_the_last_point_stops_at_the_end() {
        let steps = Steps::new(0.0, 50.0 * MINUTE_MS, Some(1200.0)).unwrap();
        let h = burn_history(&availability(), &[minute(49.0 * MINUTE_MS, 5.0, 0.0)], &steps, 50.0 * MINUTE_MS);
        assert_eq!(h.times, [20.0 * MINUTE_MS, 40.0 * MINUTE_MS, 50.0 * MINUTE_MS]);
        assert_eq!(h.burn_rates[0].values, [None, None, Some(0.0)]);
        assert_eq!(h.alerts[0].firing, [None, None, Some(false)]);
        assert!(lookback_ms() >= 6.0 * HOUR_MS);
    }
}
