//! Flattens a log export into what storage writes: one JSON row per record
//! (in the size-bounded arrays of `row_chunks`) and one Analytics Engine
//! point per record.
//!
//! A log record has no id, so each row carries a content key: 128 bits of
//! SHA-256 over everything stored about the record. A retried export
//! produces the same keys, and the store ignores rows it already has.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use super::data_points::{log_point, DataPoint, LogContext};
use super::row_chunks::{attributes_json, RowChunks, MAX_ROW_BYTES};
use crate::domain::time::{nanos_text, nanos_to_ms};
use crate::domain::value::Attributes;
use crate::domain::{AnyValue, ResourceLogs};
use crate::otlp::Rejections;

/// Hex digits of a record key.
pub const KEY_HEX_LEN: usize = 32;
/// Serialized rows start with `{"key":"` and the key.
const KEY_OFFSET: usize = r#"{"key":""#.len();
const KEY_PLACEHOLDER: &str = "00000000000000000000000000000000";

/// The stored form of one record, as one element of a `json_each` array.
/// `key` must stay the first field: it is filled in after serializing.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogRow<'s, 'a> {
    key: &'static str,
    service: &'s str,
    /// The record's own time, else its observed time; all zeros when it has neither
    /// (the store then files it at ingestion time).
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

/// Writes the hex of the first 16 bytes of SHA-256 over the rest of the row into its key.
fn fill_key(row: &mut [u8]) {
    let digest = Sha256::digest(&row[KEY_OFFSET + KEY_HEX_LEN..]);
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, byte) in digest[..KEY_HEX_LEN / 2].iter().enumerate() {
        row[KEY_OFFSET + 2 * i] = HEX[usize::from(byte >> 4)];
        row[KEY_OFFSET + 2 * i + 1] = HEX[usize::from(byte & 0x0f)];
    }
}

/// The key written into a serialized row.
fn key_of(row: &[u8]) -> String {
    String::from_utf8_lossy(&row[KEY_OFFSET..KEY_OFFSET + KEY_HEX_LEN]).into_owned()
}

/// Everything one log export writes.
#[derive(Debug, Default)]
pub struct LogBatch<'s> {
    /// JSON arrays of log rows (see `row_chunks`).
    pub row_chunks: Vec<String>,
    /// The Analytics Engine point of each record, by record key.
    pub points: Vec<(String, DataPoint<'s>)>,
    pub record_count: usize,
}

/// Builds the batch; `now_ms` stands in for records without any time.
/// Records too large to store are refused into `rejections`.
pub fn log_batch<'s>(resource_logs: &'s [ResourceLogs<'_>], now_ms: f64, rejections: &mut Rejections) -> LogBatch<'s> {
    let mut batch = LogBatch::default();
    let mut chunks = RowChunks::default();
    for rl in resource_logs {
        let service = rl.resource.service_name();
        let resource = attributes_json(&rl.resource.attributes);
        let (service_version, environment) =
            (rl.resource.service_version().unwrap_or(""), rl.resource.environment().unwrap_or(""));
        for sl in &rl.scope_logs {
            for record in &sl.log_records {
                let time_ns = record.effective_time_unix_nano();
                let row = LogRow {
                    key: KEY_PLACEHOLDER,
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
                let mut key = String::new();
                let pushed = chunks.push(&row, |bytes| {
                    fill_key(bytes);
                    key = key_of(bytes);
                });
                if let Err(row_bytes) = pushed {
                    rejections.reject(format!("log record: {row_bytes} bytes stored, the limit is {MAX_ROW_BYTES}"));
                    continue;
                }
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
                    trace_id: row.trace_id,
                    span_id: row.span_id,
                    body,
                    attributes_json: serde_json::to_string(&Attributes(&record.attributes))
                        .expect("attributes serialize"),
                    time_ms: if time_ns > 0 { nanos_to_ms(time_ns) } else { now_ms },
                };
                batch.points.push((key, log_point(record, ctx)));
                batch.record_count += 1;
            }
        }
    }
    batch.row_chunks = chunks.finish();
    batch
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{KeyValue, LogRecord, Resource, ScopeLogs, TraceId};

    fn export(bodies: &[&'static str]) -> Vec<ResourceLogs<'static>> {
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

    fn rows(batch: &LogBatch) -> Vec<serde_json::Value> {
        batch.row_chunks.iter().flat_map(|c| serde_json::from_str::<Vec<serde_json::Value>>(c).unwrap()).collect()
    }

    #[test]
    fn each_record_becomes_a_keyed_row_and_a_point() {
        let records = export(&["payment failed", "payment retried"]);
        let mut rejections = Rejections::default();
        let batch = log_batch(&records, 0.0, &mut rejections);
        let rows = rows(&batch);
        assert_eq!((rows.len(), batch.points.len(), batch.record_count), (2, 2, 2));
        assert_eq!(rows[0]["service"], "checkout");
        assert_eq!(rows[0]["timeNs"], "01763900000000000000");
        assert_eq!(rows[0]["body"], "payment failed");
        assert_eq!(rows[0]["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(rows[0]["attributes"]["exception.type"], "Timeout");
        let key = rows[0]["key"].as_str().unwrap();
        assert_eq!(key.len(), KEY_HEX_LEN);
        assert_ne!(key, KEY_PLACEHOLDER);
        assert_eq!(batch.points[0].0, key);
        let point = &batch.points[0].1;
        assert_eq!(point.index(), "checkout");
        assert_eq!(point.blobs()[3], "ERROR");
        assert_eq!(point.blobs()[5], "payment failed");
        assert_eq!(point.blobs()[9], "Timeout");
        assert_eq!(point.doubles()[2], 17.0);
    }

    #[test]
    fn keys_are_stable_across_retries_and_differ_between_records() {
        let records = export(&["a", "b"]);
        let keys = |b: &LogBatch| b.points.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
        let first = log_batch(&records, 0.0, &mut Rejections::default());
        let again = log_batch(&records, 5.0, &mut Rejections::default());
        assert_eq!(keys(&first), keys(&again));
        assert_ne!(keys(&first)[0], keys(&first)[1]);
    }

    #[test]
    fn structured_bodies_are_json_in_the_point_and_time_falls_back_to_now() {
        let mut records = export(&["x"]);
        let record = &mut records[0].scope_logs[0].log_records[0];
        record.time_unix_nano = 0;
        record.body = AnyValue::Kvlist(vec![KeyValue { key: "cents".into(), value: AnyValue::Int(1999) }]);
        let batch = log_batch(&records, 1234.0, &mut Rejections::default());
        let point = &batch.points[0].1;
        assert_eq!(point.blobs()[5], r#"{"cents":1999}"#);
        assert_eq!(point.doubles()[0], 1234.0);
        assert_eq!(rows(&batch)[0]["timeNs"], "00000000000000000000");
    }
}
