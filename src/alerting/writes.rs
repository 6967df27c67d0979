//! What a cycle writes for the incidents its plan opens and resolves, built
//! in full before anything is written: each incident with the notifications
//! it sends, so the store can write an incident and queue its
//! notifications in the same transaction (an incident is never committed
//! without them, and they are queued only if this cycle's write took effect).

use super::channel::StoredChannel;
use super::cycle::{CyclePlan, RuleEntry};
use super::incident::{incident_id, IncidentState, IncidentView, Resolution, StoredIncident};
use super::notification::{outbox, Event};

/// A notification to queue: one per incident, event and channel.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedNotification {
    pub channel_id: String,
    pub event: Event,
    pub payload: String,
}

/// An incident to open, unless one is open already for its rule and service.
#[derive(Debug, Clone, PartialEq)]
pub struct Opening {
    pub incident: StoredIncident,
    pub notifications: Vec<QueuedNotification>,
}

/// An open incident to resolve, unless another cycle resolved it first.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolving {
    pub incident_id: String,
    pub value: Option<f64>,
    pub resolution: Resolution,
    /// Empty for administrative resolves (`rule_removed`).
    pub notifications: Vec<QueuedNotification>,
}

fn queued(
    event: Event,
    incident: &StoredIncident,
    entry: Option<&RuleEntry>,
    channels: &[StoredChannel],
) -> Vec<QueuedNotification> {
    let Some(entry) = entry else { return Vec::new() };
    let view = IncidentView::from(incident.clone());
    outbox(event, &view, entry, channels)
        .into_iter()
        .map(|(channel_id, payload)| QueuedNotification {
            channel_id,
            event,
            payload: String::from_utf8_lossy(&payload).into_owned(),
        })
        .collect()
}

/// The writes of `plan` at `now_ms`.
pub fn incident_writes(
    plan: &CyclePlan<'_>,
    rules: &[RuleEntry],
    open_incidents: &[StoredIncident],
    channels: &[StoredChannel],
    now_ms: f64,
) -> (Vec<Opening>, Vec<Resolving>) {
    let openings = plan
        .open
        .iter()
        .map(|o| {
            let r = &o.rule.rule;
            let incident = StoredIncident {
                id: incident_id(&o.rule.id, &o.service, now_ms),
                rule_id: o.rule.id.clone(),
                rule_name: r.name.clone(),
                service_name: o.service.clone(),
                metric_name: r.metric_name.clone(),
                severity: r.severity,
                condition: r.condition,
                threshold: r.threshold,
                state: IncidentState::Firing,
                value: o.value,
                started_ms: now_ms,
                acknowledged_ms: None,
                acknowledged_by: None,
                resolved_ms: None,
                resolved_value: None,
                resolution: None,
                notification_error: None,
            };
            let notifications = queued(Event::Firing, &incident, Some(o.rule), channels);
            Opening { incident, notifications }
        })
        .collect();
    let resolvings = plan
        .resolve
        .iter()
        .map(|r| {
            let notifications = match (r.resolution, open_incidents.iter().find(|i| i.id == r.incident_id)) {
                (Resolution::Recovered, Some(open)) => {
                    let resolved = StoredIncident {
                        state: IncidentState::Resolved,
                        resolved_ms: Some(now_ms),
                        resolved_value: r.value,
                        resolution: Some(r.resolution),
                        ..open.clone()
                    };
                    queued(Event::Resolved, &resolved, rules.iter().find(|e| e.id == r.rule_id), channels)
                }
                _ => Vec::new(),
            };
            Resolving { incident_id: r.incident_id.clone(), value: r.value, resolution: r.resolution, notifications }
        })
        .collect();
    (openings, resolvings)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::alerting::channel::ChannelKind;
    use crate::alerting::cycle::{plan, CycleInput, ServiceStates};
    use crate::alerting::engine::{Phase, RuleState};
    use crate::alerting::span_metrics::RedMinute;
    use crate::alerting::AlertRule;
    use crate::query::service_view::StoredRed;

    const NOW: f64 = 1_700_000_070_000.0;

    #[test]
    fn openings_and_recoveries_carry_their_notifications_and_removals_none() {
        let body = r#"{"name":"errors","serviceId":"checkout","metricName":"span.error_rate","condition":"gt","threshold":0.1,"channels":["hook"]}"#;
        let rules = vec![
            RuleEntry { id: "r1".into(), rule: AlertRule::parse(body.as_bytes()).unwrap() },
            RuleEntry { id: "r2".into(), rule: AlertRule::parse(body.replace("checkout", "cart").as_bytes()).unwrap() },
        ];
        let channels = vec![StoredChannel {
            id: "hook".into(),
            name: "ops".into(),
            kind: ChannelKind::Webhook,
            url: "http://h/".into(),
            secret: None,
            enabled: 1.0,
            created_ms: 0.0,
            updated_ms: 0.0,
        }];
        let minute = |service: &str, errors: f64| RedMinute {
            minute_ms: (NOW / 60_000.0).floor() * 60_000.0,
            red: StoredRed { service_name: service.into(), requests: 10.0, errors, ..Default::default() },
        };
        let open = |id: &str, rule: &str, service: &str| StoredIncident {
            state: IncidentState::Acknowledged,
            acknowledged_ms: Some(NOW - 300_000.0),
            acknowledged_by: Some("alice".into()),
            ..StoredIncident::firing(id, rule, service, NOW - 600_000.0)
        };
        let firing =
            RuleState { phase: Phase::Firing, since_ms: Some(0.0), last_value: Some(0.5), last_evaluated_ms: None };
        let states = HashMap::from([("r2".to_string(), ServiceStates::from([("cart".to_string(), firing)]))]);
        let open_incidents = vec![open("i-cart", "r2", "cart"), open("i-gone", "deleted-rule", "checkout")];
        let minutes = vec![minute("checkout", 5.0), minute("cart", 0.0)];
        let services = vec!["cart".to_string(), "checkout".to_string()];
        let observations = HashMap::new();
        let p = plan(&CycleInput {
            now_ms: NOW,
            rules: &rules,
            services: &services,
            red_minutes: &minutes,
            metric_series: &[],
            metric_minutes: &[],
            states: &states,
            open_incidents: &open_incidents,
            observations: &observations,
        });
        let (openings, resolvings) = incident_writes(&p, &rules, &open_incidents, &channels, NOW);
        assert_eq!(openings.len(), 1);
        let o = &openings[0];
        assert_eq!(
            (o.incident.id.clone(), o.incident.value, o.incident.started_ms),
            (incident_id("r1", "checkout", NOW), 0.5, NOW)
        );
        assert_eq!(o.notifications.len(), 1);
        let payload: serde_json::Value = serde_json::from_str(&o.notifications[0].payload).unwrap();
        assert_eq!(payload["incident"]["id"], o.incident.id.as_str());
        let by_id: HashMap<&str, &Resolving> = resolvings.iter().map(|r| (r.incident_id.as_str(), r)).collect();
        let recovered = by_id["i-cart"];
        assert_eq!((recovered.resolution, recovered.value), (Resolution::Recovered, Some(0.0)));
        let payload: serde_json::Value = serde_json::from_str(&recovered.notifications[0].payload).unwrap();
        assert_eq!(payload["event"], "resolved");
        assert_eq!(payload["incident"]["state"], "resolved");
        assert_eq!(payload["incident"]["acknowledgedBy"], "alice");
        assert_eq!(payload["incident"]["resolvedValue"], 0.0);
        assert!(by_id["i-gone"].notifications.is_empty());
    }
}
