//! One stored batch of log records, planned in pure code: the queue messages
//! (or the one inline export) it merges; which messages are new against the
//! message hashes already stored; the R2 block of the new records, cut into
//! segments of one minute of record time each; each segment's search
//! summary (the D1 row of `log_segments`); and the Analytics Engine points
//! of the new records. The store reads the stored hashes, calls `plan`, and
//! writes what it returns.
//!
//! A message is `{"logs":[[row, point], …]}` (`ingest::log_rows`). Its hash
//! (64 bits of SHA-256 over its records' content keys) is what makes a
//! retried export or a message delivered again store and count nothing: a
//! block's segment rows carry the hashes of every message the block holds.

use std::borrow::Cow;
use std::collections::HashSet;

use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use thiserror::Error;

use super::bloom::Bloom;
use crate::blocks::{BlockId, BlockWriter};

/// Record time one segment spans at most: a query for a time range reads
/// only segment rows whose latest record is within a minute after its end.
pub const SEGMENT_SPAN_MS: u64 = 60_000;
/// Row JSON per segment before a minute's records are cut into another one,
/// so one search read inflates and parses a bounded amount.
const MAX_SEGMENT_ROW_BYTES: usize = 1024 * 1024;
/// How long before now a record without any time may have been stored when
/// its export is retried (such records are filed at their block's time).
pub const RETRY_HORIZON_MS: u64 = 24 * 60 * 60 * 1000;
const NANOS_PER_MS: u64 = 1_000_000;

#[derive(Debug, Error)]
pub enum LogBatchError {
    #[error("queued log message is not {{\"logs\":[[row, point], …]}}: {0}")]
    Message(serde_json::Error),
    #[error("queued log row is unreadable: {0}")]
    Row(String),
}

/// The hash that identifies a message.
pub type MessageHash = [u8; 8];

/// What the plan reads of a stored log row.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RowFacts<'a> {
    #[serde(borrow)]
    key: Cow<'a, str>,
    #[serde(borrow)]
    service: Cow<'a, str>,
    #[serde(borrow)]
    time_ns: Cow<'a, str>,
    severity_number: i32,
    #[serde(borrow)]
    trace_id: Cow<'a, str>,
    #[serde(borrow)]
    span_id: Cow<'a, str>,
}

struct Row<'m> {
    /// 0 when the record has no time.
    time_ns: u64,
    facts: RowFacts<'m>,
    raw: &'m RawValue,
    point: &'m RawValue,
}

/// One message: its hash and rows, borrowed from the message bytes.
pub struct LogMessage<'m> {
    pub hash: MessageHash,
    rows: Vec<Row<'m>>,
}

impl LogMessage<'_> {
    pub fn record_count(&self) -> usize {
        self.rows.len()
    }
}

#[derive(Deserialize)]
struct Envelope<'m> {
    #[serde(borrow)]
    logs: Vec<(&'m RawValue, &'m RawValue)>,
}

/// Whether a queue message holds log records (else spans).
pub fn is_log_message(bytes: &[u8]) -> bool {
    bytes.first() == Some(&b'{')
}

pub fn parse_message(bytes: &[u8]) -> Result<LogMessage<'_>, LogBatchError> {
    let envelope: Envelope = serde_json::from_slice(bytes).map_err(LogBatchError::Message)?;
    let mut hasher = Sha256::new();
    let mut rows = Vec::with_capacity(envelope.logs.len());
    for (raw, point) in envelope.logs {
        let facts: RowFacts = serde_json::from_str(raw.get()).map_err(|e| LogBatchError::Row(e.to_string()))?;
        let time_ns = facts.time_ns.parse().map_err(|_| LogBatchError::Row(format!("time of {:?}", facts.key)))?;
        hasher.update(facts.key.as_bytes());
        rows.push(Row { time_ns, facts, raw, point });
    }
    let digest: [u8; 32] = hasher.finalize().into();
    let mut hash = [0; 8];
    hash.copy_from_slice(&digest[..8]);
    Ok(LogMessage { hash, rows })
}

/// Where an earlier copy of a message would be: a segment whose latest
/// record time (ms) lies in `[from_ms, to_ms)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DedupeWindow {
    pub hash: MessageHash,
    pub from_ms: u64,
    pub to_ms: u64,
}

fn minute_end_ms(ms: u64) -> u64 {
    (ms / SEGMENT_SPAN_MS + 1) * SEGMENT_SPAN_MS
}

/// For each message, the segment rows that would carry its hash had it been
/// stored: those of the minute of its first timed record (at or after that
/// record), or, for a message of untimed records, any stored within the
/// retry horizon.
pub fn dedupe_windows(messages: &[LogMessage<'_>], now_ms: u64) -> Vec<DedupeWindow> {
    messages
        .iter()
        .map(|m| match m.rows.iter().find(|r| r.time_ns > 0) {
            Some(r) => {
                let ms = r.time_ns / NANOS_PER_MS;
                DedupeWindow { hash: m.hash, from_ms: ms, to_ms: minute_end_ms(ms) }
            }
            None => DedupeWindow {
                hash: m.hash,
                from_ms: now_ms.saturating_sub(RETRY_HORIZON_MS),
                to_ms: minute_end_ms(now_ms),
            },
        })
        .collect()
}

/// One segment of the block and its D1 row.
#[derive(Debug)]
pub struct SegmentPlan {
    pub offset: u32,
    pub length: u32,
    pub min_time_ms: u64,
    pub max_time_ms: u64,
    pub records: usize,
    /// The block's last segment in `(max_time_ms, offset)` order: pruning it removes the object.
    pub newest: bool,
    pub max_severity: i32,
    pub services: Vec<String>,
    /// Trace ids (`t` + hex) and span ids (`s` + hex) of its records.
    pub bloom: Bloom,
}

/// What one stored batch writes.
#[derive(Debug, Default)]
pub struct LogBatchPlan<'m> {
    pub block: Vec<u8>,
    pub segments: Vec<SegmentPlan>,
    /// Hashes of the messages the block holds (every segment row carries them).
    pub hashes: Vec<MessageHash>,
    /// Analytics Engine points of the records stored.
    pub points: Vec<&'m RawValue>,
    pub records: usize,
}

/// Whether a Bloom filter of a segment may hold a trace or span id (hex).
pub fn bloom_item<'b>(kind: &'b [u8; 1], id_hex: &'b str) -> [&'b [u8]; 2] {
    [kind, id_hex.as_bytes()]
}

/// Plans the block of the messages not in `stored` (nor repeated within the
/// batch). Untimed records are filed at the block's time.
pub fn plan<'m>(messages: &[LogMessage<'m>], stored: &HashSet<MessageHash>, block_id: BlockId) -> LogBatchPlan<'m> {
    let mut out = LogBatchPlan::default();
    let mut taken = HashSet::new();
    let mut rows: Vec<(u64, &Row<'m>)> = Vec::new();
    let block_ns = block_id.time_ms() * NANOS_PER_MS;
    for message in messages {
        if stored.contains(&message.hash) || !taken.insert(message.hash) {
            continue;
        }
        out.hashes.push(message.hash);
        for row in &message.rows {
            rows.push((if row.time_ns > 0 { row.time_ns } else { block_ns }, row));
            out.points.push(row.point);
        }
    }
    out.records = rows.len();
    crate::sort::sort_by(&mut rows, |a, b| a.0.cmp(&b.0));
    let minute = |time_ns: u64| time_ns / NANOS_PER_MS / SEGMENT_SPAN_MS;
    let mut writer = BlockWriter::default();
    for same_minute in rows.chunk_by(|(a, _), (b, _)| minute(*a) == minute(*b)) {
        let mut rest = same_minute;
        while !rest.is_empty() {
            // At least one row, then as many as fit in the segment's bytes.
            let mut bytes = 0;
            let take = rest
                .iter()
                .take_while(|(_, row)| {
                    bytes += row.raw.get().len() + 1;
                    bytes <= MAX_SEGMENT_ROW_BYTES
                })
                .count()
                .max(1);
            let (segment_rows, after) = rest.split_at(take);
            out.segments.push(segment(&mut writer, segment_rows));
            rest = after;
        }
    }
    if let Some(last) = out.segments.last_mut() {
        last.newest = true;
    }
    out.block = writer.finish();
    out
}

fn segment(writer: &mut BlockWriter, rows: &[(u64, &Row<'_>)]) -> SegmentPlan {
    let mut json = Vec::with_capacity(rows.iter().map(|(_, r)| r.raw.get().len() + 1).sum::<usize>() + 1);
    json.push(b'[');
    let mut bloom = Bloom::with_capacity(rows.len() * 2);
    let mut services: Vec<&str> = Vec::new();
    let mut max_severity = i32::MIN;
    for (i, (_, row)) in rows.iter().enumerate() {
        if i > 0 {
            json.push(b',');
        }
        json.extend_from_slice(row.raw.get().as_bytes());
        let f = &row.facts;
        services.push(&f.service);
        max_severity = max_severity.max(f.severity_number);
        if !f.trace_id.is_empty() {
            bloom.insert(&bloom_item(b"t", &f.trace_id));
        }
        if !f.span_id.is_empty() {
            bloom.insert(&bloom_item(b"s", &f.span_id));
        }
    }
    json.push(b']');
    crate::sort::sort_by(&mut services, Ord::cmp);
    services.dedup();
    let (offset, length) = writer.push(&json);
    let time_ms = |i: Option<&(u64, &Row<'_>)>| i.map_or(0, |(t, _)| t / NANOS_PER_MS);
    SegmentPlan {
        offset,
        length,
        min_time_ms: time_ms(rows.first()),
        max_time_ms: time_ms(rows.last()),
        records: rows.len(),
        newest: false,
        max_severity,
        services: services.into_iter().map(String::from).collect(),
        bloom,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blocks::{read_segment, segments};
    use crate::domain::{AnyValue, KeyValue, LogRecord, Resource, ResourceLogs, ScopeLogs, SpanId, TraceId};
    use crate::ingest::log_batch as export_batch;
    use crate::otlp::Rejections;
    use serde_json::Value;

    const MINUTE_NS: u64 = 60_000_000_000;
    const T0_NS: u64 = 1_795_789_920_000_000_000; // on a minute boundary
    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

    fn record(time_ns: u64, severity: i32, body: &'static str) -> LogRecord<'static> {
        LogRecord {
            time_unix_nano: time_ns,
            severity_number: severity,
            body: AnyValue::Str(body.into()),
            trace_id: Some(TraceId::from_hex(TRACE).unwrap()),
            span_id: Some(SpanId::from_hex("00f067aa0ba902b7").unwrap()),
            ..Default::default()
        }
    }

    fn messages(service: &'static str, records: Vec<LogRecord<'static>>) -> Vec<String> {
        let export = vec![ResourceLogs {
            resource: Resource {
                attributes: vec![KeyValue { key: "service.name".into(), value: AnyValue::Str(service.into()) }],
                dropped_attributes_count: 0,
            },
            scope_logs: vec![ScopeLogs { log_records: records, ..Default::default() }],
        }];
        export_batch(&export, 1.0, &mut Rejections::default()).messages
    }

    fn parsed(texts: &[String]) -> Vec<LogMessage<'_>> {
        texts.iter().map(|t| parse_message(t.as_bytes()).unwrap()).collect()
    }

    fn block_rows(plan: &LogBatchPlan<'_>) -> Vec<Vec<Value>> {
        segments(&plan.block).map(|s| serde_json::from_slice(&s.unwrap().1).unwrap()).collect()
    }

    #[test]
    fn records_are_cut_into_one_segment_per_minute_with_their_summary() {
        let texts = [
            messages("checkout", vec![record(T0_NS + 5, 9, "a"), record(T0_NS + MINUTE_NS + 7, 17, "b")]),
            messages("cart", vec![record(T0_NS + 3_000_000_000, 13, "c")]),
        ]
        .concat();
        let msgs = parsed(&texts);
        let plan = plan(&msgs, &HashSet::new(), BlockId::new(T0_NS / NANOS_PER_MS + 90_000, 1));
        assert_eq!((plan.records, plan.points.len(), plan.hashes.len(), plan.segments.len()), (3, 3, 2, 2));
        let [first, second] = &plan.segments[..] else { unreachable!() };
        assert_eq!(
            (first.records, first.min_time_ms, first.max_time_ms),
            (2, T0_NS / 1_000_000, T0_NS / 1_000_000 + 3000)
        );
        assert_eq!(first.services, ["cart", "checkout"]);
        assert_eq!((first.max_severity, first.newest), (13, false));
        assert!(first.bloom.may_contain(&bloom_item(b"t", TRACE)));
        assert!(first.bloom.may_contain(&bloom_item(b"s", "00f067aa0ba902b7")));
        assert!(!first.bloom.may_contain(&bloom_item(b"t", "00000000000000000000000000000001")));
        assert_eq!((second.records, second.max_severity, second.newest), (1, 17, true));
        let rows = block_rows(&plan);
        assert_eq!(rows[0].iter().map(|r| r["body"].as_str().unwrap()).collect::<Vec<_>>(), ["a", "c"]);
        assert_eq!(rows[1][0]["body"], "b");
        let range = &plan.block[second.offset as usize..(second.offset + second.length) as usize];
        assert_eq!(serde_json::from_slice::<Vec<Value>>(&read_segment(range).unwrap()).unwrap(), rows[1]);
    }

    #[test]
    fn stored_and_repeated_messages_are_left_out() {
        let a = messages("checkout", vec![record(T0_NS, 9, "a")]);
        let b = messages("checkout", vec![record(T0_NS, 9, "b")]);
        let texts = [a.clone(), b, a].concat();
        let msgs = parsed(&texts);
        assert_eq!(msgs[0].hash, msgs[2].hash, "a retried export hashes the same");
        assert_ne!(msgs[0].hash, msgs[1].hash);
        let block = BlockId::new(T0_NS / NANOS_PER_MS, 0);
        assert_eq!(plan(&msgs, &HashSet::new(), block).records, 2);
        let only_b = plan(&msgs, &HashSet::from([msgs[0].hash]), block);
        assert_eq!((only_b.records, only_b.hashes.clone()), (1, vec![msgs[1].hash]));
        let none = plan(&msgs, &HashSet::from([msgs[0].hash, msgs[1].hash]), block);
        assert!(none.segments.is_empty() && none.block.is_empty() && none.points.is_empty());
    }

    #[test]
    fn untimed_records_are_filed_at_the_block_time_and_looked_for_within_the_horizon() {
        let now_ms = T0_NS / NANOS_PER_MS + 61_000;
        let texts =
            [messages("checkout", vec![record(0, 9, "untimed")]), messages("x", vec![record(T0_NS + 1, 9, "t")])]
                .concat();
        let msgs = parsed(&texts);
        let plan = plan(&msgs, &HashSet::new(), BlockId::new(now_ms, 0));
        let untimed = plan.segments.iter().find(|s| s.services == ["checkout"]).unwrap();
        assert_eq!((untimed.min_time_ms, untimed.max_time_ms), (now_ms, now_ms));
        let windows = dedupe_windows(&msgs, now_ms);
        assert_eq!(windows[0].from_ms, now_ms - RETRY_HORIZON_MS);
        assert!(windows[0].to_ms > now_ms);
        let t_ms = T0_NS / NANOS_PER_MS;
        assert_eq!((windows[1].from_ms, windows[1].to_ms), (t_ms, t_ms + SEGMENT_SPAN_MS));
    }

    #[test]
    fn large_minutes_are_cut_into_bounded_segments() {
        let body: &'static str = Box::leak("z".repeat(50_000).into_boxed_str());
        let texts = messages("checkout", (0..60).map(|i| record(T0_NS + i, 9, body)).collect());
        let msgs = parsed(&texts);
        let plan = plan(&msgs, &HashSet::new(), BlockId::new(T0_NS / NANOS_PER_MS, 0));
        assert!(plan.segments.len() >= 3, "{}", plan.segments.len());
        assert_eq!(plan.segments.iter().map(|s| s.records).sum::<usize>(), 60);
        assert_eq!(plan.segments.iter().filter(|s| s.newest).count(), 1);
        assert!(plan.segments.last().unwrap().newest);
    }

    #[test]
    fn unreadable_messages_are_errors() {
        for bad in [&b"{}"[..], b"{\"logs\":[[{\"key\":1},{}]]}", b"[1]", b"{\"logs\":"] {
            assert!(parse_message(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        assert!(is_log_message(messages("a", vec![record(T0_NS, 9, "a")])[0].as_bytes()));
        assert!(!is_log_message(b"[]"));
    }
}
