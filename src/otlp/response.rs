//! `Export{Trace,Metrics,Logs}ServiceResponse` bodies. All three share one
//! shape: field 1 `partial_success` = { 1: rejected count (int64), 2: error_message }.

use super::wire::put_varint;
use super::{Encoding, Rejections};

/// Which signal's response, for the JSON field name of the rejected count.
#[derive(Debug, Clone, Copy)]
pub enum Signal {
    Traces,
    Metrics,
    Logs,
}

impl Signal {
    fn rejected_field(self) -> &'static str {
        match self {
            Signal::Traces => "rejectedSpans",
            Signal::Metrics => "rejectedDataPoints",
            Signal::Logs => "rejectedLogRecords",
        }
    }
}

/// The response body; `partialSuccess` is present only when something was refused.
pub fn export_response(signal: Signal, rejections: &Rejections, encoding: Encoding) -> Vec<u8> {
    match encoding {
        Encoding::Json => {
            if rejections.is_empty() {
                return b"{}".to_vec();
            }
            let mut partial = serde_json::Map::new();
            // int64 is a string in the protobuf JSON mapping.
            partial.insert(signal.rejected_field().into(), rejections.count.to_string().into());
            partial.insert("errorMessage".into(), rejections.message().into());
            serde_json::to_vec(&serde_json::json!({ "partialSuccess": partial })).unwrap_or_else(|_| b"{}".to_vec())
        }
        Encoding::Protobuf => {
            if rejections.is_empty() {
                return Vec::new();
            }
            let message = rejections.message();
            let mut inner = Vec::with_capacity(message.len() + 16);
            if rejections.count > 0 {
                inner.push(0x08);
                put_varint(&mut inner, rejections.count);
            }
            if !message.is_empty() {
                inner.push(0x12);
                put_varint(&mut inner, message.len() as u64);
                inner.extend_from_slice(message.as_bytes());
            }
            let mut out = Vec::with_capacity(inner.len() + 4);
            out.push(0x0a);
            put_varint(&mut out, inner.len() as u64);
            out.extend(inner);
            out
        }
    }
}

/// A `google.rpc.Status` protobuf body for a failed OTLP/protobuf request.
pub fn status_body(http_status: u16, message: &str) -> Vec<u8> {
    // gRPC codes as the OTLP/HTTP spec pairs them with HTTP statuses.
    let code: u64 = match http_status {
        400 | 413 | 415 => 3,
        401 => 16,
        403 => 7,
        404 => 5,
        429 => 8,
        503 => 14,
        _ => 13,
    };
    let mut out = Vec::with_capacity(message.len() + 8);
    out.push(0x08);
    put_varint(&mut out, code);
    out.push(0x12);
    put_varint(&mut out, message.len() as u64);
    out.extend_from_slice(message.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(n: u64) -> Rejections {
        let mut r = Rejections::default();
        for i in 0..n {
            r.reject(format!("bad {i}"));
        }
        r
    }

    #[test]
    fn full_success_is_an_empty_response() {
        assert_eq!(export_response(Signal::Traces, &Rejections::default(), Encoding::Json), b"{}");
        assert!(export_response(Signal::Traces, &Rejections::default(), Encoding::Protobuf).is_empty());
    }

    #[test]
    fn partial_success_reports_the_count_and_messages() {
        let json = export_response(Signal::Traces, &rejected(2), Encoding::Json);
        assert_eq!(
            String::from_utf8(json).unwrap(),
            r#"{"partialSuccess":{"errorMessage":"bad 0; bad 1","rejectedSpans":"2"}}"#
        );
        let pb = export_response(Signal::Traces, &rejected(2), Encoding::Protobuf);
        assert_eq!(pb, [&[0x0a, 16, 0x08, 2, 0x12, 12][..], b"bad 0; bad 1"].concat());
    }

    #[test]
    fn failures_are_described_by_a_grpc_status() {
        assert_eq!(status_body(400, "no"), [0x08, 3, 0x12, 2, b'n', b'o']);
        assert_eq!(status_body(503, "")[..2], [0x08, 14]);
    }
}
