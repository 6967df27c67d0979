//! Log records in R2 blocks with one D1 row per block segment
//! (docs/storage.md), over the ports: storing a batch (find which messages
//! are already stored, plan in pure code, put the block, then write its
//! segment rows in one guarded transaction), searching newest first through
//! the segment summaries within a read budget, and pruning past retention.

use std::collections::HashSet;

use futures_util::future::try_join_all;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::log_sql as sql;
use super::ports::{result, BlobStore, SqlDatabase, SqlValue, Statement, StorageError, TextRow};
use crate::blocks::{read_segment, BlockId, BlockKind};
use crate::domain::ids::{bytes_from_hex, hex};
use crate::domain::time::nanos_text;
use crate::ingest::bloom::Bloom;
use crate::ingest::log_batch::{bloom_item, dedupe_windows, plan, DedupeWindow, LogMessage, SEGMENT_SPAN_MS};
use crate::query::log_search::{sort_logs, FoundLogs, LogSearch, StoredLog};

/// Tries of one batch write before giving up (each loses only to a writer storing the same message).
pub const WRITE_ATTEMPTS: u16 = 4;
/// Segment rows per search page.
const SEGMENTS_PER_PAGE: usize = 500;
/// Segment rows one search may look at, and segments it may read from R2:
/// past either, it answers what it found with a cursor where it stopped.
pub const MAX_SEARCH_SEGMENT_ROWS: usize = 5_000;
pub const MAX_SEARCH_SEGMENT_READS: usize = 64;
/// Segments read at once.
const READS_AT_ONCE: usize = 8;
const NANOS_PER_MS: u64 = 1_000_000;
/// Later than any time, in ms (within f64's exact integers).
const END_OF_TIME_MS: u64 = 9_000_000_000_000;

/// What storing one batch did.
#[derive(Debug, Default)]
pub struct StoredLogs<'m> {
    /// Analytics Engine points of the records stored for the first time.
    pub points: Vec<&'m RawValue>,
    pub new_records: usize,
    /// D1 rows written, as D1 bills them.
    pub rows_written: u64,
}

/// What one prune chunk removed.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct PrunedLogs {
    pub segments: u32,
    pub records: u32,
}

pub struct LogStore<'a, D, B> {
    db: &'a D,
    blobs: &'a B,
}

#[derive(Deserialize)]
struct SegmentRow {
    max_time_ms: f64,
    block_id: String,
    offset: f64,
    length: f64,
    records: f64,
    newest: f64,
    max_severity: f64,
    services: String,
    bloom: String,
}

/// A log row as a block holds it (`ingest::log_rows`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlockLog {
    key: String,
    service: String,
    time_ns: String,
    observed_ns: String,
    severity_number: i32,
    severity_text: String,
    body: Box<RawValue>,
    attributes: Box<RawValue>,
    resource: Box<RawValue>,
    scope_name: String,
    scope_version: String,
    trace_id: String,
    span_id: String,
    flags: u32,
    event_name: String,
}

impl BlockLog {
    /// The stored record; an untimed one takes its block's time.
    fn stored(self, block_time_ns: &str) -> StoredLog {
        let untimed = self.time_ns.bytes().all(|b| b == b'0');
        StoredLog {
            key: self.key,
            service_name: self.service,
            time_ns: if untimed { block_time_ns.to_string() } else { self.time_ns },
            observed_ns: self.observed_ns,
            severity_number: f64::from(self.severity_number),
            severity_text: self.severity_text,
            body: self.body.get().to_string(),
            attributes: self.attributes.get().to_string(),
            resource: self.resource.get().to_string(),
            scope_name: self.scope_name,
            scope_version: self.scope_version,
            trace_id: self.trace_id,
            span_id: self.span_id,
            flags: f64::from(self.flags),
            event_name: self.event_name,
        }
    }
}

fn corrupt(e: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupt(e.to_string())
}

fn json_arg<T: serde::Serialize + ?Sized>(value: &T) -> Result<SqlValue, StorageError> {
    serde_json::to_string(value).map(SqlValue::Text).map_err(corrupt)
}

fn windows_arg(windows: &[DedupeWindow]) -> Result<SqlValue, StorageError> {
    let list: Vec<(String, u64, u64)> = windows.iter().map(|w| (hex(&w.hash), w.from_ms, w.to_ms)).collect();
    json_arg(&list)
}

fn ns_of(text: &str) -> u64 {
    text.parse().unwrap_or(0)
}

/// The latest nanosecond a segment whose latest record is at `max_time_ms` can hold.
fn last_ns_of_ms(max_time_ms: u64) -> u64 {
    (max_time_ms + 1) * NANOS_PER_MS - 1
}

impl SegmentRow {
    fn max_ms(&self) -> u64 {
        self.max_time_ms as u64
    }

    /// Whether the summary leaves room for a record the search asks for.
    fn may_match(&self, q: &LogSearch) -> Result<bool, StorageError> {
        if q.min_severity.is_some_and(|m| self.max_severity < f64::from(m)) {
            return Ok(false);
        }
        if let Some(service) = &q.service {
            let services: Vec<String> = serde_json::from_str(&self.services).map_err(corrupt)?;
            if !services.contains(service) {
                return Ok(false);
            }
        }
        if q.trace_id.is_none() && q.span_id.is_none() {
            return Ok(true);
        }
        let bytes = bytes_from_hex(&self.bloom).ok_or_else(|| corrupt("segment Bloom filter"))?;
        let bloom = Bloom::from_bytes(&bytes).ok_or_else(|| corrupt("segment Bloom filter"))?;
        Ok(q.trace_id.as_ref().is_none_or(|t| bloom.may_contain(&bloom_item(b"t", t)))
            && q.span_id.as_ref().is_none_or(|s| bloom.may_contain(&bloom_item(b"s", s))))
    }
}

impl<'a, D: SqlDatabase, B: BlobStore> LogStore<'a, D, B> {
    pub fn new(db: &'a D, blobs: &'a B) -> Self {
        Self { db, blobs }
    }

    /// Stores the messages' records once: a message stored before (the same
    /// export retried, a message delivered again) is neither stored nor
    /// counted. `random` varies the block id of batches stored in the same millisecond.
    pub async fn store<'m>(
        &self,
        messages: &[LogMessage<'m>],
        now_ms: u64,
        random: u16,
    ) -> Result<StoredLogs<'m>, StorageError> {
        let windows = dedupe_windows(messages, now_ms);
        for attempt in 0..WRITE_ATTEMPTS {
            let stored = self.stored_hashes(&windows).await?;
            let block_id = BlockId::new(now_ms, random.wrapping_add(attempt));
            let mut batch = plan(messages, &stored, block_id);
            if batch.records == 0 {
                return Ok(StoredLogs::default());
            }
            let new: Vec<DedupeWindow> = windows.iter().filter(|w| batch.hashes.contains(&w.hash)).copied().collect();
            let segments: Vec<_> = batch
                .segments
                .iter()
                .map(|s| {
                    (
                        s.max_time_ms,
                        s.offset,
                        s.length,
                        s.min_time_ms,
                        s.records,
                        u8::from(s.newest),
                        s.max_severity,
                        &s.services,
                        hex(&s.bloom.to_bytes()),
                    )
                })
                .collect();
            let statements = vec![
                Statement::new(sql::GUARD_MESSAGES, vec![windows_arg(&new)?]),
                Statement::new(
                    sql::INSERT_SEGMENTS,
                    vec![block_id.hex().into(), hex(&batch.hashes.concat()).into(), json_arg(&segments)?],
                ),
            ];
            let key = block_id.key(BlockKind::Logs);
            match self.blobs.put(&key, std::mem::take(&mut batch.block)).await {
                // Another batch drew the same block id: try again under another.
                Err(StorageError::Conflict) => continue,
                put => put?,
            }
            match self.db.batch(statements).await {
                Ok(results) => {
                    return Ok(StoredLogs {
                        new_records: batch.records,
                        points: batch.points,
                        rows_written: results.iter().map(|r| r.rows_written).sum(),
                    })
                }
                Err(e) => {
                    // No row refers to the block: remove it (retention would, later).
                    let _ = self.blobs.delete(&[key]).await;
                    if !matches!(e, StorageError::Conflict) {
                        return Err(e);
                    }
                }
            }
        }
        Err(StorageError::Unavailable(format!(
            "log messages kept being stored by others over {WRITE_ATTEMPTS} attempts"
        )))
    }

    async fn stored_hashes(&self, windows: &[DedupeWindow]) -> Result<HashSet<[u8; 8]>, StorageError> {
        let results =
            self.db.batch(vec![Statement::new(sql::SELECT_STORED_MESSAGES, vec![windows_arg(windows)?])]).await?;
        let mut out = HashSet::new();
        for row in result(&results, 0)?.rows::<TextRow>()? {
            let bytes = bytes_from_hex(&row.value).ok_or_else(|| corrupt("message hash"))?;
            out.insert(<[u8; 8]>::try_from(bytes.as_slice()).map_err(corrupt)?);
        }
        Ok(out)
    }

    /// Records matching every filter, newest first, up to the limit. Walks
    /// the segments of the time range by their latest record, skips those
    /// whose summary (services, severities, Bloom filter of trace and span
    /// ids) rules the filters out, and reads the others (several at once);
    /// stops once no segment left can hold a record newer than the
    /// `limit`-th found, or when the read budget is spent.
    pub async fn search(&self, q: &LogSearch) -> Result<FoundLogs, StorageError> {
        let limit = q.limit as usize;
        let from_ms = q.start_ns.as_deref().map_or(0, ns_of) / NANOS_PER_MS;
        let mut to_ns = q.end_ns.as_deref().map_or(u64::MAX, |e| ns_of(e).saturating_sub(1));
        if let Some(c) = &q.cursor {
            to_ns = to_ns.min(ns_of(&c.time_ns));
        }
        let to_ms = (to_ns / NANOS_PER_MS).min(END_OF_TIME_MS);
        let mut position = ((to_ms + SEGMENT_SPAN_MS) as f64, String::from("~"), 0.0);
        let (mut found, mut seen) = (Vec::new(), HashSet::new());
        let (mut rows_seen, mut reads) = (0, 0);
        loop {
            let args = vec![
                (from_ms as f64).into(),
                ((to_ms + SEGMENT_SPAN_MS) as f64).into(),
                (to_ms as f64).into(),
                position.0.into(),
                position.1.as_str().into(),
                position.2.into(),
                (SEGMENTS_PER_PAGE as f64).into(),
            ];
            let results = self.db.batch(vec![Statement::new(sql::SELECT_SEGMENTS, args)]).await?;
            let page: Vec<SegmentRow> = result(&results, 0)?.rows()?;
            rows_seen += page.len();
            let mut candidates = Vec::new();
            for row in &page {
                if row.may_match(q)? {
                    candidates.push(row);
                }
            }
            for group in candidates.chunks(READS_AT_ONCE) {
                let Some(first) = group.first() else { continue };
                if found.len() >= limit && kth_time_ns(&found, limit) > last_ns_of_ms(first.max_ms()) {
                    return Ok(FoundLogs { logs: found, complete_above_ns: None });
                }
                if reads + group.len() > MAX_SEARCH_SEGMENT_READS {
                    return Ok(FoundLogs { logs: found, complete_above_ns: Some(last_ns_of_ms(first.max_ms())) });
                }
                reads += group.len();
                for log in self.read_segments(group).await? {
                    if q.matches(&log) && seen.insert(log.key.clone()) {
                        found.push(log);
                    }
                }
                sort_logs(&mut found);
                found.truncate(limit);
            }
            match page.last() {
                Some(last) if page.len() == SEGMENTS_PER_PAGE => {
                    if rows_seen >= MAX_SEARCH_SEGMENT_ROWS && found.len() < limit {
                        // Every segment after `last` is unseen: records up to its latest may be missing.
                        return Ok(FoundLogs { logs: found, complete_above_ns: Some(last_ns_of_ms(last.max_ms())) });
                    }
                    position = (last.max_time_ms, last.block_id.clone(), last.offset);
                }
                _ => return Ok(FoundLogs { logs: found, complete_above_ns: None }),
            }
        }
    }

    /// The records of some segments (one range read each, all at once); a
    /// block removed by retention is skipped.
    async fn read_segments(&self, rows: &[&SegmentRow]) -> Result<Vec<StoredLog>, StorageError> {
        let reads = rows.iter().map(|row| async move {
            let block = BlockId::parse(&row.block_id).map_err(corrupt)?;
            let bytes = self.blobs.get_range(&block.key(BlockKind::Logs), row.offset as u32, row.length as u32).await?;
            Ok::<_, StorageError>(bytes.map(|b| (block, b)))
        });
        let mut logs = Vec::new();
        for (block, bytes) in try_join_all(reads).await?.into_iter().flatten() {
            let block_time_ns = nanos_text(block.time_ms() * NANOS_PER_MS);
            let rows = read_segment(&bytes).map_err(corrupt)?;
            let records: Vec<BlockLog> = serde_json::from_slice(&rows).map_err(corrupt)?;
            logs.extend(records.into_iter().map(|r| r.stored(&block_time_ns)));
        }
        Ok(logs)
    }

    /// Removes up to `max_segments` segments whose records are all older
    /// than `cutoff_ms`, and the objects whose last segment went.
    pub async fn prune_chunk(&self, cutoff_ms: f64, max_segments: u32) -> Result<PrunedLogs, StorageError> {
        let args = vec![cutoff_ms.into(), f64::from(max_segments).into()];
        let results = self.db.batch(vec![Statement::new(sql::SELECT_EXPIRED_SEGMENTS, args)]).await?;
        let expired: Vec<SegmentRow> = result(&results, 0)?.rows()?;
        if expired.is_empty() {
            return Ok(PrunedLogs::default());
        }
        let keys: Vec<(f64, &str, f64)> =
            expired.iter().map(|r| (r.max_time_ms, r.block_id.as_str(), r.offset)).collect();
        self.db.batch(vec![Statement::new(sql::DELETE_SEGMENTS, vec![json_arg(&keys)?])]).await?;
        // The rows are gone; an object left behind (R2 failing now) is deleted by the lifecycle rule.
        let objects = expired
            .iter()
            .filter(|r| r.newest != 0.0)
            .map(|r| BlockId::parse(&r.block_id).map(|b| b.key(BlockKind::Logs)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(corrupt)?;
        if !objects.is_empty() {
            let _ = self.blobs.delete(&objects).await;
        }
        Ok(PrunedLogs { segments: expired.len() as u32, records: expired.iter().map(|r| r.records as u32).sum() })
    }
}

/// The time of the `limit`-th record found (they are sorted newest first).
fn kth_time_ns(found: &[StoredLog], limit: usize) -> u64 {
    found.get(limit.saturating_sub(1)).map_or(0, |l| ns_of(&l.time_ns))
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;
    use crate::domain::{AnyValue, KeyValue, LogRecord, Resource, ResourceLogs, ScopeLogs, SpanId, TraceId};
    use crate::ingest::log_batch::parse_message;
    use crate::otlp::Rejections;
    use crate::storage::testing::{MemoryBlobs, Racing, Sqlite};

    /// 2026-11-27 00:00 UTC.
    const T0_MS: u64 = 1_795_737_600_000;

    struct Spec {
        service: &'static str,
        ms: u64,
        severity: i32,
        body: &'static str,
        trace: Option<u8>,
    }

    fn log(service: &'static str, ms: u64, severity: i32, body: &'static str, trace: Option<u8>) -> Spec {
        Spec { service, ms, severity, body, trace }
    }

    fn trace_hex(n: u8) -> String {
        format!("{n:032x}")
    }

    /// The queue messages of one export.
    fn export(specs: &[Spec]) -> Vec<String> {
        let resource_logs = specs
            .iter()
            .map(|s| ResourceLogs {
                resource: Resource {
                    attributes: vec![KeyValue { key: "service.name".into(), value: AnyValue::Str(s.service.into()) }],
                    dropped_attributes_count: 0,
                },
                scope_logs: vec![ScopeLogs {
                    log_records: vec![LogRecord {
                        time_unix_nano: if s.ms == 0 { 0 } else { (T0_MS + s.ms) * NANOS_PER_MS },
                        severity_number: s.severity,
                        body: AnyValue::Str(s.body.into()),
                        trace_id: s.trace.map(|t| TraceId::from_hex(&trace_hex(t)).unwrap()),
                        span_id: s.trace.map(|t| SpanId::from_hex(&format!("{t:016x}")).unwrap()),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
            })
            .collect::<Vec<_>>();
        crate::ingest::log_batch(&resource_logs, T0_MS as f64, &mut Rejections::default()).messages
    }

    struct Fixture {
        db: Sqlite,
        blobs: MemoryBlobs,
        /// The random part of block ids, one per store.
        stores: Cell<u16>,
    }

    impl Fixture {
        fn new() -> Self {
            Self { db: Sqlite::with_schema(), blobs: MemoryBlobs::default(), stores: Cell::new(0) }
        }

        fn store(&self) -> LogStore<'_, Sqlite, MemoryBlobs> {
            LogStore::new(&self.db, &self.blobs)
        }

        fn put(&self, texts: &[String], now_ms: u64) -> (usize, usize, u64) {
            let messages: Vec<LogMessage> = texts.iter().map(|t| parse_message(t.as_bytes()).unwrap()).collect();
            self.stores.set(self.stores.get() + 10);
            let stored = pollster::block_on(self.store().store(&messages, now_ms, self.stores.get())).unwrap();
            (stored.new_records, stored.points.len(), stored.rows_written)
        }

        fn find(&self, query: &str) -> FoundLogs {
            let q = LogSearch::parse(query.split('&').filter_map(|p| p.split_once('='))).unwrap();
            pollster::block_on(self.store().search(&q)).unwrap()
        }

        fn bodies(&self, query: &str) -> Vec<String> {
            self.find(query).logs.iter().map(|l| serde_json::from_str::<String>(&l.body).unwrap()).collect()
        }

        fn scalar(&self, sql: &str) -> i64 {
            self.db.query(sql)[0].values().next().unwrap().as_i64().unwrap()
        }
    }

    fn mixed() -> Vec<Spec> {
        vec![
            log("checkout", 1_000, 9, "order placed", Some(1)),
            log("checkout", 2_000, 17, "Payment FAILED: card declined", Some(1)),
            log("cart", 3_000, 13, "cart is slow", Some(2)),
            log("cart", 70_000, 9, "cart emptied", None),
            log("email", 200_000, 21, "smtp down", None),
        ]
    }

    #[test]
    fn a_batch_is_one_object_and_a_row_per_minute_and_reads_back_newest_first() {
        let f = Fixture::new();
        let (records, points, rows) = f.put(&export(&mixed()), T0_MS + 300_000);
        assert_eq!((records, points), (5, 5));
        assert_eq!(rows, 3, "one segment row per minute of record time");
        assert_eq!(*f.blobs.puts.borrow(), 1);
        assert_eq!(
            f.bodies(""),
            ["smtp down", "cart emptied", "cart is slow", "Payment FAILED: card declined", "order placed"]
        );
        let first = &f.find("limit=1").logs[0];
        assert_eq!((first.service_name.as_str(), first.severity_number), ("email", 21.0));
        assert_eq!(first.time_ns, nanos_text((T0_MS + 200_000) * NANOS_PER_MS));
    }

    #[test]
    fn every_filter_applies_and_summaries_spare_reads() {
        let f = Fixture::new();
        f.put(&export(&mixed()), T0_MS + 300_000);
        assert_eq!(f.bodies("service=cart"), ["cart emptied", "cart is slow"]);
        assert_eq!(f.bodies("severity=error"), ["smtp down", "Payment FAILED: card declined"]);
        assert_eq!(f.bodies(&format!("traceId={}", trace_hex(1))), ["Payment FAILED: card declined", "order placed"]);
        assert_eq!(f.bodies(&format!("spanId={:016x}", 2)), ["cart is slow"]);
        assert_eq!(f.bodies("q=payment failed"), ["Payment FAILED: card declined"]);
        let (start, end) = (T0_MS + 2_000, T0_MS + 70_000);
        assert_eq!(f.bodies(&format!("start={start}&end={end}")), ["cart is slow", "Payment FAILED: card declined"]);
        let reads = *f.blobs.range_reads.borrow();
        assert!(f.bodies("service=nobody").is_empty());
        assert!(f.bodies(&format!("traceId={}", trace_hex(9))).is_empty());
        assert!(f.bodies("severity=fatal&service=checkout").is_empty());
        assert_eq!(*f.blobs.range_reads.borrow(), reads, "no segment read for what the summaries rule out");
    }

    #[test]
    fn pages_follow_the_cursor_through_every_record_once() {
        let f = Fixture::new();
        let specs: Vec<Spec> = (0..40).map(|i| log("svc", 1_000 + i * 9_000, 9, "tick", None)).collect();
        for chunk in specs.chunks(7) {
            f.put(&export(chunk), T0_MS + 400_000);
        }
        let mut query = String::from("limit=6");
        let mut all = Vec::new();
        loop {
            let found = f.find(&query);
            let (next, views) = crate::query::log_search::page(found, Vec::new(), 6);
            all.extend(views.into_iter().map(|v| v.time_unix_nano));
            match next {
                Some(c) => query = format!("limit=6&cursor={c}"),
                None => break,
            }
        }
        let expected: Vec<String> =
            (0..40).rev().map(|i| ((T0_MS + 1_000 + i * 9_000) * NANOS_PER_MS).to_string()).collect();
        assert_eq!(all, expected);
    }

    #[test]
    fn a_retried_export_or_redelivered_message_stores_and_counts_nothing_twice() {
        let f = Fixture::new();
        let first = export(&mixed()[..2]);
        assert_eq!(f.put(&first, T0_MS + 300_000).0, 2);
        assert_eq!(f.put(&first, T0_MS + 301_000), (0, 0, 0), "the same export again");
        let second = export(&mixed()[2..]);
        let merged = [first.clone(), second].concat();
        assert_eq!(f.put(&merged, T0_MS + 302_000).0, 3, "only the new message of a merged batch");
        assert_eq!(f.bodies("").len(), 5);
        assert_eq!(*f.blobs.puts.borrow(), 2);
        // Records without any time are filed at their block's time and still found on a retry.
        let untimed = export(&[log("cron", 0, 9, "no clock", None)]);
        assert_eq!(f.put(&untimed, T0_MS + 600_000).0, 1);
        assert_eq!(f.put(&untimed, T0_MS + 3_600_000).0, 0);
        assert_eq!(f.find("service=cron").logs[0].time_ns, nanos_text((T0_MS + 600_000) * NANOS_PER_MS));
    }

    #[test]
    fn a_block_id_drawn_twice_never_overwrites_the_first_block() {
        let f = Fixture::new();
        let taken = BlockId::new(T0_MS, 3).key(BlockKind::Logs);
        f.blobs.objects.borrow_mut().insert(taken.clone(), b"another batch's block".to_vec());
        let texts = export(&mixed());
        let messages: Vec<LogMessage> = texts.iter().map(|t| parse_message(t.as_bytes()).unwrap()).collect();
        assert_eq!(pollster::block_on(f.store().store(&messages, T0_MS, 3)).unwrap().new_records, 5);
        assert_eq!(f.blobs.objects.borrow()[&taken], b"another batch's block");
        assert_eq!(f.bodies("").len(), 5);
    }

    #[test]
    fn a_writer_that_loses_the_race_stores_only_what_is_still_new() {
        let f = Fixture::new();
        let shared = export(&mixed()[..1]);
        let rival = shared.clone();
        let racing = Racing::new(&f.db, sql::GUARD_MESSAGES, || {
            let parsed: Vec<LogMessage> = rival.iter().map(|m| parse_message(m.as_bytes()).unwrap()).collect();
            pollster::block_on(LogStore::new(&f.db, &f.blobs).store(&parsed, T0_MS, 1)).unwrap();
        });
        let mine = [shared, export(&mixed()[1..2])].concat();
        let parsed: Vec<LogMessage> = mine.iter().map(|m| parse_message(m.as_bytes()).unwrap()).collect();
        let stored = pollster::block_on(LogStore::new(&racing, &f.blobs).store(&parsed, T0_MS + 10, 2)).unwrap();
        assert_eq!(stored.new_records, 1, "the rival's message is not stored again");
        assert_eq!(racing.guarded_writes.get(), 2);
        assert_eq!(f.blobs.objects.borrow().len(), 2, "the losing attempt's block was removed");
        assert_eq!(f.bodies("").len(), 2);
    }

    #[test]
    fn failed_writes_leave_neither_block_nor_rows() {
        let f = Fixture::new();
        let texts = export(&mixed());
        let messages: Vec<LogMessage> = texts.iter().map(|t| parse_message(t.as_bytes()).unwrap()).collect();
        *f.db.fail_on.borrow_mut() = Some("INSERT INTO log_segments".into());
        assert!(matches!(pollster::block_on(f.store().store(&messages, T0_MS, 1)), Err(StorageError::Unavailable(_))));
        assert!(f.blobs.objects.borrow().is_empty());
        *f.db.fail_on.borrow_mut() = None;
        *f.blobs.fail_puts.borrow_mut() = true;
        assert!(pollster::block_on(f.store().store(&messages, T0_MS, 1)).is_err());
        assert_eq!(f.scalar("SELECT count(*) FROM log_segments"), 0);
        *f.blobs.fail_puts.borrow_mut() = false;
        assert_eq!(f.put(&texts, T0_MS + 300_000).0, 5, "the retry stores everything");
    }

    #[test]
    fn a_search_out_of_reads_stops_with_a_cursor_that_resumes_it() {
        let f = Fixture::new();
        // One segment per minute, and a text no record has: every segment must be read.
        let minutes = MAX_SEARCH_SEGMENT_READS as u64 + 20;
        for i in 0..minutes {
            f.put(&export(&[log("svc", i * 60_000 + 1, 9, "line", None)]), T0_MS + minutes * 60_000);
        }
        let found = f.find("q=needle");
        assert!(found.logs.is_empty());
        let bound = found.complete_above_ns.expect("stopped short");
        let (next, _) = crate::query::log_search::page(found, Vec::new(), 100);
        let resumed = f.find(&format!("q=needle&cursor={}", next.unwrap()));
        assert_eq!(resumed.complete_above_ns, None, "the rest fits in the second page");
        assert!(bound < (T0_MS + minutes * 60_000) * NANOS_PER_MS);
        assert_eq!(f.bodies("q=line&limit=1000").len() as u64, minutes.min(MAX_SEARCH_SEGMENT_READS as u64));
    }

    #[test]
    fn pruning_removes_old_segments_and_objects_whose_last_segment_went() {
        let f = Fixture::new();
        f.put(&export(&[log("a", 1_000, 9, "old", None), log("a", 130_000, 9, "newer", None)]), T0_MS + 200_000);
        f.put(&export(&[log("a", 500_000, 9, "new", None)]), T0_MS + 600_000);
        let store = f.store();
        let pruned = pollster::block_on(store.prune_chunk((T0_MS + 60_000) as f64, 10)).unwrap();
        assert_eq!(pruned, PrunedLogs { segments: 1, records: 1 });
        assert_eq!(f.blobs.objects.borrow().len(), 2, "the first block keeps a segment");
        assert_eq!(f.bodies(""), ["new", "newer"]);
        let pruned = pollster::block_on(store.prune_chunk((T0_MS + 400_000) as f64, 10)).unwrap();
        assert_eq!(pruned, PrunedLogs { segments: 1, records: 1 });
        assert_eq!(f.blobs.objects.borrow().len(), 1, "its last segment gone, the object is deleted");
        assert_eq!(f.bodies(""), ["new"]);
    }
}
