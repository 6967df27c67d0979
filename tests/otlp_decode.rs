//! Our borrowing OTLP decoders agree with the `opentelemetry-proto` reference
//! types on every field, for protobuf and JSON, and refuse bad input cleanly.

mod support;

use observability_collector::domain::{self, AnyValue as OurValue};
use observability_collector::otlp::{decode_traces, DecodeError, Encoding};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use support::compare::same_attributes;
use support::fixtures::trace_request;

/// Asserts that every field of the reference request survived our decoding.
fn assert_same(ours: &[domain::ResourceSpans<'_>], theirs: &ExportTraceServiceRequest) {
    assert_eq!(ours.len(), theirs.resource_spans.len());
    for (rs, trs) in ours.iter().zip(&theirs.resource_spans) {
        same_attributes(&rs.resource.attributes, &trs.resource.as_ref().unwrap().attributes);
        assert_eq!(rs.scope_spans.len(), trs.scope_spans.len());
        for (ss, tss) in rs.scope_spans.iter().zip(&trs.scope_spans) {
            let scope = tss.scope.as_ref().unwrap();
            assert_eq!(
                (ss.scope.name.as_ref(), ss.scope.version.as_ref()),
                (scope.name.as_str(), scope.version.as_str())
            );
            assert_eq!(ss.spans.len(), tss.spans.len());
            for (s, t) in ss.spans.iter().zip(&tss.spans) {
                assert_eq!(s.trace_id.as_bytes().as_slice(), t.trace_id.as_slice());
                assert_eq!(s.span_id.as_bytes().as_slice(), t.span_id.as_slice());
                assert_eq!(s.parent_span_id.map(|p| p.as_bytes().to_vec()).unwrap_or_default(), t.parent_span_id);
                assert_eq!(s.trace_state, t.trace_state);
                assert_eq!(s.flags, t.flags);
                assert_eq!(s.name, t.name);
                assert_eq!(s.kind as i32, t.kind);
                assert_eq!(s.start_time_unix_nano, t.start_time_unix_nano);
                assert_eq!(s.end_time_unix_nano, t.end_time_unix_nano);
                same_attributes(&s.attributes, &t.attributes);
                assert_eq!(s.dropped_attributes_count, t.dropped_attributes_count);
                assert_eq!(s.events.len(), t.events.len());
                for (e, te) in s.events.iter().zip(&t.events) {
                    assert_eq!((e.time_unix_nano, e.name.as_ref()), (te.time_unix_nano, te.name.as_str()));
                    same_attributes(&e.attributes, &te.attributes);
                }
                assert_eq!(s.links.len(), t.links.len());
                for (l, tl) in s.links.iter().zip(&t.links) {
                    assert_eq!(l.trace_id.as_bytes().as_slice(), tl.trace_id.as_slice());
                    assert_eq!(l.span_id.as_bytes().as_slice(), tl.span_id.as_slice());
                    same_attributes(&l.attributes, &tl.attributes);
                }
                let status = t.status.as_ref().unwrap();
                assert_eq!((s.status_code as i32, s.status_message.as_ref()), (status.code, status.message.as_str()));
            }
        }
    }
}

#[test]
fn protobuf_decoding_agrees_with_the_reference_types() {
    let request = trace_request(64);
    let body = request.encode_to_vec();
    let export = decode_traces(&body, Encoding::Protobuf).unwrap();
    assert_eq!(export.span_count(), 64);
    assert!(export.rejections.is_empty());
    assert_same(&export.resource_spans, &request);
}

#[test]
fn json_decoding_agrees_with_the_reference_types() {
    let request = trace_request(64);
    let body = serde_json::to_vec(&request).unwrap();
    let export = decode_traces(&body, Encoding::Json).unwrap();
    assert_eq!(export.span_count(), 64);
    assert_same(&export.resource_spans, &request);
}

#[test]
fn json_senders_quirks_are_accepted() {
    // Upper-case hex ids, numeric timestamps, enum names, snake_case keys, nulls.
    let body = br#"{"resource_spans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"edge"}}]},
      "scopeSpans":[{"scope":null,"spans":[{"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174",
      "parentSpanId":"","name":"fetch","kind":"SPAN_KIND_CLIENT","startTimeUnixNano":1700000000123456789,
      "end_time_unix_nano":"1700000000223456789","attributes":[{"key":"n","value":{"intValue":"9007199254740993"}},
      {"key":"d","value":{"doubleValue":"Infinity"}}],"events":null,"status":{"code":"STATUS_CODE_ERROR","message":"x"}}]}]}]}"#;
    let export = decode_traces(body, Encoding::Json).unwrap();
    let span = &export.resource_spans[0].scope_spans[0].spans[0];
    assert_eq!(span.trace_id.to_string(), "5b8efff798038103d269b633813fc60c");
    assert_eq!(span.kind, domain::SpanKind::Client);
    assert_eq!(span.status_code, domain::StatusCode::Error);
    assert_eq!(span.parent_span_id, None);
    assert_eq!(
        (span.start_time_unix_nano, span.end_time_unix_nano),
        (1_700_000_000_123_456_789, 1_700_000_000_223_456_789)
    );
    assert_eq!(span.attributes[0].value, OurValue::Int(9_007_199_254_740_993));
    assert_eq!(span.attributes[1].value, OurValue::Double(f64::INFINITY));
    assert_eq!(export.resource_spans[0].resource.service_name(), "edge");
}

#[test]
fn spans_with_invalid_ids_are_rejected_and_the_rest_kept() {
    let mut request = trace_request(10);
    request.resource_spans[0].scope_spans[0].spans[0].span_id = vec![1, 2, 3];
    request.resource_spans[1].scope_spans[0].spans[0].trace_id = vec![0; 16];
    for encoding in [Encoding::Protobuf, Encoding::Json] {
        let body = match encoding {
            Encoding::Protobuf => request.encode_to_vec(),
            Encoding::Json => serde_json::to_vec(&request).unwrap(),
        };
        let export = decode_traces(&body, encoding).unwrap();
        assert_eq!(export.span_count(), 8, "{encoding:?}");
        assert_eq!(export.rejections.count, 2);
        let message = export.rejections.message();
        assert!(message.contains("span id must be 8 bytes, got 3"), "{message}");
        assert!(message.contains("trace id must not be all zeros"), "{message}");
    }
}

#[test]
fn malformed_bodies_fail_with_a_message_and_never_panic() {
    let good = trace_request(5).encode_to_vec();
    for cut in 1..good.len() {
        // Every truncation either decodes a prefix or fails cleanly.
        let _ = decode_traces(&good[..cut], Encoding::Protobuf);
    }
    for (body, encoding) in
        [(&b"\x0a\xff\xff"[..], Encoding::Protobuf), (b"{not json", Encoding::Json), (b"\"text\"", Encoding::Json)]
    {
        match decode_traces(body, encoding) {
            Err(DecodeError::Malformed(m)) => assert!(!m.is_empty()),
            other => panic!("{body:?}: {other:?}"),
        }
    }
    let mut bad_utf8 = trace_request(1);
    bad_utf8.resource_spans[0].scope_spans[0].spans[0].name = "x".into();
    let mut bytes = bad_utf8.encode_to_vec();
    let at = bytes.iter().position(|b| *b == b'x').unwrap();
    bytes[at] = 0xff;
    assert!(matches!(decode_traces(&bytes, Encoding::Protobuf), Err(DecodeError::Malformed(_))));
}

#[test]
fn an_empty_request_decodes_to_nothing() {
    assert_eq!(decode_traces(b"", Encoding::Protobuf).unwrap().span_count(), 0);
    assert_eq!(decode_traces(b"{}", Encoding::Json).unwrap().span_count(), 0);
}

#[test]
fn a_json_span_with_an_unreadable_attribute_value_is_rejected_alone() {
    let body = br#"{"resourceSpans":[{"scopeSpans":[{"spans":[
      {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"bad",
       "attributes":[{"key":"n","value":{"intValue":"1.5"}}]},
      {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b175","name":"good",
       "attributes":[{"key":"n","value":{"intValue":"15"}}]}]}]}]}"#;
    let export = decode_traces(body, Encoding::Json).unwrap();
    assert_eq!(export.span_count(), 1);
    assert_eq!(export.rejections.count, 1);
    assert_eq!(export.rejections.message(), "span \"bad\": intValue is not a 64-bit integer");
    assert_eq!(export.resource_spans[0].scope_spans[0].spans[0].name, "good");
}
