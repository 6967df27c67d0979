//! OTLP/HTTP request bodies in, OTLP responses out: content negotiation,
//! gzip with a decompressed-size limit, and decoding of each signal into the
//! span and log models (protobuf through a borrowing wire reader, JSON through serde).

mod common_pb;
mod json_values;
mod logs_json;
mod logs_pb;
mod metrics_json;
mod metrics_pb;
pub mod response;
mod traces_json;
mod traces_pb;
pub mod wire;

use std::borrow::Cow;
use std::io::Read;

use crate::domain::{ResourceLogs, ResourceMetrics, ResourceSpans};

/// Why a request body could not be read at all (the whole request fails).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("unsupported content type {0:?}: send application/x-protobuf or application/json")]
    UnsupportedMediaType(String),
    #[error("unsupported content encoding {0:?}: send gzip or no Content-Encoding")]
    UnsupportedEncoding(String),
    #[error("request body exceeds {limit} bytes{after}")]
    TooLarge { limit: usize, after: &'static str },
    #[error("{0}")]
    Malformed(String),
}

/// The two OTLP/HTTP payload encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    /// From a `Content-Type` header (parameters ignored). Without one the body
    /// is sniffed: JSON starts with `{`, anything else is taken as protobuf.
    pub fn from_content_type(content_type: Option<&str>, body: &[u8]) -> Result<Self, DecodeError> {
        let Some(ct) = content_type else {
            let first = body.iter().find(|b| !b.is_ascii_whitespace());
            return Ok(if first == Some(&b'{') { Encoding::Json } else { Encoding::Protobuf });
        };
        let mime = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        match mime.as_str() {
            "application/x-protobuf" | "application/protobuf" | "application/vnd.google.protobuf" => {
                Ok(Encoding::Protobuf)
            }
            "application/json" | "text/json" => Ok(Encoding::Json),
            _ => Err(DecodeError::UnsupportedMediaType(ct.to_string())),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        }
    }
}

/// Undoes `Content-Encoding` (none, `identity` or `gzip`), refusing bodies that
/// are, or expand to, more than `limit` bytes.
pub fn decompress<'a>(
    body: &'a [u8],
    content_encoding: Option<&str>,
    limit: usize,
) -> Result<Cow<'a, [u8]>, DecodeError> {
    if body.len() > limit {
        return Err(DecodeError::TooLarge { limit, after: "" });
    }
    match content_encoding.map(|e| e.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") | Some("identity") => Ok(Cow::Borrowed(body)),
        Some("gzip") | Some("x-gzip") => {
            let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(limit));
            let mut reader = flate2::read::MultiGzDecoder::new(body).take(limit as u64 + 1);
            reader.read_to_end(&mut out).map_err(|e| DecodeError::Malformed(format!("invalid gzip body: {e}")))?;
            if out.len() > limit {
                return Err(DecodeError::TooLarge { limit, after: " after decompression" });
            }
            Ok(Cow::Owned(out))
        }
        Some(other) => Err(DecodeError::UnsupportedEncoding(other.to_string())),
    }
}

/// Items refused for their content while the rest of the request is accepted;
/// reported back in `partialSuccess`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Rejections {
    pub count: u64,
    messages: Vec<String>,
}

/// At most this many distinct messages are kept for the response.
const MAX_MESSAGES: usize = 5;

impl Rejections {
    /// One item refused, for `reason`.
    pub fn reject(&mut self, reason: String) {
        self.count += 1;
        self.note(reason);
    }

    /// A problem worth telling the sender that refused no item.
    pub fn note(&mut self, reason: String) {
        if self.messages.len() < MAX_MESSAGES && !self.messages.contains(&reason) {
            self.messages.push(reason);
        }
    }

    pub fn message(&self) -> String {
        self.messages.join("; ")
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0 && self.messages.is_empty()
    }
}

/// A decoded trace export: the spans we accept and what we refused.
#[derive(Debug, Default)]
pub struct TraceExport<'a> {
    pub resource_spans: Vec<ResourceSpans<'a>>,
    pub rejections: Rejections,
}

impl TraceExport<'_> {
    pub fn span_count(&self) -> usize {
        self.resource_spans.iter().flat_map(|rs| &rs.scope_spans).map(|ss| ss.spans.len()).sum()
    }
}

/// Decodes an already-decompressed `ExportTraceServiceRequest`.
pub fn decode_traces(body: &[u8], encoding: Encoding) -> Result<TraceExport<'_>, DecodeError> {
    let mut rejections = Rejections::default();
    let resource_spans = match encoding {
        Encoding::Protobuf => traces_pb::decode(body, &mut rejections)?,
        Encoding::Json => traces_json::decode(body, &mut rejections)?,
    };
    Ok(TraceExport { resource_spans, rejections })
}

/// A decoded log export: the records we accept and what we refused.
#[derive(Debug, Default)]
pub struct LogExport<'a> {
    pub resource_logs: Vec<ResourceLogs<'a>>,
    pub rejections: Rejections,
}

/// Decodes an already-decompressed `ExportLogsServiceRequest`.
pub fn decode_logs(body: &[u8], encoding: Encoding) -> Result<LogExport<'_>, DecodeError> {
    let mut rejections = Rejections::default();
    let resource_logs = match encoding {
        Encoding::Protobuf => logs_pb::decode(body, &mut rejections)?,
        Encoding::Json => logs_json::decode(body, &mut rejections)?,
    };
    Ok(LogExport { resource_logs, rejections })
}

/// A decoded metric export.
#[derive(Debug, Default)]
pub struct MetricExport<'a> {
    pub resource_metrics: Vec<ResourceMetrics<'a>>,
    pub rejections: Rejections,
}

impl MetricExport<'_> {
    pub fn point_count(&self) -> usize {
        self.resource_metrics
            .iter()
            .flat_map(|rm| &rm.scope_metrics)
            .flat_map(|sm| &sm.metrics)
            .map(|m| m.data.point_count())
            .sum()
    }
}

/// Decodes an already-decompressed `ExportMetricsServiceRequest`.
pub fn decode_metrics(body: &[u8], encoding: Encoding) -> Result<MetricExport<'_>, DecodeError> {
    let mut rejections = Rejections::default();
    let resource_metrics = match encoding {
        Encoding::Protobuf => metrics_pb::decode(body)?,
        Encoding::Json => metrics_json::decode(body, &mut rejections)?,
    };
    Ok(MetricExport { resource_metrics, rejections })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn content_types_map_to_encodings_and_unknown_ones_are_refused() {
        assert_eq!(Encoding::from_content_type(Some("application/x-protobuf"), b""), Ok(Encoding::Protobuf));
        assert_eq!(Encoding::from_content_type(Some("application/json; charset=utf-8"), b""), Ok(Encoding::Json));
        assert_eq!(Encoding::from_content_type(None, b"  {}"), Ok(Encoding::Json));
        assert_eq!(Encoding::from_content_type(None, b"\x0a\x00"), Ok(Encoding::Protobuf));
        assert!(matches!(
            Encoding::from_content_type(Some("text/plain"), b""),
            Err(DecodeError::UnsupportedMediaType(_))
        ));
    }

    #[test]
    fn gzip_bodies_are_inflated() {
        let body = gzip(b"{\"resourceSpans\":[]}");
        assert_eq!(decompress(&body, Some("gzip"), 1024).unwrap().as_ref(), b"{\"resourceSpans\":[]}");
        assert_eq!(decompress(b"abc", None, 1024).unwrap().as_ref(), b"abc");
    }

    #[test]
    fn gzip_bombs_stop_at_the_limit() {
        let bomb = gzip(&vec![0u8; 10 * 1024 * 1024]);
        assert!(bomb.len() < 64 * 1024);
        let err = decompress(&bomb, Some("gzip"), 1024 * 1024).unwrap_err();
        assert_eq!(err, DecodeError::TooLarge { limit: 1024 * 1024, after: " after decompression" });
    }

    #[test]
    fn oversized_corrupt_and_unknown_encodings_are_refused() {
        assert!(matches!(decompress(&[0; 11], None, 10), Err(DecodeError::TooLarge { .. })));
        assert!(matches!(decompress(b"not gzip", Some("gzip"), 100), Err(DecodeError::Malformed(_))));
        assert!(matches!(decompress(b"x", Some("br"), 100), Err(DecodeError::UnsupportedEncoding(_))));
    }
}
