//! Notifications of incidents: the documented webhook payload, the Slack
//! message, the HMAC signature header, and the retry schedule. A payload
//! is built once, when the notification is queued, so every retry sends
//! the same bytes (and the same signature).

use std::collections::BTreeMap;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::channel::{ChannelKind, StoredChannel};
use super::cycle::RuleEntry;
use super::incident::IncidentView;
use super::rule::{Condition, Severity};

/// What happened to the incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Event {
    Firing,
    Resolved,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Firing => "firing",
            Event::Resolved => "resolved",
        }
    }
}

/// The rule fields a notification carries besides the incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleSummary<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub description: &'a str,
    pub labels: &'a BTreeMap<String, String>,
}

/// The generic webhook body (documented in `docs/alerting.md`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WebhookPayload<'a> {
    /// `{incidentId}:{event}`: the same for every retry, for receivers that de-duplicate.
    id: String,
    event: Event,
    incident: &'a IncidentView,
    rule: &'a RuleSummary<'a>,
}

fn condition_symbol(c: Condition) -> &'static str {
    match c {
        Condition::Gt => ">",
        Condition::Gte => "≥",
        Condition::Lt => "<",
        Condition::Lte => "≤",
        Condition::Eq => "=",
        Condition::Neq => "≠",
    }
}

fn slack_payload(event: Event, incident: &IncidentView, rule: &RuleSummary) -> serde_json::Value {
    let (icon, title, color, value) = match event {
        Event::Firing => (":rotating_light:", "FIRING", "#d93f0b", incident.value),
        Event::Resolved => {
            (":white_check_mark:", "RESOLVED", "#2eb67d", incident.resolved_value.unwrap_or(incident.value))
        }
    };
    let severity = match incident.severity {
        Severity::Critical => "critical",
        Severity::Warning => "warning",
        Severity::Info => "info",
    };
    let text = format!(
        "{icon} [{title}] {} · {}: {} = {value} ({} {})",
        incident.rule_name,
        incident.service_id,
        incident.metric_name,
        condition_symbol(incident.condition),
        incident.threshold
    );
    let mut fields = vec![
        serde_json::json!({"title": "Service", "value": incident.service_id, "short": true}),
        serde_json::json!({"title": "Severity", "value": severity, "short": true}),
        serde_json::json!({"title": "Started", "value": incident.started_at, "short": true}),
    ];
    if let Some(resolved) = &incident.resolved_at {
        fields.push(serde_json::json!({"title": "Resolved", "value": resolved, "short": true}));
    }
    serde_json::json!({
        "text": text,
        "attachments": [{
            "color": color,
            "text": rule.description,
            "fields": fields,
            "footer": format!("observability-collector · incident {}", incident.id),
        }],
    })
}

/// The body sent to a channel of `kind`.
pub fn payload(kind: ChannelKind, event: Event, incident: &IncidentView, rule: &RuleSummary) -> Vec<u8> {
    let body = match kind {
        ChannelKind::Webhook => serde_json::to_value(WebhookPayload {
            id: format!("{}:{}", incident.id, event.as_str()),
            event,
            incident,
            rule,
        }),
        ChannelKind::Slack => Ok(slack_payload(event, incident, rule)),
    };
    body.and_then(|b| serde_json::to_vec(&b)).unwrap_or_default()
}

/// The notifications of `event` on `incident`: one per enabled channel of
/// the rule, as `(channel id, payload)`. Unknown channel ids are skipped.
pub fn outbox(
    event: Event,
    incident: &IncidentView,
    entry: &RuleEntry,
    channels: &[StoredChannel],
) -> Vec<(String, Vec<u8>)> {
    let rule = &entry.rule;
    let summary = RuleSummary { id: &entry.id, name: &rule.name, description: &rule.description, labels: &rule.labels };
    rule.channels
        .iter()
        .filter_map(|id| channels.iter().find(|c| &c.id == id && c.enabled != 0.0))
        .map(|c| (c.id.clone(), payload(c.kind, event, incident, &summary)))
        .collect()
}

/// Header carrying the signature of a webhook body.
pub const SIGNATURE_HEADER: &str = "x-collector-signature-256";

/// `sha256=<hex HMAC-SHA256 of body keyed by secret>`, as GitHub signs webhooks.
pub fn signature(secret: &str, body: &[u8]) -> String {
    // Cannot fail: HMAC accepts keys of any length.
    #[allow(clippy::expect_used)]
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256=");
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Attempts per notification before it is marked failed.
pub const MAX_ATTEMPTS: u32 = 6;

/// How a delivery attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt {
    /// The receiver answered 2xx.
    Delivered,
    /// The receiver answered with this status.
    Refused(u16),
    /// No answer: network error or timeout.
    Unreachable(String),
    /// The channel was deleted or disabled after the notification was queued.
    ChannelGone,
    /// No request could be made of the channel's URL.
    Unsendable(String),
}

/// What to do after an attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum NextStep {
    Done,
    /// Try again at this time (unix ms).
    RetryAt(f64),
    /// Stop: a permanent refusal or too many attempts.
    GiveUp,
}

/// After attempt number `attempts` (1-based) at `now_ms`: retry on network
/// errors, timeouts, 408, 429 and 5xx, waiting 1, 2, 4, 8 … minutes.
pub fn next_step(attempt: &Attempt, attempts: u32, now_ms: f64) -> NextStep {
    let retryable = match attempt {
        Attempt::Delivered => return NextStep::Done,
        Attempt::Refused(status) => matches!(status, 408 | 429 | 500..=599),
        Attempt::Unreachable(_) => true,
        Attempt::ChannelGone | Attempt::Unsendable(_) => false,
    };
    if !retryable || attempts >= MAX_ATTEMPTS {
        return NextStep::GiveUp;
    }
    NextStep::RetryAt(now_ms + 60_000.0 * f64::from(1u32 << attempts.saturating_sub(1).min(10)))
}

impl Attempt {
    /// The error recorded on the notification and its incident.
    pub fn error(&self) -> Option<String> {
        match self {
            Attempt::Delivered => None,
            Attempt::Refused(status) => Some(format!("receiver answered HTTP {status}")),
            Attempt::Unreachable(e) => Some(format!("receiver unreachable: {e}")),
            Attempt::ChannelGone => Some("the channel was deleted or disabled".into()),
            Attempt::Unsendable(e) => Some(format!("no request could be made: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::incident::IncidentState;

    fn incident() -> IncidentView {
        IncidentView {
            id: "i1".into(),
            rule_id: "r1".into(),
            rule_name: "High error rate".into(),
            service_id: "checkout".into(),
            metric_name: "span.error_rate".into(),
            severity: Severity::Critical,
            condition: Condition::Gt,
            threshold: 0.05,
            state: IncidentState::Firing,
            value: 0.25,
            started_at: "2026-11-23T10:00:00.000Z".into(),
            acknowledged_at: None,
            acknowledged_by: None,
            resolved_at: None,
            resolved_value: None,
            resolution: None,
            notification_error: None,
        }
    }

    #[test]
    fn the_webhook_payload_carries_the_incident_and_the_rule() {
        let labels = BTreeMap::from([("team".to_string(), "pay".to_string())]);
        let rule = RuleSummary { id: "r1", name: "High error rate", description: "d", labels: &labels };
        let body: serde_json::Value =
            serde_json::from_slice(&payload(ChannelKind::Webhook, Event::Firing, &incident(), &rule)).unwrap();
        assert_eq!(body["id"], "i1:firing");
        assert_eq!(body["event"], "firing");
        assert_eq!(body["incident"]["serviceId"], "checkout");
        assert_eq!(body["incident"]["value"], 0.25);
        assert_eq!(body["rule"]["labels"]["team"], "pay");
    }

    #[test]
    fn the_slack_message_says_what_fired_and_what_resolved() {
        let labels = BTreeMap::new();
        let rule = RuleSummary { id: "r1", name: "High error rate", description: "d", labels: &labels };
        let firing: serde_json::Value =
            serde_json::from_slice(&payload(ChannelKind::Slack, Event::Firing, &incident(), &rule)).unwrap();
        assert_eq!(
            firing["text"],
            ":rotating_light: [FIRING] High error rate · checkout: span.error_rate = 0.25 (> 0.05)"
        );
        let resolved_incident = IncidentView {
            resolved_value: Some(0.01),
            resolved_at: Some("2026-11-23T10:05:00.000Z".into()),
            ..incident()
        };
        let resolved: serde_json::Value =
            serde_json::from_slice(&payload(ChannelKind::Slack, Event::Resolved, &resolved_incident, &rule)).unwrap();
        assert!(resolved["text"].as_str().unwrap().starts_with(":white_check_mark: [RESOLVED]"));
        assert!(resolved["text"].as_str().unwrap().contains("= 0.01"));
        assert_eq!(resolved["attachments"][0]["fields"][3]["title"], "Resolved");
    }

    #[test]
    fn the_outbox_has_one_payload_per_enabled_channel_of_the_rule() {
        let channel = |id: &str, kind, enabled| StoredChannel {
            id: id.into(),
            name: id.into(),
            kind,
            url: "https://h/".into(),
            secret: None,
            enabled,
            created_ms: 0.0,
            updated_ms: 0.0,
        };
        let channels = [
            channel("hook", ChannelKind::Webhook, 1.0),
            channel("slack", ChannelKind::Slack, 1.0),
            channel("off", ChannelKind::Webhook, 0.0),
            channel("other", ChannelKind::Webhook, 1.0),
        ];
        let body = r#"{"name":"r","metricName":"span.count","condition":"gt","threshold":1,"channels":["hook","slack","off","gone"]}"#;
        let entry = RuleEntry { id: "r1".into(), rule: crate::alerting::AlertRule::parse(body.as_bytes()).unwrap() };
        let out = outbox(Event::Firing, &incident(), &entry, &channels);
        assert_eq!(out.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(), ["hook", "slack"]);
        let hook: serde_json::Value = serde_json::from_slice(&out[0].1).unwrap();
        assert_eq!(hook["rule"]["id"], "r1");
        let slack: serde_json::Value = serde_json::from_slice(&out[1].1).unwrap();
        assert!(slack["text"].is_string());
    }

    #[test]
    fn signatures_are_hmac_sha256_in_hex() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn retries_back_off_and_stop() {
        let now = 1_000_000.0;
        assert_eq!(next_step(&Attempt::Delivered, 1, now), NextStep::Done);
        assert_eq!(next_step(&Attempt::Refused(503), 1, now), NextStep::RetryAt(now + 60_000.0));
        assert_eq!(next_step(&Attempt::Unreachable("timeout".into()), 3, now), NextStep::RetryAt(now + 240_000.0));
        assert_eq!(next_step(&Attempt::Refused(429), 5, now), NextStep::RetryAt(now + 960_000.0));
        assert_eq!(next_step(&Attempt::Refused(500), MAX_ATTEMPTS, now), NextStep::GiveUp);
        assert_eq!(next_step(&Attempt::Refused(404), 1, now), NextStep::GiveUp, "a permanent refusal");
        assert_eq!(next_step(&Attempt::ChannelGone, 1, now), NextStep::GiveUp);
        assert_eq!(next_step(&Attempt::Unsendable("bad URL".into()), 1, now), NextStep::GiveUp);
        assert_eq!(Attempt::Refused(404).error().unwrap(), "receiver answered HTTP 404");
    }
}
