//! Spans as OTLP defines them, grouped by resource and instrumentation scope
//! exactly as they arrive, so nothing a sender gave us is lost on the way in.

use std::borrow::Cow;

use serde::de::{Deserialize, Deserializer, Error};
use serde_json::value::RawValue;

use super::ids::{SpanId, TraceId};
use super::value::{find, KeyValue};

/// OTLP `Span.SpanKind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SpanKind {
    #[default]
    Unspecified = 0,
    Internal = 1,
    Server = 2,
    Client = 3,
    Producer = 4,
    Consumer = 5,
}

impl SpanKind {
    pub fn from_i32(n: i64) -> Option<Self> {
        Some(match n {
            0 => Self::Unspecified,
            1 => Self::Internal,
            2 => Self::Server,
            3 => Self::Client,
            4 => Self::Producer,
            5 => Self::Consumer,
            _ => return None,
        })
    }

    /// Accepts `SPAN_KIND_SERVER` as well as `server`.
    pub fn from_name(name: &str) -> Option<Self> {
        let short = name.strip_prefix("SPAN_KIND_").unwrap_or(name);
        [Self::Unspecified, Self::Internal, Self::Server, Self::Client, Self::Producer, Self::Consumer]
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(short))
    }

    /// Lower-case name used in the API and in Analytics Engine.
    pub fn name(self) -> &'static str {
        match self {
            Self::Unspecified => "unspecified",
            Self::Internal => "internal",
            Self::Server => "server",
            Self::Client => "client",
            Self::Producer => "producer",
            Self::Consumer => "consumer",
        }
    }
}

/// OTLP `Status.StatusCode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatusCode {
    #[default]
    Unset = 0,
    Ok = 1,
    Error = 2,
}

impl StatusCode {
    pub fn from_i32(n: i64) -> Option<Self> {
        Some(match n {
            0 => Self::Unset,
            1 => Self::Ok,
            2 => Self::Error,
            _ => return None,
        })
    }

    /// Accepts `STATUS_CODE_ERROR` as well as `error`.
    pub fn from_name(name: &str) -> Option<Self> {
        let short = name.strip_prefix("STATUS_CODE_").unwrap_or(name);
        [Self::Unset, Self::Ok, Self::Error].into_iter().find(|s| s.name().eq_ignore_ascii_case(short))
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Unset => "unset",
            Self::Ok => "ok",
            Self::Error => "error",
        }
    }
}

/// Reads a stored kind or status code as its number (span rows of block
/// format 1) or as its API name (format 2, the answer's own shape). Stored
/// rows are JSON: the value is taken as raw JSON text, which keeps one small
/// reader per type instead of serde's generic any-value visitor.
fn code_or_name<'de, D: Deserializer<'de>, T>(
    d: D,
    from_code: fn(i64) -> Option<T>,
    from_name: fn(&str) -> Option<T>,
    what: &str,
) -> Result<T, D::Error> {
    let raw = <&RawValue>::deserialize(d)?.get();
    let found = match raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        Some(name) => from_name(name),
        None => raw.parse().ok().and_then(from_code),
    };
    found.ok_or_else(|| D::Error::custom(format_args!("{raw} is not a {what}")))
}

impl<'de> Deserialize<'de> for SpanKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        code_or_name(d, Self::from_i32, Self::from_name, "span kind")
    }
}

impl<'de> Deserialize<'de> for StatusCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        code_or_name(d, Self::from_i32, Self::from_name, "status code")
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Event<'a> {
    pub time_unix_nano: u64,
    pub name: Cow<'a, str>,
    pub attributes: Vec<KeyValue<'a>>,
    pub dropped_attributes_count: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Link<'a> {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub trace_state: Cow<'a, str>,
    pub attributes: Vec<KeyValue<'a>>,
    pub dropped_attributes_count: u32,
    pub flags: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Span<'a> {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub parent_span_id: Option<SpanId>,
    pub trace_state: Cow<'a, str>,
    pub flags: u32,
    pub name: Cow<'a, str>,
    pub kind: SpanKind,
    pub start_time_unix_nano: u64,
    pub end_time_unix_nano: u64,
    pub attributes: Vec<KeyValue<'a>>,
    pub dropped_attributes_count: u32,
    pub events: Vec<Event<'a>>,
    pub dropped_events_count: u32,
    pub links: Vec<Link<'a>>,
    pub dropped_links_count: u32,
    pub status_code: StatusCode,
    pub status_message: Cow<'a, str>,
}

impl Span<'_> {
    /// Exact duration; a span that ends before it starts lasts zero.
    pub fn duration_nanos(&self) -> u64 {
        self.end_time_unix_nano.saturating_sub(self.start_time_unix_nano)
    }

    pub fn is_error(&self) -> bool {
        self.status_code == StatusCode::Error
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Resource<'a> {
    pub attributes: Vec<KeyValue<'a>>,
    pub dropped_attributes_count: u32,
}

/// Name of the service that emitted spans when the resource does not say.
pub const UNKNOWN_SERVICE: &str = "unknown_service";

impl Resource<'_> {
    /// `service.name`, or the OpenTelemetry default `unknown_service` when absent or blank.
    pub fn service_name(&self) -> &str {
        self.text("service.name").unwrap_or(UNKNOWN_SERVICE)
    }

    pub fn service_version(&self) -> Option<&str> {
        self.text("service.version")
    }

    /// `deployment.environment.name` (current semantic conventions) or `deployment.environment`.
    pub fn environment(&self) -> Option<&str> {
        self.text("deployment.environment.name").or_else(|| self.text("deployment.environment"))
    }

    fn text(&self, key: &str) -> Option<&str> {
        find(&self.attributes, key).and_then(|v| v.as_str()).map(str::trim).filter(|s| !s.is_empty())
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Scope<'a> {
    pub name: Cow<'a, str>,
    pub version: Cow<'a, str>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScopeSpans<'a> {
    pub scope: Scope<'a>,
    pub spans: Vec<Span<'a>>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResourceSpans<'a> {
    pub resource: Resource<'a>,
    pub scope_spans: Vec<ScopeSpans<'a>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AnyValue;

    #[test]
    fn kinds_and_statuses_parse_from_numbers_and_enum_names() {
        assert_eq!(SpanKind::from_i32(2), Some(SpanKind::Server));
        assert_eq!(SpanKind::from_name("SPAN_KIND_CLIENT"), Some(SpanKind::Client));
        assert_eq!(SpanKind::from_name("producer"), Some(SpanKind::Producer));
        assert_eq!(SpanKind::from_i32(9), None);
        assert_eq!(StatusCode::from_name("STATUS_CODE_ERROR"), Some(StatusCode::Error));
        assert_eq!(StatusCode::from_i32(1), Some(StatusCode::Ok));
    }

    #[test]
    fn resources_name_their_service_version_and_environment() {
        let kv = |k: &'static str, v: &'static str| KeyValue { key: k.into(), value: AnyValue::Str(v.into()) };
        let resource = Resource {
            attributes: vec![
                kv("service.name", "checkout"),
                kv("service.version", "1.2"),
                kv("deployment.environment", "prod"),
            ],
            dropped_attributes_count: 0,
        };
        assert_eq!(resource.service_name(), "checkout");
        assert_eq!(resource.service_version(), Some("1.2"));
        assert_eq!(resource.environment(), Some("prod"));
        assert_eq!(Resource::default().service_name(), UNKNOWN_SERVICE);
    }
}
