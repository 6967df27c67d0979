//! Rows for D1 as size-bounded JSON arrays: each array is one bound
//! parameter that a statement expands with `json_each`, so a batch costs one
//! statement per `MAX_CHUNK_BYTES` whatever its row count.

use serde::Serialize;
use serde_json::value::RawValue;

use crate::domain::value::Attributes;
use crate::domain::KeyValue;

/// Bytes of row JSON per statement parameter (D1 allows 2 MB per value).
pub const MAX_CHUNK_BYTES: usize = 512 * 1024;
/// A single row above this is refused rather than failing the whole batch in D1.
pub const MAX_ROW_BYTES: usize = 1024 * 1024;

/// Builds the JSON arrays, row by row.
#[derive(Debug)]
pub struct RowChunks {
    chunks: Vec<String>,
    current: Vec<u8>,
    max_chunk_bytes: usize,
}

impl Default for RowChunks {
    fn default() -> Self {
        Self::with_limit(MAX_CHUNK_BYTES)
    }
}

impl RowChunks {
    /// Arrays of at most `max_chunk_bytes` (a single larger row stays alone in its array).
    pub fn with_limit(max_chunk_bytes: usize) -> Self {
        Self { chunks: Vec::new(), current: vec![b'['], max_chunk_bytes }
    }

    /// Appends a row; `Err(bytes)` (and nothing appended) when the row alone is over `MAX_ROW_BYTES`.
    /// `edit` may rewrite the row's serialized bytes in place (keeping them UTF-8) before it is kept.
    pub fn push<T: Serialize>(&mut self, row: &T, edit: impl FnOnce(&mut [u8])) -> Result<(), usize> {
        let before = self.current.len();
        let separator = usize::from(before > 1);
        if separator == 1 {
            self.current.push(b',');
        }
        // Cannot fail: rows are ours (strings, numbers, string-keyed maps), written to a `Vec`.
        #[allow(clippy::expect_used)]
        serde_json::to_writer(&mut self.current, row).expect("rows serialize");
        let row_bytes = self.current.len() - before - separator;
        if row_bytes > MAX_ROW_BYTES {
            self.current.truncate(before);
            return Err(row_bytes);
        }
        // `before + separator` is where the row starts, so within `current`.
        #[allow(clippy::indexing_slicing)]
        edit(&mut self.current[before + separator..]);
        if separator == 1 && self.current.len() + 1 > self.max_chunk_bytes {
            let row = self.current.split_off(before + 1);
            self.current.truncate(before);
            let full = std::mem::replace(&mut self.current, [b"[", &row[..]].concat());
            self.chunks.push(close(full));
        }
        Ok(())
    }

    pub fn finish(mut self) -> Vec<String> {
        if self.current.len() > 1 {
            self.chunks.push(close(self.current));
        }
        self.chunks
    }
}

/// Attributes as a JSON object.
// Cannot fail: serde_json writes string keys and `AnyValue`s to a `String` without error.
#[allow(clippy::expect_used)]
pub fn attributes_text(attributes: &[KeyValue<'_>]) -> String {
    serde_json::to_string(&Attributes(attributes)).expect("attributes serialize")
}

/// Attributes (a resource's, stored once per row of it) as ready-made JSON.
// Cannot fail, as `attributes_text`.
#[allow(clippy::expect_used)]
pub fn attributes_json(attributes: &[KeyValue<'_>]) -> Box<RawValue> {
    serde_json::value::to_raw_value(&Attributes(attributes)).expect("attributes serialize")
}

/// Ends a JSON array of rows (serde_json only writes UTF-8).
// Cannot fail: a chunk is serde_json output, ASCII `[`, `,`, `]` and `edit`s that keep UTF-8.
#[allow(clippy::expect_used)]
fn close(mut chunk: Vec<u8>) -> String {
    chunk.push(b']');
    String::from_utf8(chunk).expect("serde_json writes UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_fill_chunks_up_to_the_limit() {
        let mut chunks = RowChunks::default();
        let row = "x".repeat(100 * 1024);
        for _ in 0..12 {
            chunks.push(&row, |_| {}).unwrap();
        }
        let out = chunks.finish();
        assert_eq!(out.len(), 3);
        assert!(out.iter().all(|c| c.len() <= MAX_CHUNK_BYTES));
        let rows: usize = out.iter().map(|c| serde_json::from_str::<Vec<String>>(c).unwrap().len()).sum();
        assert_eq!(rows, 12);
    }

    #[test]
    fn an_oversized_row_is_refused_alone_and_edits_apply() {
        let mut chunks = RowChunks::default();
        assert_eq!(chunks.push(&"y".repeat(MAX_ROW_BYTES + 1), |_| {}), Err(MAX_ROW_BYTES + 3));
        chunks.push(&"ab", |bytes| bytes[1] = b'z').unwrap();
        assert_eq!(chunks.finish(), [r#"["zb"]"#]);
        assert!(RowChunks::default().finish().is_empty());
    }
}
