//! `POST /v1/logs` and `GET /api/logs`.

use futures_util::future::join;
use worker::{Context, Env, Request, Response};

use super::{block_random, db, enqueue, json, now_ms, parse_inline, query_pairs, read_otlp, respond, BlockBackends};
use crate::api::ApiError;
use crate::domain::TraceId;
use crate::ingest::log_batch;
use crate::ingest::log_batch::{parse_message, LogMessage};
use crate::otlp::decode_logs;
use crate::otlp::response::{export_response, Signal};
use crate::query::log_search::{page, LogSearch, LogView};
use crate::storage::spans::SpanStore;
use crate::store::analytics_engine::write_stored_points;
use crate::store::bindings;
use crate::store::logs::D1LogStore;

/// Queues the export's records (or stores them inline, `enqueue`).
pub async fn ingest(req: &mut Request, env: &Env, ctx: &Context) -> Result<Response, ApiError> {
    let (body, encoding) = read_otlp(req, env).await?;
    let mut export = decode_logs(&body, encoding)?;
    let batch = log_batch(&export.resource_logs, now_ms(), &mut export.rejections);
    let inline = enqueue(env, &batch.messages).await?;
    let parsed = parse_inline(&inline, parse_message)?;
    if !parsed.is_empty() {
        store_messages(env, ctx, &parsed).await?;
    }
    Ok(respond(200, encoding.content_type(), export_response(Signal::Logs, &export.rejections, encoding), None))
}

/// Stores log messages as one batch (inline, or a batch of the queue
/// consumer) and writes the Analytics Engine points of the records that were new.
pub async fn store_messages(env: &Env, ctx: &Context, messages: &[LogMessage<'_>]) -> Result<usize, ApiError> {
    let backends = BlockBackends::of(env)?;
    let stored = backends.logs().store(messages, now_ms() as u64, block_random()).await?;
    write_stored_points(env, ctx, bindings::AE_LOGS, &stored.points)?;
    Ok(stored.new_records)
}

/// Records from the blocks and from the `logs` table of before migration
/// 0010, merged. A trace id without a time range searches the trace's time
/// (`LogSearch::within_trace`), when its spans are stored.
pub async fn search(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let pairs = query_pairs(req);
    let mut query = LogSearch::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    let backends = BlockBackends::of(env)?;
    if let (Some(trace), None, None) = (&query.trace_id, &query.start_ns, &query.end_ns) {
        let id = TraceId::from_hex(trace).map_err(|e| ApiError::bad_request(format!("traceId: {e}")))?;
        if let Some((start_ns, end_ns)) = SpanStore::new(&backends.db, &backends.blobs, &[]).trace_times(id).await? {
            query.within_trace(start_ns, end_ns);
        }
    }
    let legacy = D1LogStore::new(db(env)?);
    let (found, old) = join(backends.logs().search(&query), legacy.search(&query)).await;
    let (next_cursor, logs) = page(found?, old?, query.limit);
    json(200, &LogPage { logs, next_cursor, limit: query.limit })
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct LogPage {
    logs: Vec<LogView>,
    next_cursor: Option<String>,
    limit: u32,
}
