//! `GET /api/traces` parameters: `service`, `operation` (substring), `status`
//! (ok | error), `minDuration` / `maxDuration` (ms), `start` / `end`,
//! `attr.<key>=<value>` (span or resource attribute), `limit` (default 100).

use crate::api::params::{duration_ms, limit, time_ms};
use crate::api::ApiError;

pub const DEFAULT_LIMIT: u32 = 100;
pub const MAX_LIMIT: u32 = 1000;
/// Each attribute filter binds a few parameters; D1 allows 100 per statement.
pub const MAX_ATTRIBUTE_FILTERS: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Ok,
    Error,
}

/// An attribute filter: the JSON path of the key and the JSON texts the value may be stored as.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributeFilter {
    pub key: String,
    /// The value as given (compared with `ingest::block_summary::value_text` of stored values).
    pub value: String,
    pub path: String,
    /// The value as a JSON string, and as a JSON number/boolean when it reads as one.
    pub json_values: [String; 2],
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct TraceSearch {
    pub service: Option<String>,
    pub operation: Option<String>,
    /// Match `operation` exactly (and within `service`), as Jaeger does, instead of as a substring.
    pub exact_operation: bool,
    pub status: Option<StatusFilter>,
    pub min_duration_ms: Option<f64>,
    pub max_duration_ms: Option<f64>,
    pub start_ms: Option<f64>,
    pub end_ms: Option<f64>,
    pub attributes: Vec<AttributeFilter>,
    pub limit: u32,
}

impl TraceSearch {
    /// Parses the query pairs; unknown parameters are ignored, bad values are 400s naming the parameter.
    pub fn parse<'p>(pairs: impl IntoIterator<Item = (&'p str, &'p str)>) -> Result<Self, ApiError> {
        let mut q = TraceSearch { limit: DEFAULT_LIMIT, ..Default::default() };
        for (key, value) in pairs {
            // An empty value is an absent parameter (what forms and Grafana send), except for attributes.
            if value.trim().is_empty() && !key.starts_with("attr.") {
                continue;
            }
            let non_empty = || Some(value.trim().to_string());
            match key {
                "service" => q.service = non_empty(),
                "operation" => q.operation = non_empty(),
                "status" => {
                    q.status = match value.trim().to_ascii_lowercase().as_str() {
                        "ok" => Some(StatusFilter::Ok),
                        "error" => Some(StatusFilter::Error),
                        _ => return Err(ApiError::bad_request(format!("status must be ok or error, got {value:?}"))),
                    }
                }
                "minDuration" => q.min_duration_ms = Some(duration_ms(key, value)?),
                "maxDuration" => q.max_duration_ms = Some(duration_ms(key, value)?),
                "start" => q.start_ms = Some(time_ms(key, value)?),
                "end" => q.end_ms = Some(time_ms(key, value)?),
                "limit" => q.limit = limit(key, value, MAX_LIMIT)?,
                _ => {
                    if let Some(attr) = key.strip_prefix("attr.") {
                        q.attributes.push(attribute_filter(attr, value)?);
                    }
                }
            }
        }
        q.validated()
    }

    /// Checks the limits shared by every way of building a search.
    pub fn validated(self) -> Result<Self, ApiError> {
        if self.attributes.len() > MAX_ATTRIBUTE_FILTERS {
            return Err(ApiError::bad_request(format!("at most {MAX_ATTRIBUTE_FILTERS} attribute filters")));
        }
        if let (Some(s), Some(e)) = (self.start_ms, self.end_ms) {
            if s > e {
                return Err(ApiError::bad_request("start must not be after end"));
            }
        }
        Ok(self)
    }
}

/// A filter on a span or resource attribute; numbers and booleans also match their JSON form.
pub fn attribute_filter(key: &str, value: &str) -> Result<AttributeFilter, ApiError> {
    if key.is_empty() || key.contains(['"', '\\']) {
        return Err(ApiError::bad_request(format!(
            "attr.{key}: attribute keys must be non-empty without quotes or backslashes"
        )));
    }
    // Cannot fail: serde_json writes a string to a `String` without error.
    #[allow(clippy::expect_used)]
    let as_string = serde_json::to_string(value).expect("strings serialize");
    let as_scalar = match serde_json::from_str::<serde_json::Value>(value) {
        Ok(v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_))) => v.to_string(),
        _ => as_string.clone(),
    };
    Ok(AttributeFilter {
        key: key.to_string(),
        value: value.to_string(),
        path: format!("$.\"{key}\""),
        json_values: [as_string, as_scalar],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_filter_is_parsed() {
        let q = TraceSearch::parse([
            ("service", "checkout"),
            ("operation", "GET"),
            ("status", "ERROR"),
            ("minDuration", "10"),
            ("maxDuration", "2500.5"),
            ("start", "2023-11-14T22:13:20Z"),
            ("end", "1700000100000"),
            ("attr.http.status_code", "500"),
            ("limit", "20"),
            ("unrelated", "x"),
        ])
        .unwrap();
        assert_eq!(q.service.as_deref(), Some("checkout"));
        assert_eq!(q.operation.as_deref(), Some("GET"));
        assert_eq!(q.status, Some(StatusFilter::Error));
        assert_eq!((q.min_duration_ms, q.max_duration_ms), (Some(10.0), Some(2500.5)));
        assert_eq!((q.start_ms, q.end_ms), (Some(1_700_000_000_000.0), Some(1_700_000_100_000.0)));
        assert_eq!(
            q.attributes,
            vec![AttributeFilter {
                key: "http.status_code".into(),
                value: "500".into(),
                path: "$.\"http.status_code\"".into(),
                json_values: ["\"500\"".into(), "500".into()]
            }]
        );
        assert_eq!(q.limit, 20);
    }

    #[test]
    fn defaults_apply_when_nothing_is_given() {
        let q = TraceSearch::parse([]).unwrap();
        assert_eq!(q, TraceSearch { limit: DEFAULT_LIMIT, ..Default::default() });
        let blank = [("service", ""), ("status", " "), ("start", ""), ("limit", ""), ("minDuration", "")];
        assert_eq!(TraceSearch::parse(blank).unwrap(), q);
    }

    #[test]
    fn bad_values_are_400s_that_name_the_parameter() {
        for (k, v, needle) in [
            ("status", "maybe", "status"),
            ("minDuration", "fast", "minDuration"),
            ("limit", "0", "limit"),
            ("start", "soon", "start"),
            ("attr.a\"b", "x", "attr.a\"b"),
        ] {
            let err = TraceSearch::parse([(k, v)]).unwrap_err();
            assert_eq!(err.status, 400);
            assert!(err.message.contains(needle), "{}", err.message);
        }
        assert!(TraceSearch::parse([("start", "2000"), ("end", "1000")]).is_err());
        let many: Vec<(String, &str)> = (0..11).map(|i| (format!("attr.k{i}"), "v")).collect();
        assert!(TraceSearch::parse(many.iter().map(|(k, v)| (k.as_str(), *v))).is_err());
    }
}
