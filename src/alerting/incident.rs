//! Incidents: what a firing rule (per service) opens, who acknowledged it
//! and when it resolved. At most one is open (firing or acknowledged) per
//! rule and service; the store enforces it with a unique index.

use serde::{Deserialize, Serialize};

use super::fields::{object, text, FieldError};
use super::rule::{Condition, Severity};
use crate::query::trace_view::rfc3339_ms;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IncidentState {
    Firing,
    Acknowledged,
    Resolved,
}

impl IncidentState {
    /// From the `state` query parameter.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "firing" => Some(Self::Firing),
            "acknowledged" => Some(Self::Acknowledged),
            "resolved" => Some(Self::Resolved),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Firing => "firing",
            Self::Acknowledged => "acknowledged",
            Self::Resolved => "resolved",
        }
    }
}

/// Why an incident was resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// The metric stopped breaching the threshold.
    Recovered,
    /// The rule was deleted, disabled, or no longer covers the service.
    RuleRemoved,
}

/// A row of `alert_incidents`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StoredIncident {
    pub id: String,
    pub rule_id: String,
    pub rule_name: String,
    pub service_name: String,
    pub metric_name: String,
    pub severity: Severity,
    pub condition: Condition,
    pub threshold: f64,
    pub state: IncidentState,
    pub value: f64,
    pub started_ms: f64,
    pub acknowledged_ms: Option<f64>,
    pub acknowledged_by: Option<String>,
    pub resolved_ms: Option<f64>,
    pub resolved_value: Option<f64>,
    pub resolution: Option<Resolution>,
    pub notification_error: Option<String>,
}

#[cfg(test)]
impl StoredIncident {
    /// Test fixture: a firing `span.error_rate > 0.1` incident of `rule_id` for `service`.
    pub(crate) fn firing(id: &str, rule_id: &str, service: &str, started_ms: f64) -> Self {
        StoredIncident {
            id: id.into(),
            rule_id: rule_id.into(),
            rule_name: "errors".into(),
            service_name: service.into(),
            metric_name: "span.error_rate".into(),
            severity: Severity::Warning,
            condition: Condition::Gt,
            threshold: 0.1,
            state: IncidentState::Firing,
            value: 0.5,
            started_ms,
            acknowledged_ms: None,
            acknowledged_by: None,
            resolved_ms: None,
            resolved_value: None,
            resolution: None,
            notification_error: None,
        }
    }
}

/// An incident as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IncidentView {
    pub id: String,
    pub rule_id: String,
    pub rule_name: String,
    pub service_id: String,
    pub metric_name: String,
    pub severity: Severity,
    pub condition: Condition,
    pub threshold: f64,
    pub state: IncidentState,
    /// The value that fired the rule.
    pub value: f64,
    pub started_at: String,
    pub acknowledged_at: Option<String>,
    pub acknowledged_by: Option<String>,
    pub resolved_at: Option<String>,
    /// The value that resolved it (none when the rule was removed).
    pub resolved_value: Option<f64>,
    pub resolution: Option<Resolution>,
    /// The last notification failure, if any.
    pub notification_error: Option<String>,
}

impl From<StoredIncident> for IncidentView {
    fn from(i: StoredIncident) -> Self {
        IncidentView {
            id: i.id,
            rule_id: i.rule_id,
            rule_name: i.rule_name,
            service_id: i.service_name,
            metric_name: i.metric_name,
            severity: i.severity,
            condition: i.condition,
            threshold: i.threshold,
            state: i.state,
            value: i.value,
            started_at: rfc3339_ms(i.started_ms),
            acknowledged_at: i.acknowledged_ms.map(rfc3339_ms),
            acknowledged_by: i.acknowledged_by,
            resolved_at: i.resolved_ms.map(rfc3339_ms),
            resolved_value: i.resolved_value,
            resolution: i.resolution,
            notification_error: i.notification_error,
        }
    }
}

/// The id of the incident a rule opens for a service at `now_ms`: derived,
/// not random, so the cycle can build the incident and its notifications
/// before writing anything, and one cycle can never open two.
pub fn incident_id(rule_id: &str, service: &str, now_ms: f64) -> String {
    use sha2::{Digest, Sha256};
    let digest: [u8; 32] = Sha256::digest(format!("{rule_id}\n{service}\n{now_ms}")).into();
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// The body of `POST /api/alerts/incidents/:id/acknowledge`: who acknowledges.
pub fn acknowledged_by(json: &[u8]) -> Result<String, FieldError> {
    text(&object(json, &["acknowledgedBy"])?, "acknowledgedBy", 200)
}

/// Why an incident cannot be acknowledged (409), given its current state.
pub fn acknowledge_conflict(state: IncidentState) -> Option<&'static str> {
    match state {
        IncidentState::Firing => None,
        IncidentState::Acknowledged => Some("the incident is already acknowledged"),
        IncidentState::Resolved => Some("the incident is resolved"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acknowledging_needs_a_name_and_a_firing_incident() {
        assert_eq!(acknowledged_by(br#"{"acknowledgedBy":" alice "}"#).unwrap(), "alice");
        assert_eq!(acknowledged_by(br#"{}"#).unwrap_err().field, "acknowledgedBy");
        assert_eq!(acknowledged_by(br#"{"acknowledgedBy":""}"#).unwrap_err().field, "acknowledgedBy");
        assert_eq!(acknowledged_by(br#"{"by":"x"}"#).unwrap_err().field, "body");
        assert_eq!(acknowledge_conflict(IncidentState::Firing), None);
        assert!(acknowledge_conflict(IncidentState::Acknowledged).is_some());
        assert!(acknowledge_conflict(IncidentState::Resolved).is_some());
    }

    #[test]
    fn incident_ids_are_derived_per_rule_service_and_time() {
        let id = incident_id("r1", "checkout", 1000.0);
        assert_eq!(id.len(), 16);
        assert_eq!(id, incident_id("r1", "checkout", 1000.0));
        assert_ne!(id, incident_id("r1", "checkout", 1001.0));
        assert_ne!(id, incident_id("r1", "cart", 1000.0));
    }

    #[test]
    fn states_parse_from_the_query_string() {
        for s in [IncidentState::Firing, IncidentState::Acknowledged, IncidentState::Resolved] {
            assert_eq!(IncidentState::parse(s.as_str()), Some(s));
        }
        assert_eq!(IncidentState::parse("open"), None);
    }
}
