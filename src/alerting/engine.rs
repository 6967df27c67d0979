//! The per-rule (and per-service) state machine, with the clock passed in:
//!
//! ```text
//! inactive ──breach──► pending ──breach for forSeconds──► firing ──no breach──► inactive (resolved)
//!    ▲                    │ no breach (flap)                 │ breach: stays firing
//!    └────────────────────┘                                  │ no data: stays firing
//! no data: its own state (never a silent "ok"); the next value decides.
//! ```
//! A rule with `forSeconds = 0` fires on the first breach. Acknowledging is
//! a property of the incident, not of this state: an acknowledged alert
//! keeps firing until the metric recovers.

use serde::{Deserialize, Serialize};

use super::rule::AlertRule;

/// What the metric said in this evaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Observation {
    Value(f64),
    /// No data point in the window.
    NoData,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    #[default]
    Inactive,
    Pending,
    Firing,
    NoData,
}

/// What is kept between evaluations (in KV, `alert:{rule_id}`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct RuleState {
    pub phase: Phase,
    /// When the current pending or firing phase began (unix ms).
    pub since_ms: Option<f64>,
    pub last_value: Option<f64>,
    pub last_evaluated_ms: Option<f64>,
}

/// What an evaluation changed; `Fired` and `Resolved` notify.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Transition {
    None,
    Pending,
    /// A pending breach went away before `forSeconds`.
    PendingCleared,
    Fired {
        value: f64,
    },
    Resolved {
        value: f64,
    },
    NoData,
}

/// One evaluation of `rule` at `now_ms`.
pub fn evaluate(rule: &AlertRule, state: RuleState, observation: Observation, now_ms: f64) -> (RuleState, Transition) {
    let at = |phase, since_ms, last_value| RuleState { phase, since_ms, last_value, last_evaluated_ms: Some(now_ms) };
    let value = match observation {
        Observation::Value(v) => v,
        Observation::NoData => {
            return match state.phase {
                Phase::Firing => (at(Phase::Firing, state.since_ms, state.last_value), Transition::None),
                Phase::NoData => (at(Phase::NoData, None, state.last_value), Transition::None),
                Phase::Inactive | Phase::Pending => (at(Phase::NoData, None, state.last_value), Transition::NoData),
            };
        }
    };
    let breach = rule.condition.holds(value, rule.threshold);
    let for_ms = f64::from(rule.for_seconds) * 1000.0;
    match (state.phase, breach) {
        (Phase::Firing, true) => (at(Phase::Firing, state.since_ms, Some(value)), Transition::None),
        (Phase::Firing, false) => (at(Phase::Inactive, None, Some(value)), Transition::Resolved { value }),
        (Phase::Pending, true) => {
            let since = state.since_ms.unwrap_or(now_ms);
            if now_ms - since >= for_ms {
                (at(Phase::Firing, Some(now_ms), Some(value)), Transition::Fired { value })
            } else {
                (at(Phase::Pending, Some(since), Some(value)), Transition::None)
            }
        }
        (Phase::Pending, false) => (at(Phase::Inactive, None, Some(value)), Transition::PendingCleared),
        (Phase::Inactive | Phase::NoData, true) if for_ms == 0.0 => {
            (at(Phase::Firing, Some(now_ms), Some(value)), Transition::Fired { value })
        }
        (Phase::Inactive | Phase::NoData, true) => (at(Phase::Pending, Some(now_ms), Some(value)), Transition::Pending),
        (Phase::Inactive | Phase::NoData, false) => (at(Phase::Inactive, None, Some(value)), Transition::None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::rule::{Aggregation, Condition, Severity};

    fn rule(for_seconds: u32) -> AlertRule {
        AlertRule {
            name: "errors".into(),
            description: String::new(),
            service_id: None,
            metric_name: "span.error_rate".into(),
            aggregation: Aggregation::Avg,
            condition: Condition::Gt,
            threshold: 0.05,
            window_seconds: 300,
            for_seconds,
            severity: Severity::Critical,
            labels: Default::default(),
            channels: vec![],
            enabled: true,
        }
    }

    /// Runs observations one minute apart and returns each transition.
    fn run(rule: &AlertRule, observations: &[Observation]) -> (RuleState, Vec<Transition>) {
        let mut state = RuleState::default();
        let mut transitions = Vec::new();
        for (i, o) in observations.iter().enumerate() {
            let (next, t) = evaluate(rule, state, *o, i as f64 * 60_000.0);
            state = next;
            transitions.push(t);
        }
        (state, transitions)
    }

    use Observation::{NoData, Value};

    #[test]
    fn without_for_seconds_the_first_breach_fires_and_recovery_resolves() {
        let (state, t) = run(&rule(0), &[Value(0.01), Value(0.2), Value(0.3), Value(0.01)]);
        assert_eq!(
            t,
            [
                Transition::None,
                Transition::Fired { value: 0.2 },
                Transition::None,
                Transition::Resolved { value: 0.01 }
            ]
        );
        assert_eq!(state.phase, Phase::Inactive);
        assert_eq!(state.last_value, Some(0.01));
        assert_eq!(state.last_evaluated_ms, Some(180_000.0));
    }

    #[test]
    fn for_seconds_holds_a_breach_pending_until_it_has_lasted() {
        let (state, t) = run(&rule(120), &[Value(0.2), Value(0.2), Value(0.2), Value(0.2)]);
        assert_eq!(t, [Transition::Pending, Transition::None, Transition::Fired { value: 0.2 }, Transition::None]);
        assert_eq!(state.phase, Phase::Firing);
        assert_eq!(state.since_ms, Some(120_000.0), "firing since it fired");
    }

    #[test]
    fn a_flapping_metric_never_fires_while_pending_resets() {
        let (state, t) = run(&rule(120), &[Value(0.2), Value(0.01), Value(0.2), Value(0.01), Value(0.2)]);
        assert_eq!(
            t,
            [
                Transition::Pending,
                Transition::PendingCleared,
                Transition::Pending,
                Transition::PendingCleared,
                Transition::Pending
            ]
        );
        assert_eq!((state.phase, state.since_ms), (Phase::Pending, Some(240_000.0)));
    }

    #[test]
    fn after_resolving_a_new_breach_fires_again() {
        let (_, t) = run(&rule(0), &[Value(1.0), Value(0.0), Value(1.0)]);
        assert_eq!(
            t,
            [Transition::Fired { value: 1.0 }, Transition::Resolved { value: 0.0 }, Transition::Fired { value: 1.0 }]
        );
    }

    #[test]
    fn no_data_is_its_own_state_and_does_not_resolve_a_firing_alert() {
        let (state, t) = run(&rule(0), &[NoData, NoData, Value(1.0), NoData, Value(0.0)]);
        assert_eq!(
            t,
            [
                Transition::NoData,
                Transition::None,
                Transition::Fired { value: 1.0 },
                Transition::None,
                Transition::Resolved { value: 0.0 }
            ]
        );
        assert_eq!(state.phase, Phase::Inactive);
        let (state, t) = run(&rule(300), &[Value(1.0), NoData]);
        assert_eq!(t, [Transition::Pending, Transition::NoData]);
        assert_eq!((state.phase, state.last_value), (Phase::NoData, Some(1.0)));
    }

    #[test]
    fn state_round_trips_through_json_for_kv() {
        let (state, _) = run(&rule(60), &[Value(1.0)]);
        let json = serde_json::to_string(&state).unwrap();
        assert_eq!(json, r#"{"phase":"pending","sinceMs":0.0,"lastValue":1.0,"lastEvaluatedMs":0.0}"#);
        assert_eq!(serde_json::from_str::<RuleState>(&json).unwrap(), state);
    }
}
