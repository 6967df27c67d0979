//! The payload of a span block's segment, format 2 (docs/storage.md): a JSON
//! header `[[start_ns,"spanId",bytes,shape],…]`, then the spans' JSON objects
//! back to back in header order. A trace read takes order and duplicates
//! from the header and copies each span's text into the answer unparsed.
//! Shape 2 is the API answer's own span object (`ingest::span_rows`);
//! shape 1 a format-1 row, queued before the upgrade and kept as it came.
//! A format-1 segment is a JSON array of format-1 rows: it starts with `[{`.

use std::io::Write;

use thiserror::Error;

/// A span object in the answer's shape (with `serviceVersion`, `environment` and `callee`).
pub const ANSWER_SHAPE: u8 = 2;
/// A format-1 row (`startNs`, numeric `kind` and `statusCode`…).
pub const ROW_SHAPE_1: u8 = 1;

#[derive(Debug, Error)]
pub enum SegmentError {
    #[error("span segment header: {0}")]
    Header(serde_json::Error),
    #[error("span segment is empty")]
    Empty,
    #[error("span segment holds {body} bytes of spans, its header {expected}")]
    Length { body: usize, expected: usize },
}

/// One span of a format-2 segment, borrowed from the inflated payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentSpan<'p> {
    pub start_ns: u64,
    pub span_id: &'p str,
    pub shape: u8,
    pub json: &'p [u8],
}

/// Builds a format-2 payload span by span.
#[derive(Debug, Default)]
pub struct SegmentWriter {
    header: Vec<u8>,
    body: Vec<u8>,
}

impl SegmentWriter {
    /// `span_id` is hex (nothing to escape); `json` one JSON object.
    pub fn push(&mut self, start_ns: u64, span_id: &str, shape: u8, json: &[u8]) {
        self.header.push(if self.header.is_empty() { b'[' } else { b',' });
        // Writing into a Vec cannot fail.
        let _ = write!(self.header, "[{start_ns},\"{span_id}\",{},{shape}]", json.len());
        self.body.extend_from_slice(json);
    }

    pub fn is_empty(&self) -> bool {
        self.header.is_empty()
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.header.push(b']');
        self.header.append(&mut self.body);
        self.header
    }
}

/// The spans of a format-2 payload, or `None` for a format-1 payload.
pub fn read(payload: &[u8]) -> Result<Option<Vec<SegmentSpan<'_>>>, SegmentError> {
    if payload.starts_with(b"[{") {
        return Ok(None);
    }
    let mut stream = serde_json::Deserializer::from_slice(payload).into_iter::<Vec<(u64, &str, usize, u8)>>();
    let header = stream.next().ok_or(SegmentError::Empty)?.map_err(SegmentError::Header)?;
    let mut body = payload.get(stream.byte_offset()..).unwrap_or_default();
    let expected = header.iter().map(|h| h.2).fold(0usize, usize::saturating_add);
    if expected != body.len() {
        return Err(SegmentError::Length { body: body.len(), expected });
    }
    let spans = header
        .into_iter()
        .map(|(start_ns, span_id, bytes, shape)| {
            let (json, rest) = body.split_at(bytes);
            body = rest;
            SegmentSpan { start_ns, span_id, shape, json }
        })
        .collect();
    Ok(Some(spans))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_round_trips_and_format_1_is_told_apart() {
        let mut writer = SegmentWriter::default();
        assert!(writer.is_empty());
        writer.push(17, "00000000000000aa", ANSWER_SHAPE, br#"{"spanId":"00000000000000aa","name":"a\"b"}"#);
        writer.push(3, "00000000000000bb", ROW_SHAPE_1, br#"{"startNs":"00000000000000000003"}"#);
        let payload = writer.finish();
        assert!(payload.starts_with(br#"[[17,"00000000000000aa",43,2],[3,"00000000000000bb",34,1]]{"#));
        let spans = read(&payload).unwrap().unwrap();
        assert_eq!(spans.len(), 2);
        assert_eq!((spans[0].start_ns, spans[0].span_id, spans[0].shape), (17, "00000000000000aa", ANSWER_SHAPE));
        assert_eq!(spans[0].json, br#"{"spanId":"00000000000000aa","name":"a\"b"}"#);
        assert_eq!(spans[1].json, br#"{"startNs":"00000000000000000003"}"#);
        assert_eq!(read(br#"[{"spanId":"a"}]"#).unwrap(), None, "format 1");
    }

    #[test]
    fn corrupt_payloads_are_errors_not_panics() {
        let mut writer = SegmentWriter::default();
        writer.push(1, "00000000000000aa", ANSWER_SHAPE, b"{}");
        let payload = writer.finish();
        for cut in 0..payload.len() {
            assert!(read(&payload[..cut]).is_err(), "cut at {cut}");
        }
        assert!(matches!(read(br#"[[1,"a",5,2]]{}"#), Err(SegmentError::Length { body: 2, expected: 5 })));
        assert!(matches!(read(br#"[[1,"a",18446744073709551615,2],[1,"b",9,2]]{}"#), Err(SegmentError::Length { .. })));
        assert!(matches!(read(b"[[1,2,3]]"), Err(SegmentError::Header(_))));
        assert!(matches!(read(b"{}"), Err(SegmentError::Header(_))));
    }
}
