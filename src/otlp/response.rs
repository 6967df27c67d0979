//! `Export{Trace,Metrics,Logs}ServiceResponse` bodies. All three share one
//! shape: field 1 `partial_success` = { 1: rejected count (int64), 2: error_message }.

use super::wire::put_varint;
use super::{Encoding, Rejections};

/// Which signal's response, for the JSON field name of the rejected count.
#[derive(Debug, Clone, Copy)]
pub enum Signal {
    Traces,
}

impl Signal {
    fn rejected_field(self) -> &'static str {
        match self {
            Signal::Traces => "rejectedSpans",
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
