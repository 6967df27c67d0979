//! One stored batch of spans, planned in pure code: the queue messages (or
//! the one inline export) it merges, grouped into per-trace pieces; which
//! pieces are new against the trace records already stored; the R2 block of
//! the new spans (one segment per trace); the updated trace records; the
//! roll-ups; and the Analytics Engine points of the new spans. The store
//! reads every row once (`BatchPieces::read`), reads the prior records of
//! the traces it names, calls `plan`, and writes what it returns.
//!
//! A message is a JSON array of `[row, point]` pairs: the stored span row
//! (`ingest::span_rows`) and its Analytics Engine point.

use std::collections::{HashMap, HashSet};

use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use thiserror::Error;

use super::rollups::BatchRollups;
use super::span_rows::StoredRow;
use super::span_segment::SegmentWriter;
use super::trace_index::{Piece, Prior, SpanFacts, TraceRecord};
use crate::blocks::{BlockId, BlockWriter, SegmentRef};
use crate::domain::{SpanId, StatusCode, TraceId};

#[derive(Debug, Error)]
pub enum TraceBatchError {
    #[error("queued span message is not a JSON array of [row, point] pairs: {0}")]
    Message(serde_json::Error),
    #[error("queued span row is unreadable: {0}")]
    Row(String),
}

/// One message: `[row, point]` pairs, borrowed from the message bytes.
pub type Message<'m> = Vec<(&'m RawValue, &'m RawValue)>;

pub fn parse_message(bytes: &[u8]) -> Result<Message<'_>, TraceBatchError> {
    serde_json::from_slice(bytes).map_err(TraceBatchError::Message)
}

struct Row<'m> {
    trace_id: TraceId,
    span_id: SpanId,
    parent_span_id: Option<SpanId>,
    start_ns: u64,
    end_ns: u64,
    error: bool,
    /// `span_segment::ANSWER_SHAPE` or `ROW_SHAPE_1`.
    shape: u8,
    facts: StoredRow<'m>,
    raw: &'m RawValue,
    point: &'m RawValue,
}

fn read_row<'m>(raw: &'m RawValue, point: &'m RawValue) -> Result<Row<'m>, TraceBatchError> {
    // From bytes, as the readers of blocks take rows: one instance of the row reader in the wasm.
    let facts: StoredRow =
        serde_json::from_slice(raw.get().as_bytes()).map_err(|e| TraceBatchError::Row(e.to_string()))?;
    let bad = |what: &str| TraceBatchError::Row(format!("{what} of span {:?}", facts.span_id));
    let parent_span_id = match facts.parent_span_id.as_deref() {
        None | Some("") => None,
        Some(hex) => Some(SpanId::from_hex(hex).map_err(|_| bad("parent span id"))?),
    };
    let (status, shape) = facts.status_and_shape().ok_or_else(|| bad("status"))?;
    Ok(Row {
        trace_id: TraceId::from_hex(&facts.trace_id).map_err(|_| bad("trace id"))?,
        span_id: SpanId::from_hex(&facts.span_id).map_err(|_| bad("span id"))?,
        parent_span_id,
        start_ns: facts.start_time_unix_nano.parse().map_err(|_| bad("start"))?,
        end_ns: facts.end_time_unix_nano.parse().map_err(|_| bad("end"))?,
        error: status == StatusCode::Error,
        shape,
        facts,
        raw,
        point,
    })
}

impl Row<'_> {
    fn facts(&self) -> SpanFacts<'_> {
        let f = &self.facts;
        SpanFacts {
            span_id: self.span_id,
            parent_span_id: self.parent_span_id,
            service: &f.service,
            service_version: f.service_version.as_deref(),
            environment: f.environment.as_deref(),
            name: &f.name,
            kind: f.kind,
            start_ns: self.start_ns,
            end_ns: self.end_ns,
            error: self.error,
            callee: f.callee.as_deref(),
        }
    }
}

/// One message's spans of one trace, with the hash of their ids (`piece_hash`).
struct PieceRows<'m> {
    hash: u64,
    rows: Vec<Row<'m>>,
}

/// The messages of one stored batch, each row read once: per trace (in the
/// order first seen), the pieces of every message. Read before the prior
/// records (their ids are `trace_ids`), kept across write attempts.
#[derive(Default)]
pub struct BatchPieces<'m> {
    order: Vec<TraceId>,
    by_trace: HashMap<TraceId, Vec<PieceRows<'m>>>,
}

impl<'m> BatchPieces<'m> {
    pub fn read(messages: &[Message<'m>]) -> Result<Self, TraceBatchError> {
        let mut pieces = Self::default();
        for message in messages {
            pieces.add(message)?;
        }
        Ok(pieces)
    }

    /// Adds a message's rows, or none of them when one cannot be read.
    pub fn add(&mut self, message: &Message<'m>) -> Result<(), TraceBatchError> {
        let rows = message.iter().map(|(raw, point)| read_row(raw, point)).collect::<Result<Vec<_>, _>>()?;
        let mut pieces: Vec<(TraceId, Vec<Row<'m>>)> = Vec::new();
        let mut piece_of: HashMap<TraceId, usize> = HashMap::new();
        for row in rows {
            let i = *piece_of.entry(row.trace_id).or_insert_with(|| {
                pieces.push((row.trace_id, Vec::new()));
                pieces.len() - 1
            });
            if let Some((_, rows)) = pieces.get_mut(i) {
                rows.push(row);
            }
        }
        for (trace, rows) in pieces {
            let trace_pieces = self.by_trace.entry(trace).or_insert_with(|| {
                self.order.push(trace);
                Vec::new()
            });
            trace_pieces.push(PieceRows { hash: piece_hash(&rows), rows });
        }
        Ok(())
    }

    /// Every trace the messages touch: the records to read before `plan`.
    pub fn trace_ids(&self) -> &[TraceId] {
        &self.order
    }

    fn of(&self, trace: &TraceId) -> &[PieceRows<'m>] {
        self.by_trace.get(trace).map_or(&[], Vec::as_slice)
    }

    /// Traces the batch continues (a piece not stored before, of a trace
    /// with a record): the store reads their stored spans and hands them to
    /// `plan`, which rebuilds the merge state from them.
    pub fn continued(&self, priors: &HashMap<TraceId, TraceRecord>) -> Vec<TraceId> {
        let continued = |trace: &&TraceId| {
            let Some(prior) = priors.get(*trace) else { return false };
            self.of(trace).iter().any(|piece| !prior.pieces.contains(&piece.hash))
        };
        self.order.iter().filter(continued).copied().collect()
    }

    /// Plans the batch against the records already stored (`priors`) and the
    /// spans stored of the traces it continues (`stored`, see `continued`):
    /// a piece stored before is skipped whole; in a new piece, a span stored
    /// before or earlier in the batch is left out.
    pub fn plan(
        &self,
        priors: &HashMap<TraceId, TraceRecord>,
        stored: &HashMap<TraceId, Vec<SpanFacts<'_>>>,
        block_id: BlockId,
    ) -> TraceBatchPlan<'m> {
        let mut out = TraceBatchPlan::default();
        let mut writer = BlockWriter::default();
        for trace in &self.order {
            let stored_spans = stored.get(trace).map_or(&[][..], Vec::as_slice);
            let prior = priors.get(trace).map(|record| Prior { record, spans: stored_spans });
            let mut seen: HashSet<SpanId> = stored_spans.iter().map(|s| s.span_id).collect();
            let rows_by_piece: Vec<(u64, Vec<&Row<'m>>)> = self
                .of(trace)
                .iter()
                .map(|piece| {
                    let fresh = prior.is_none_or(|p| !p.record.pieces.contains(&piece.hash));
                    let rows = piece.rows.iter().filter(|r| fresh && seen.insert(r.span_id));
                    (piece.hash, rows.collect())
                })
                .collect();
            let pieces: Vec<Piece> = rows_by_piece
                .iter()
                .map(|(hash, rows)| Piece { hash: *hash, spans: rows.iter().map(|r| r.facts()).collect() })
                .collect();
            let Some(mut merge) = TraceRecord::merge(prior, &pieces) else { continue };
            let mut segment = SegmentWriter::default();
            for ((_, rows), piece) in merge.new_pieces.iter().filter_map(|&p| rows_by_piece.get(p).zip(pieces.get(p))) {
                for (row, facts) in rows.iter().zip(&piece.spans) {
                    segment.push(row.start_ns, &row.facts.span_id, row.shape, row.raw.get().as_bytes());
                    out.rows.push(row.raw);
                    out.points.push(row.point);
                    out.rollups.add_span(facts);
                    let (low, high) = out.start_range_ns.unwrap_or((facts.start_ns, facts.start_ns));
                    out.start_range_ns = Some((low.min(facts.start_ns), high.max(facts.start_ns)));
                }
            }
            if !segment.is_empty() {
                let (offset, length) = writer.push(&segment.finish());
                merge.record.segments.push(SegmentRef { block: block_id, offset, length });
            }
            for call in &merge.calls {
                out.rollups.add_call(call);
            }
            out.records.push((*trace, merge.record));
        }
        out.block = writer.finish();
        out
    }
}

/// What one stored batch writes.
#[derive(Debug, Default)]
pub struct TraceBatchPlan<'m> {
    /// The R2 block of the new spans; empty when nothing is new.
    pub block: Vec<u8>,
    /// Trace records that changed, to write back.
    pub records: Vec<(TraceId, TraceRecord)>,
    pub rollups: BatchRollups,
    /// The stored rows of the new spans (what the block holds), and their Analytics Engine points.
    pub rows: Vec<&'m RawValue>,
    pub points: Vec<&'m RawValue>,
    /// Earliest and latest start of the new spans, unix ns.
    pub start_range_ns: Option<(u64, u64)>,
}

/// The first 8 bytes of a SHA-256 over the piece's span ids, in order. A
/// piece with the same spans is the same piece whatever their content: the
/// copy stored first is kept, as for a span repeated in another grouping.
/// (Until 2026-11-28 the hash was over the rows' text, 6 % of the local
/// worker's CPU under load; a message queued before the change is not
/// recognised by its piece, and its spans are then left out one by one
/// against the stored spans the merge reads back.)
fn piece_hash(rows: &[Row<'_>]) -> u64 {
    let mut hasher = Sha256::new();
    for row in rows {
        hasher.update(row.span_id.as_bytes());
    }
    let digest: [u8; 32] = hasher.finalize().into();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blocks::read_segment;
    use crate::domain::SpanKind;
    use crate::ingest::span_segment::{self, ANSWER_SHAPE};

    const T0: u64 = 1_795_789_962_170_000_000;

    /// A stored span row in the answer's shape (`ingest::span_rows`).
    fn row(trace: u8, span: u8, parent: Option<u8>, service: &str, kind: u8) -> String {
        let hex = |n: u8, len: usize| format!("{n:0len$x}");
        let row = serde_json::json!({
            "traceId": hex(trace, 32), "spanId": hex(span, 16), "parentSpanId": parent.map(|p| hex(p, 16)),
            "service": service, "name": format!("op {span}"),
            "kind": SpanKind::from_i32(kind.into()).map_or("bogus", SpanKind::name),
            "startTimeUnixNano": (T0 + u64::from(span) * 1_000_000).to_string(),
            "endTimeUnixNano": (T0 + u64::from(span) * 1_000_000 + 5_000_000).to_string(),
            "status": { "code": if span == 3 { "error" } else { "ok" }, "message": "" }, "attributes": {"k": "v"},
            "serviceVersion": "1.0", "environment": null, "callee": null,
        });
        complete(row)
    }

    /// What every stored row carries beyond the facts a test sets.
    fn complete(mut row: serde_json::Value) -> String {
        for (key, value) in [
            ("durationMs", serde_json::json!(5.0)),
            ("events", serde_json::json!([])),
            ("links", serde_json::json!([])),
            ("resource", serde_json::json!({})),
            ("attributes", serde_json::json!({})),
            ("traceState", serde_json::json!("")),
            ("flags", serde_json::json!(0)),
            ("droppedAttributesCount", serde_json::json!(0)),
            ("droppedEventsCount", serde_json::json!(0)),
            ("droppedLinksCount", serde_json::json!(0)),
        ] {
            row.as_object_mut().unwrap().entry(key).or_insert(value);
        }
        row.to_string()
    }

    /// The same span as a format-1 row (queued by a worker before the upgrade).
    fn row_1(trace: u8, span: u8, parent: Option<u8>, service: &str, kind: u8) -> String {
        let hex = |n: u8, len: usize| format!("{n:0len$x}");
        let row = serde_json::json!({
            "traceId": hex(trace, 32), "spanId": hex(span, 16),
            "parentSpanId": parent.map(|p| hex(p, 16)).unwrap_or_default(),
            "service": service, "serviceVersion": "1.0", "environment": null, "name": format!("op {span}"),
            "kind": kind, "startNs": format!("{:020}", T0 + u64::from(span) * 1_000_000),
            "endNs": format!("{:020}", T0 + u64::from(span) * 1_000_000 + 5_000_000),
            "statusCode": if span == 3 { 2 } else { 1 }, "callee": null, "attributes": {"k": "v"},
        });
        complete(row)
    }

    fn message(rows: &[String]) -> String {
        let pairs: Vec<String> = rows.iter().map(|r| format!("[{r},{{\"p\":{}}}]", r.len())).collect();
        format!("[{}]", pairs.join(","))
    }

    fn plan_of(texts: &[String], priors: &HashMap<TraceId, TraceRecord>) -> TraceBatchPlan<'static> {
        let texts: Vec<&'static str> = texts.iter().map(|t| &*Box::leak(t.clone().into_boxed_str())).collect();
        let messages: Vec<Message> = texts.iter().map(|t| parse_message(t.as_bytes()).unwrap()).collect();
        BatchPieces::read(&messages).unwrap().plan(priors, &HashMap::new(), BlockId::new(1_795_789_962_170, 1))
    }

    fn trace(n: u8) -> TraceId {
        TraceId::from_hex(&format!("{n:032x}")).unwrap()
    }

    #[test]
    fn a_batch_becomes_one_block_with_a_segment_per_trace() {
        let one =
            message(&[row(1, 1, None, "gateway", 2), row(1, 2, Some(1), "gateway", 3), row(2, 9, None, "cart", 2)]);
        let two = message(&[row(1, 3, Some(2), "orders", 2)]);
        let plan = plan_of(&[one, two], &HashMap::new());
        assert_eq!(plan.rows.len(), 4);
        assert_eq!(plan.points.len(), 4);
        assert_eq!(plan.start_range_ns, Some((T0 + 1_000_000, T0 + 9_000_000)), "earliest and latest span start");
        assert_eq!(plan.records.len(), 2);
        let (id, record) = &plan.records[0];
        assert_eq!(*id, trace(1));
        assert_eq!((record.span_count, record.error_count), (3, 1));
        assert_eq!(record.pieces.len(), 2, "a piece per message");
        let segment = record.segments[0];
        let payload =
            read_segment(&plan.block[segment.offset as usize..(segment.offset + segment.length) as usize]).unwrap();
        let spans = span_segment::read(&payload).unwrap().unwrap();
        assert_eq!(spans.len(), 3);
        assert_eq!(
            (spans[2].start_ns, spans[2].span_id, spans[2].shape),
            (T0 + 3_000_000, "0000000000000003", ANSWER_SHAPE)
        );
        let rows: Vec<serde_json::Value> = spans.iter().map(|s| serde_json::from_slice(s.json).unwrap()).collect();
        assert_eq!(rows[2]["service"], "orders");
        assert_eq!(rows[0]["attributes"]["k"], "v", "rows are stored whole");
        assert_eq!(plan.rollups.call_minutes.len(), 1, "gateway → orders");
        assert_eq!(crate::blocks::segments(&plan.block).count(), 2);
    }

    #[test]
    fn format_1_rows_queued_before_the_upgrade_count_the_same_and_are_kept_as_they_came() {
        let specs = [(1, None, "gateway", 2), (2, Some(1), "gateway", 3), (3, Some(2), "orders", 2)];
        let now = message(&specs.map(|(s, p, svc, k)| row(1, s, p, svc, k)));
        let before = message(&specs.map(|(s, p, svc, k)| row_1(1, s, p, svc, k)));
        let (now, before) = (plan_of(&[now], &HashMap::new()), plan_of(&[before], &HashMap::new()));
        assert_eq!(now.rollups, before.rollups);
        let (a, b) = (&now.records[0].1, &before.records[0].1);
        assert_eq!(
            (a.span_count, a.error_count, a.start_ns, a.end_ns),
            (b.span_count, b.error_count, b.start_ns, b.end_ns)
        );
        let segment = b.segments[0];
        let payload =
            read_segment(&before.block[segment.offset as usize..(segment.offset + segment.length) as usize]).unwrap();
        let spans = span_segment::read(&payload).unwrap().unwrap();
        assert!(spans.iter().all(|s| s.shape == span_segment::ROW_SHAPE_1));
        assert_eq!(spans[0].json, before.rows[0].get().as_bytes(), "the row as it was queued");
    }

    #[test]
    fn retried_messages_store_nothing_and_new_spans_of_known_traces_append() {
        let first = message(&[row(1, 1, None, "gateway", 2)]);
        let done = plan_of(std::slice::from_ref(&first), &HashMap::new());
        let priors: HashMap<_, _> = done.records.into_iter().collect();
        let again = plan_of(std::slice::from_ref(&first), &priors);
        assert!(again.block.is_empty() && again.records.is_empty() && again.points.is_empty());
        assert_eq!(again.rollups, BatchRollups::default(), "nothing counted twice");
        let more = plan_of(&[first, message(&[row(1, 2, Some(1), "gateway", 1)])], &priors);
        assert_eq!(more.rows.len(), 1);
        let record = &more.records[0].1;
        assert_eq!((record.span_count, record.segments.len()), (2, 2), "a second segment in a second block");
    }

    #[test]
    fn spans_stored_before_in_another_grouping_are_left_out() {
        let first = message(&[row(1, 1, None, "gateway", 2), row(1, 2, Some(1), "gateway", 3)]);
        let done = plan_of(std::slice::from_ref(&first), &HashMap::new());
        let priors: HashMap<_, _> = done.records.into_iter().collect();
        let regrouped = message(&[
            row(1, 2, Some(1), "gateway", 3),
            row(1, 3, Some(2), "orders", 2),
            row(1, 3, Some(2), "orders", 2),
        ]);
        let pieces = BatchPieces::read(&[parse_message(regrouped.as_bytes()).unwrap()]).unwrap();
        assert_eq!(pieces.continued(&priors), [trace(1)]);
        let retry = BatchPieces::read(&[parse_message(first.as_bytes()).unwrap()]).unwrap();
        assert!(retry.continued(&priors).is_empty(), "a retry continues nothing");
        let id = |n: u8| SpanId::from_hex(&format!("{n:016x}")).unwrap();
        let facts = |n: u8, parent: Option<u8>, kind: SpanKind| SpanFacts {
            span_id: id(n),
            parent_span_id: parent.map(id),
            service: "gateway",
            service_version: Some("1.0"),
            environment: None,
            name: "op",
            kind,
            start_ns: T0,
            end_ns: T0 + 5_000_000,
            error: false,
            callee: None,
        };
        let stored =
            HashMap::from([(trace(1), vec![facts(1, None, SpanKind::Server), facts(2, Some(1), SpanKind::Client)])]);
        let plan = pieces.plan(&priors, &stored, BlockId(9));
        assert_eq!(plan.rows.len(), 1, "span 2 was stored before; span 3 comes twice in the batch");
        assert_eq!(plan.records[0].1.span_count, 3);
        let calls: Vec<_> =
            plan.rollups.call_minutes.iter().map(|((a, b, _), c)| (a.as_str(), b.as_str(), c.count)).collect();
        assert_eq!(calls, [("gateway", "orders", 1)], "the stored client span is span 3's parent");
    }

    #[test]
    fn unreadable_messages_and_rows_are_errors() {
        assert!(parse_message(b"{}").is_err());
        assert!(parse_message(b"[[1]]").is_err());
        let broken = message(&[row(1, 1, None, "gateway", 9)]);
        let broken: &'static str = Box::leak(broken.into_boxed_str());
        let messages = [parse_message(broken.as_bytes()).unwrap()];
        assert!(matches!(BatchPieces::read(&messages), Err(TraceBatchError::Row(_))));
        // The consumer adds message by message: an unreadable one adds none of its rows.
        let half_broken = message(&[row(3, 1, None, "a", 2), row(3, 2, None, "a", 9)]);
        let mut pieces = BatchPieces::default();
        assert!(pieces.add(&parse_message(half_broken.as_bytes()).unwrap()).is_err());
        assert!(pieces.trace_ids().is_empty(), "nothing of the unreadable message");
        let two = message(&[row(4, 1, None, "a", 2), row(4, 2, None, "a", 2), row(5, 1, None, "a", 2)]);
        let pieces = BatchPieces::read(&[parse_message(two.as_bytes()).unwrap()]).unwrap();
        assert_eq!(pieces.trace_ids(), [trace(4), trace(5)]);
    }

    /// The load mix: 10 traces × 10 spans over three services, every
    /// CLIENT span naming an uninstrumented callee. D1 adds the 16-byte trace
    /// id and its row overhead to this; the target for all of it is 16
    /// (16.5 bytes per span here in record version 2, which stored the merge state).
    #[test]
    fn trace_records_of_the_load_mix_take_at_most_9_bytes_per_span() {
        let services = ["gateway", "checkout", "payments"];
        let mut rows = Vec::new();
        for t in 0..10u64 {
            for i in 0..10u64 {
                let start = T0 + i * 1000;
                let row = serde_json::json!({
                    "traceId": format!("{:032x}", t + 1), "spanId": format!("{:016x}", i + 1),
                    "parentSpanId": if i == 0 { String::new() } else { format!("{:016x}", (i - 1) / 3 + 1) },
                    "service": services[(i % 3) as usize], "serviceVersion": "1.0.0",
                    "name": if i == 0 { "GET /checkout".to_string() } else { format!("op-{}", i % 7) },
                    "kind": if i % 3 == 0 { 2 } else { 3 }, "startNs": format!("{start:020}"),
                    "endNs": format!("{:020}", start + 5_000_000), "statusCode": 1,
                    "callee": if i % 3 == 0 { None } else { Some("inventory") },
                });
                rows.push(complete(row));
            }
        }
        let plan = plan_of(&[message(&rows)], &HashMap::new());
        assert_eq!((plan.rows.len(), plan.records.len()), (100, 10));
        let bytes: usize = plan.records.iter().map(|(_, r)| r.encode().len()).sum();
        assert!(bytes <= 900, "{bytes} bytes of trace records for 100 spans");
    }
}
