//! `ExportTraceServiceRequest` from protobuf, straight into the span model,
//! borrowing every string from the body (see `wire`).

use std::borrow::Cow;

use super::common_pb::{key_value, resource, scope};
use super::wire::{field_counts, Reader};
use super::{DecodeError, Rejections};
use crate::domain::{Event, Link, ResourceSpans, Scope, ScopeSpans, Span, SpanId, SpanKind, StatusCode, TraceId};

/// Decodes a protobuf `ExportTraceServiceRequest`; spans with invalid ids are
/// counted in `rejections` and left out, anything structurally broken fails the request.
pub fn decode<'a>(body: &'a [u8], rejections: &mut Rejections) -> Result<Vec<ResourceSpans<'a>>, DecodeError> {
    let [resource_spans_count] = field_counts(body, [1])?;
    let mut out = Vec::with_capacity(resource_spans_count);
    let mut r = Reader::new(body);
    while let Some((n, v)) = r.next_field()? {
        if n == 1 {
            out.push(resource_spans(v.bytes("resource_spans")?, rejections)?);
        }
    }
    Ok(out)
}

fn resource_spans<'a>(buf: &'a [u8], rejections: &mut Rejections) -> Result<ResourceSpans<'a>, DecodeError> {
    let mut rs = ResourceSpans::default();
    let mut r = Reader::new(buf);
    while let Some((n, v)) = r.next_field()? {
        match n {
            1 => rs.resource = resource(v.bytes("resource")?)?,
            2 => rs.scope_spans.push(scope_spans(v.bytes("scope_spans")?, rejections)?),
            _ => {}
        }
    }
    Ok(rs)
}

fn scope_spans<'a>(buf: &'a [u8], rejections: &mut Rejections) -> Result<ScopeSpans<'a>, DecodeError> {
    let [spans] = field_counts(buf, [2])?;
    let mut ss = ScopeSpans { scope: Scope::default(), spans: Vec::with_capacity(spans) };
    let mut r = Reader::new(buf);
    while let Some((n, v)) = r.next_field()? {
        match n {
            1 => ss.scope = scope(v.bytes("scope")?)?,
            2 => match span(v.bytes("spans")?)? {
                Ok(s) => ss.spans.push(s),
                Err(reason) => rejections.reject(reason),
            },
            _ => {}
        }
    }
    Ok(ss)
}

fn span(buf: &[u8]) -> Result<Result<Span<'_>, String>, DecodeError> {
    let (mut trace_id, mut span_id, mut parent): (&[u8], &[u8], &[u8]) = (&[], &[], &[]);
    let (mut trace_state, mut name, mut status_message) = ("", "", "");
    let (mut kind, mut status_code, mut flags) = (SpanKind::Unspecified, StatusCode::Unset, 0);
    let (mut start, mut end) = (0, 0);
    let [attributes, events, links] = field_counts(buf, [9, 11, 13])?;
    let (mut attributes, mut events, mut links) =
        (Vec::with_capacity(attributes), Vec::with_capacity(events), Vec::with_capacity(links));
    let (mut dropped_attributes, mut dropped_events, mut dropped_links) = (0, 0, 0);
    let mut bad_link = None;
    let mut r = Reader::new(buf);
    while let Some((n, v)) = r.next_field()? {
        match n {
            1 => trace_id = v.bytes("trace_id")?,
            2 => span_id = v.bytes("span_id")?,
            3 => trace_state = v.str("trace_state")?,
            4 => parent = v.bytes("parent_span_id")?,
            5 => name = v.str("name")?,
            6 => kind = SpanKind::from_i32(v.varint("kind")? as i64).unwrap_or_default(),
            7 => start = v.fixed64("start_time_unix_nano")?,
            8 => end = v.fixed64("end_time_unix_nano")?,
            9 => attributes.push(key_value(v.bytes("attributes")?)?),
            10 => dropped_attributes = v.varint("dropped_attributes_count")? as u32,
            11 => events.push(event(v.bytes("events")?)?),
            12 => dropped_events = v.varint("dropped_events_count")? as u32,
            13 => match link(v.bytes("links")?)? {
                Ok(l) => links.push(l),
                Err(e) => bad_link = Some(e),
            },
            14 => dropped_links = v.varint("dropped_links_count")? as u32,
            15 => (status_code, status_message) = status(v.bytes("status")?)?,
            16 => flags = v.fixed32("flags")?,
            _ => {}
        }
    }
    let ids = (|| {
        let ids = (TraceId::from_bytes(trace_id), SpanId::from_bytes(span_id));
        let ids = (ids.0.map_err(|e| e.to_string())?, ids.1.map_err(|e| e.to_string())?);
        let parent = SpanId::from_optional_bytes(parent).map_err(|e| format!("parent {e}"))?;
        match bad_link {
            Some(e) => Err(format!("link {e}")),
            None => Ok((ids, parent)),
        }
    })();
    let ((trace_id, span_id), parent_span_id) = match ids {
        Ok(ids) => ids,
        Err(e) => return Ok(Err(format!("span {name:?}: {e}"))),
    };
    Ok(Ok(Span {
        trace_id,
        span_id,
        parent_span_id,
        trace_state: Cow::Borrowed(trace_state),
        flags,
        name: Cow::Borrowed(name),
        kind,
        start_time_unix_nano: start,
        end_time_unix_nano: end,
        attributes,
        dropped_attributes_count: dropped_attributes,
        events,
        dropped_events_count: dropped_events,
        links,
        dropped_links_count: dropped_links,
        status_code,
        status_message: Cow::Borrowed(status_message),
    }))
}

/// Empty or all-zero parent ids both mean "root span".
fn status(buf: &[u8]) -> Result<(StatusCode, &str), DecodeError> {
    let (mut code, mut message) = (StatusCode::Unset, "");
    let mut r = Reader::new(buf);
    while let Some((n, v)) = r.next_field()? {
        match n {
            2 => message = v.str("status.message")?,
            3 => code = StatusCode::from_i32(v.varint("status.code")? as i64).unwrap_or_default(),
            _ => {}
        }
    }
    Ok((code, message))
}

fn event(buf: &[u8]) -> Result<Event<'_>, DecodeError> {
    let [attributes] = field_counts(buf, [3])?;
    let mut e = Event { attributes: Vec::with_capacity(attributes), ..Event::default() };
    let mut r = Reader::new(buf);
    while let Some((n, v)) = r.next_field()? {
        match n {
            1 => e.time_unix_nano = v.fixed64("event.time_unix_nano")?,
            2 => e.name = Cow::Borrowed(v.str("event.name")?),
            3 => e.attributes.push(key_value(v.bytes("event.attributes")?)?),
            4 => e.dropped_attributes_count = v.varint("event.dropped_attributes_count")? as u32,
            _ => {}
        }
    }
    Ok(e)
}

fn link(buf: &[u8]) -> Result<Result<Link<'_>, crate::domain::IdError>, DecodeError> {
    let (mut trace_id, mut span_id): (&[u8], &[u8]) = (&[], &[]);
    let (mut trace_state, mut attributes, mut dropped, mut flags) = ("", Vec::new(), 0, 0);
    let mut r = Reader::new(buf);
    while let Some((n, v)) = r.next_field()? {
        match n {
            1 => trace_id = v.bytes("link.trace_id")?,
            2 => span_id = v.bytes("link.span_id")?,
            3 => trace_state = v.str("link.trace_state")?,
            4 => attributes.push(key_value(v.bytes("link.attributes")?)?),
            5 => dropped = v.varint("link.dropped_attributes_count")? as u32,
            6 => flags = v.fixed32("link.flags")?,
            _ => {}
        }
    }
    Ok((|| {
        Ok(Link {
            trace_id: TraceId::from_bytes(trace_id)?,
            span_id: SpanId::from_bytes(span_id)?,
            trace_state: Cow::Borrowed(trace_state),
            attributes,
            dropped_attributes_count: dropped,
            flags,
        })
    })())
}
