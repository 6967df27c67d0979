//! The OTLP log decoders agree with the `opentelemetry-proto` reference types
//! on every field, for protobuf and JSON, and refuse bad records cleanly.

mod support;

use observability_collector::domain::{self, AnyValue as OurValue};
use observability_collector::otlp::{decode_logs, Encoding};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use support::compare::{same_attributes, same_value};

fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue { key: key.into(), value: Some(AnyValue { value: Some(value) }) }
}

fn request() -> ExportLogsServiceRequest {
    let record = |i: u64| LogRecord {
        time_unix_nano: 1_763_900_000_123_456_789 + i,
        observed_time_unix_nano: 1_763_900_000_223_456_789 + i,
        severity_number: 9 + (i % 16) as i32,
        severity_text: ["INFO", "WARN", "ERROR"][i as usize % 3].into(),
        body: Some(AnyValue {
            value: Some(if i % 2 == 0 {
                Value::StringValue(format!("order {i} placed"))
            } else {
                Value::KvlistValue(opentelemetry_proto::tonic::common::v1::KeyValueList {
                    values: vec![kv("event", Value::StringValue("charge".into())), kv("cents", Value::IntValue(1999))],
                })
            }),
        }),
        attributes: vec![
            kv("http.route", Value::StringValue("/orders".into())),
            kv("retry", Value::BoolValue(i % 2 == 1)),
        ],
        dropped_attributes_count: 1,
        flags: 1,
        trace_id: if i % 3 == 0 { vec![] } else { vec![0xab; 16] },
        span_id: if i % 3 == 0 { vec![] } else { vec![0xcd; 8] },
        event_name: if i == 1 { "checkout.completed".into() } else { String::new() },
    };
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![kv("service.name", Value::StringValue("checkout".into()))],
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                scope: Some(InstrumentationScope { name: "app".into(), version: "1.0".into(), ..Default::default() }),
                log_records: (0..12).map(record).collect(),
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

fn assert_same(ours: &[domain::ResourceLogs<'_>], theirs: &ExportLogsServiceRequest) {
    assert_eq!(ours.len(), theirs.resource_logs.len());
    for (rl, trl) in ours.iter().zip(&theirs.resource_logs) {
        same_attributes(&rl.resource.attributes, &trl.resource.as_ref().unwrap().attributes);
        for (sl, tsl) in rl.scope_logs.iter().zip(&trl.scope_logs) {
            assert_eq!(sl.scope.name, tsl.scope.as_ref().unwrap().name);
            assert_eq!(sl.log_records.len(), tsl.log_records.len());
            for (r, t) in sl.log_records.iter().zip(&tsl.log_records) {
                assert_eq!(
                    (r.time_unix_nano, r.observed_time_unix_nano),
                    (t.time_unix_nano, t.observed_time_unix_nano)
                );
                assert_eq!(
                    (r.severity_number, r.severity_text.as_ref()),
                    (t.severity_number, t.severity_text.as_str())
                );
                same_value(&r.body, &t.body);
                same_attributes(&r.attributes, &t.attributes);
                assert_eq!((r.dropped_attributes_count, r.flags), (t.dropped_attributes_count, t.flags));
                assert_eq!(r.trace_id.map(|id| id.as_bytes().to_vec()).unwrap_or_default(), t.trace_id);
                assert_eq!(r.span_id.map(|id| id.as_bytes().to_vec()).unwrap_or_default(), t.span_id);
                assert_eq!(r.event_name, t.event_name);
            }
        }
    }
}

#[test]
fn protobuf_and_json_decoding_agree_with_the_reference_types() {
    let request = request();
    for (encoding, body) in
        [(Encoding::Protobuf, request.encode_to_vec()), (Encoding::Json, serde_json::to_vec(&request).unwrap())]
    {
        let export = decode_logs(&body, encoding).unwrap();
        assert!(export.rejections.is_empty(), "{encoding:?}: {}", export.rejections.message());
        assert_same(&export.resource_logs, &request);
    }
}

#[test]
fn json_quirks_are_accepted_and_bad_ids_rejected_per_record() {
    let body =
        br#"{"resource_logs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"edge"}}]},
      "scopeLogs":[{"logRecords":[
        {"timeUnixNano":1700000000123456789,"severityNumber":"SEVERITY_NUMBER_WARN","body":{"stringValue":"slow"},
         "traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174"},
        {"time_unix_nano":"1700000000223456789","severity_number":17,"body":null,"traceId":"abc"},
        {"observedTimeUnixNano":"1700000000323456789","severityText":"info"}]}]}]}"#;
    let export = decode_logs(body, Encoding::Json).unwrap();
    let records = &export.resource_logs[0].scope_logs[0].log_records;
    assert_eq!(records.len(), 2);
    assert_eq!(export.rejections.count, 1);
    assert!(export.rejections.message().contains("trace id"), "{}", export.rejections.message());
    assert_eq!(records[0].severity_number, 13);
    assert_eq!(records[0].body, OurValue::Str("slow".into()));
    assert_eq!(records[0].trace_id.unwrap().to_string(), "5b8efff798038103d269b633813fc60c");
    assert_eq!(records[1].effective_time_unix_nano(), 1_700_000_000_323_456_789);
    assert_eq!(records[1].body, OurValue::Empty);
}

#[test]
fn a_protobuf_record_with_a_short_span_id_is_rejected_alone() {
    let mut request = request();
    request.resource_logs[0].scope_logs[0].log_records[1].span_id = vec![1, 2, 3];
    let body = request.encode_to_vec();
    let export = decode_logs(&body, Encoding::Protobuf).unwrap();
    assert_eq!(export.resource_logs[0].scope_logs[0].log_records.len(), 11);
    assert_eq!(export.rejections.count, 1);
}
