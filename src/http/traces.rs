//! `POST /v1/traces`, `GET /api/traces`, `GET /api/traces/:traceId`.

use futures_util::future::join;
use worker::{Context, Env, Request, Response};

use super::{block_random, db, enqueue, json, now_ms, parse_inline, query_pairs, read_otlp, respond, BlockBackends};
use crate::api::ApiError;
use crate::domain::TraceId;
use crate::ingest::span_batch;
use crate::ingest::trace_batch::{parse_message, BatchPieces};
use crate::otlp::decode_traces;
use crate::otlp::response::{export_response, Signal};
use crate::query::log_search::{LogSearch, TRACE_LOG_COUNT_LIMIT};
use crate::query::trace_view::{combine, merge_found, trace_detail_json, SpanJson, TraceSummary};
use crate::query::TraceSearch;
use crate::storage::spans::SpanStore;
use crate::store::analytics_engine::write_stored_points;
use crate::store::bindings;
use crate::store::traces::D1TraceStore;

/// Queues the export's spans (or stores them inline, `enqueue`).
pub async fn ingest(req: &mut Request, env: &Env, ctx: &Context) -> Result<Response, ApiError> {
    let (body, encoding) = read_otlp(req, env).await?;
    let mut export = decode_traces(&body, encoding)?;
    let batch = span_batch(&export.resource_spans, &mut export.rejections);
    let inline = enqueue(env, &batch.messages).await?;
    let parsed = parse_inline(&inline, parse_message)?;
    if !parsed.is_empty() {
        let pieces = BatchPieces::read(&parsed).map_err(|e| ApiError::internal(e.to_string()))?;
        store_messages(env, ctx, &pieces).await?;
    }
    Ok(respond(200, encoding.content_type(), export_response(Signal::Traces, &export.rejections, encoding), None))
}

/// Stores span messages as one batch (inline, or a batch of the queue
/// consumer) and writes the Analytics Engine points of the spans that were new.
pub async fn store_messages(env: &Env, ctx: &Context, pieces: &BatchPieces<'_>) -> Result<usize, ApiError> {
    let backends = BlockBackends::of(env)?;
    let indexed = backends.indexed();
    let stored =
        SpanStore::new(&backends.db, &backends.blobs, &indexed).store(pieces, now_ms() as u64, block_random()).await?;
    write_stored_points(env, ctx, bindings::AE_TRACES, &stored.points)?;
    Ok(stored.new_spans)
}

pub async fn search(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let pairs = query_pairs(req);
    let query = TraceSearch::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    let (backends, legacy) = (BlockBackends::of(env)?, D1TraceStore::new(db(env)?));
    let indexed = backends.indexed();
    let blocks = SpanStore::new(&backends.db, &backends.blobs, &indexed);
    let (found, old) = join(blocks.search(&query), legacy.search(&query)).await;
    let traces: Vec<TraceSummary> =
        merge_found(found?, old?, query.limit).into_iter().map(TraceSummary::from).collect();
    json(200, &TraceList { traces, limit: query.limit })
}

#[derive(serde::Serialize)]
struct TraceList {
    traces: Vec<TraceSummary>,
    limit: u32,
}

/// The trace from both stores, and its log count: the records in blocks
/// within the trace's time (counted while its spans are read) and the rows
/// of the pre-block `logs` table.
pub async fn get(trace_id: &str, env: &Env) -> Result<Response, ApiError> {
    let id = TraceId::from_hex(trace_id).map_err(|e| ApiError::bad_request(format!("invalid traceId: {e}")))?;
    let (backends, legacy) = (BlockBackends::of(env)?, D1TraceStore::new(db(env)?));
    let indexed = backends.indexed();
    let hex = id.to_string();
    let (blocks, logs) = (SpanStore::new(&backends.db, &backends.blobs, &indexed), backends.logs());
    let count_logs = |start_ns, end_ns| {
        let mut q = LogSearch { trace_id: Some(hex.clone()), limit: TRACE_LOG_COUNT_LIMIT, ..Default::default() };
        q.within_trace(start_ns, end_ns);
        let logs = &logs;
        async move { Ok(logs.search(&q).await?.logs.len() as u64) }
    };
    // Both stores at once: a trace stored across the upgrade has spans in each.
    let (in_blocks, old) = join(blocks.trace_with(id, count_logs), legacy.trace(&hex)).await;
    let (old, old_log_count) = old?;
    let old = old.map(|(trace, spans)| (trace, spans.into_iter().map(SpanJson::from).collect()));
    let (in_blocks, block_log_count) = match in_blocks? {
        Some((trace, spans, count)) => (Some((trace, spans)), count),
        None => (None, 0),
    };
    let Some((trace, spans)) = combine(in_blocks, old) else {
        return Err(ApiError::not_found(format!("trace {id} not found")));
    };
    let body = trace_detail_json(trace, &spans, old_log_count + block_log_count)
        .map_err(|e| ApiError::internal(format!("response encoding: {e}")))?;
    Ok(respond(200, "application/json", body, None))
}
