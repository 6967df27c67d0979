//! OTLP trace fixtures built with the `opentelemetry-proto` reference types,
//! shared by the decoder tests and the criterion benchmarks.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    any_value::Value, AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link, SpanKind};
use opentelemetry_proto::tonic::trace::v1::{status, ResourceSpans, ScopeSpans, Span, Status};

pub fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue { key: key.into(), value: Some(AnyValue { value: Some(value) }) }
}

pub fn s(v: &str) -> Value {
    Value::StringValue(v.into())
}

/// A request with `spans` spans spread over three services, every attribute
/// type, events, links, error statuses and nanosecond timestamps beyond 2^53.
pub fn trace_request(spans: usize) -> ExportTraceServiceRequest {
    let services = ["gateway", "checkout", "payments"];
    let base: u64 = 1_700_000_000_123_456_789;
    let resource_spans = services
        .iter()
        .enumerate()
        .map(|(si, service)| {
            let spans = (0..spans)
                .filter(|i| i % services.len() == si)
                .map(|i| {
                    let trace = (i / 8) as u8 + 1;
                    let mut trace_id = vec![0xab; 16];
                    trace_id[15] = trace;
                    let span_id = ((i as u64) + 1).to_be_bytes().to_vec();
                    let parent = if i % 8 == 0 { vec![] } else { (i as u64).to_be_bytes().to_vec() };
                    Span {
                        trace_id: trace_id.clone(),
                        span_id,
                        trace_state: if i % 5 == 0 { "vendor=x".into() } else { String::new() },
                        parent_span_id: parent,
                        flags: 1,
                        name: format!("GET /api/items/{}", i % 7),
                        kind: [SpanKind::Server, SpanKind::Client, SpanKind::Internal][i % 3] as i32,
                        start_time_unix_nano: base + i as u64 * 1_000_003,
                        end_time_unix_nano: base + i as u64 * 1_000_003 + 25_000_001,
                        attributes: vec![
                            kv("http.request.method", s("GET")),
                            kv("http.route", s("/api/items/:id")),
                            kv("http.response.status_code", Value::IntValue(200 + (i % 3) as i64 * 100)),
                            kv("url.full", s("https://example.com/api/items?q=1")),
                            kv("peer.service", s("inventory")),
                            kv("retry", Value::BoolValue(i % 2 == 0)),
                            kv("ratio", Value::DoubleValue(0.25 * i as f64)),
                            kv("big", Value::IntValue(i64::MAX - i as i64)),
                            kv(
                                "tags",
                                Value::ArrayValue(ArrayValue {
                                    values: vec![
                                        AnyValue { value: Some(s("a")) },
                                        AnyValue { value: Some(Value::IntValue(2)) },
                                    ],
                                }),
                            ),
                            kv(
                                "nested",
                                Value::KvlistValue(KeyValueList { values: vec![kv("inner", s("ü-ñ \"quoted\""))] }),
                            ),
                            kv("raw", Value::BytesValue(vec![0, 1, 2, 255])),
                        ],
                        dropped_attributes_count: (i % 2) as u32,
                        events: vec![Event {
                            time_unix_nano: base + i as u64 * 1_000_003 + 1,
                            name: "exception".into(),
                            attributes: vec![
                                kv("exception.type", s("TimeoutError")),
                                kv("exception.message", s("slow")),
                            ],
                            dropped_attributes_count: 0,
                        }],
                        dropped_events_count: 0,
                        links: if i % 4 == 0 {
                            vec![Link {
                                trace_id: vec![0xcd; 16],
                                span_id: vec![0xef; 8],
                                trace_state: String::new(),
                                attributes: vec![kv("link.kind", s("follows"))],
                                dropped_attributes_count: 0,
                                flags: 0,
                            }]
                        } else {
                            vec![]
                        },
                        dropped_links_count: 0,
                        status: Some(Status {
                            message: if i % 6 == 5 { "boom".into() } else { String::new() },
                            code: if i % 6 == 5 {
                                status::StatusCode::Error as i32
                            } else {
                                status::StatusCode::Ok as i32
                            },
                        }),
                    }
                })
                .collect();
            ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![
                        kv("service.name", s(service)),
                        kv("service.version", s("1.4.2")),
                        kv("deployment.environment.name", s("production")),
                        kv("cloud.provider", s("cloudflare")),
                    ],
                    dropped_attributes_count: 0,
                    entity_refs: vec![],
                }),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: "@opentelemetry/instrumentation-http".into(),
                        version: "0.52.0".into(),
                        attributes: vec![],
                        dropped_attributes_count: 0,
                    }),
                    spans,
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }
        })
        .collect();
    ExportTraceServiceRequest { resource_spans }
}
