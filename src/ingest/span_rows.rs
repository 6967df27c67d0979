//! Flattens a trace export into what storage writes: per span, its stored
//! JSON row and its Analytics Engine point, as `[row, point]` pairs in the
//! size-bounded messages of `row_chunks` (what `ingest::trace_batch` reads).

use serde::Serialize;
use serde_json::value::RawValue;

use super::callee::callee_of;
use super::data_points::{span_point, SpanContext, SpanIds};
use super::row_chunks::{attributes_json, RowChunks, MAX_ROW_BYTES};
use crate::domain::time::{nanos_text, nanos_to_ms};
use crate::domain::value::Attributes;
use crate::domain::{Event, Link, ResourceSpans};
use crate::otlp::Rejections;

/// The stored form of one span, as one element of a `json_each` array.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SpanRow<'s, 'a> {
    trace_id: &'s str,
    span_id: &'s str,
    parent_span_id: &'s str,
    service: &'s str,
    service_version: Option<&'s str>,
    environment: Option<&'s str>,
    name: &'s str,
    kind: u8,
    start_ns: String,
    end_ns: String,
    start_ms: f64,
    duration_ms: f64,
    status_code: u8,
    status_message: &'s str,
    callee: Option<&'s str>,
    attributes: Attributes<'s, 'a>,
    events: Vec<EventRow<'s, 'a>>,
    links: Vec<LinkRow<'s, 'a>>,
    resource: &'s RawValue,
    scope_name: &'s str,
    scope_version: &'s str,
    trace_state: &'s str,
    flags: u32,
    dropped_attributes_count: u32,
    dropped_events_count: u32,
    dropped_links_count: u32,
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
                    parent_span_id: &ids.parent_span_id,
                    service,
                    service_version: version,
                    environment,
                    name: &span.name,
                    kind: span.kind as u8,
                    start_ns: nanos_text(span.start_time_unix_nano),
                    end_ns: nanos_text(span.end_time_unix_nano),
                    start_ms: nanos_to_ms(span.start_time_unix_nano),
                    duration_ms: nanos_to_ms(span.duration_nanos()),
                    status_code: span.status_code as u8,
                    status_message: &span.status_message,
                    callee,
                    attributes: Attributes(&span.attributes),
                    events: span.events.iter().map(EventRow::new).collect(),
                    links: span.links.iter().map(LinkRow::new).collect(),
                    resource: &resource,
                    scope_name: &ss.scope.name,
                    scope_version: &ss.scope.version,
                    trace_state: &span.trace_state,
                    flags: span.flags,
                    dropped_attributes_count: span.dropped_attributes_count,
                    dropped_events_count: span.dropped_events_count,
                    dropped_links_count: span.dropped_links_count,
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
