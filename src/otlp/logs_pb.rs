//! `ExportLogsServiceRequest` from protobuf, straight into the log model,
//! borrowing every string from the body (see `wire`).

use std::borrow::Cow;

use super::common_pb::{any_value, key_value, resource, scope};
use super::wire::{field_counts, Reader};
use super::{DecodeError, Rejections};
use crate::domain::{LogRecord, ResourceLogs, Scope, ScopeLogs, SpanId, TraceId};

/// Decodes a protobuf `ExportLogsServiceRequest`; records with invalid ids
/// are counted in `rejections` and left out, anything structurally broken fails the request.
pub fn decode<'a>(body: &'a [u8], rejections: &mut Rejections) -> Result<Vec<ResourceLogs<'a>>, DecodeError> {
    let [count] = field_counts(body, [1])?;
    let mut out = Vec::with_capacity(count);
    let mut r = Reader::new(body);
    while let Some((n, v)) = r.next_field()? {
        if n == 1 {
            out.push(resource_logs(v.bytes("resource_logs")?, rejections)?);
        }
    }
    Ok(out)
}

fn resource_logs<'a>(buf: &'a [u8], rejections: &mut Rejections) -> Result<ResourceLogs<'a>, DecodeError> {
    let mut rl = ResourceLogs::default();
    let mut r = Reader::new(buf);
    while let Some((n, v)) = r.next_field()? {
        match n {
            1 => rl.resource = resource(v.bytes("resource")?)?,
            2 => rl.scope_logs.push(scope_logs(v.bytes("scope_logs")?, rejections)?),
            _ => {}
        }
    }
    Ok(rl)
}

fn scope_logs<'a>(buf: &'a [u8], rejections: &mut Rejections) -> Result<ScopeLogs<'a>, DecodeError> {
    let [records] = field_counts(buf, [2])?;
    let mut sl = ScopeLogs { scope: Scope::default(), log_records: Vec::with_capacity(records) };
    let mut r = Reader::new(buf);
    while let Some((n, v)) = r.next_field()? {
        match n {
            1 => sl.scope = scope(v.bytes("scope")?)?,
            2 => match log_record(v.bytes("log_records")?)? {
                Ok(record) => sl.log_records.push(record),
                Err(reason) => rejections.reject(reason),
            },
            _ => {}
        }
    }
    Ok(sl)
}

/// A record, or why it is refused (an id of the wrong length).
fn log_record(buf: &[u8]) -> Result<Result<LogRecord<'_>, String>, DecodeError> {
    let [attributes] = field_counts(buf, [6])?;
    let mut record = LogRecord { attributes: Vec::with_capacity(attributes), ..Default::default() };
    let (mut trace_id, mut span_id): (&[u8], &[u8]) = (&[], &[]);
    let mut r = Reader::new(buf);
    while let Some((n, v)) = r.next_field()? {
        match n {
            1 => record.time_unix_nano = v.fixed64("time_unix_nano")?,
            11 => record.observed_time_unix_nano = v.fixed64("observed_time_unix_nano")?,
            2 => record.severity_number = v.varint("severity_number")? as i32,
            3 => record.severity_text = Cow::Borrowed(v.str("severity_text")?),
            5 => record.body = any_value(v.bytes("body")?)?,
            6 => record.attributes.push(key_value(v.bytes("attributes")?)?),
            7 => record.dropped_attributes_count = v.varint("dropped_attributes_count")? as u32,
            8 => record.flags = v.fixed32("flags")?,
            9 => trace_id = v.bytes("trace_id")?,
            10 => span_id = v.bytes("span_id")?,
            12 => record.event_name = Cow::Borrowed(v.str("event_name")?),
            _ => {}
        }
    }
    let ids = TraceId::from_optional_bytes(trace_id)
        .and_then(|t| SpanId::from_optional_bytes(span_id).map(|s| (t, s)))
        .map_err(|e| format!("log record: {e}"));
    Ok(ids.map(|(t, s)| LogRecord { trace_id: t, span_id: s, ..record }))
}
