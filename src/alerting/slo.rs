//! Service level objectives (DESIGN.md §5): availability (requests that did
//! not fail) or latency (requests answered within `thresholdMs`) of a
//! service's entry spans, optionally of one operation, against a target
//! over a rolling window of days. Reports the SLI, the error budget and
//! burn rates, and turns multi-window burn rates into alert rules that the
//! evaluation cycle handles like any other (fast: 14.4× over 1h and 5m,
//! critical; slow: 6× over 6h and 30m, warning).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::cycle::RuleEntry;
use super::engine::Observation;
use super::fields::{channel_ids, field, invalid, object, optional_text, text, FieldError};
use super::rule::{Aggregation, AlertRule, Condition, Severity};
use crate::query::service_view::{StoredRed, BUCKET_BOUNDS_MS};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SloKind {
    /// Good = entry spans that did not fail.
    Availability,
    /// Good = entry spans that took at most `thresholdMs`.
    Latency,
}

/// An SLO as stored and evaluated.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Slo {
    pub name: String,
    pub description: String,
    pub service_id: String,
    /// One operation (span name) of the service; `None`: all of them.
    pub operation: Option<String>,
    pub kind: SloKind,
    /// Latency SLOs only.
    pub threshold_ms: Option<f64>,
    /// Percent of good events, e.g. 99.9.
    pub target: f64,
    pub window_days: u32,
    /// Notification channels of the burn-rate alerts.
    pub channels: Vec<String>,
    /// Whether the burn-rate alerts are evaluated.
    pub enabled: bool,
}

const FIELDS: &[&str] = &[
    "name",
    "description",
    "serviceId",
    "operation",
    "kind",
    "thresholdMs",
    "target",
    "windowDays",
    "channels",
    "enabled",
];

/// Longest SLO window; hourly roll-ups must be kept this long (`SLO_RETENTION_DAYS`).
pub const MAX_WINDOW_DAYS: u32 = 90;
pub const DEFAULT_WINDOW_DAYS: u32 = 30;

impl Slo {
    pub fn parse(json: &[u8]) -> Result<Self, FieldError> {
        let body = object(json, FIELDS)?;
        let kind: SloKind =
            field(&body, "kind")?.ok_or_else(|| invalid("kind", "is required (availability or latency)"))?;
        let threshold_ms: Option<f64> = field(&body, "thresholdMs")?;
        match (kind, threshold_ms) {
            (SloKind::Latency, None) => return Err(invalid("thresholdMs", "is required for a latency SLO")),
            (SloKind::Latency, Some(t)) if !(t > 0.0 && t <= BUCKET_BOUNDS_MS[12]) => {
                return Err(invalid("thresholdMs", format!("must be above 0 and at most {}", BUCKET_BOUNDS_MS[12])))
            }
            (SloKind::Availability, Some(_)) => {
                return Err(invalid("thresholdMs", "only latency SLOs have a threshold"))
            }
            _ => {}
        }
        let target: f64 =
            field(&body, "target")?.ok_or_else(|| invalid("target", "is required (percent, e.g. 99.9)"))?;
        if !(target > 0.0 && target < 100.0) {
            return Err(invalid("target", "must be a percentage above 0 and below 100"));
        }
        let window_days = field(&body, "windowDays")?.unwrap_or(DEFAULT_WINDOW_DAYS);
        if !(1..=MAX_WINDOW_DAYS).contains(&window_days) {
            return Err(invalid("windowDays", format!("must be from 1 to {MAX_WINDOW_DAYS}")));
        }
        Ok(Slo {
            name: text(&body, "name", 200)?,
            description: optional_text(&body, "description", 2000)?.unwrap_or_default(),
            service_id: text(&body, "serviceId", 200)?,
            operation: optional_text(&body, "operation", 500)?,
            kind,
            threshold_ms,
            target,
            window_days,
            channels: channel_ids(&body, "channels")?,
            enabled: field(&body, "enabled")?.unwrap_or(true),
        })
    }

    /// Allowed fraction of bad events, e.g. 0.001 for 99.9 %.
    fn budget_fraction(&self) -> f64 {
        1.0 - self.target / 100.0
    }

    /// Good and total events of a window's roll-up.
    pub fn events(&self, red: &StoredRed) -> Events {
        let good = match (self.kind, self.threshold_ms) {
            (SloKind::Latency, Some(threshold)) => at_most(&red.buckets(), threshold),
            _ => red.requests - red.errors,
        };
        Events { total: red.requests, good }
    }

    /// `(bad / total) / allowed bad fraction`; `None` without events.
    pub fn burn_rate(&self, events: Events) -> Option<f64> {
        (events.total > 0.0).then(|| events.bad() / events.total / self.budget_fraction())
    }
}

/// How many of the bucketed durations are at most `threshold_ms`, with the
/// bucket holding the threshold split linearly (as the quantiles are).
pub fn at_most(buckets: &[f64; 14], threshold_ms: f64) -> f64 {
    let mut count = 0.0;
    let mut lower = 0.0;
    for (&upper, &bucket) in BUCKET_BOUNDS_MS.iter().zip(buckets) {
        if threshold_ms >= upper {
            count += bucket;
        } else {
            count += bucket * ((threshold_ms - lower) / (upper - lower)).max(0.0);
            break;
        }
        lower = upper;
    }
    count
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Events {
    pub total: f64,
    pub good: f64,
}

impl Events {
    pub fn bad(&self) -> f64 {
        (self.total - self.good).max(0.0)
    }
}

/// The windows burn rates are reported over, shortest first.
pub const BURN_WINDOWS: [(&str, u32); 6] =
    [("5m", 300), ("30m", 1800), ("1h", 3600), ("6h", 21_600), ("1d", 86_400), ("3d", 259_200)];

/// A multi-window burn-rate alert: fires when both windows burn faster than `factor`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BurnAlert {
    pub name: &'static str,
    pub factor: f64,
    pub long_window: &'static str,
    pub short_window: &'static str,
    #[serde(skip)]
    pub severity: Severity,
}

pub const BURN_ALERTS: [BurnAlert; 2] = [
    BurnAlert { name: "fast", factor: 14.4, long_window: "1h", short_window: "5m", severity: Severity::Critical },
    BurnAlert { name: "slow", factor: 6.0, long_window: "6h", short_window: "30m", severity: Severity::Warning },
];

/// Events per burn window name (`"5m"`, …); missing windows had no events.
pub type WindowEvents = BTreeMap<String, Events>;

/// One SLO's roll-ups summed over one burn window, as the store reads them.
#[derive(Debug, Clone)]
pub struct BurnRow {
    pub slo_id: String,
    pub window: String,
    pub red: StoredRed,
}

/// The columns of a burn row besides its `StoredRed` ones (the store reads
/// a row as both: `serde(flatten)` costs ≈ 7 KB of wasm).
#[derive(Debug, Clone, Deserialize)]
pub struct BurnKey {
    pub slo_id: String,
    pub window: String,
}

impl From<(BurnKey, StoredRed)> for BurnRow {
    fn from((key, red): (BurnKey, StoredRed)) -> Self {
        BurnRow { slo_id: key.slo_id, window: key.window, red }
    }
}

/// The events of `slo` (stored as `slo_id`) per burn window.
pub fn window_events(slo_id: &str, slo: &Slo, rows: &[BurnRow]) -> WindowEvents {
    crate::sort::btree_map(rows.iter().filter(|r| r.slo_id == slo_id).map(|r| (r.window.clone(), slo.events(&r.red))))
}

/// The burn windows the burn-rate alerts read.
pub fn alert_burn_windows() -> Vec<(&'static str, u32)> {
    BURN_WINDOWS
        .iter()
        .copied()
        .filter(|(name, _)| BURN_ALERTS.iter().any(|a| a.long_window == *name || a.short_window == *name))
        .collect()
}

/// The burn-rate alert rules of these SLOs (`(id, slo)`), with what each observes now.
pub fn burn_rules(slos: &[(String, Slo)], rows: &[BurnRow]) -> (Vec<RuleEntry>, HashMap<String, Observation>) {
    let mut rules = Vec::with_capacity(slos.len() * BURN_ALERTS.len());
    let mut observations = HashMap::with_capacity(rules.capacity());
    for (id, slo) in slos {
        let events = window_events(id, slo, rows);
        for alert in &BURN_ALERTS {
            let entry = alert.rule(id, slo);
            observations.insert(entry.id.clone(), alert.observe(slo, &events));
            rules.push(entry);
        }
    }
    (rules, observations)
}

/// The burn windows as the store's query takes them: `[[name, seconds], …]`.
pub fn burn_windows_json(windows: &[(&str, u32)]) -> String {
    serde_json::to_string(windows).unwrap_or_default()
}

impl BurnAlert {
    /// The alert rule's id for an SLO.
    pub fn rule_id(&self, slo_id: &str) -> String {
        format!("slo:{slo_id}:{}", self.name)
    }

    /// The rule the evaluation cycle runs for this alert of `slo`.
    pub fn rule(&self, slo_id: &str, slo: &Slo) -> RuleEntry {
        RuleEntry {
            id: self.rule_id(slo_id),
            rule: AlertRule {
                name: format!("{}: {} burn", slo.name, self.name),
                description: format!(
                    "Error budget of SLO {:?} burning over {}× in both the last {} and {}",
                    slo.name, self.factor, self.long_window, self.short_window
                ),
                service_id: Some(slo.service_id.clone()),
                metric_name: format!("slo.burn_rate.{}", self.name),
                aggregation: Aggregation::Last,
                condition: Condition::Gt,
                threshold: self.factor,
                window_seconds: BURN_WINDOWS.iter().find(|w| w.0 == self.long_window).map_or(3600, |w| w.1),
                for_seconds: 0,
                severity: self.severity,
                labels: BTreeMap::from([("slo".to_string(), slo_id.to_string())]),
                channels: slo.channels.clone(),
                enabled: slo.enabled,
            },
        }
    }

    /// The value the rule compares with `factor`: the lower of the two
    /// windows' burn rates (both must exceed it); no data without events.
    pub fn observe(&self, slo: &Slo, windows: &WindowEvents) -> Observation {
        self.observe_rates(|w| windows.get(w).and_then(|e| slo.burn_rate(*e)))
    }

    /// `observe` with each window's burn rate from `burn_rate`.
    pub fn observe_rates(&self, burn_rate: impl Fn(&str) -> Option<f64>) -> Observation {
        match (burn_rate(self.long_window), burn_rate(self.short_window)) {
            (Some(long), Some(short)) => Observation::Value(long.min(short)),
            _ => Observation::NoData,
        }
    }
}

/// `GET /api/slos/:id/status`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SloStatus {
    /// Percent of good events over the SLO window; `None` without events.
    pub sli: Option<f64>,
    pub target: f64,
    pub window_days: u32,
    pub events: EventsView,
    pub error_budget: ErrorBudget,
    /// Burn rate per window (1 = spending the budget exactly over the SLO window).
    pub burn_rates: BTreeMap<&'static str, Option<f64>>,
    pub alerts: Vec<BurnAlertStatus>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventsView {
    pub total: f64,
    pub good: f64,
    pub bad: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBudget {
    /// Bad events the target allows over the window.
    pub total: f64,
    pub consumed: f64,
    /// May go negative once the budget is spent.
    pub remaining: f64,
    /// `remaining / total` (1 without events).
    pub remaining_ratio: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BurnAlertStatus {
    #[serde(flatten)]
    pub alert: BurnAlert,
    pub burning: bool,
}

/// The status of `slo` from its whole window's events and the burn windows' events.
pub fn status(slo: &Slo, window: Events, burn_windows: &WindowEvents) -> SloStatus {
    let allowed = window.total * slo.budget_fraction();
    let consumed = window.bad();
    SloStatus {
        sli: (window.total > 0.0).then(|| window.good / window.total * 100.0),
        target: slo.target,
        window_days: slo.window_days,
        events: EventsView { total: window.total, good: window.good, bad: consumed },
        error_budget: ErrorBudget {
            total: allowed,
            consumed,
            remaining: allowed - consumed,
            remaining_ratio: if allowed > 0.0 { (allowed - consumed) / allowed } else { 1.0 },
        },
        burn_rates: crate::sort::btree_map(
            BURN_WINDOWS.iter().map(|(name, _)| (*name, burn_windows.get(*name).and_then(|e| slo.burn_rate(*e)))),
        ),
        alerts: BURN_ALERTS
            .iter()
            .map(|alert| BurnAlertStatus {
                alert: *alert,
                burning: matches!(alert.observe(slo, burn_windows), Observation::Value(v) if v > alert.factor),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slo(body: &str) -> Slo {
        Slo::parse(body.as_bytes()).unwrap()
    }

    fn availability() -> Slo {
        slo(r#"{"name":"Checkout availability","serviceId":"checkout","kind":"availability","target":99.9}"#)
    }

    #[test]
    fn slos_parse_with_defaults_and_name_the_wrong_field() {
        let s = availability();
        assert_eq!((s.window_days, s.operation.clone(), s.enabled, s.threshold_ms), (30, None, true, None));
        let l = slo(
            r#"{"name":"fast","serviceId":"s","operation":"GET /","kind":"latency","thresholdMs":250,"target":99,"windowDays":7}"#,
        );
        assert_eq!((l.kind, l.threshold_ms, l.operation.as_deref()), (SloKind::Latency, Some(250.0), Some("GET /")));
        for (body, field) in [
            (r#"{"serviceId":"s","kind":"availability","target":99}"#, "name"),
            (r#"{"name":"n","kind":"availability","target":99}"#, "serviceId"),
            (r#"{"name":"n","serviceId":"s","target":99}"#, "kind"),
            (r#"{"name":"n","serviceId":"s","kind":"latency","target":99}"#, "thresholdMs"),
            (r#"{"name":"n","serviceId":"s","kind":"latency","thresholdMs":0,"target":99}"#, "thresholdMs"),
            (r#"{"name":"n","serviceId":"s","kind":"availability","thresholdMs":5,"target":99}"#, "thresholdMs"),
            (r#"{"name":"n","serviceId":"s","kind":"availability"}"#, "target"),
            (r#"{"name":"n","serviceId":"s","kind":"availability","target":100}"#, "target"),
            (r#"{"name":"n","serviceId":"s","kind":"availability","target":99,"windowDays":91}"#, "windowDays"),
            (r#"{"name":"n","serviceId":"s","kind":"availability","target":99,"x":1}"#, "body"),
        ] {
            assert_eq!(Slo::parse(body.as_bytes()).unwrap_err().field, field, "{body}");
        }
    }

    #[test]
    fn latency_good_events_split_the_bucket_holding_the_threshold() {
        // 10 requests in (50, 100] ms and 10 in (100, 250] ms.
        let mut buckets = [0.0; 14];
        buckets[6] = 10.0;
        buckets[7] = 10.0;
        assert_eq!(at_most(&buckets, 100.0), 10.0);
        assert_eq!(at_most(&buckets, 75.0), 5.0);
        assert_eq!(at_most(&buckets, 175.0), 15.0);
        assert_eq!(at_most(&buckets, 10_000.0), 20.0);
        assert_eq!(at_most(&buckets, 1.0), 0.0);
    }

    #[test]
    fn status_against_a_hand_computed_example() {
        // 99.9 % over 1,000,000 requests allows 1,000 bad; 400 failed.
        let s = availability();
        let window = Events { total: 1_000_000.0, good: 999_600.0 };
        // Last hour: 10,000 requests, 150 bad → 1.5 % / 0.1 % = 15×; last 5 minutes: 20×.
        let burn = WindowEvents::from([
            ("5m".to_string(), Events { total: 1000.0, good: 980.0 }),
            ("30m".to_string(), Events { total: 5000.0, good: 4990.0 }),
            ("1h".to_string(), Events { total: 10_000.0, good: 9850.0 }),
            ("6h".to_string(), Events { total: 60_000.0, good: 59_700.0 }),
        ]);
        let st = status(&s, window, &burn);
        assert!((st.sli.unwrap() - 99.96).abs() < 1e-9);
        assert!((st.error_budget.total - 1000.0).abs() < 1e-6);
        assert_eq!(st.error_budget.consumed, 400.0);
        assert!((st.error_budget.remaining - 600.0).abs() < 1e-6);
        assert!((st.error_budget.remaining_ratio - 0.6).abs() < 1e-9);
        let rate = |w: &str| st.burn_rates[w].unwrap();
        assert!((rate("5m") - 20.0).abs() < 1e-6);
        assert!((rate("1h") - 15.0).abs() < 1e-6);
        assert!((rate("30m") - 2.0).abs() < 1e-6);
        assert!((rate("6h") - 5.0).abs() < 1e-6);
        assert_eq!(st.burn_rates["1d"], None);
        // Fast: min(15, 20) > 14.4 burns; slow: min(5, 2) < 6 does not.
        assert_eq!(
            st.alerts.iter().map(|a| (a.alert.name, a.burning)).collect::<Vec<_>>(),
            [("fast", true), ("slow", false)]
        );
        assert!(
            (match BURN_ALERTS[0].observe(&s, &burn) {
                Observation::Value(v) => v,
                _ => 0.0,
            } - 15.0)
                .abs()
                < 1e-6
        );
    }

    #[test]
    fn without_events_the_budget_is_whole_and_alerts_have_no_data() {
        let st = status(&availability(), Events::default(), &WindowEvents::new());
        assert_eq!((st.sli, st.error_budget.remaining_ratio), (None, 1.0));
        assert_eq!(BURN_ALERTS[1].observe(&availability(), &WindowEvents::new()), Observation::NoData);
    }

    #[test]
    fn availability_and_latency_events_from_a_roll_up() {
        let red = StoredRed { requests: 20.0, errors: 2.0, b6: 10.0, b7: 10.0, ..Default::default() };
        assert_eq!(availability().events(&red), Events { total: 20.0, good: 18.0 });
        let latency = slo(r#"{"name":"l","serviceId":"s","kind":"latency","thresholdMs":100,"target":99}"#);
        assert_eq!(latency.events(&red), Events { total: 20.0, good: 10.0 });
    }

    #[test]
    fn burn_rows_group_into_window_events_per_slo() {
        let row = |slo: &str, window: &str, requests: f64, errors: f64| BurnRow {
            slo_id: slo.into(),
            window: window.into(),
            red: StoredRed { requests, errors, ..Default::default() },
        };
        let rows = [row("a", "5m", 10.0, 1.0), row("b", "5m", 99.0, 0.0), row("a", "1h", 100.0, 2.0)];
        let events = window_events("a", &availability(), &rows);
        assert_eq!(events.len(), 2);
        assert_eq!(events["1h"], Events { total: 100.0, good: 98.0 });
        assert_eq!(burn_windows_json(&BURN_WINDOWS[..2]), r#"[["5m",300],["30m",1800]]"#);
    }

    #[test]
    fn each_slo_gets_a_fast_and_a_slow_burn_rule_observing_its_windows() {
        let row = |window: &str, requests: f64, errors: f64| BurnRow {
            slo_id: "a".into(),
            window: window.into(),
            red: StoredRed { requests, errors, ..Default::default() },
        };
        // 2 % errors everywhere: 20× a 0.1 % budget in every window.
        let rows = ["5m", "30m", "1h", "6h"].map(|w| row(w, 1000.0, 20.0));
        let (rules, observations) = burn_rules(&[("a".into(), availability())], &rows);
        assert_eq!(rules.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["slo:a:fast", "slo:a:slow"]);
        for id in ["slo:a:fast", "slo:a:slow"] {
            match observations[id] {
                Observation::Value(v) => assert!((v - 20.0).abs() < 1e-6, "{id}: {v}"),
                other => panic!("{id}: {other:?}"),
            }
        }
        assert_eq!(alert_burn_windows().iter().map(|w| w.0).collect::<Vec<_>>(), ["5m", "30m", "1h", "6h"]);
    }

    #[test]
    fn burn_alerts_become_rules_of_the_slo() {
        let s = availability();
        let fast = BURN_ALERTS[0].rule("abc", &s);
        assert_eq!(fast.id, "slo:abc:fast");
        assert_eq!(fast.rule.service_id.as_deref(), Some("checkout"));
        assert_eq!(
            (fast.rule.threshold, fast.rule.severity, fast.rule.window_seconds),
            (14.4, Severity::Critical, 3600)
        );
        let slow = BURN_ALERTS[1].rule("abc", &s);
        assert_eq!((slow.rule.metric_name.as_str(), slow.rule.severity), ("slo.burn_rate.slow", Severity::Warning));
    }
}
