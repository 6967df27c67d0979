//! Flattens a trace export into what storage writes: per span, its stored
//! JSON row and its Analytics Engine point, as `[row, point]` pairs in the
//! size-bounded messages of `row_chunks` (what `ingest::trace_batch` reads).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::callee::callee_of;
use super::data_points::{span_point, SpanContext, SpanIds};
use super::row_chunks::{attributes_json, RowChunks, MAX_ROW_BYTES};
use super::span_segment::{ANSWER_SHAPE, ROW_SHAPE_1};
use crate::domain::time::{nanos_to_ms, rfc3339_nanos};
use crate::domain::value::Attributes;
use crate::domain::{Event, Link, ResourceSpans, SpanKind, StatusCode};
use crate::otlp::Rejections;

/// The stored form of one span: the API answer's span object
/// (`query::trace_view::SpanView`, block format 2, `ingest::span_segment`)
/// with the facts the merge reads beyond it (`serviceVersion`, `environment`, `callee`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SpanRow<'s, 'a> {
    trace_id: &'s str,
    span_id: &'s str,
    parent_span_id: Option<&'s str>,
    service: &'s str,
    name: &'s str,
    kind: &'static str,
    start_time: String,
    start_time_unix_nano: String,
    end_time_unix_nano: String,
    duration_ms: f64,
    status: StatusRow<'s>,
    attributes: Attributes<'s, 'a>,
    events: Vec<EventRow<'s, 'a>>,
    links: Vec<LinkRow<'s, 'a>>,
    resource: &'s RawValue,
    scope: ScopeRow<'s>,
    trace_state: &'s str,
    flags: u32,
    dropped_attributes_count: u32,
    dropped_events_count: u32,
    dropped_links_count: u32,
    service_version: Option<&'s str>,
    environment: Option<&'s str>,
    callee: Option<&'s str>,
}

#[derive(Serialize)]
struct StatusRow<'s> {
    code: &'static str,
    message: &'s str,
}

#[derive(Serialize)]
struct ScopeRow<'s> {
    name: &'s str,
    version: &'s str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EventRow<'s, 'a> {
    time_unix_nano: String,
    name: &'s str,
    attributes: Attributes<'s, 'a>,
    dropped_attributes_count: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LinkRow<'s, 'a> {
    trace_id: String,
    span_id: String,
    trace_state: &'s str,
    attributes: Attributes<'s, 'a>,
    dropped_attributes_count: u32,
    flags: u32,
}

impl<'s, 'a> EventRow<'s, 'a> {
    fn new(e: &'s Event<'a>) -> Self {
        Self {
            time_unix_nano: e.time_unix_nano.to_string(),
            name: &e.name,
            attributes: Attributes(&e.attributes),
            dropped_attributes_count: e.dropped_attributes_count,
        }
    }
}

impl<'s, 'a> LinkRow<'s, 'a> {
    fn new(l: &'s Link<'a>) -> Self {
        Self {
            trace_id: l.trace_id.to_hex(),
            span_id: l.span_id.to_hex(),
            trace_state: &l.trace_state,
            attributes: Attributes(&l.attributes),
            dropped_attributes_count: l.dropped_attributes_count,
            flags: l.flags,
        }
    }
}

/// A stored span row as the merge and the readers take it, of either shape
/// (`ingest::span_segment`): the answer's span object written above (format
/// 2), or a format-1 row (`startNs`, numeric `kind` and `statusCode`, flat
/// `scopeName`/`scopeVersion`) from a block or a message of an older worker.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredRow<'a> {
    #[serde(borrow)]
    pub trace_id: Cow<'a, str>,
    #[serde(borrow)]
    pub span_id: Cow<'a, str>,
    /// `null` or (format 1) empty for a root span.
    #[serde(borrow, default)]
    pub parent_span_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub service: Cow<'a, str>,
    #[serde(borrow, default)]
    pub service_version: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub environment: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub name: Cow<'a, str>,
    pub kind: SpanKind,
    #[serde(borrow, alias = "startNs")]
    pub start_time_unix_nano: Cow<'a, str>,
    #[serde(borrow, alias = "endNs")]
    pub end_time_unix_nano: Cow<'a, str>,
    pub duration_ms: f64,
    #[serde(borrow, default)]
    pub status: Option<StatusIn<'a>>,
    /// Format 1.
    #[serde(default)]
    pub status_code: Option<StatusCode>,
    #[serde(borrow, default)]
    pub status_message: Cow<'a, str>,
    #[serde(borrow)]
    pub attributes: &'a RawValue,
    #[serde(borrow)]
    pub events: &'a RawValue,
    #[serde(borrow)]
    pub links: &'a RawValue,
    #[serde(borrow)]
    pub resource: &'a RawValue,
    #[serde(borrow, default)]
    pub scope: Option<ScopeIn<'a>>,
    #[serde(borrow, default)]
    pub scope_name: Cow<'a, str>,
    #[serde(borrow, default)]
    pub scope_version: Cow<'a, str>,
    #[serde(borrow)]
    pub trace_state: Cow<'a, str>,
    pub flags: u32,
    pub dropped_attributes_count: u32,
    pub dropped_events_count: u32,
    pub dropped_links_count: u32,
    #[serde(borrow, default)]
    pub callee: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
pub struct StatusIn<'a> {
    pub code: StatusCode,
    #[serde(borrow)]
    pub message: Cow<'a, str>,
}

#[derive(Deserialize)]
pub struct ScopeIn<'a> {
    #[serde(borrow)]
    pub name: Cow<'a, str>,
    #[serde(borrow)]
    pub version: Cow<'a, str>,
}

impl StoredRow<'_> {
    /// The status code, and the shape the row was stored in (`span_segment::ANSWER_SHAPE` or `ROW_SHAPE_1`).
    pub fn status_and_shape(&self) -> Option<(StatusCode, u8)> {
        match (&self.status, self.status_code) {
            (Some(s), _) => Some((s.code, ANSWER_SHAPE)),
            (None, Some(code)) => Some((code, ROW_SHAPE_1)),
            (None, None) => None,
        }
    }
}

/// Bytes of one message: a Queues message holds at most 128 KB; a single
/// larger span row is a message alone (stored inline, not queued).
pub const MAX_MESSAGE_BYTES: usize = 120_000;

/// Everything one trace export writes.
#[derive(Debug, Default)]
pub struct SpanBatch {
    /// JSON arrays of `[row, point]` pairs (see `ingest::trace_batch`).
    pub messages: Vec<String>,
    pub span_count: usize,
}

/// Builds the batch; spans too large to store are refused into `rejections`.
pub fn span_batch(resource_spans: &[ResourceSpans<'_>], rejections: &mut Rejections) -> SpanBatch {
    let mut batch = SpanBatch::default();
    let mut chunks = RowChunks::with_limit(MAX_MESSAGE_BYTES);
    for rs in resource_spans {
        let service = rs.resource.service_name();
        let version = rs.resource.service_version();
        let environment = rs.resource.environment();
        let resource = attributes_json(&rs.resource.attributes);
        for ss in &rs.scope_spans {
            for span in &ss.spans {
                let callee = callee_of(span, service);
                let ids = SpanIds::of(span);
                let row = SpanRow {
                    trace_id: &ids.trace_id,
                    span_id: &ids.span_id,
                    parent_span_id: span.parent_span_id.map(|_| ids.parent_span_id.as_str()),
                    service,
                    name: &span.name,
                    kind: span.kind.name(),
                    start_time: rfc3339_nanos(span.start_time_unix_nano),
                    start_time_unix_nano: span.start_time_unix_nano.to_string(),
                    end_time_unix_nano: span.end_time_unix_nano.to_string(),
                    duration_ms: nanos_to_ms(span.duration_nanos()),
                    status: StatusRow { code: span.status_code.name(), message: &span.status_message },
                    attributes: Attributes(&span.attributes),
                    events: span.events.iter().map(EventRow::new).collect(),
                    links: span.links.iter().map(LinkRow::new).collect(),
                    resource: &resource,
                    scope: ScopeRow { name: &ss.scope.name, version: &ss.scope.version },
                    trace_state: &span.trace_state,
                    flags: span.flags,
                    dropped_attributes_count: span.dropped_attributes_count,
                    dropped_events_count: span.dropped_events_count,
                    dropped_links_count: span.dropped_links_count,
                    service_version: version,
                    environment,
                    callee,
                };
                let ctx = SpanContext {
                    service,
                    service_version: version.unwrap_or(""),
                    environment: environment.unwrap_or(""),
                    scope_name: &ss.scope.name,
                    callee,
                };
                let point = span_point(span, ids.clone(), &ctx);
                if let Err(row_bytes) = chunks.push(&(&row, &point), |_| {}) {
                    rejections.reject(format!(
                        "span {:?}: {row_bytes} bytes stored, the limit is {MAX_ROW_BYTES}",
                        span.name
                    ));
                    continue;
                }
                batch.span_count += 1;
            }
        }
    }
    batch.messages = chunks.finish();
    batch
}
