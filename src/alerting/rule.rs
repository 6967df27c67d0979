//! Alert rules: the body of `POST /api/alerts/configs` (DESIGN.md §5), with
//! the defaults that keep the original minimal body working, and validation
//! errors that name the field.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::cycle::ServiceStates;
use super::fields::{channel_ids, field, invalid, object, optional_text, text, FieldError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Aggregation {
    #[default]
    Avg,
    Sum,
    Min,
    Max,
    Count,
    /// Sum per second over the window.
    Rate,
    Last,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Condition {
    Gt,
    Gte,
    Lt,
    Lte,
    Eq,
    Neq,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    #[default]
    Warning,
    Info,
}

/// Span-derived metrics every rule may use besides OTLP metric names.
pub const SPAN_METRICS: &[&str] = &[
    "span.count",
    "span.error_rate",
    "span.error_count",
    "span.duration.p50",
    "span.duration.p90",
    "span.duration.p95",
    "span.duration.p99",
    "span.duration.avg",
];

/// Default evaluation window: five minutes.
pub const DEFAULT_WINDOW_SECONDS: u32 = 300;
/// Longest window a rule may look back over: a day.
pub const MAX_WINDOW_SECONDS: u32 = 86_400;

/// Most labels a rule may carry.
pub const MAX_LABELS: usize = 32;

/// Longest a breach may stay pending before firing: a day.
pub const MAX_FOR_SECONDS: u32 = 86_400;

/// A rule as stored and evaluated.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertRule {
    pub name: String,
    pub description: String,
    /// `None`: evaluated per service, for every service.
    pub service_id: Option<String>,
    pub metric_name: String,
    pub aggregation: Aggregation,
    pub condition: Condition,
    pub threshold: f64,
    pub window_seconds: u32,
    pub for_seconds: u32,
    pub severity: Severity,
    pub labels: BTreeMap<String, String>,
    pub channels: Vec<String>,
    pub enabled: bool,
}

/// A stored rule as the API shows it: its id, the rule's fields, times,
/// and (for one rule) its evaluation state per service.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleView<'a> {
    pub id: &'a str,
    #[serde(flatten)]
    pub rule: &'a AlertRule,
    pub created_at: String,
    pub updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<&'a ServiceStates>,
}

/// The fields a rule body may have.
const FIELDS: &[&str] = &[
    "name",
    "description",
    "serviceId",
    "metricName",
    "aggregation",
    "condition",
    "threshold",
    "windowSeconds",
    "forSeconds",
    "severity",
    "labels",
    "channels",
    "enabled",
];

impl AlertRule {
    /// Parses and validates a rule body (a JSON object).
    pub fn parse(json: &[u8]) -> Result<Self, FieldError> {
        let body = object(json, FIELDS)?;
        let name = text(&body, "name", 200)?;
        let metric_name = text(&body, "metricName", 200)?;
        if metric_name.starts_with("span.") && !SPAN_METRICS.contains(&metric_name.as_str()) {
            return Err(invalid("metricName", format!("unknown span metric; use one of {}", SPAN_METRICS.join(", "))));
        }
        let condition = field(&body, "condition")?
            .ok_or_else(|| invalid("condition", "is required (gt, gte, lt, lte, eq, neq)"))?;
        let threshold: f64 = field(&body, "threshold")?.ok_or_else(|| invalid("threshold", "is required"))?;
        let window_seconds = field(&body, "windowSeconds")?.unwrap_or(DEFAULT_WINDOW_SECONDS);
        if !(60..=MAX_WINDOW_SECONDS).contains(&window_seconds) {
            return Err(invalid("windowSeconds", format!("must be from 60 to {MAX_WINDOW_SECONDS}")));
        }
        let labels: BTreeMap<String, String> = field(&body, "labels")?.unwrap_or_default();
        if labels.len() > MAX_LABELS {
            return Err(invalid("labels", format!("at most {MAX_LABELS} labels")));
        }
        if let Some((k, _)) = labels.iter().find(|(k, v)| k.is_empty() || k.len() > 128 || v.len() > 1024) {
            return Err(invalid("labels", format!("label {k:?}: keys are 1–128 bytes, values at most 1,024")));
        }
        let for_seconds = field(&body, "forSeconds")?.unwrap_or(0);
        if for_seconds > MAX_FOR_SECONDS {
            return Err(invalid("forSeconds", format!("must be at most {MAX_FOR_SECONDS}")));
        }
        Ok(AlertRule {
            name,
            description: optional_text(&body, "description", 2000)?.unwrap_or_default(),
            service_id: optional_text(&body, "serviceId", 200)?,
            metric_name,
            aggregation: field(&body, "aggregation")?.unwrap_or_default(),
            condition,
            threshold,
            window_seconds,
            for_seconds,
            severity: field(&body, "severity")?.unwrap_or_default(),
            labels,
            channels: channel_ids(&body, "channels")?,
            enabled: field(&body, "enabled")?.unwrap_or(true),
        })
    }
}

impl Condition {
    /// Whether `value` breaches `threshold`.
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Condition::Gt => value > threshold,
            Condition::Gte => value >= threshold,
            Condition::Lt => value < threshold,
            Condition::Lte => value <= threshold,
            Condition::Eq => value == threshold,
            Condition::Neq => value != threshold,
        }
    }
}

impl Aggregation {
    /// Aggregates the values seen in a window of `window_seconds`; `None` without values.
    pub fn apply(self, values: &[f64], window_seconds: u32) -> Option<f64> {
        let (first, last) = (values.first()?, values.last()?);
        let sum: f64 = values.iter().sum();
        Some(match self {
            Aggregation::Avg => sum / values.len() as f64,
            Aggregation::Sum => sum,
            Aggregation::Min => values.iter().copied().fold(*first, f64::min),
            Aggregation::Max => values.iter().copied().fold(*first, f64::max),
            Aggregation::Count => values.len() as f64,
            Aggregation::Rate => sum / f64::from(window_seconds.max(1)),
            Aggregation::Last => *last,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_original_minimal_body_works_with_defaults() {
        let rule = AlertRule::parse(
            br#"{"name":"High Error Rate","description":"Triggers when error rate exceeds 5%","serviceId":"gateway-production",
                "metricName":"http_requests_total","condition":"gt","threshold":5,"windowSeconds":300,"severity":"critical"}"#,
        )
        .unwrap();
        assert_eq!(rule.name, "High Error Rate");
        assert_eq!(rule.service_id.as_deref(), Some("gateway-production"));
        assert_eq!((rule.aggregation, rule.condition, rule.threshold), (Aggregation::Avg, Condition::Gt, 5.0));
        assert_eq!(
            (rule.window_seconds, rule.for_seconds, rule.severity, rule.enabled),
            (300, 0, Severity::Critical, true)
        );
        assert!(rule.labels.is_empty() && rule.channels.is_empty());
    }

    #[test]
    fn every_field_is_read() {
        let rule = AlertRule::parse(
            br#"{"name":"p95","metricName":"span.duration.p95","aggregation":"max","condition":"gte","threshold":250.5,
                "windowSeconds":600,"forSeconds":120,"severity":"info","labels":{"team":"pay"},"channels":["c1"],"enabled":false}"#,
        )
        .unwrap();
        assert_eq!(rule.service_id, None);
        assert_eq!((rule.aggregation, rule.condition, rule.threshold), (Aggregation::Max, Condition::Gte, 250.5));
        assert_eq!(
            (rule.window_seconds, rule.for_seconds, rule.severity, rule.enabled),
            (600, 120, Severity::Info, false)
        );
        assert_eq!(rule.labels["team"], "pay");
        assert_eq!(rule.channels, ["c1"]);
    }

    #[test]
    fn validation_errors_name_the_field() {
        for (body, field) in [
            (&br#"{"metricName":"m","condition":"gt","threshold":1}"#[..], "name"),
            (br#"{"name":" ","metricName":"m","condition":"gt","threshold":1}"#, "name"),
            (br#"{"name":"n","condition":"gt","threshold":1}"#, "metricName"),
            (br#"{"name":"n","metricName":"span.nope","condition":"gt","threshold":1}"#, "metricName"),
            (br#"{"name":"n","metricName":"m","threshold":1}"#, "condition"),
            (br#"{"name":"n","metricName":"m","condition":"above","threshold":1}"#, "condition"),
            (br#"{"name":"n","metricName":"m","condition":"gt"}"#, "threshold"),
            (br#"{"name":"n","metricName":"m","condition":"gt","threshold":1,"windowSeconds":5}"#, "windowSeconds"),
            (br#"{"name":"n","metricName":"m","condition":"gt","threshold":1,"severity":"page"}"#, "severity"),
            (br#"{"name":"n","metricName":"m","condition":"gt","threshold":"high"}"#, "threshold"),
            (br#"{"name":"n","metricName":"m","condition":"gt","threshold":1,"forSeconds":-5}"#, "forSeconds"),
            (br#"{"name":"n","metricName":"m","condition":"gt","threshold":1,"forSeconds":86401}"#, "forSeconds"),
            (br#"{"name":"n","metricName":"m","condition":"gt","threshold":1,"labels":{"a":1}}"#, "labels"),
            (br#"{"name":"n","metricName":"m","condition":"gt","threshold":1,"labels":{"":"x"}}"#, "labels"),
            (br#"{"name":"n","metricName":"m","condition":"gt","threshold":1,"channels":["a","a"]}"#, "channels"),
            (br#"{"name":"n","metricName":"m","condition":"gt","threshold":1,"bogus":1}"#, "body"),
            (br#"not json"#, "body"),
        ] {
            let err = AlertRule::parse(body).unwrap_err();
            assert_eq!(err.field, field, "{}: {err}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn conditions_compare_against_the_threshold() {
        assert!(Condition::Gt.holds(2.0, 1.0) && !Condition::Gt.holds(1.0, 1.0));
        assert!(Condition::Gte.holds(1.0, 1.0) && !Condition::Gte.holds(0.5, 1.0));
        assert!(Condition::Lt.holds(0.5, 1.0) && !Condition::Lt.holds(1.0, 1.0));
        assert!(Condition::Lte.holds(1.0, 1.0) && !Condition::Lte.holds(1.5, 1.0));
        assert!(Condition::Eq.holds(1.0, 1.0) && !Condition::Eq.holds(1.1, 1.0));
        assert!(Condition::Neq.holds(1.1, 1.0) && !Condition::Neq.holds(1.0, 1.0));
    }

    #[test]
    fn aggregations_over_a_window() {
        let v = [4.0, 1.0, 7.0, 2.0];
        assert_eq!(Aggregation::Avg.apply(&v, 60), Some(3.5));
        assert_eq!(Aggregation::Sum.apply(&v, 60), Some(14.0));
        assert_eq!(Aggregation::Min.apply(&v, 60), Some(1.0));
        assert_eq!(Aggregation::Max.apply(&v, 60), Some(7.0));
        assert_eq!(Aggregation::Count.apply(&v, 60), Some(4.0));
        assert_eq!(Aggregation::Rate.apply(&v, 7), Some(2.0));
        assert_eq!(Aggregation::Last.apply(&v, 60), Some(2.0));
        assert_eq!(Aggregation::Avg.apply(&[], 60), None);
    }
}
