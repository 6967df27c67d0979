//! Flattens a log export into what storage writes: per record, its stored
//! JSON row and its Analytics Engine point, as `[row, point]` pairs in
//! size-bounded queue messages (what `ingest::log_batch` reads).
//!
//! A log record has no id, so each row carries a content key: 128 bits of
//! SHA-256 over everything stored about the record. A retried export
//! produces the same keys, hence the same messages and message hashes.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use super::data_points::{log_point, LogContext};
use super::row_chunks::{attributes_json, attributes_text, RowChunks, MAX_ROW_BYTES};
use super::span_rows::MAX_MESSAGE_BYTES;
use crate::domain::ids::hex;
use crate::domain::time::{nanos_text, nanos_to_ms};
use crate::domain::value::Attributes;
use crate::domain::{AnyValue, ResourceLogs};
use crate::otlp::Rejections;

/// Hex digits of a record key.
pub const KEY_HEX_LEN: usize = 32;
const KEY_PLACEHOLDER: &str = "00000000000000000000000000000000";
/// What starts a queue message of log records (a message of spans is a bare array).
pub const LOG_MESSAGE_HEAD: &str = r#"{"logs":"#;

/// The stored form of one record, as one element of a block segment.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogRow<'s, 'a> {
    key: Cow<'static, str>,
    service: &'s str,
    /// The record's own time, else its observed time; all zeros when it has neither
    /// (readers then use the time its block was stored).
    time_ns: String,
    observed_ns: String,
    severity_number: i32,
    severity_text: &'s str,
    body: &'s AnyValue<'a>,
    attributes: Attributes<'s, 'a>,
    resource: &'s RawValue,
    scope_name: &'s str,
    scope_version: &'s str,
    trace_id: String,
    span_id: String,
    flags: u32,
    dropped_attributes_count: u32,
    event_name: &'s str,
}

/// The hex of the first 16 bytes of SHA-256 over the row as serialized with
/// the placeholder key: the same record always gets the same key.
// Cannot fail: a row is strings, numbers, `AnyValue`s and raw JSON, written to a `Vec`.
#[allow(clippy::expect_used)]
fn content_key(row: &LogRow<'_, '_>, scratch: &mut Vec<u8>) -> String {
    scratch.clear();
    serde_json::to_writer(&mut *scratch, row).expect("rows serialize");
    let digest: [u8; 32] = Sha256::digest(scratch.as_slice()).into();
    hex(&digest[..KEY_HEX_LEN / 2])
}

/// Everything one log export writes.
#[derive(Debug, Default)]
pub struct LogBatch {
    /// `{"logs":[[row, point], …]}` messages (see `ingest::log_batch`).
    pub messages: Vec<String>,
    pub record_count: usize,
}

/// Builds the batch; `now_ms` stands in for records without any time in
/// their Analytics Engine point. Records too large to store are refused
/// into `rejections`.
pub fn log_batch(resource_logs: &[ResourceLogs<'_>], now_ms: f64, rejections: &mut Rejections) -> LogBatch {
    let mut batch = LogBatch::default();
    let mut chunks = RowChunks::with_limit(MAX_MESSAGE_BYTES - LOG_MESSAGE_HEAD.len() - 1);
    let mut scratch = Vec::new();
    for rl in resource_logs {
        let service = rl.resource.service_name();
        let resource = attributes_json(&rl.resource.attributes);
        let (service_version, environment) =
            (rl.resource.service_version().unwrap_or(""), rl.resource.environment().unwrap_or(""));
        for sl in &rl.scope_logs {
            for record in &sl.log_records {
                let time_ns = record.effective_time_unix_nano();
                let mut row = LogRow {
                    key: Cow::Borrowed(KEY_PLACEHOLDER),
                    service,
                    time_ns: nanos_text(time_ns),
                    observed_ns: nanos_text(record.observed_time_unix_nano),
                    severity_number: record.severity_number,
                    severity_text: &record.severity_text,
                    body: &record.body,
                    attributes: Attributes(&record.attributes),
                    resource: &resource,
                    scope_name: &sl.scope.name,
                    scope_version: &sl.scope.version,
                    trace_id: record.trace_id.map(|t| t.to_hex()).unwrap_or_default(),
                    span_id: record.span_id.map(|s| s.to_hex()).unwrap_or_default(),
                    flags: record.flags,
                    dropped_attributes_count: record.dropped_attributes_count,
                    event_name: &record.event_name,
                };
                row.key = Cow::Owned(content_key(&row, &mut scratch));
                // Cannot fail: serde_json writes an `AnyValue` to a `String` without error.
                #[allow(clippy::expect_used)]
                let body = match &record.body {
                    AnyValue::Str(s) => Cow::Borrowed(s.as_ref()),
                    AnyValue::Empty => Cow::Borrowed(""),
                    other => Cow::Owned(serde_json::to_string(other).expect("values serialize")),
                };
                let ctx = LogContext {
                    service,
                    service_version,
                    environment,
                    scope_name: &sl.scope.name,
                    trace_id: row.trace_id.clone(),
                    span_id: row.span_id.clone(),
                    body,
                    attributes_json: attributes_text(&record.attributes),
                    time_ms: if time_ns > 0 { nanos_to_ms(time_ns) } else { now_ms },
                };
                let point = log_point(record, ctx);
                if let Err(row_bytes) = chunks.push(&(&row, &point), |_| {}) {
                    rejections.reject(format!("log record: {row_bytes} bytes stored, the limit is {MAX_ROW_BYTES}"));
                    continue;
                }
                batch.record_count += 1;
            }
        }
    }
    batch.messages = chunks.finish().into_iter().map(|rows| format!("{LOG_MESSAGE_HEAD}{rows}}}")).collect();
    batch
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{KeyValue, LogRecord, Resource, ScopeLogs, TraceId};
    use serde_json::Value;

    pub(crate) fn export(bodies: &[&'static str]) -> Vec<ResourceLogs<'static>> {
        let records = bodies
            .iter()
            .enumerate()
            .map(|(i, b)| LogRecord {
                time_unix_nano: 1_763_900_000_000_000_000 + i as u64,
                severity_number: 17,
                severity_text: "ERROR".into(),
                body: AnyValue::Str((*b).into()),
                attributes: vec![KeyValue { key: "exception.type".into(), value: AnyValue::Str("Timeout".into()) }],
                trace_id: Some(TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap()),
                ..Default::default()
            })
            .collect();
        vec![ResourceLogs {
            resource: Resource {
                attributes: vec![KeyValue { key: "service.name".into(), value: AnyValue::Str("checkout".into()) }],
                dropped_attributes_count: 0,
            },
            scope_logs: vec![ScopeLogs { log_records: records, ..Default::default() }],
        }]
    }

    /// The `[row, point]` pairs of every message.
    fn pairs(batch: &LogBatch) -> Vec<(Value, Value)> {
        batch
            .messages
            .iter()
            .flat_map(|m| {
                assert!(m.starts_with(LOG_MESSAGE_HEAD));
                let envelope: Value = serde_json::from_str(m).unwrap();
                serde_json::from_value::<Vec<(Value, Value)>>(envelope["logs"].clone()).unwrap()
            })
            .collect()
    }

    #[test]
    fn each_record_becomes_a_keyed_row_and_a_point() {
        let records = export(&["payment failed", "payment retried"]);
        let mut rejections = Rejections::default();
        let batch = log_batch(&records, 0.0, &mut rejections);
        let pairs = pairs(&batch);
        assert_eq!((pairs.len(), batch.record_count, batch.messages.len()), (2, 2, 1));
        let (row, point) = &pairs[0];
        assert_eq!(row["service"], "checkout");
        assert_eq!(row["timeNs"], "01763900000000000000");
        assert_eq!(row["body"], "payment failed");
        assert_eq!(row["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(row["attributes"]["exception.type"], "Timeout");
        let key = row["key"].as_str().unwrap();
        assert_eq!(key.len(), KEY_HEX_LEN);
        assert_ne!(key, KEY_PLACEHOLDER);
        assert_eq!(point["indexes"][0], "checkout");
        assert_eq!(point["blobs"][3], "ERROR");
        assert_eq!(point["blobs"][5], "payment failed");
        assert_eq!(point["blobs"][9], "Timeout");
        assert_eq!(point["doubles"][2], 17.0);
    }

    #[test]
    fn retries_make_the_same_messages_and_records_differ_in_key() {
        let records = export(&["a", "b"]);
        let first = log_batch(&records, 0.0, &mut Rejections::default());
        let again = log_batch(&records, 0.0, &mut Rejections::default());
        assert_eq!(first.messages, again.messages);
        let keys: Vec<Value> = pairs(&first).into_iter().map(|(row, _)| row["key"].clone()).collect();
        assert_ne!(keys[0], keys[1]);
    }

    #[test]
    fn structured_bodies_are_json_in_the_point_and_time_falls_back_to_now() {
        let mut records = export(&["x"]);
        let record = &mut records[0].scope_logs[0].log_records[0];
        record.time_unix_nano = 0;
        record.body = AnyValue::Kvlist(vec![KeyValue { key: "cents".into(), value: AnyValue::Int(1999) }]);
        let batch = log_batch(&records, 1234.0, &mut Rejections::default());
        let (row, point) = &pairs(&batch)[0];
        assert_eq!(point["blobs"][5], r#"{"cents":1999}"#);
        assert_eq!(point["doubles"][0], 1234.0);
        assert_eq!(row["timeNs"], "00000000000000000000");
        let later = log_batch(&records, 99_999.0, &mut Rejections::default());
        assert_eq!(pairs(&later)[0].0["key"], row["key"], "the ingestion time is not part of the key");
    }

    #[test]
    fn messages_stay_under_the_queue_limit() {
        let body: &'static str = Box::leak("y".repeat(20_000).into_boxed_str());
        let records = export(&[body; 30]);
        let batch = log_batch(&records, 0.0, &mut Rejections::default());
        assert!(batch.messages.len() >= 5, "{}", batch.messages.len());
        assert!(batch.messages.iter().all(|m| m.len() <= MAX_MESSAGE_BYTES));
        assert_eq!(pairs(&batch).len(), 30);
    }
}
