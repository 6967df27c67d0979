//! `ExportTraceServiceRequest` from OTLP/JSON into the span model. Accepts the
//! camelCase names of the spec and the snake_case proto names, and the scalar
//! quirks handled in `json_values`; strings borrow from the body unless escaped.

use std::borrow::Cow;

use serde::Deserialize;

use super::json_values::{id_bytes, nullable, u32_lenient, u64_lenient, EnumValue, JsonAttributes};
use super::{DecodeError, Rejections};
use crate::domain::{
    Event, Link, Resource, ResourceSpans, Scope, ScopeSpans, Span, SpanId, SpanKind, StatusCode, TraceId,
};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Request<'a> {
    #[serde(borrow, default, deserialize_with = "nullable", alias = "resource_spans")]
    resource_spans: Vec<JsonResourceSpans<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonResourceSpans<'a> {
    #[serde(borrow, default, deserialize_with = "nullable")]
    resource: JsonResource<'a>,
    #[serde(borrow, default, deserialize_with = "nullable", alias = "scope_spans")]
    scope_spans: Vec<JsonScopeSpans<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct JsonResource<'a> {
    #[serde(borrow, default)]
    attributes: JsonAttributes<'a>,
    #[serde(default, deserialize_with = "u32_lenient", alias = "dropped_attributes_count")]
    dropped_attributes_count: u32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonScopeSpans<'a> {
    #[serde(borrow, default, deserialize_with = "nullable")]
    scope: JsonScope<'a>,
    #[serde(borrow, default, deserialize_with = "nullable")]
    spans: Vec<JsonSpan<'a>>,
}

#[derive(Deserialize, Default)]
pub(super) struct JsonScope<'a> {
    #[serde(borrow, default, deserialize_with = "nullable")]
    pub(super) name: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "nullable")]
    pub(super) version: Cow<'a, str>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonSpan<'a> {
    #[serde(borrow, default, deserialize_with = "nullable", alias = "trace_id")]
    trace_id: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "nullable", alias = "span_id")]
    span_id: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "nullable", alias = "trace_state")]
    trace_state: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "nullable", alias = "parent_span_id")]
    parent_span_id: Cow<'a, str>,
    #[serde(default, deserialize_with = "u32_lenient")]
    flags: u32,
    #[serde(borrow, default, deserialize_with = "nullable")]
    name: Cow<'a, str>,
    #[serde(borrow, default)]
    kind: EnumValue<'a>,
    #[serde(default, deserialize_with = "u64_lenient", alias = "start_time_unix_nano")]
    start_time_unix_nano: u64,
    #[serde(default, deserialize_with = "u64_lenient", alias = "end_time_unix_nano")]
    end_time_unix_nano: u64,
    #[serde(borrow, default)]
    attributes: JsonAttributes<'a>,
    #[serde(default, deserialize_with = "u32_lenient", alias = "dropped_attributes_count")]
    dropped_attributes_count: u32,
    #[serde(borrow, default, deserialize_with = "nullable")]
    events: Vec<JsonEvent<'a>>,
    #[serde(default, deserialize_with = "u32_lenient", alias = "dropped_events_count")]
    dropped_events_count: u32,
    #[serde(borrow, default, deserialize_with = "nullable")]
    links: Vec<JsonLink<'a>>,
    #[serde(default, deserialize_with = "u32_lenient", alias = "dropped_links_count")]
    dropped_links_count: u32,
    #[serde(borrow, default, deserialize_with = "nullable")]
    status: JsonStatus<'a>,
}

#[derive(Deserialize, Default)]
struct JsonStatus<'a> {
    #[serde(borrow, default, deserialize_with = "nullable")]
    message: Cow<'a, str>,
    #[serde(borrow, default)]
    code: EnumValue<'a>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonEvent<'a> {
    #[serde(default, deserialize_with = "u64_lenient", alias = "time_unix_nano")]
    time_unix_nano: u64,
    #[serde(borrow, default, deserialize_with = "nullable")]
    name: Cow<'a, str>,
    #[serde(borrow, default)]
    attributes: JsonAttributes<'a>,
    #[serde(default, deserialize_with = "u32_lenient", alias = "dropped_attributes_count")]
    dropped_attributes_count: u32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonLink<'a> {
    #[serde(borrow, default, deserialize_with = "nullable", alias = "trace_id")]
    trace_id: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "nullable", alias = "span_id")]
    span_id: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "nullable", alias = "trace_state")]
    trace_state: Cow<'a, str>,
    #[serde(borrow, default)]
    attributes: JsonAttributes<'a>,
    #[serde(default, deserialize_with = "u32_lenient", alias = "dropped_attributes_count")]
    dropped_attributes_count: u32,
    #[serde(default, deserialize_with = "u32_lenient")]
    flags: u32,
}

/// Decodes an OTLP/JSON `ExportTraceServiceRequest`; spans with invalid ids or
/// values are counted in `rejections` and left out.
pub fn decode<'a>(body: &'a [u8], rejections: &mut Rejections) -> Result<Vec<ResourceSpans<'a>>, DecodeError> {
    let request: Request<'a> =
        serde_json::from_slice(body).map_err(|e| DecodeError::Malformed(format!("invalid OTLP/JSON: {e}")))?;
    Ok(request
        .resource_spans
        .into_iter()
        .map(|rs| ResourceSpans {
            resource: resource(rs.resource, rejections),
            scope_spans: rs
                .scope_spans
                .into_iter()
                .map(|ss| ScopeSpans {
                    scope: Scope { name: ss.scope.name, version: ss.scope.version },
                    spans: ss
                        .spans
                        .into_iter()
                        .filter_map(|s| {
                            let name = s.name.to_string();
                            span(s).map_err(|e| rejections.reject(format!("span {name:?}: {e}"))).ok()
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect())
}

/// A resource whose attributes cannot be read keeps the readable ones; the rest are reported.
pub(super) fn resource<'a>(r: JsonResource<'a>, rejections: &mut Rejections) -> Resource<'a> {
    match r.attributes.0 {
        Ok(attributes) => Resource { attributes, dropped_attributes_count: r.dropped_attributes_count },
        Err(e) => {
            rejections.note(format!("resource: {e}"));
            Resource::default()
        }
    }
}

fn span(s: JsonSpan<'_>) -> Result<Span<'_>, String> {
    let trace_id = TraceId::from_bytes(&id_bytes(&s.trace_id)).map_err(|e| e.to_string())?;
    let span_id = SpanId::from_bytes(&id_bytes(&s.span_id)).map_err(|e| e.to_string())?;
    let parent_span_id =
        SpanId::from_optional_bytes(&id_bytes(&s.parent_span_id)).map_err(|e| format!("parent {e}"))?;
    Ok(Span {
        trace_id,
        span_id,
        parent_span_id,
        trace_state: s.trace_state,
        flags: s.flags,
        name: s.name,
        kind: s.kind.resolve(SpanKind::from_i32, SpanKind::from_name),
        start_time_unix_nano: s.start_time_unix_nano,
        end_time_unix_nano: s.end_time_unix_nano,
        attributes: s.attributes.0?,
        dropped_attributes_count: s.dropped_attributes_count,
        events: s
            .events
            .into_iter()
            .map(|e| {
                Ok(Event {
                    time_unix_nano: e.time_unix_nano,
                    name: e.name,
                    attributes: e.attributes.0?,
                    dropped_attributes_count: e.dropped_attributes_count,
                })
            })
            .collect::<Result<_, String>>()?,
        dropped_events_count: s.dropped_events_count,
        links: s
            .links
            .into_iter()
            .map(|l| {
                Ok(Link {
                    trace_id: TraceId::from_bytes(&id_bytes(&l.trace_id)).map_err(|e| format!("link {e}"))?,
                    span_id: SpanId::from_bytes(&id_bytes(&l.span_id)).map_err(|e| format!("link {e}"))?,
                    trace_state: l.trace_state,
                    attributes: l.attributes.0?,
                    dropped_attributes_count: l.dropped_attributes_count,
                    flags: l.flags,
                })
            })
            .collect::<Result<_, String>>()?,
        dropped_links_count: s.dropped_links_count,
        status_code: s.status.code.resolve(StatusCode::from_i32, StatusCode::from_name),
        status_message: s.status.message,
    })
}
