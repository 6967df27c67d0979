//! One evaluation cycle of every enabled rule, pure: rules, services, the
//! metric roll-ups, the per-rule states from KV and the open incidents in,
//! a plan out (state changes, incidents to open and to resolve, states to
//! write back). The cron trigger and `POST /api/alerts/evaluate` both run
//! it through `jobs::run_alert_cycle`.
//!
//! Incidents follow the state machine but are reconciled against what is
//! stored: a rule+service that is firing and has no open incident opens
//! one, an inactive one with an open incident resolves it. So a lost or
//! stale KV state, or two overlapping cycles, can never leave an incident
//! open forever or open a second one (the store's unique index refuses it).

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use super::engine::{evaluate, Observation, Phase, RuleState, Transition};
use super::incident::{Resolution, StoredIncident};
use super::rule::AlertRule;
use super::span_metrics::{observe, RedMinute, SpanMetric};
use crate::query::metric_query::{self, MetricAggregation, Steps, StoredMinute, StoredSeries};
use crate::query::service_view::Window;

/// A stored rule.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleEntry {
    pub id: String,
    pub rule: AlertRule,
}

/// A rule's state per service, as kept in KV under `alert:{rule_id}`.
pub type ServiceStates = BTreeMap<String, RuleState>;

/// The KV key of a rule's state.
pub fn state_key(rule_id: &str) -> String {
    format!("alert:{rule_id}")
}

pub struct CycleInput<'a> {
    pub now_ms: f64,
    /// Enabled rules.
    pub rules: &'a [RuleEntry],
    /// Every registered service (rules without `serviceId` cover them all).
    pub services: &'a [String],
    /// RED roll-ups covering at least the longest window of the rules.
    pub red_minutes: &'a [RedMinute],
    /// The series of the OTLP metrics the rules name, and their minute
    /// roll-ups over the longest window (with `metric_query::LOOKBACK_MS`).
    pub metric_series: &'a [StoredSeries],
    pub metric_minutes: &'a [StoredMinute],
    pub states: &'a HashMap<String, ServiceStates>,
    /// Incidents currently firing or acknowledged.
    pub open_incidents: &'a [StoredIncident],
    /// Observations computed elsewhere, by rule id (the SLO burn-rate rules).
    pub observations: &'a HashMap<String, Observation>,
}

/// A state change of one rule for one service, as `POST /api/alerts/evaluate` reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    pub rule_id: String,
    pub rule_name: String,
    pub service_id: String,
    /// `pending`, `pending_cleared`, `fired`, `resolved` or `nodata`.
    pub transition: &'static str,
    pub value: Option<f64>,
}

/// An incident to open (if none is open for the rule and service).
#[derive(Debug, Clone, PartialEq)]
pub struct ToOpen<'a> {
    pub rule: &'a RuleEntry,
    pub service: String,
    pub value: f64,
}

/// An open incident to resolve.
#[derive(Debug, Clone, PartialEq)]
pub struct ToResolve {
    pub incident_id: String,
    pub rule_id: String,
    pub value: Option<f64>,
    pub resolution: Resolution,
}

#[derive(Debug, Default)]
pub struct CyclePlan<'a> {
    /// Rule × service evaluations made.
    pub evaluations: usize,
    pub changes: Vec<Change>,
    pub open: Vec<ToOpen<'a>>,
    pub resolve: Vec<ToResolve>,
    /// Rules whose stored state must be rewritten (phase or start of phase changed).
    pub states: Vec<(String, ServiceStates)>,
}

/// The longest window any of `rules` reads, in seconds.
pub fn longest_window_seconds(rules: &[RuleEntry]) -> u32 {
    rules.iter().map(|r| r.rule.window_seconds).max().unwrap_or(0)
}

fn transition_name(t: &Transition) -> Option<(&'static str, Option<f64>)> {
    match *t {
        Transition::None => None,
        Transition::Pending => Some(("pending", None)),
        Transition::PendingCleared => Some(("pending_cleared", None)),
        Transition::Fired { value } => Some(("fired", Some(value))),
        Transition::Resolved { value } => Some(("resolved", Some(value))),
        Transition::NoData => Some(("nodata", None)),
    }
}

/// Whether two states differ in what must survive between cycles.
fn phase_changed(old: Option<&RuleState>, new: &RuleState) -> bool {
    old.is_none_or(|o| o.phase != new.phase || o.since_ms != new.since_ms)
}

/// Evaluates every rule for every service it covers at `input.now_ms`.
pub fn plan<'a>(input: &CycleInput<'a>) -> CyclePlan<'a> {
    let mut minutes_by_service: HashMap<&str, Vec<&RedMinute>> = HashMap::new();
    for m in input.red_minutes {
        minutes_by_service.entry(m.red.service_name.as_str()).or_default().push(m);
    }
    for minutes in minutes_by_service.values_mut() {
        crate::sort::sort_by(minutes, |a, b| a.minute_ms.total_cmp(&b.minute_ms));
    }
    let mut series_by_metric: HashMap<(&str, &str), Vec<&StoredSeries>> = HashMap::new();
    for s in input.metric_series {
        series_by_metric.entry((s.metric_name.as_str(), s.service_name.as_str())).or_default().push(s);
    }
    let metric_minutes = metric_query::by_series(input.metric_minutes);
    let open: HashMap<(&str, &str), &StoredIncident> =
        input.open_incidents.iter().map(|i| ((i.rule_id.as_str(), i.service_name.as_str()), i)).collect();
    let mut covered: HashSet<(&str, &str)> = HashSet::new();
    let mut plan = CyclePlan::default();
    let empty = ServiceStates::new();

    for entry in input.rules {
        let rule = &entry.rule;
        let services: Vec<&str> = match &rule.service_id {
            Some(s) => vec![s.as_str()],
            None => input.services.iter().map(String::as_str).collect(),
        };
        let window = Window { start_ms: input.now_ms - f64::from(rule.window_seconds) * 1000.0, end_ms: input.now_ms };
        let old_states = input.states.get(&entry.id).unwrap_or(&empty);
        let span_metric = SpanMetric::parse(&rule.metric_name);
        let mut new_states = ServiceStates::new();
        for service in services {
            let observation = match (input.observations.get(&entry.id), span_metric) {
                (Some(o), _) => *o,
                (None, Some(metric)) => {
                    let minutes = minutes_by_service.get(service).map(Vec::as_slice).unwrap_or(&[]);
                    observe(metric, rule.aggregation, minutes, &window)
                }
                (None, None) => {
                    let series = series_by_metric.get(&(rule.metric_name.as_str(), service)).map(Vec::as_slice);
                    let steps = Steps::window(input.now_ms, f64::from(rule.window_seconds));
                    let aggregation = Some(MetricAggregation::Rule(rule.aggregation));
                    // No series, or an aggregation the metric's kind has no meaning for: no data.
                    metric_query::evaluate(
                        &rule.metric_name,
                        series.unwrap_or(&[]),
                        &metric_minutes,
                        aggregation,
                        &steps,
                    )
                    .ok()
                    .and_then(|r| r.points.first().and_then(|p| p.value))
                    .map_or(Observation::NoData, Observation::Value)
                }
            };
            let old = old_states.get(service);
            let (state, transition) = evaluate(rule, old.copied().unwrap_or_default(), observation, input.now_ms);
            plan.evaluations += 1;
            if let Some((name, value)) = transition_name(&transition) {
                plan.changes.push(Change {
                    rule_id: entry.id.clone(),
                    rule_name: rule.name.clone(),
                    service_id: service.to_string(),
                    transition: name,
                    value,
                });
            }
            let incident = open.get(&(entry.id.as_str(), service));
            // Only a value seen breaching now opens an incident, never one remembered from before.
            let breaching = match observation {
                Observation::Value(v) if rule.condition.holds(v, rule.threshold) => Some(v),
                _ => None,
            };
            match (state.phase, incident, breaching) {
                (Phase::Firing, None, Some(value)) => {
                    plan.open.push(ToOpen { rule: entry, service: service.to_string(), value })
                }
                (Phase::Inactive, Some(i), _) => plan.resolve.push(ToResolve {
                    incident_id: i.id.clone(),
                    rule_id: entry.id.clone(),
                    value: state.last_value,
                    resolution: Resolution::Recovered,
                }),
                _ => {}
            }
            covered.insert((entry.id.as_str(), service));
            new_states.insert(service.to_string(), state);
        }
        let changed = new_states.len() != old_states.len()
            || new_states.iter().any(|(service, state)| phase_changed(old_states.get(service), state));
        if changed {
            plan.states.push((entry.id.clone(), new_states));
        }
    }

    for incident in input.open_incidents {
        if !covered.contains(&(incident.rule_id.as_str(), incident.service_name.as_str())) {
            plan.resolve.push(ToResolve {
                incident_id: incident.id.clone(),
                rule_id: incident.rule_id.clone(),
                value: None,
                resolution: Resolution::RuleRemoved,
            });
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::service_view::StoredRed;

    const NOW: f64 = 1_700_000_070_000.0;

    fn rule(id: &str, service: Option<&str>, metric: &str) -> RuleEntry {
        let body = serde_json::json!({
            "name": format!("rule {id}"), "serviceId": service, "metricName": metric,
            "condition": "gt", "threshold": 0.1, "windowSeconds": 300,
        });
        RuleEntry { id: id.into(), rule: AlertRule::parse(body.to_string().as_bytes()).unwrap() }
    }

    /// The minute before `NOW` for `service`: 100 requests, `errors` of them failed.
    fn minute(service: &str, errors: f64) -> RedMinute {
        RedMinute {
            minute_ms: (NOW / 60_000.0).floor() * 60_000.0 - 60_000.0,
            red: StoredRed { service_name: service.into(), requests: 100.0, errors, b3: 100.0, ..Default::default() },
        }
    }

    fn open_incident(id: &str, rule_id: &str, service: &str) -> StoredIncident {
        StoredIncident::firing(id, rule_id, service, NOW - 600_000.0)
    }

    fn firing_since(ms: f64) -> RuleState {
        RuleState { phase: Phase::Firing, since_ms: Some(ms), last_value: Some(0.5), last_evaluated_ms: Some(ms) }
    }

    struct Fixture {
        rules: Vec<RuleEntry>,
        services: Vec<String>,
        minutes: Vec<RedMinute>,
        metric_series: Vec<StoredSeries>,
        metric_minutes: Vec<StoredMinute>,
        states: HashMap<String, ServiceStates>,
        open: Vec<StoredIncident>,
        observations: HashMap<String, Observation>,
    }

    impl Fixture {
        fn new(rules: Vec<RuleEntry>, minutes: Vec<RedMinute>) -> Self {
            let services = vec!["cart".to_string(), "checkout".to_string()];
            Fixture {
                rules,
                services,
                minutes,
                metric_series: Vec::new(),
                metric_minutes: Vec::new(),
                states: HashMap::new(),
                open: Vec::new(),
                observations: HashMap::new(),
            }
        }
        fn plan(&self) -> CyclePlan<'_> {
            plan(&CycleInput {
                now_ms: NOW,
                rules: &self.rules,
                services: &self.services,
                red_minutes: &self.minutes,
                metric_series: &self.metric_series,
                metric_minutes: &self.metric_minutes,
                states: &self.states,
                open_incidents: &self.open,
                observations: &self.observations,
            })
        }
    }

    #[test]
    fn a_breaching_service_fires_opens_an_incident_and_writes_its_state() {
        let f = Fixture::new(vec![rule("r1", Some("checkout"), "span.error_rate")], vec![minute("checkout", 40.0)]);
        let p = f.plan();
        assert_eq!(p.evaluations, 1);
        assert_eq!(p.changes.len(), 1);
        assert_eq!((p.changes[0].transition, p.changes[0].value), ("fired", Some(0.4)));
        assert_eq!(p.open.len(), 1);
        assert_eq!((p.open[0].rule.id.as_str(), p.open[0].service.as_str(), p.open[0].value), ("r1", "checkout", 0.4));
        assert_eq!(p.states.len(), 1);
        assert_eq!(p.states[0].1["checkout"].phase, Phase::Firing);
    }

    #[test]
    fn a_rule_without_service_is_evaluated_per_service() {
        let f = Fixture::new(
            vec![rule("r1", None, "span.error_rate")],
            vec![minute("checkout", 40.0), minute("cart", 1.0)],
        );
        let p = f.plan();
        assert_eq!(p.evaluations, 2);
        assert_eq!(p.open.iter().map(|o| o.service.as_str()).collect::<Vec<_>>(), ["checkout"]);
        let states = &p.states[0].1;
        assert_eq!((states["cart"].phase, states["checkout"].phase), (Phase::Inactive, Phase::Firing));
    }

    #[test]
    fn recovery_resolves_the_open_incident() {
        let mut f = Fixture::new(vec![rule("r1", Some("checkout"), "span.error_rate")], vec![minute("checkout", 0.0)]);
        f.states.insert("r1".into(), ServiceStates::from([("checkout".to_string(), firing_since(NOW - 600_000.0))]));
        f.open.push(open_incident("i1", "r1", "checkout"));
        let p = f.plan();
        assert_eq!(p.changes[0].transition, "resolved");
        assert_eq!(
            p.resolve,
            [ToResolve {
                incident_id: "i1".into(),
                rule_id: "r1".into(),
                value: Some(0.0),
                resolution: Resolution::Recovered
            }]
        );
        assert!(p.open.is_empty());
    }

    #[test]
    fn a_lost_state_neither_duplicates_nor_strands_an_incident() {
        // KV forgot the rule fired; the incident is still open and the metric still breaches.
        let mut f = Fixture::new(vec![rule("r1", Some("checkout"), "span.error_rate")], vec![minute("checkout", 40.0)]);
        f.open.push(open_incident("i1", "r1", "checkout"));
        let p = f.plan();
        assert_eq!(p.changes[0].transition, "fired");
        assert!(p.open.is_empty() && p.resolve.is_empty());
        // And if it recovered meanwhile, the stranded incident resolves.
        f.minutes = vec![minute("checkout", 0.0)];
        assert_eq!(f.plan().resolve.len(), 1);
    }

    #[test]
    fn a_remembered_firing_state_without_data_opens_nothing() {
        // The rule was disabled while firing (its incident resolved as removed) and comes back to an empty window.
        let mut f = Fixture::new(vec![rule("r1", Some("checkout"), "span.error_rate")], vec![]);
        f.states.insert("r1".into(), ServiceStates::from([("checkout".to_string(), firing_since(NOW - 600_000.0))]));
        let p = f.plan();
        assert!(p.open.is_empty());
        f.minutes = vec![minute("checkout", 40.0)];
        assert_eq!(f.plan().open.len(), 1, "a fresh breach does open one");
    }

    #[test]
    fn incidents_of_removed_rules_or_services_resolve() {
        let mut f = Fixture::new(vec![rule("r1", Some("checkout"), "span.error_rate")], vec![]);
        f.open.push(open_incident("i1", "gone", "checkout"));
        f.open.push(open_incident("i2", "r1", "cart"));
        let p = f.plan();
        let resolved: Vec<(&str, Resolution)> =
            p.resolve.iter().map(|r| (r.incident_id.as_str(), r.resolution)).collect();
        assert_eq!(resolved, [("i1", Resolution::RuleRemoved), ("i2", Resolution::RuleRemoved)]);
    }

    #[test]
    fn states_are_written_only_when_the_phase_changes() {
        let mut f = Fixture::new(vec![rule("r1", Some("checkout"), "span.error_rate")], vec![minute("checkout", 40.0)]);
        f.states.insert("r1".into(), ServiceStates::from([("checkout".to_string(), firing_since(NOW - 60_000.0))]));
        f.open.push(open_incident("i1", "r1", "checkout"));
        let p = f.plan();
        assert!(p.changes.is_empty() && p.states.is_empty() && p.open.is_empty() && p.resolve.is_empty());
    }

    #[test]
    fn otlp_metric_rules_and_silent_services_report_no_data() {
        let f = Fixture::new(
            vec![rule("r1", Some("checkout"), "http_requests_total"), rule("r2", Some("silent"), "span.error_rate")],
            vec![],
        );
        let p = f.plan();
        assert_eq!(p.changes.iter().map(|c| c.transition).collect::<Vec<_>>(), ["nodata", "nodata"]);
        assert!(p.states.iter().all(|(_, s)| s.values().all(|s| s.phase == Phase::NoData)));
    }

    /// A gauge series of `service` whose minute before `NOW` holds `value`.
    fn gauge(service: &str, value: f64) -> (StoredSeries, StoredMinute) {
        let minute_ms = (NOW / 60_000.0).floor() * 60_000.0 - 60_000.0;
        let time = (minute_ms as u64 + 5_000) * 1_000_000;
        let series = StoredSeries {
            series_key: format!("{service}-queue"),
            service_name: service.into(),
            metric_name: "queue.depth".into(),
            kind: "gauge".into(),
            temporality: String::new(),
            monotonic: 0.0,
            unit: "1".into(),
            attributes: "{}".into(),
        };
        let minute = StoredMinute {
            series_key: series.series_key.clone(),
            minute_ms,
            points: 1.0,
            value_sum: value,
            low: Some(value),
            high: Some(value),
            first_time_ns: time,
            last_time_ns: time,
            first_value: Some(value),
            last_value: Some(value),
            ..Default::default()
        };
        (series, minute)
    }

    #[test]
    fn otlp_metric_rules_read_the_metric_roll_ups_per_service() {
        let mut f = Fixture::new(vec![rule("q", None, "queue.depth")], vec![]);
        let (series, minute) = gauge("checkout", 40.0);
        f.metric_series.push(series);
        f.metric_minutes.push(minute);
        let p = f.plan();
        assert_eq!(p.open.len(), 1, "checkout's queue is above 0.1");
        assert_eq!((p.open[0].service.as_str(), p.open[0].value), ("checkout", 40.0));
        let phases: Vec<(&str, Phase)> = p.states[0].1.iter().map(|(s, st)| (s.as_str(), st.phase)).collect();
        assert_eq!(phases, [("cart", Phase::NoData), ("checkout", Phase::Firing)], "cart has no such metric");
        // An aggregation the metric's kind has no meaning for is no data, not an error.
        let mut rate = rule("q", Some("checkout"), "queue.depth");
        rate.rule.aggregation = crate::alerting::Aggregation::Rate;
        f.rules = vec![rate];
        assert_eq!(f.plan().states[0].1["checkout"].phase, Phase::NoData);
    }

    #[test]
    fn observations_computed_elsewhere_drive_their_rules() {
        let slo = crate::alerting::slo::Slo::parse(
            br#"{"name":"avail","serviceId":"checkout","kind":"availability","target":99.9}"#,
        )
        .unwrap();
        let fast = crate::alerting::slo::BURN_ALERTS[0].rule("s1", &slo);
        let mut f = Fixture::new(vec![fast], vec![]);
        f.observations.insert("slo:s1:fast".into(), Observation::Value(20.0));
        let p = f.plan();
        assert_eq!((p.changes[0].transition, p.changes[0].value), ("fired", Some(20.0)));
        assert_eq!(p.open[0].rule.id, "slo:s1:fast");
    }

    #[test]
    fn the_longest_window_bounds_the_roll_ups_read() {
        let mut long = rule("r2", None, "span.count");
        long.rule.window_seconds = 3600;
        assert_eq!(longest_window_seconds(&[rule("r1", None, "span.count"), long]), 3600);
        assert_eq!(longest_window_seconds(&[]), 0);
    }

    #[test]
    fn state_keys_are_per_rule() {
        assert_eq!(state_key("abc"), "alert:abc");
    }
}
