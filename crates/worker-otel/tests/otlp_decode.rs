//! The protobuf this crate writes, decoded by the `opentelemetry-proto`
//! types and checked field by field.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue as ProtoKeyValue};
use opentelemetry_proto::tonic::trace::v1::{span, status};
use prost::Message;
use worker_otel::{Config, Incoming, KeyValue, Severity, Span, SpanKind};

const START: u64 = 1_800_000_000_123_000_000;

fn clock() -> u64 {
    thread_local! { static TICKS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) }; }
    TICKS.with(|t| {
        t.set(t.get() + 1);
        START + t.get() * 1_000_000
    })
}

fn config() -> Config {
    Config::from_lookup(|name| match name {
        "OTEL_SERVICE_NAME" => Some("orders".to_owned()),
        "OTEL_RESOURCE_ATTRIBUTES" => Some("service.version=1.2.3".to_owned()),
        _ => None,
    })
}

fn value(attributes: &[ProtoKeyValue], key: &str) -> Option<any_value::Value> {
    attributes.iter().find(|kv| kv.key == key).and_then(|kv| kv.value.clone()).and_then(|v: AnyValue| v.value)
}

fn string(s: &str) -> Option<any_value::Value> {
    Some(any_value::Value::StringValue(s.to_owned()))
}

#[test]
fn spans_decode_field_by_field() {
    let incoming = Incoming {
        traceparent: Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into()),
        ..Incoming::default()
    };
    let root = Span::root(&config(), incoming, "GET /orders/:id", SpanKind::Server, clock, 1);
    root.set_attribute("http.response.status_code", 200);
    root.set_attribute("cache.hit", false);
    root.set_attribute("ratio", 0.5);
    root.set_attribute("empty", "");
    let query = root.child("SELECT orders", SpanKind::Client);
    query.set_attribute("db.system.name", "cloudflare-d1");
    query.add_event("retry", vec![KeyValue::new("attempt", 2)]);
    query.record_error("D1Error", &"no such table: orders");
    query.end();
    root.set_ok();
    root.end();

    let body = root.take_export().traces.expect("spans were recorded");
    let request = ExportTraceServiceRequest::decode(body.as_slice()).expect("valid protobuf");
    let [resource_spans] = request.resource_spans.as_slice() else { panic!("one resource") };
    let resource = resource_spans.resource.as_ref().unwrap();
    assert_eq!(value(&resource.attributes, "service.name"), string("orders"));
    assert_eq!(value(&resource.attributes, "service.version"), string("1.2.3"));
    assert_eq!(value(&resource.attributes, "telemetry.sdk.name"), string("worker-otel"));
    let [scope_spans] = resource_spans.scope_spans.as_slice() else { panic!("one scope") };
    let scope = scope_spans.scope.as_ref().unwrap();
    assert_eq!((scope.name.as_str(), scope.version.as_str()), ("worker-otel", env!("CARGO_PKG_VERSION")));

    let [server, client] = scope_spans.spans.as_slice() else { panic!("two spans") };
    assert_eq!(hex(&server.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(server.span_id, root.span_id().to_bytes());
    assert_eq!(hex(&server.parent_span_id), "00f067aa0ba902b7");
    assert_eq!(server.name, "GET /orders/:id");
    assert_eq!(server.kind, span::SpanKind::Server as i32);
    assert!(server.start_time_unix_nano > START && server.end_time_unix_nano > server.start_time_unix_nano);
    assert_eq!(value(&server.attributes, "http.response.status_code"), Some(any_value::Value::IntValue(200)));
    assert_eq!(value(&server.attributes, "cache.hit"), Some(any_value::Value::BoolValue(false)));
    assert_eq!(value(&server.attributes, "ratio"), Some(any_value::Value::DoubleValue(0.5)));
    assert_eq!(value(&server.attributes, "empty"), string(""));
    assert_eq!(server.status.as_ref().unwrap().code, status::StatusCode::Ok as i32);
    assert_eq!(server.flags, 1);

    assert_eq!(client.trace_id, server.trace_id);
    assert_eq!(client.parent_span_id, server.span_id);
    assert_eq!(client.kind, span::SpanKind::Client as i32);
    assert_eq!(client.name, "SELECT orders");
    let [retry, exception] = client.events.as_slice() else { panic!("two events") };
    assert_eq!(retry.name, "retry");
    assert_eq!(value(&retry.attributes, "attempt"), Some(any_value::Value::IntValue(2)));
    assert!(retry.time_unix_nano >= client.start_time_unix_nano);
    assert_eq!(exception.name, "exception");
    assert_eq!(value(&exception.attributes, "exception.type"), string("D1Error"));
    assert_eq!(value(&exception.attributes, "exception.message"), string("no such table: orders"));
    let status = client.status.as_ref().unwrap();
    assert_eq!((status.code, status.message.as_str()), (status::StatusCode::Error as i32, "no such table: orders"));
}

#[test]
fn logs_decode_field_by_field() {
    let root = Span::root(&config(), Incoming::default(), "GET", SpanKind::Server, clock, 2);
    let child = root.child("work", SpanKind::Internal);
    worker_otel::otel_log!(child, Warn, "order {} is late by {} s", 1234, 7);
    root.log(Severity::Error, "", vec![KeyValue::new("order.id", 1234)]);

    let body = root.take_export().logs.expect("logs were written");
    let request = ExportLogsServiceRequest::decode(body.as_slice()).expect("valid protobuf");
    let [resource_logs] = request.resource_logs.as_slice() else { panic!("one resource") };
    let resource = resource_logs.resource.as_ref().unwrap();
    assert_eq!(value(&resource.attributes, "service.name"), string("orders"));
    let [scope_logs] = resource_logs.scope_logs.as_slice() else { panic!("one scope") };
    let [late, empty] = scope_logs.log_records.as_slice() else { panic!("two records") };
    assert_eq!(late.severity_number, 13);
    assert_eq!(late.severity_text, "WARN");
    assert_eq!(late.body.as_ref().unwrap().value, string("order 1234 is late by 7 s"));
    assert_eq!(late.trace_id, root.trace_id().to_bytes());
    assert_eq!(late.span_id, child.span_id().to_bytes());
    assert_eq!(late.flags, 1);
    assert!(late.time_unix_nano > START);
    assert_eq!(late.observed_time_unix_nano, late.time_unix_nano);
    assert_eq!(empty.severity_number, 17);
    assert_eq!(empty.body.as_ref().unwrap().value, string(""), "an empty body is still a string body");
    assert_eq!(empty.span_id, root.span_id().to_bytes());
    assert_eq!(value(&empty.attributes, "order.id"), Some(any_value::Value::IntValue(1234)));
}

#[test]
fn large_batches_and_long_values_round_trip() {
    let root = Span::root(&config(), Incoming::default(), "batch", SpanKind::Internal, clock, 3);
    let long = "x".repeat(70_000);
    for i in 0..500 {
        root.child(format!("step {i}"), SpanKind::Internal).set_attribute("payload", long.clone());
    }
    let body = root.take_export().traces.unwrap();
    let request = ExportTraceServiceRequest::decode(body.as_slice()).unwrap();
    let spans = &request.resource_spans[0].scope_spans[0].spans;
    assert_eq!(spans.len(), 501);
    assert_eq!(spans[500].name, "step 499");
    assert_eq!(value(&spans[500].attributes, "payload"), string(&long));
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
