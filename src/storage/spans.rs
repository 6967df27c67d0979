//! Spans in R2 blocks with a D1 index (docs/storage.md), over the ports:
//! storing a batch (read the trace records, plan in pure code, put the
//! block, then write records, the block row and the roll-ups in one guarded
//! transaction, again from the start when another writer got there first),
//! reading traces back from their segments, searching through the block
//! summaries, and pruning blocks past retention.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use futures_util::future::{try_join, try_join_all};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::ports::{result, BlobStore, SqlDatabase, SqlValue, Statement, StorageError};
use super::trace_sql as sql;
use crate::blocks::{read_segment, BlockId, BlockKind};
use crate::domain::ids::{bytes_from_hex, hex};
use crate::domain::time::{nanos_text, nanos_to_ms};
use crate::domain::{SpanId, SpanKind, StatusCode, TraceId};
use crate::ingest::block_summary::{summarize, traces_from_bytes, value_text, BlockSummary};
use crate::ingest::bloom::Bloom;
use crate::ingest::rollups::{BatchRollups, Red};
use crate::ingest::span_rows::StoredRow;
use crate::ingest::span_segment::{self, ANSWER_SHAPE};
use crate::ingest::trace_batch::{BatchPieces, TraceBatchPlan};
use crate::ingest::trace_index::{SpanFacts, TraceRecord, MINUTE_MS};
use crate::query::trace_search::TraceSearch;
use crate::query::trace_view::{sort_span_json, sort_spans, sort_traces, SpanJson};
use crate::query::{StatusFilter, StoredSpan, StoredTrace};

/// Tries of one batch write before giving up (each loses only to a writer that merged the same trace).
pub const WRITE_ATTEMPTS: u16 = 4;
/// Trace ids per record-reading statement.
const RECORDS_PER_STATEMENT: usize = 500;
/// Block rows per search page.
const BLOCKS_PER_PAGE: usize = 100;
/// R2 block reads one search may spend on operation and attribute filters
/// (one range read per block, whatever the traces wanted in it).
pub const MAX_SEARCH_BLOCK_READS: usize = 200;
/// Trace records a search with span filters may read (past them it answers
/// what it found): a span filter nothing matches in blocks that another
/// filter lets through would otherwise read every record of the range.
pub const MAX_SEARCH_SPAN_FILTER_RECORDS: usize = 10_000;
/// Page blocks whose candidates a search reads at once (span filters).
const BLOCK_READS_AT_ONCE: usize = 16;
/// Blocks a stored batch may read back to rebuild the merge state of the
/// traces it continues, newest first: with the batch's own D1 round trips,
/// R2 put and the log store, an invocation stays within the free plan's 50
/// subrequests. A trace spread over more blocks merges against the spans of
/// its newest ones (docs/storage.md says what that costs).
const MAX_STATE_BLOCK_READS: usize = 16;
/// Later than any time: the start of the block walk.
const END_OF_TIME_MS: f64 = 9e15;

/// What storing one batch did.
#[derive(Debug, Default)]
pub struct StoredBatch<'m> {
    /// Analytics Engine points of the spans stored for the first time.
    pub points: Vec<&'m RawValue>,
    pub new_spans: usize,
    /// D1 rows written, as D1 bills them.
    pub rows_written: u64,
}

/// What one prune chunk removed.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct PrunedBlocks {
    pub blocks: u32,
    pub traces: u32,
}

pub struct SpanStore<'a, D, B> {
    db: &'a D,
    blobs: &'a B,
    /// Span attribute keys the block summaries index.
    indexed: &'a [&'a str],
}

/// A record as read: decoded, and its stored bytes (hex) for the write guard.
type ReadRecords = HashMap<TraceId, (TraceRecord, String)>;

#[derive(Deserialize)]
struct RecordRow {
    id: String,
    state: String,
}

#[derive(Deserialize)]
struct BlockRow {
    block_id: String,
    max_start_ms: f64,
    services: String,
    operations: String,
    bloom: String,
}

#[derive(Deserialize)]
struct BlockTraces {
    block_id: String,
    traces: String,
}

#[derive(Deserialize)]
struct ExpiredBlockRow {
    max_start_ms: f64,
    block_id: String,
    traces: String,
}

impl From<StoredRow<'_>> for StoredSpan {
    fn from(s: StoredRow<'_>) -> Self {
        let (status_code, status_message) = match s.status {
            Some(status) => (status.code, status.message),
            None => (s.status_code.unwrap_or_default(), s.status_message),
        };
        let (scope_name, scope_version) = match s.scope {
            Some(scope) => (scope.name, scope.version),
            None => (s.scope_name, s.scope_version),
        };
        let padded = |ns: Cow<'_, str>| ns.parse().map_or_else(|_| ns.into_owned(), nanos_text);
        StoredSpan {
            trace_id: s.trace_id.into_owned(),
            span_id: s.span_id.into_owned(),
            parent_span_id: s.parent_span_id.map(Cow::into_owned).unwrap_or_default(),
            service_name: s.service.into_owned(),
            name: s.name.into_owned(),
            kind: s.kind as u8,
            start_ns: padded(s.start_time_unix_nano),
            end_ns: padded(s.end_time_unix_nano),
            duration_ms: s.duration_ms,
            status_code: status_code as u8,
            status_message: status_message.into_owned(),
            attributes: s.attributes.to_owned(),
            events: s.events.to_owned(),
            links: s.links.to_owned(),
            resource: s.resource.to_owned(),
            scope_name: scope_name.into_owned(),
            scope_version: scope_version.into_owned(),
            trace_state: s.trace_state.into_owned(),
            flags: s.flags,
            dropped_attributes_count: s.dropped_attributes_count,
            dropped_events_count: s.dropped_events_count,
            dropped_links_count: s.dropped_links_count,
            service_version: s.service_version.map(Cow::into_owned),
            environment: s.environment.map(Cow::into_owned),
            callee: s.callee.map(Cow::into_owned),
        }
    }
}

/// A span read from a block: its JSON in the answer's shape, taken as it is
/// (format 2), or read into a `StoredSpan` (format-1 rows).
enum ReadSpan {
    Answer(SpanJson),
    Stored(Box<StoredSpan>),
}

impl ReadSpan {
    fn span_id(&self) -> &str {
        match self {
            Self::Answer(s) => &s.span_id,
            Self::Stored(s) => &s.span_id,
        }
    }

    fn into_stored(self) -> Result<StoredSpan, StorageError> {
        match self {
            Self::Answer(s) => serde_json::from_slice::<StoredRow>(&s.json).map(StoredSpan::from).map_err(corrupt),
            Self::Stored(s) => Ok(*s),
        }
    }

    fn into_json(self) -> SpanJson {
        match self {
            Self::Answer(s) => s,
            Self::Stored(s) => (*s).into(),
        }
    }
}

/// The spans of one inflated segment payload, of either block format.
fn segment_spans(payload: &[u8]) -> Result<Vec<ReadSpan>, StorageError> {
    let stored = |row: StoredRow<'_>| ReadSpan::Stored(Box::new(row.into()));
    let row = |json: &[u8]| serde_json::from_slice::<StoredRow>(json).map(stored).map_err(corrupt);
    match span_segment::read(payload).map_err(corrupt)? {
        None => {
            Ok(serde_json::from_slice::<Vec<StoredRow>>(payload).map_err(corrupt)?.into_iter().map(stored).collect())
        }
        Some(spans) => spans
            .into_iter()
            .map(|s| match s.shape {
                ANSWER_SHAPE => Ok(ReadSpan::Answer(SpanJson {
                    span_id: s.span_id.to_string(),
                    start_ns: s.start_ns,
                    json: s.json.to_vec(),
                })),
                _ => row(s.json),
            })
            .collect(),
    }
}

/// One roll-up row of RED counts, as the upserts read it.
#[derive(Serialize)]
struct RedRow<'r> {
    s: &'r str,
    o: &'r str,
    t: u64,
    n: u32,
    e: u32,
    d: f64,
    b: &'r [u32],
}

impl<'r> RedRow<'r> {
    fn new(service: &'r str, operation: &'r str, time_ms: u64, red: &'r Red) -> Self {
        Self {
            s: service,
            o: operation,
            t: time_ms,
            n: red.requests,
            e: red.errors,
            d: red.duration_sum_ms,
            b: &red.buckets,
        }
    }
}

/// Read spans as `StoredSpan`s (search filters and the Jaeger model read every field).
fn stored_spans(spans: impl IntoIterator<Item = ReadSpan>) -> Result<Vec<StoredSpan>, StorageError> {
    spans.into_iter().map(ReadSpan::into_stored).collect()
}

/// What the merge needs of a span read back from its block.
fn span_facts(span: &StoredSpan) -> Result<SpanFacts<'_>, StorageError> {
    let bad = |what: &str| corrupt(format!("stored span {:?}: {what}", span.span_id));
    let parent_span_id = match span.parent_span_id.as_str() {
        "" => None,
        hex => Some(SpanId::from_hex(hex).map_err(|_| bad("parent span id"))?),
    };
    Ok(SpanFacts {
        span_id: SpanId::from_hex(&span.span_id).map_err(|_| bad("span id"))?,
        parent_span_id,
        service: &span.service_name,
        service_version: span.service_version.as_deref(),
        environment: span.environment.as_deref(),
        name: &span.name,
        kind: SpanKind::from_i32(span.kind.into()).ok_or_else(|| bad("kind"))?,
        start_ns: span.start_ns.parse().map_err(|_| bad("start"))?,
        end_ns: span.end_ns.parse().map_err(|_| bad("end"))?,
        error: span.status_code == StatusCode::Error as u8,
        callee: span.callee.as_deref(),
    })
}

fn corrupt(e: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupt(e.to_string())
}

fn json_arg<T: Serialize + ?Sized>(value: &T) -> Result<SqlValue, StorageError> {
    serde_json::to_string(value).map(SqlValue::Text).map_err(corrupt)
}

fn unhex(text: &str) -> Result<Vec<u8>, StorageError> {
    bytes_from_hex(text).ok_or_else(|| corrupt(format!("not hex: {:.40}", text)))
}

/// The trace as the API summarises it, from its record.
pub fn stored_trace(id: TraceId, record: &TraceRecord) -> StoredTrace {
    let services: Vec<&str> = record.services().collect();
    let root = record.root.as_ref();
    StoredTrace {
        trace_id: id.to_hex(),
        root_span_id: root.map(|r| r.span_id.to_hex()).unwrap_or_default(),
        root_service: root.map(|r| record.name(r.service).to_string()).unwrap_or_default(),
        root_operation: root.map(|r| r.operation.clone()).unwrap_or_default(),
        has_root: u8::from(root.is_some_and(|r| r.parent_fingerprint.is_none())),
        start_ns: nanos_text(record.start_ns),
        end_ns: nanos_text(record.end_ns),
        duration_ms: nanos_to_ms(record.end_ns.saturating_sub(record.start_ns)),
        span_count: record.span_count,
        error_count: record.error_count,
        services: serde_json::to_string(&services).unwrap_or_else(|_| "[]".into()),
    }
}

impl<'a, D: SqlDatabase, B: BlobStore> SpanStore<'a, D, B> {
    pub fn new(db: &'a D, blobs: &'a B, indexed: &'a [&'a str]) -> Self {
        Self { db, blobs, indexed }
    }

    /// Stores the messages' spans once: what earlier batches stored (the same
    /// export retried, a message delivered again) is neither stored nor counted.
    /// `random` varies the block id of batches stored in the same millisecond.
    pub async fn store<'m>(
        &self,
        pieces: &BatchPieces<'m>,
        now_ms: u64,
        random: u16,
    ) -> Result<StoredBatch<'m>, StorageError> {
        for attempt in 0..WRITE_ATTEMPTS {
            let priors = self.records(pieces.trace_ids()).await?;
            let records: HashMap<TraceId, TraceRecord> = priors.iter().map(|(id, (r, _))| (*id, r.clone())).collect();
            let stored = self.stored_spans_continued(pieces, &records).await?;
            let stored = stored
                .iter()
                .map(|(trace, spans)| Ok((*trace, spans.iter().map(span_facts).collect::<Result<_, _>>()?)))
                .collect::<Result<HashMap<_, _>, StorageError>>()?;
            let block_id = BlockId::new(now_ms, random.wrapping_add(attempt));
            let mut batch = pieces.plan(&records, &stored, block_id);
            let Some(start_range_ns) = batch.start_range_ns else {
                return Ok(StoredBatch::default());
            };
            let statements = self.write_statements(&batch, &priors, block_id, start_range_ns)?;
            let key = block_id.key(BlockKind::Spans);
            match self.blobs.put(&key, std::mem::take(&mut batch.block)).await {
                // Another batch drew the same block id: try again under another.
                Err(StorageError::Conflict) => continue,
                put => put?,
            }
            match self.db.batch(statements).await {
                Ok(results) => {
                    return Ok(StoredBatch {
                        new_spans: batch.rows.len(),
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
        Err(StorageError::Unavailable(format!("trace records kept changing over {WRITE_ATTEMPTS} attempts")))
    }

    /// The stored spans of the traces the batch continues (`BatchPieces::continued`).
    async fn stored_spans_continued(
        &self,
        pieces: &BatchPieces<'_>,
        records: &HashMap<TraceId, TraceRecord>,
    ) -> Result<Vec<(TraceId, Vec<StoredSpan>)>, StorageError> {
        let list: Vec<(TraceId, &TraceRecord)> =
            pieces.continued(records).iter().filter_map(|id| records.get(id).map(|r| (*id, r))).collect();
        let spans = self.spans_by_trace(&list, MAX_STATE_BLOCK_READS).await?;
        list.iter().zip(spans).map(|((trace, _), spans)| Ok((*trace, stored_spans(spans)?))).collect()
    }

    fn write_statements(
        &self,
        batch: &TraceBatchPlan<'_>,
        priors: &ReadRecords,
        block_id: BlockId,
        (low_ns, high_ns): (u64, u64),
    ) -> Result<Vec<Statement>, StorageError> {
        let guard: Vec<(String, Option<&str>)> = batch
            .records
            .iter()
            .map(|(id, _)| (id.to_hex(), priors.get(id).map(|(_, state)| state.as_str())))
            .collect();
        let upserts: Vec<(String, String)> =
            batch.records.iter().map(|(id, r)| (id.to_hex(), hex(&r.encode()))).collect();
        let summary =
            summarize(batch.records.iter().map(|(id, _)| *id).collect(), batch.rows.iter().copied(), self.indexed);
        let mut statements = vec![
            Statement::new(sql::GUARD_RECORDS, vec![json_arg(&guard)?]),
            Statement::new(sql::UPSERT_RECORDS, vec![json_arg(&upserts)?]),
            Statement::new(
                sql::INSERT_BLOCK,
                vec![
                    block_id.hex().into(),
                    ((low_ns / 1_000_000) as f64).into(),
                    ((high_ns / 1_000_000) as f64).into(),
                    (batch.rows.len() as f64).into(),
                    hex(&summary.trace_bytes()).into(),
                    json_arg(&summary.services)?,
                    json_arg(&summary.operations)?,
                    hex(&summary.bloom.to_bytes()).into(),
                ],
            ),
        ];
        statements.extend(rollup_statements(&batch.rollups)?);
        Ok(statements)
    }

    /// The stored records of the traces, with their bytes.
    async fn records(&self, ids: &[TraceId]) -> Result<ReadRecords, StorageError> {
        let statements = ids
            .chunks(RECORDS_PER_STATEMENT)
            .map(|chunk| {
                let hex_ids: Vec<String> = chunk.iter().map(TraceId::to_hex).collect();
                Ok(Statement::new(sql::SELECT_RECORDS, vec![json_arg(&hex_ids)?]))
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        if statements.is_empty() {
            return Ok(HashMap::new());
        }
        let mut out = HashMap::new();
        for r in self.db.batch(statements).await? {
            for row in r.rows::<RecordRow>()? {
                let id = TraceId::from_hex(&row.id).map_err(corrupt)?;
                let record = TraceRecord::decode(&unhex(&row.state)?).map_err(corrupt)?;
                out.insert(id, (record, row.state));
            }
        }
        Ok(out)
    }

    /// The trace's summary and spans (as the answer shows them), or `None` when no span of it is in a block.
    pub async fn trace(&self, id: TraceId) -> Result<Option<(StoredTrace, Vec<SpanJson>)>, StorageError> {
        let found = self.trace_with(id, |_, _| async { Ok(()) }).await?;
        Ok(found.map(|(trace, spans, ())| (trace, spans)))
    }

    /// The trace's summary and spans (as the answer shows them, in start
    /// order), with `beside` — given the trace's first start and last end
    /// (unix ns) — run while the segments are read.
    pub async fn trace_with<T, F, Fut>(
        &self,
        id: TraceId,
        beside: F,
    ) -> Result<Option<(StoredTrace, Vec<SpanJson>, T)>, StorageError>
    where
        F: FnOnce(u64, u64) -> Fut,
        Fut: std::future::Future<Output = Result<T, StorageError>>,
    {
        let records = self.records(&[id]).await?;
        let Some((record, _)) = records.get(&id) else { return Ok(None) };
        let (spans, other) =
            try_join(self.spans_by_trace(&[(id, record)], usize::MAX), beside(record.start_ns, record.end_ns)).await?;
        let mut spans: Vec<SpanJson> = spans.into_iter().flatten().map(ReadSpan::into_json).collect();
        sort_span_json(&mut spans);
        Ok(Some((stored_trace(id, record), spans, other)))
    }

    /// When the trace's first span starts and its last ends (unix ns), when any span of it is in a block.
    pub async fn trace_times(&self, id: TraceId) -> Result<Option<(u64, u64)>, StorageError> {
        Ok(self.records(&[id]).await?.get(&id).map(|(r, _)| (r.start_ns, r.end_ns)))
    }

    /// Every span of the given traces, each once, by trace then start.
    pub async fn spans_of_traces(&self, ids: &[TraceId]) -> Result<Vec<StoredSpan>, StorageError> {
        let records = self.records(ids).await?;
        let list: Vec<(TraceId, &TraceRecord)> = records.iter().map(|(id, (r, _))| (*id, r)).collect();
        let mut spans = stored_spans(self.spans_by_trace(&list, usize::MAX).await?.into_iter().flatten())?;
        sort_spans(&mut spans);
        Ok(spans)
    }

    /// The spans of each record. Each block is read once, as one range from
    /// the first to the end of the last segment wanted in it (the segments
    /// of a batch lie side by side), all blocks at once; a span stored in
    /// several batches appears once; blocks removed by retention are skipped,
    /// and so are all but the newest `max_blocks`.
    async fn spans_by_trace(
        &self,
        records: &[(TraceId, &TraceRecord)],
        max_blocks: usize,
    ) -> Result<Vec<Vec<ReadSpan>>, StorageError> {
        let mut ranges = block_ranges(records);
        if ranges.len() > max_blocks {
            crate::sort::sort_by(&mut ranges, |a, b| b.0 .0.cmp(&a.0 .0));
            ranges.truncate(max_blocks);
        }
        // (block, first byte read, bytes): all at once (a search asks for `BLOCK_READS_AT_ONCE` page blocks).
        let reads = ranges.into_iter().map(|(block, start, end)| async move {
            let bytes = self.blobs.get_range(&block.key(BlockKind::Spans), start, end - start).await?;
            Ok::<_, StorageError>(bytes.map(|b| (block, start, b)))
        });
        let blocks: Vec<(BlockId, u32, Vec<u8>)> = try_join_all(reads).await?.into_iter().flatten().collect();
        records
            .iter()
            .map(|(_, record)| {
                let mut seen = HashSet::new();
                let mut spans = Vec::new();
                for s in &record.segments {
                    let Some((_, start, bytes)) = blocks.iter().find(|b| b.0 == s.block) else { continue };
                    let from = s.offset.saturating_sub(*start) as usize;
                    let segment = bytes
                        .get(from..from.saturating_add(s.length as usize))
                        .ok_or_else(|| corrupt("a segment outside its block's read"))?;
                    for span in segment_spans(&read_segment(segment).map_err(corrupt)?)? {
                        if seen.insert(span.span_id().to_string()) {
                            spans.push(span);
                        }
                    }
                }
                Ok(spans)
            })
            .collect()
    }

    /// Traces matching every filter, latest start first. Walks the blocks of
    /// the time range by their latest span start, skips blocks whose summary
    /// rules every filter out, decides time, duration, status and service on
    /// the trace records, and reads spans only for operation and attribute
    /// filters, block by block (at most `MAX_SEARCH_BLOCK_READS` blocks per
    /// search, give or take a page).
    /// Stops once no block left can hold a trace starting later than the
    /// `limit`-th found.
    pub async fn search(&self, q: &TraceSearch) -> Result<Vec<StoredTrace>, StorageError> {
        let limit = q.limit as usize;
        let (from, to) = (q.start_ms.unwrap_or(0.0), q.end_ms.unwrap_or(END_OF_TIME_MS));
        let mut found: Vec<StoredTrace> = Vec::new();
        let mut seen = HashSet::new();
        let (mut block_reads, mut records_read) = (0, 0);
        let mut position = (END_OF_TIME_MS, String::from("~"));
        loop {
            let args = vec![
                from.into(),
                to.into(),
                position.0.into(),
                position.1.as_str().into(),
                (BLOCKS_PER_PAGE as f64).into(),
            ];
            let results = self.db.batch(vec![Statement::new(sql::SELECT_BLOCKS, args)]).await?;
            let page: Vec<BlockRow> = result(&results, 0)?.rows()?;
            let mut done = page.len() < BLOCKS_PER_PAGE;
            // The blocks the summaries let through, newest first; then their trace lists.
            let mut summaries = Vec::new();
            let mut passed = Vec::new();
            for block in &page {
                if kth_start_ms(&found, limit).is_some_and(|kth| block.max_start_ms < kth) {
                    done = true;
                    break;
                }
                let summary = block_summary(block)?;
                if summary_may_match(&summary, q, self.indexed) {
                    passed.push((block.max_start_ms, block.block_id.as_str()));
                    summaries.push((BlockId::parse(&block.block_id).map_err(corrupt)?, block.max_start_ms, summary));
                }
            }
            if !passed.is_empty() {
                let results =
                    self.db.batch(vec![Statement::new(sql::SELECT_BLOCK_TRACES, vec![json_arg(&passed)?])]).await?;
                for row in result(&results, 0)?.rows::<BlockTraces>()? {
                    let block = BlockId::parse(&row.block_id).map_err(corrupt)?;
                    let traces = traces_from_bytes(&unhex(&row.traces)?).ok_or_else(|| corrupt("block trace list"))?;
                    if let Some(summary) = summaries.iter_mut().find(|s| s.0 == block) {
                        summary.2.traces = traces;
                    }
                }
            }
            // Candidates with the index of their block in `summaries` (newest first).
            let mut candidates = Vec::new();
            for (at, summary) in summaries.iter().enumerate() {
                candidates.extend(summary.2.traces.iter().filter(|t| seen.insert(**t)).map(|t| (*t, at)));
            }
            let ids: Vec<TraceId> = candidates.iter().map(|c| c.0).collect();
            records_read += ids.len();
            if needs_spans(q) && records_read >= MAX_SEARCH_SPAN_FILTER_RECORDS {
                done = true;
            }
            let records = self.records(&ids).await?;
            let mut wanted = Vec::new();
            for (id, at) in &candidates {
                let Some((record, _)) = records.get(id) else { continue };
                if !record_matches(record, q) {
                    continue;
                }
                if !needs_spans(q) {
                    found.push(stored_trace(*id, record));
                } else if trace_may_match(record, &summaries, q, self.indexed) {
                    wanted.push((*id, record, *at));
                }
            }
            // Span filters read the candidates' spans `BLOCK_READS_AT_ONCE` page blocks at a
            // time, newest first, until `limit` traces newer than the next block are found.
            let mut next = 0;
            while let Some(&(_, _, first)) = wanted.get(next) {
                let next_start = summaries.get(first).map_or(0.0, |b| b.1);
                if kth_start_ms(&found, limit).is_some_and(|kth| next_start < kth)
                    || block_reads >= MAX_SEARCH_BLOCK_READS
                {
                    done = true;
                    break;
                }
                let end = wanted
                    .iter()
                    .skip(next)
                    .position(|w| w.2 >= first + BLOCK_READS_AT_ONCE)
                    .map_or(wanted.len(), |p| next + p);
                let group: Vec<(TraceId, &TraceRecord)> =
                    wanted.iter().take(end).skip(next).map(|w| (w.0, w.1)).collect();
                block_reads += block_ranges(&group).len();
                for ((id, record), spans) in group.iter().zip(self.spans_by_trace(&group, usize::MAX).await?) {
                    if spans_match(&stored_spans(spans)?, q) {
                        found.push(stored_trace(*id, record));
                    }
                }
                sort_traces(&mut found);
                found.truncate(limit);
                next = end;
            }
            sort_traces(&mut found);
            found.truncate(limit);
            match page.last() {
                Some(last) if !done => position = (last.max_start_ms, last.block_id.clone()),
                _ => break,
            }
        }
        Ok(found)
    }

    /// Rolls the minutes that ended before `now_ms` forward — call minutes
    /// into the call totals, operation minutes into their hours — and moves
    /// both marks (the cron, once a minute); returns the rows written.
    /// Minutes written later for a time before a mark are added by their
    /// batch (`ADD_LATE_CALL_TOTALS`, `ADD_LATE_OPERATION_HOURS`), so each
    /// counts once.
    pub async fn roll_forward(&self, now_ms: f64) -> Result<u64, StorageError> {
        let up_to = ((now_ms.max(0.0) as u64 / MINUTE_MS).saturating_sub(1) * MINUTE_MS) as f64;
        let results = self
            .db
            .batch(vec![
                Statement::new(sql::ROLL_CALL_TOTALS, vec![up_to.into()]),
                Statement::new(sql::MOVE_CALL_MARK, vec![up_to.into()]),
                Statement::new(sql::DELETE_EMPTY_TOTALS, vec![]),
                Statement::new(sql::ROLL_OPERATION_HOURS, vec![up_to.into()]),
                Statement::new(sql::MOVE_HOURS_MARK, vec![up_to.into()]),
            ])
            .await?;
        Ok(results.iter().map(|r| r.rows_written).sum())
    }

    /// Removes up to `max_blocks` blocks whose spans all started before
    /// `cutoff_ms`: their rows and objects, their segments from the records
    /// of their traces, and the records left without a segment.
    pub async fn prune_chunk(&self, cutoff_ms: f64, max_blocks: u32) -> Result<PrunedBlocks, StorageError> {
        let args = vec![cutoff_ms.into(), f64::from(max_blocks).into()];
        let results = self.db.batch(vec![Statement::new(sql::SELECT_EXPIRED_BLOCKS, args)]).await?;
        let expired: Vec<ExpiredBlockRow> = result(&results, 0)?.rows()?;
        if expired.is_empty() {
            return Ok(PrunedBlocks::default());
        }
        let mut blocks = Vec::new();
        let mut traces = Vec::new();
        for row in &expired {
            blocks.push(BlockId::parse(&row.block_id).map_err(corrupt)?);
            traces.extend(traces_from_bytes(&unhex(&row.traces)?).ok_or_else(|| corrupt("block trace list"))?);
        }
        crate::sort::sort_by(&mut traces, Ord::cmp);
        traces.dedup();
        let priors = self.records(&traces).await?;
        let (mut kept, mut emptied, mut guard) = (Vec::new(), Vec::new(), Vec::new());
        for (id, (record, state)) in &priors {
            guard.push((id.to_hex(), Some(state.as_str())));
            let mut record = record.clone();
            record.segments.retain(|s| !blocks.contains(&s.block));
            if record.segments.is_empty() {
                emptied.push(id.to_hex());
            } else {
                kept.push((id.to_hex(), hex(&record.encode())));
            }
        }
        let block_ids: Vec<(f64, &str)> = expired.iter().map(|b| (b.max_start_ms, b.block_id.as_str())).collect();
        self.db
            .batch(vec![
                Statement::new(sql::GUARD_RECORDS, vec![json_arg(&guard)?]),
                Statement::new(sql::UPSERT_RECORDS, vec![json_arg(&kept)?]),
                Statement::new(sql::DELETE_RECORDS, vec![json_arg(&emptied)?]),
                Statement::new(sql::DELETE_BLOCKS, vec![json_arg(&block_ids)?]),
            ])
            .await?;
        // The rows are gone; an object left behind (R2 failing now) is deleted by the lifecycle rule.
        let keys: Vec<String> = blocks.iter().map(|b| b.key(BlockKind::Spans)).collect();
        let _ = self.blobs.delete(&keys).await;
        Ok(PrunedBlocks { blocks: expired.len() as u32, traces: emptied.len() as u32 })
    }
}

/// A block's summary without its traces (read only for the blocks it lets through).
fn block_summary(row: &BlockRow) -> Result<BlockSummary, StorageError> {
    Ok(BlockSummary {
        traces: Vec::new(),
        services: serde_json::from_str(&row.services).map_err(corrupt)?,
        operations: serde_json::from_str(&row.operations).map_err(corrupt)?,
        bloom: Bloom::from_bytes(&unhex(&row.bloom)?).ok_or_else(|| corrupt("block Bloom filter"))?,
    })
}

/// The start (unix ms) of the `limit`-th trace found, once `limit` are found:
/// no block whose spans all started before it can add to the answer.
fn kth_start_ms(found: &[StoredTrace], limit: usize) -> Option<f64> {
    (found.len() >= limit).then(|| found.last().map_or(0.0, |t| nanos_to_ms(t.start_ns.parse().unwrap_or(0))))
}

/// The range of each block to read for the records' segments: from the
/// first segment wanted in it to the end of the last (`(block, start, end)`).
fn block_ranges(records: &[(TraceId, &TraceRecord)]) -> Vec<(BlockId, u32, u32)> {
    let mut ranges: Vec<(BlockId, u32, u32)> = Vec::new();
    for s in records.iter().flat_map(|(_, r)| &r.segments) {
        let end = s.offset.saturating_add(s.length);
        match ranges.iter_mut().find(|r| r.0 == s.block) {
            Some(range) => (range.1, range.2) = (range.1.min(s.offset), range.2.max(end)),
            None => ranges.push((s.block, s.offset, end)),
        }
    }
    ranges
}

/// Whether a block may hold a span some filter asks for. A trace's spans
/// may lie in several blocks, so a block passes when any filter the summary
/// can decide may match in it (or none can be decided there); the trace is
/// then checked whole.
fn summary_may_match(summary: &BlockSummary, q: &TraceSearch, indexed: &[&str]) -> bool {
    let mut decided = Vec::new();
    if let Some(service) = &q.service {
        decided.push(summary.may_have_service(service));
    }
    match (&q.operation, &q.service) {
        (Some(op), Some(service)) if q.exact_operation => decided.push(summary.may_have_operation(service, op)),
        (Some(op), _) => decided.push(summary.may_have_operation_like(op)),
        (None, _) => {}
    }
    for a in &q.attributes {
        decided.push(summary.may_have_attribute(&a.key, &a.value, indexed));
    }
    decided.is_empty() || decided.contains(&true)
}

/// Whether the blocks holding a trace's spans may hold what the span
/// filters ask for: each filter in one of them at least (a block outside
/// `summaries`, the current page, may). Rules out without a read a trace
/// of a block that passed on another filter.
fn trace_may_match(
    record: &TraceRecord,
    summaries: &[(BlockId, f64, BlockSummary)],
    q: &TraceSearch,
    indexed: &[&str],
) -> bool {
    let may = |decide: &dyn Fn(&BlockSummary) -> bool| {
        record.segments.iter().any(|s| summaries.iter().find(|b| b.0 == s.block).is_none_or(|b| decide(&b.2)))
    };
    let operation = match (&q.operation, &q.service) {
        (Some(op), Some(service)) if q.exact_operation => may(&|b| b.may_have_operation(service, op)),
        (Some(op), _) => may(&|b| b.may_have_operation_like(op)),
        (None, _) => true,
    };
    operation && q.attributes.iter().all(|a| may(&|b| b.may_have_attribute(&a.key, &a.value, indexed)))
}

/// The filters a trace record decides.
fn record_matches(record: &TraceRecord, q: &TraceSearch) -> bool {
    let start_ms = nanos_to_ms(record.start_ns);
    let duration_ms = nanos_to_ms(record.end_ns.saturating_sub(record.start_ns));
    q.start_ms.is_none_or(|v| start_ms >= v)
        && q.end_ms.is_none_or(|v| start_ms <= v)
        && q.min_duration_ms.is_none_or(|v| duration_ms >= v)
        && q.max_duration_ms.is_none_or(|v| duration_ms <= v)
        && match q.status {
            Some(StatusFilter::Error) => record.error_count > 0,
            Some(StatusFilter::Ok) => record.error_count == 0,
            None => true,
        }
        && q.service.as_ref().is_none_or(|s| record.services().any(|x| x == s))
}

fn needs_spans(q: &TraceSearch) -> bool {
    q.operation.is_some() || !q.attributes.is_empty()
}

/// The filters only spans decide: some span has the operation, and for each
/// attribute filter some span (or its resource) has the value.
fn spans_match(spans: &[StoredSpan], q: &TraceSearch) -> bool {
    let operation = match (&q.operation, &q.service) {
        (Some(op), Some(service)) if q.exact_operation => {
            spans.iter().any(|s| &s.name == op && &s.service_name == service)
        }
        (Some(op), _) => {
            let op = op.to_ascii_lowercase();
            spans.iter().any(|s| s.name.to_ascii_lowercase().contains(&op))
        }
        (None, _) => true,
    };
    operation
        && q.attributes.iter().all(|a| {
            spans.iter().any(|s| {
                has_attribute(s.attributes.get(), &a.key, &a.value) || has_attribute(s.resource.get(), &a.key, &a.value)
            })
        })
}

fn has_attribute(json: &str, key: &str, value: &str) -> bool {
    serde_json::from_str::<HashMap<Cow<'_, str>, &RawValue>>(json)
        .ok()
        .and_then(|map| map.get(key).map(|v| value_text(v) == value))
        .unwrap_or(false)
}

/// The upserts of one batch's roll-ups, one statement per table that has keys.
fn rollup_statements(r: &BatchRollups) -> Result<Vec<Statement>, StorageError> {
    let mut out = Vec::new();
    let mut add = |sql: &'static str, arg: SqlValue, rows: usize| {
        if rows > 0 {
            out.push(Statement::new(sql, vec![arg]));
        }
    };
    let services: Vec<_> = r
        .services
        .iter()
        .map(|(name, s)| (name, &s.version, &s.environment, s.first_seen_ms, s.last_seen_ms))
        .collect();
    add(sql::UPSERT_SERVICES, json_arg(&services)?, services.len());
    add(sql::INSERT_OPERATIONS, json_arg(&r.operations)?, r.operations.len());
    let op_minutes: Vec<_> = r.operation_minutes.iter().map(|((s, o, t), red)| RedRow::new(s, o, *t, red)).collect();
    add(sql::UPSERT_OPERATION_MINUTES, json_arg(&op_minutes)?, op_minutes.len());
    add(sql::ADD_LATE_OPERATION_HOURS, json_arg(&op_minutes)?, op_minutes.len());
    let calls: Vec<_> =
        r.call_minutes.iter().map(|((a, b, t), c)| (a, b, t, c.count, c.errors, c.duration_sum_ms)).collect();
    add(sql::UPSERT_CALL_MINUTES, json_arg(&calls)?, calls.len());
    add(sql::ADD_LATE_CALL_TOTALS, json_arg(&calls)?, calls.len());
    if r.call_minutes.values().any(|c| c.count < 0) {
        add(sql::DELETE_EMPTY_CALL_MINUTES, json_arg(&calls)?, calls.len());
        add(sql::DELETE_EMPTY_CALL_TOTALS, json_arg(&calls)?, calls.len());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use serde_json::{json, Value};

    use super::*;
    use crate::ingest::block_summary::DEFAULT_INDEXED_ATTRIBUTES;
    use crate::ingest::span_batch;
    use crate::ingest::span_segment::SegmentWriter;
    use crate::ingest::trace_batch::{parse_message, Message};
    use crate::otlp::{decode_traces, Encoding};
    use crate::storage::testing::{MemoryBlobs, Racing, Sqlite};

    /// 2026-11-27 00:00 UTC.
    const T0_MS: u64 = 1_795_737_600_000;

    /// The messages read as one stored batch.
    fn pieces(messages: &[String]) -> BatchPieces<'_> {
        let parsed: Vec<Message> = messages.iter().map(|m| parse_message(m.as_bytes()).unwrap()).collect();
        BatchPieces::read(&parsed).unwrap()
    }

    struct SpanSpec {
        trace: u8,
        span: u8,
        parent: Option<u8>,
        service: &'static str,
        name: &'static str,
        kind: u8,
        start_ms: u64,
        duration_ms: u64,
        error: bool,
        attributes: Vec<(&'static str, Value)>,
    }

    fn span(trace: u8, span: u8, parent: Option<u8>, service: &'static str, name: &'static str) -> SpanSpec {
        SpanSpec {
            trace,
            span,
            parent,
            service,
            name,
            kind: if parent.is_none() { 2 } else { 1 },
            start_ms: u64::from(span),
            duration_ms: 5,
            error: false,
            attributes: Vec::new(),
        }
    }

    fn trace_id(n: u8) -> TraceId {
        TraceId::from_hex(&format!("{n:032x}")).unwrap()
    }

    fn value(v: &Value) -> Value {
        match v {
            Value::String(s) => json!({ "stringValue": s }),
            Value::Number(n) => json!({ "intValue": n.to_string() }),
            other => json!({ "boolValue": other }),
        }
    }

    /// The messages the worker builds from an OTLP/JSON export of these spans.
    fn export(spans: &[SpanSpec]) -> Vec<String> {
        let resource_spans: Vec<Value> = spans
            .iter()
            .map(|s| {
                let start_ns = (T0_MS + s.start_ms) * 1_000_000;
                json!({
                    "resource": { "attributes": [{ "key": "service.name", "value": { "stringValue": s.service } }] },
                    "scopeSpans": [{ "scope": { "name": "test" }, "spans": [{
                        "traceId": format!("{:032x}", s.trace), "spanId": format!("{:016x}", s.span),
                        "parentSpanId": s.parent.map(|p| format!("{p:016x}")).unwrap_or_default(),
                        "name": s.name, "kind": s.kind,
                        "startTimeUnixNano": start_ns.to_string(),
                        "endTimeUnixNano": (start_ns + s.duration_ms * 1_000_000).to_string(),
                        "status": { "code": if s.error { 2 } else { 1 } },
                        "attributes": s.attributes.iter().map(|(k, v)| json!({ "key": k, "value": value(v) })).collect::<Vec<_>>(),
                    }]}],
                })
            })
            .collect();
        let body = json!({ "resourceSpans": resource_spans }).to_string();
        let mut decoded = decode_traces(body.as_bytes(), Encoding::Json).unwrap();
        let batch = span_batch(&decoded.resource_spans, &mut decoded.rejections);
        assert_eq!(decoded.rejections.count, 0, "{}", decoded.rejections.message());
        batch.messages
    }

    struct Fixture {
        db: Sqlite,
        blobs: MemoryBlobs,
        batches: Cell<u16>,
    }

    impl Fixture {
        fn new() -> Self {
            Self { db: Sqlite::with_schema(), blobs: MemoryBlobs::default(), batches: Cell::new(0) }
        }

        fn store(&self) -> SpanStore<'_, Sqlite, MemoryBlobs> {
            SpanStore::new(&self.db, &self.blobs, DEFAULT_INDEXED_ATTRIBUTES)
        }

        /// Stores the messages as one batch: (new spans, D1 rows written).
        fn put(&self, messages: &[String]) -> (usize, u64) {
            let parsed = pieces(messages);
            self.batches.set(self.batches.get() + 1);
            let stored = pollster::block_on(self.store().store(&parsed, T0_MS + 60_000, self.batches.get())).unwrap();
            assert_eq!(stored.points.len(), stored.new_spans);
            (stored.new_spans, stored.rows_written)
        }

        fn search(&self, pairs: &[(&str, &str)]) -> Vec<String> {
            let q = TraceSearch::parse(pairs.iter().copied()).unwrap();
            pollster::block_on(self.store().search(&q)).unwrap().into_iter().map(|t| t.trace_id).collect()
        }

        fn scalar(&self, sql: &str) -> Value {
            self.db
                .query(sql)
                .into_iter()
                .next()
                .and_then(|r| r.into_iter().next())
                .map(|(_, v)| v)
                .unwrap_or(Value::Null)
        }
    }

    #[test]
    fn a_trace_stored_over_several_exports_reads_back_whole_and_once() {
        let f = Fixture::new();
        let mut call = span(1, 2, Some(1), "gateway", "GET orders");
        call.kind = 3;
        call.attributes.push(("peer.service", json!("orders.internal")));
        let first = export(&[span(1, 1, None, "gateway", "GET /checkout"), call]);
        let mut server = span(1, 3, Some(2), "orders", "POST /orders");
        server.kind = 2;
        server.error = true;
        let second = export(&[server, span(1, 4, Some(3), "orders", "SELECT orders")]);

        assert_eq!(f.put(&first).0, 2);
        assert_eq!(f.scalar("SELECT call_count FROM service_dependencies WHERE callee_service = 'orders.internal'"), 1);
        assert_eq!(f.put(&second).0, 2);
        assert_eq!(f.put(&first), (0, 0), "a retried export stores and writes nothing");
        assert_eq!(*f.blobs.puts.borrow(), 2, "one block per batch that stored something");

        let (trace, spans) = pollster::block_on(f.store().trace(trace_id(1))).unwrap().unwrap();
        let ids: Vec<&str> = spans.iter().map(|s| s.span_id.as_str()).collect();
        assert_eq!(ids, ["0000000000000001", "0000000000000002", "0000000000000003", "0000000000000004"]);
        let third: Value = serde_json::from_slice(&spans[2].json).unwrap();
        assert_eq!(third["attributes"], json!({}));
        assert_eq!(
            (trace.root_span_id.as_str(), trace.root_service.as_str(), trace.has_root),
            ("0000000000000001", "gateway", 1)
        );
        assert_eq!((trace.span_count, trace.error_count), (4, 1));
        assert_eq!(trace.services, r#"["gateway","orders"]"#);
        assert_eq!(trace.duration_ms, 8.0, "from the first start to the last end");
        assert!(pollster::block_on(f.store().trace(trace_id(9))).unwrap().is_none());

        // The call first counted towards the uninstrumented callee moved to `orders` when its span arrived.
        let edges =
            f.db.query("SELECT caller_service, callee_service, call_count, error_count FROM service_dependencies");
        assert_eq!(
            Value::from(edges),
            json!([{ "caller_service": "gateway", "callee_service": "orders", "call_count": 1, "error_count": 1 }])
        );
        assert_eq!(f.scalar("SELECT count(*) FROM dependency_minutes"), 1);
        assert_eq!(f.scalar("SELECT sum(requests) FROM operation_red_minutes"), 2, "the root and the server span");
        assert_eq!(f.scalar("SELECT errors FROM operation_red_hours WHERE operation = 'POST /orders'"), 1);
        assert_eq!(f.scalar("SELECT count(*) FROM span_operations"), 4);
        assert_eq!(f.scalar("SELECT count(*) FROM services"), 2);
        assert_eq!(f.scalar("SELECT count(*) FROM spans"), 0, "nothing in the D1-only span table");
    }

    /// What the OpenTelemetry JS SDK's simple processor does: one export per
    /// span as it ends, in any order (requests race). Every order gives the same calls.
    #[test]
    fn every_arrival_order_of_one_span_exports_gives_the_same_calls() {
        let sdk_trace = || {
            let mut root = span(1, 1, None, "gateway", "GET /checkout");
            root.kind = 2;
            let mut call = span(1, 2, Some(1), "gateway", "POST");
            call.kind = 3;
            call.attributes.push(("server.address", json!("checkout.internal")));
            let mut order = span(1, 3, Some(2), "checkout", "POST /orders");
            order.kind = 2;
            let mut db = span(1, 4, Some(3), "checkout", "INSERT");
            db.kind = 3;
            db.attributes.push(("db.system", json!("postgresql")));
            let mut charge = span(1, 5, Some(3), "payments", "POST /charge");
            charge.kind = 2;
            vec![root, call, order, db, charge]
        };
        let mut outcomes = HashSet::new();
        for rotation in 0..5 {
            for swap in 0..4 {
                let mut spans = sdk_trace();
                spans.rotate_left(rotation);
                spans.swap(swap, swap + 1);
                let f = Fixture::new();
                for s in spans {
                    f.put(&export(&[s]));
                }
                let edges = f
                    .db
                    .query("SELECT caller_service, callee_service, call_count FROM service_dependencies ORDER BY 1, 2");
                let (trace, _) = pollster::block_on(f.store().trace(trace_id(1))).unwrap().unwrap();
                outcomes.insert((Value::from(edges).to_string(), trace.root_span_id, trace.has_root));
            }
        }
        let expected = json!([
            { "caller_service": "checkout", "callee_service": "payments", "call_count": 1 },
            { "caller_service": "checkout", "callee_service": "postgresql", "call_count": 1 },
            { "caller_service": "gateway", "callee_service": "checkout", "call_count": 1 },
        ]);
        assert_eq!(outcomes, HashSet::from([(expected.to_string(), "0000000000000001".to_string(), 1)]));
    }

    /// A span reads as the same answer whichever way a block holds it: in
    /// the answer's shape (spliced, or read and written out again for the
    /// Jaeger model and search) or as a format-1 row (in a format-1 segment,
    /// or queued before the upgrade into a format-2 one).
    #[test]
    fn spans_of_every_block_format_read_as_the_same_answer() {
        let mut client = span(1, 2, Some(1), "gateway", "GET orders");
        (client.kind, client.error) = (3, true);
        client.attributes.push(("peer.service", json!("orders")));
        let messages = export(&[client]);
        let message = parse_message(messages[0].as_bytes()).unwrap();
        let row = message[0].0.get();
        let answer: Value = serde_json::from_str(row).unwrap();
        assert_eq!(
            (&answer["kind"], &answer["status"]["code"], &answer["parentSpanId"], &answer["callee"]),
            (&json!("client"), &json!("error"), &json!("0000000000000001"), &json!("orders"))
        );
        let start: u64 = answer["startTimeUnixNano"].as_str().unwrap().parse().unwrap();
        let as_answer = |spans: Vec<ReadSpan>| -> Vec<Value> {
            spans.into_iter().map(|s| serde_json::from_slice(&s.into_json().json).unwrap()).collect()
        };

        let mut writer = SegmentWriter::default();
        writer.push(start, "0000000000000002", ANSWER_SHAPE, row.as_bytes());
        let spliced = segment_spans(&writer.finish()).unwrap();
        assert!(matches!(spliced[0], ReadSpan::Answer(_)));
        let stored = spliced.into_iter().map(|s| ReadSpan::Stored(Box::new(s.into_stored().unwrap()))).collect();
        assert_eq!(as_answer(stored), std::slice::from_ref(&answer), "read and written out again");

        let a = |key: &str| answer[key].clone();
        let row_1 = json!({
            "traceId": a("traceId"), "spanId": a("spanId"), "parentSpanId": a("parentSpanId"), "service": a("service"),
            "serviceVersion": a("serviceVersion"), "environment": a("environment"), "name": a("name"), "kind": 3,
            "startNs": format!("{start:020}"), "endNs": format!("{:020}", start + 5_000_000), "startMs": 0,
            "durationMs": a("durationMs"), "statusCode": 2, "statusMessage": "", "callee": a("callee"),
            "attributes": a("attributes"), "events": a("events"), "links": a("links"), "resource": a("resource"),
            "scopeName": "test", "scopeVersion": "", "traceState": "", "flags": a("flags"),
            "droppedAttributesCount": 0, "droppedEventsCount": 0, "droppedLinksCount": 0,
        })
        .to_string();
        assert_eq!(as_answer(segment_spans(format!("[{row_1}]").as_bytes()).unwrap()), std::slice::from_ref(&answer));
        let mut writer = SegmentWriter::default();
        writer.push(start, "0000000000000002", span_segment::ROW_SHAPE_1, row_1.as_bytes());
        assert_eq!(as_answer(segment_spans(&writer.finish()).unwrap()), [answer]);
        assert!(segment_spans(b"[[1,\"0000000000000002\",9,2]]{}").is_err(), "a corrupt segment is an error");
    }

    #[test]
    fn a_span_repeated_in_another_export_appears_once() {
        let f = Fixture::new();
        f.put(&export(&[span(1, 1, None, "gateway", "GET /")]));
        let mut changed = span(1, 1, None, "gateway", "GET /");
        changed.attributes.push(("retry", json!(true)));
        f.put(&export(&[changed, span(1, 2, Some(1), "gateway", "render")]));
        let (trace, spans) = pollster::block_on(f.store().trace(trace_id(1))).unwrap().unwrap();
        assert_eq!((spans.len(), trace.span_count), (2, 2), "counted once");
        let first: Value = serde_json::from_slice(&spans[0].json).unwrap();
        assert_eq!(first["attributes"], json!({}), "the copy stored first");
        assert_eq!(f.scalar("SELECT sum(requests) FROM operation_red_minutes"), 1, "the root counted once");
        let range_reads = *f.blobs.range_reads.borrow();
        f.put(&export(&[span(1, 3, Some(1), "gateway", "render")]));
        assert_eq!(
            *f.blobs.range_reads.borrow(),
            range_reads + 2,
            "a new span of a stored trace reads its spans back, a range per block, to rebuild the merge state"
        );
        let found = pollster::block_on(f.store().spans_of_traces(&[trace_id(1), trace_id(5)])).unwrap();
        assert_eq!(found.len(), 3);
    }

    #[test]
    fn a_batch_reads_back_at_most_the_newest_state_blocks_of_the_traces_it_continues() {
        let f = Fixture::new();
        let blocks = MAX_STATE_BLOCK_READS as u8 + 4;
        f.put(&export(&[span(1, 1, None, "gateway", "GET /")]));
        for n in 2..=blocks {
            f.put(&export(&[span(1, n, Some(1), "gateway", "step")]));
        }
        let range_reads = *f.blobs.range_reads.borrow();
        f.put(&export(&[span(1, 100, Some(1), "orders", "work")]));
        assert_eq!(*f.blobs.range_reads.borrow(), range_reads + MAX_STATE_BLOCK_READS as u32);
        let (trace, spans) = pollster::block_on(f.store().trace(trace_id(1))).unwrap().unwrap();
        assert_eq!((spans.len(), trace.span_count), (usize::from(blocks) + 1, u32::from(blocks) + 1));
    }

    /// The issue's load mix: 10 traces × 10 spans over three services, 4
    /// attributes per span, one export stored inline.
    #[test]
    fn rows_written_per_span_of_the_load_mix() {
        let f = Fixture::new();
        // As in production: call totals are rolled forward by the cron, not written per batch.
        f.db.conn.execute("UPDATE rollup_marks SET minute_ms = 0", []).unwrap();
        let services = ["gateway", "checkout", "payments"];
        let mut spans = Vec::new();
        for t in 1..=10u8 {
            for i in 1..=10u8 {
                let mut s = span(t, i, (i > 1).then(|| (i - 2) / 3 + 1), services[usize::from(i % 3)], "op");
                s.kind = if i % 3 == 1 { 2 } else { 3 };
                for (k, v) in [
                    ("http.route", "/cart"),
                    ("http.request.method", "GET"),
                    ("user.tier", "gold"),
                    ("peer.service", "inventory"),
                ] {
                    s.attributes.push((k, json!(v)));
                }
                spans.push(s);
            }
        }
        // The marks before the data, as in production where they trail the clock by a minute.
        f.db.conn.execute("UPDATE rollup_marks SET minute_ms = ?1", [T0_MS as i64 - 60_000]).unwrap();
        let (new_spans, rows) = f.put(&export(&spans));
        assert_eq!(new_spans, 100);
        let per_span = rows as f64 / 100.0;
        println!("load mix, one 100-span export: {rows} D1 rows written, {per_span} per span");
        assert!(per_span <= 0.5, "{per_span} rows written per span");
        let more: Vec<SpanSpec> = (1..=10u8).map(|t| span(t + 20, 1, None, "gateway", "op")).collect();
        let (_, rows) = f.put(&export(&more));
        assert!(rows <= 10 + 2 + 4, "{rows} rows for 10 new one-span traces of known services and operations");
        // The same again in new traces: trace records, the block row, the operation's RED minute;
        // the service (seen within the minute) and the operation (known) are not rewritten, and the
        // operation's hour waits for the cron.
        let again: Vec<SpanSpec> = (1..=10u8).map(|t| span(t + 40, 1, None, "gateway", "op")).collect();
        assert_eq!(f.put(&export(&again)).1, 10 + 1 + 1);
    }

    fn searchable() -> Fixture {
        let f = Fixture::new();
        let mut slow = span(1, 1, None, "checkout", "POST /pay");
        slow.duration_ms = 900;
        slow.attributes.push(("http.route", json!("/pay")));
        slow.attributes.push(("customer", json!("acme")));
        let mut failed = span(2, 1, None, "cart", "GET /cart");
        failed.start_ms = 10;
        failed.error = true;
        failed.attributes.push(("http.response.status_code", json!(500)));
        let mut child = span(2, 2, Some(1), "checkout", "reserve");
        child.start_ms = 11;
        let mut later = span(3, 1, None, "cart", "GET /cart");
        later.start_ms = 20;
        f.put(&export(&[slow]));
        f.put(&export(&[failed, child]));
        f.put(&export(&[later]));
        f
    }

    fn hex_of(n: u8) -> String {
        trace_id(n).to_hex()
    }

    #[test]
    fn search_answers_every_filter_latest_first() {
        let f = searchable();
        assert_eq!(f.search(&[]), [hex_of(3), hex_of(2), hex_of(1)]);
        assert_eq!(f.search(&[("limit", "2")]), [hex_of(3), hex_of(2)]);
        assert_eq!(f.search(&[("service", "checkout")]), [hex_of(2), hex_of(1)]);
        assert_eq!(f.search(&[("status", "error")]), [hex_of(2)]);
        assert_eq!(f.search(&[("status", "ok")]), [hex_of(3), hex_of(1)]);
        assert_eq!(f.search(&[("minDuration", "100")]), [hex_of(1)]);
        assert_eq!(f.search(&[("maxDuration", "100")]), [hex_of(3), hex_of(2)]);
        let (from, to) = ((T0_MS + 5).to_string(), (T0_MS + 15).to_string());
        assert_eq!(f.search(&[("start", &from), ("end", &to)]), [hex_of(2)]);
        assert_eq!(f.search(&[("operation", "reSERVE")]), [hex_of(2)]);
        assert_eq!(f.search(&[("attr.http.route", "/pay")]), [hex_of(1)]);
        assert_eq!(f.search(&[("attr.http.response.status_code", "500")]), [hex_of(2)]);
        assert_eq!(
            f.search(&[("attr.customer", "acme")]),
            [hex_of(1)],
            "a key outside the index is read from the spans"
        );
        assert_eq!(f.search(&[("attr.service.name", "cart")]), [hex_of(3), hex_of(2)], "resource attributes");
        assert_eq!(f.search(&[("service", "cart"), ("attr.http.route", "/pay")]), Vec::<String>::new());
        assert_eq!(
            f.search(&[("service", "checkout"), ("status", "error")]),
            [hex_of(2)],
            "filters on different spans"
        );
        let exact = TraceSearch {
            service: Some("checkout".into()),
            operation: Some("reserve".into()),
            exact_operation: true,
            limit: 10,
            ..TraceSearch::default()
        };
        let found = pollster::block_on(f.store().search(&exact)).unwrap();
        assert_eq!(found.iter().map(|t| t.trace_id.clone()).collect::<Vec<_>>(), [hex_of(2)]);
    }

    #[test]
    fn a_search_nothing_matches_reads_no_block() {
        let f = searchable();
        assert!(f.search(&[("service", "nobody")]).is_empty());
        assert!(f.search(&[("attr.http.route", "/nowhere")]).is_empty());
        assert!(f.search(&[("operation", "nothing like it")]).is_empty());
        // The service is in the blocks, the value in none of them: no trace is read either.
        assert!(f.search(&[("service", "checkout"), ("attr.http.route", "/nowhere")]).is_empty());
        assert_eq!(*f.blobs.range_reads.borrow(), 0);
    }

    #[test]
    fn span_filters_read_each_block_once_however_many_traces_it_holds() {
        let f = Fixture::new();
        let spans: Vec<SpanSpec> = (1..=40u8)
            .map(|t| {
                let mut s = span(t, 1, None, "checkout", "POST /pay");
                s.attributes.push(("customer", json!(if t % 4 == 0 { "acme" } else { "other" })));
                s
            })
            .collect();
        f.put(&export(&spans));
        let found = f.search(&[("attr.customer", "acme"), ("limit", "100")]);
        assert_eq!(found.len(), 10, "a key outside the index: every trace of the block is read");
        assert_eq!(*f.blobs.range_reads.borrow(), 1, "one range read for the block's 40 traces");
    }

    #[test]
    fn span_filters_stop_reading_once_the_limit_is_found() {
        let f = Fixture::new();
        for e in 0..20u8 {
            let traces = [2 * e + 1, 2 * e + 2].map(|t| {
                let mut s = span(t, 1, None, "checkout", "POST /pay");
                s.start_ms = u64::from(t) * 1_000;
                s.attributes.push(("customer", json!("acme")));
                s
            });
            f.put(&export(&traces));
        }
        let found = f.search(&[("attr.customer", "acme"), ("limit", "5")]);
        assert_eq!(found, (36..=40u8).rev().map(hex_of).collect::<Vec<_>>(), "the five latest");
        assert_eq!(*f.blobs.range_reads.borrow(), BLOCK_READS_AT_ONCE as u32, "one group of blocks, not all 20");
    }

    #[test]
    fn a_trace_whose_filters_match_in_different_blocks_is_found() {
        let f = Fixture::new();
        let root = span(7, 1, None, "gateway", "GET /");
        let mut child = span(7, 2, Some(1), "orders", "POST /orders");
        child.attributes.push(("http.route", json!("/orders")));
        f.put(&export(&[root]));
        f.put(&export(&[child]));
        assert_eq!(f.search(&[("service", "gateway"), ("attr.http.route", "/orders")]), [hex_of(7)]);
        assert!(f.search(&[("service", "gateway"), ("attr.http.route", "/nowhere")]).is_empty());
    }

    #[test]
    fn call_totals_and_operation_hours_roll_forward_once_and_late_minutes_are_added_by_their_batch() {
        let f = Fixture::new();
        // The mark before the data, as in production where it trails the clock by a minute.
        f.db.conn.execute("UPDATE rollup_marks SET minute_ms = ?1", [T0_MS as i64 - 60_000]).unwrap();
        let totals = |f: &Fixture| {
            f.db.query(sql::SELECT_CALL_TOTALS).iter().map(|r| r["call_count"].clone()).collect::<Vec<_>>()
        };
        let call = |trace| {
            export(&[span(trace, 1, None, "gateway", "GET /"), span(trace, 2, Some(1), "orders", "POST /orders")])
        };
        let hours_match_minutes = |f: &Fixture| {
            let requests = |table| f.scalar(&format!("SELECT coalesce(sum(requests), 0) FROM {table}"));
            assert_eq!(requests("operation_red_hours"), requests("operation_red_minutes"));
        };
        f.put(&call(1));
        assert_eq!(f.scalar("SELECT count(*) FROM service_dependencies"), 0, "the batch wrote the minute only");
        assert_eq!(f.scalar("SELECT count(*) FROM operation_red_hours"), 0, "operation hours wait for the cron");
        assert_eq!(totals(&f), [json!(1)], "the map adds the minutes not rolled yet");
        let store = f.store();
        let rolled = pollster::block_on(store.roll_forward((T0_MS + 120_000) as f64)).unwrap();
        assert!(rolled >= 2, "the totals row and the mark");
        assert_eq!(f.scalar("SELECT call_count FROM service_dependencies"), 1);
        assert_eq!(f.scalar("SELECT minute_ms FROM rollup_marks WHERE name = 'dependency_totals'"), T0_MS + 60_000);
        assert_eq!(totals(&f), [json!(1)], "rolled minutes are not counted twice");
        hours_match_minutes(&f);
        pollster::block_on(store.roll_forward((T0_MS + 180_000) as f64)).unwrap();
        hours_match_minutes(&f);
        assert_eq!(f.scalar("SELECT call_count FROM service_dependencies"), 1, "a minute rolls once");
        // A late call, in a minute the totals are already past: added by its batch.
        f.put(&call(2));
        assert_eq!(f.scalar("SELECT call_count FROM service_dependencies"), 2);
        assert_eq!(totals(&f), [json!(2)]);
        hours_match_minutes(&f);
        pollster::block_on(store.roll_forward((T0_MS + 240_000) as f64)).unwrap();
        assert_eq!(totals(&f), [json!(2)]);
        hours_match_minutes(&f);
        assert!(f.scalar("SELECT sum(requests) FROM operation_red_hours").as_u64() >= Some(2));
    }

    #[test]
    fn a_block_id_drawn_twice_never_overwrites_the_first_block() {
        let f = Fixture::new();
        // The key the first batch draws (Fixture::put: random part 1) is already taken.
        let taken = BlockId::new(T0_MS + 60_000, 1).key(BlockKind::Spans);
        f.blobs.objects.borrow_mut().insert(taken.clone(), b"another batch's block".to_vec());
        assert_eq!(f.put(&export(&[span(1, 1, None, "gateway", "GET /")])).0, 1);
        assert_eq!(f.blobs.objects.borrow()[&taken], b"another batch's block");
        assert_eq!(f.blobs.objects.borrow().len(), 2, "stored under another id");
        let (_, spans) = pollster::block_on(f.store().trace(trace_id(1))).unwrap().unwrap();
        assert_eq!(spans.len(), 1);
    }

    #[test]
    fn a_writer_that_loses_the_race_merges_again_and_nothing_is_lost() {
        let f = Fixture::new();
        let rival = export(&[span(1, 2, Some(1), "orders", "POST /orders")]);
        let racing = Racing::new(&f.db, sql::GUARD_RECORDS, || {
            let parsed = pieces(&rival);
            pollster::block_on(SpanStore::new(&f.db, &f.blobs, &[]).store(&parsed, T0_MS, 1)).unwrap();
        });
        let mine = export(&[span(1, 1, None, "gateway", "GET /")]);
        let parsed = pieces(&mine);
        let stored = pollster::block_on(SpanStore::new(&racing, &f.blobs, &[]).store(&parsed, T0_MS, 2)).unwrap();
        assert_eq!(stored.new_spans, 1);
        assert_eq!(racing.guarded_writes.get(), 2, "the first write lost and was merged again");
        assert_eq!(f.blobs.objects.borrow().len(), 2, "the losing attempt's block was removed");
        let (trace, spans) = pollster::block_on(f.store().trace(trace_id(1))).unwrap().unwrap();
        assert_eq!((trace.span_count, spans.len()), (2, 2));
        assert_eq!(f.scalar("SELECT call_count FROM service_dependencies"), 1, "gateway → orders, once");
    }

    #[test]
    fn a_failed_write_leaves_neither_block_nor_rows() {
        let f = Fixture::new();
        let parsed_export = export(&[span(1, 1, None, "gateway", "GET /")]);
        let parsed = pieces(&parsed_export);
        *f.db.fail_on.borrow_mut() = Some("INTO span_blocks".into());
        assert!(matches!(pollster::block_on(f.store().store(&parsed, T0_MS, 100)), Err(StorageError::Unavailable(_))));
        assert!(f.blobs.objects.borrow().is_empty(), "the block of the failed write is deleted");
        assert_eq!(f.scalar("SELECT count(*) FROM trace_index"), 0, "the batch rolled back");
        *f.db.fail_on.borrow_mut() = None;
        *f.blobs.fail_puts.borrow_mut() = true;
        assert!(pollster::block_on(f.store().store(&parsed, T0_MS, 200)).is_err());
        assert_eq!(f.scalar("SELECT count(*) FROM trace_index"), 0, "no row without its block");
        *f.blobs.fail_puts.borrow_mut() = false;
        assert_eq!(f.put(&parsed_export).0, 1, "the retry stores it");
    }

    #[test]
    fn pruning_removes_expired_blocks_and_the_traces_left_without_spans() {
        let f = Fixture::new();
        let mut old = span(1, 1, None, "gateway", "GET /");
        old.start_ms = 0;
        let mut old_part = span(2, 1, None, "gateway", "GET /");
        old_part.start_ms = 0;
        f.put(&export(&[old, old_part]));
        let mut new_part = span(2, 2, Some(1), "gateway", "render");
        new_part.start_ms = 120_000;
        f.put(&export(&[new_part]));
        let cutoff = (T0_MS + 60_000) as f64;
        let pruned = pollster::block_on(f.store().prune_chunk(cutoff, 10)).unwrap();
        assert_eq!(pruned, PrunedBlocks { blocks: 1, traces: 1 });
        assert_eq!(f.blobs.objects.borrow().len(), 1);
        assert!(pollster::block_on(f.store().trace(trace_id(1))).unwrap().is_none());
        let (_, spans) = pollster::block_on(f.store().trace(trace_id(2))).unwrap().unwrap();
        assert_eq!(spans.len(), 1, "the spans of the newer block stay");
        assert_eq!(pollster::block_on(f.store().prune_chunk(cutoff, 10)).unwrap(), PrunedBlocks::default());
    }
}
