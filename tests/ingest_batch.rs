//! Decoded spans → the `[row, point]` messages storage reads: the stored
//! rows (the API answer's span object) and the Analytics Engine points.

mod support;

use observability_collector::ingest::data_points::{DataPoint, MAX_BLOBS, MAX_BLOB_BYTES_TOTAL, MAX_INDEX_BYTES};
use observability_collector::ingest::row_chunks::MAX_ROW_BYTES;
use observability_collector::ingest::span_batch;
use observability_collector::ingest::span_rows::MAX_MESSAGE_BYTES;
use observability_collector::otlp::{decode_traces, Encoding};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use prost::Message;
use serde_json::Value as Json;
use support::fixtures::{kv, s, trace_request};

fn pairs(messages: &[String]) -> Vec<(Json, Json)> {
    messages
        .iter()
        .flat_map(|c| serde_json::from_str::<Vec<(Json, Json)>>(c).expect("messages are [row, point] arrays"))
        .collect()
}

fn rows(messages: &[String]) -> Vec<Json> {
    pairs(messages).into_iter().map(|(row, _)| row).collect()
}

fn points(messages: &[String]) -> Vec<DataPoint<'static>> {
    pairs(messages).into_iter().map(|(_, p)| serde_json::from_value(p).expect("points are valid")).collect()
}

#[test]
fn every_span_becomes_one_row_with_exact_ids_times_and_attributes() {
    let body = trace_request(12).encode_to_vec();
    let mut export = decode_traces(&body, Encoding::Protobuf).unwrap();
    let batch = span_batch(&export.resource_spans, &mut export.rejections);
    assert_eq!(batch.span_count, 12);
    let rows = rows(&batch.messages);
    assert_eq!(rows.len(), 12);
    let first = rows.iter().find(|r| r["spanId"] == "0000000000000001").unwrap();
    assert_eq!(first["traceId"], format!("{}01", "ab".repeat(15)));
    assert_eq!(first["parentSpanId"], Json::Null, "a root span");
    assert_eq!(first["service"], "gateway");
    assert_eq!(first["serviceVersion"], "1.4.2");
    assert_eq!(first["environment"], "production");
    assert_eq!(first["kind"], "server");
    assert_eq!(first["startTime"], "2023-11-14T22:13:20.123456789Z");
    assert_eq!(first["startTimeUnixNano"], "1700000000123456789");
    assert_eq!(first["endTimeUnixNano"], "1700000000148456790");
    assert_eq!(first["durationMs"], 25.000001);
    assert_eq!(first["callee"], Json::Null, "server spans call no one");
    assert_eq!(first["attributes"]["big"], i64::MAX);
    assert_eq!(first["attributes"]["nested"]["inner"], "ü-ñ \"quoted\"");
    assert_eq!(first["resource"]["service.name"], "gateway");
    assert_eq!(first["events"][0]["timeUnixNano"], "1700000000123456790");
    let client = rows.iter().find(|r| r["kind"] == "client").unwrap();
    assert_eq!(client["callee"], "inventory");
}

#[test]
fn spans_are_split_into_messages_under_the_size_budget() {
    let mut request = trace_request(300);
    for rs in &mut request.resource_spans {
        for span in &mut rs.scope_spans[0].spans {
            span.attributes.push(kv("padding", s(&"x".repeat(8 * 1024))));
        }
    }
    let body = request.encode_to_vec();
    let mut export = decode_traces(&body, Encoding::Protobuf).unwrap();
    let batch = span_batch(&export.resource_spans, &mut export.rejections);
    assert!(batch.messages.len() >= 20, "{} messages", batch.messages.len());
    assert!(batch.messages.iter().all(|c| c.len() <= MAX_MESSAGE_BYTES), "every message fits a queue message");
    assert_eq!(rows(&batch.messages).len(), 300);
    assert_eq!(batch.span_count, 300);
}

#[test]
fn a_span_too_large_to_store_is_rejected_and_the_others_kept() {
    let mut request = trace_request(4);
    request.resource_spans[0].scope_spans[0].spans[0]
        .attributes
        .push(kv("huge", Value::StringValue("y".repeat(MAX_ROW_BYTES))));
    let body = request.encode_to_vec();
    let mut export = decode_traces(&body, Encoding::Protobuf).unwrap();
    let batch = span_batch(&export.resource_spans, &mut export.rejections);
    assert_eq!(batch.span_count, 3);
    assert_eq!(rows(&batch.messages).len(), 3);
    assert_eq!(points(&batch.messages).len(), 3);
    assert_eq!(export.rejections.count, 1);
    assert!(export.rejections.message().contains("the limit is 1048576"), "{}", export.rejections.message());
}

#[test]
fn one_analytics_engine_point_per_span_within_the_limits() {
    let mut request = trace_request(30);
    let long = "ü".repeat(5000);
    request.resource_spans[0].resource.as_mut().unwrap().attributes[0] = kv("service.name", s(&long));
    request.resource_spans[1].scope_spans[0].spans[0].name = long.clone();
    let body = request.encode_to_vec();
    let mut export = decode_traces(&body, Encoding::Protobuf).unwrap();
    let batch = span_batch(&export.resource_spans, &mut export.rejections);
    let points = points(&batch.messages);
    assert_eq!(points.len(), 30);
    for p in &points {
        assert!(p.index().len() <= MAX_INDEX_BYTES);
        assert!(p.blobs().len() <= MAX_BLOBS);
        assert!(p.blobs().iter().map(|b| b.len()).sum::<usize>() <= MAX_BLOB_BYTES_TOTAL);
    }
    let p = points.iter().find(|p| p.blobs()[4].starts_with('ü')).unwrap();
    assert_eq!(p.blobs()[4].len(), 512);
}
