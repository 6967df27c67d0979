//! Feeds the formats read back from storage and the span queue: the first
//! byte picks the reader, the rest is the stored bytes.
//! 0: a span queue message (`ingest::trace_batch::parse_message`, then
//!    `BatchPieces::read` and `plan` against no prior records);
//! 1: a log queue message (`ingest::log_batch::parse_message`, then `plan`);
//! 2: a metric pack body as hex text (`ingest::metric_packs::decode`);
//! 3: a trace index record (`ingest::trace_index::TraceRecord::decode`);
//! 4: a span block (`blocks::segments`, each segment through
//!    `ingest::span_segment::read`) and one segment (`blocks::read_segment`);
//! 5: a format-2 segment payload (`ingest::span_segment::read`);
//! 6: a block summary's trace ids and Bloom filter
//!    (`ingest::block_summary::traces_from_bytes`, `ingest::bloom::Bloom::from_bytes`).
#![no_main]

use std::collections::{HashMap, HashSet};

use libfuzzer_sys::fuzz_target;
use observability_collector::blocks::{read_segment, segments, BlockId};
use observability_collector::ingest::block_summary::traces_from_bytes;
use observability_collector::ingest::bloom::Bloom;
use observability_collector::ingest::trace_batch::BatchPieces;
use observability_collector::ingest::trace_index::TraceRecord;
use observability_collector::ingest::{log_batch, metric_packs, span_segment, trace_batch};

/// A block id of 2026-11-28.
const BLOCK: BlockId = BlockId(1_795_824_000_000 << 16);

fuzz_target!(|data: &[u8]| {
    let Some((&first, bytes)) = data.split_first() else { return };
    match first % 7 {
        0 => {
            if let Ok(message) = trace_batch::parse_message(bytes) {
                if let Ok(pieces) = BatchPieces::read(std::slice::from_ref(&message)) {
                    let _ = pieces.trace_ids();
                    let _ = pieces.continued(&HashMap::new());
                    let _ = pieces.plan(&HashMap::new(), &HashMap::new(), BLOCK);
                }
            }
        }
        1 => {
            if let Ok(message) = log_batch::parse_message(bytes) {
                let _ = message.record_count();
                let messages = [message];
                let _ = log_batch::dedupe_windows(&messages, 1_795_824_000_000);
                let _ = log_batch::plan(&messages, &HashSet::new(), BLOCK);
            }
        }
        2 => {
            if let Ok(text) = std::str::from_utf8(bytes) {
                let _ = metric_packs::decode(text);
            }
        }
        3 => drop(TraceRecord::decode(bytes)),
        4 => {
            for (_, rows) in segments(bytes).flatten() {
                let _ = span_segment::read(&rows);
            }
            let _ = read_segment(bytes);
        }
        5 => drop(span_segment::read(bytes)),
        _ => {
            let _ = traces_from_bytes(bytes);
            if let Some(bloom) = Bloom::from_bytes(bytes) {
                let _ = bloom.may_contain(&[b"t", b"0af7651916cd43dd8448eb211c80319c"]);
            }
        }
    }
});
