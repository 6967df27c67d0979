//! `POST /v1/traces`, `GET /api/traces`, `GET /api/traces/:traceId`.

use futures_util::future::join;
use worker::{Context, Env, Request, Response};

use super::{db, json, now_ms, query_pairs, read_otlp, respond, SpanBackends};
use crate::api::ApiError;
use crate::domain::TraceId;
use crate::ingest::span_rows::MAX_MESSAGE_BYTES;
use crate::ingest::trace_batch::{parse_message, Message};
use crate::ingest::{span_batch, DataPoint};
use crate::otlp::decode_traces;
use crate::otlp::response::{export_response, Signal};
use crate::query::trace_view::{combine, merge_found, trace_detail, TraceSummary};
use crate::query::TraceSearch;
use crate::storage::spans::SpanStore;
use crate::store::analytics_engine::write_or_hand_over;
use crate::store::traces::D1TraceStore;
use crate::store::{bindings, ingest_queue};

/// Hands the export's spans to the ingest queue when the deployment has one
/// (a message too large for a queue message is stored inline), else stores
/// them inline: the answer comes once they are safe either way.
pub async fn ingest(req: &mut Request, env: &Env, ctx: &Context) -> Result<Response, ApiError> {
    let (body, encoding) = read_otlp(req, env).await?;
    let mut export = decode_traces(&body, encoding)?;
    let batch = span_batch(&export.resource_spans, &mut export.rejections);
    let messages: Vec<&str> = batch.messages.iter().map(String::as_str).collect();
    let inline = match bindings::ingest_queue(env) {
        Some(queue) => {
            let (queued, too_large): (Vec<&str>, Vec<&str>) =
                messages.into_iter().partition(|m| m.len() <= MAX_MESSAGE_BYTES);
            ingest_queue::send(&queue, &queued).await?;
            too_large
        }
        None => messages,
    };
    if !inline.is_empty() {
        let parsed = inline
            .iter()
            .map(|m| parse_message(m.as_bytes()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ApiError::internal(e.to_string()))?;
        store_messages(env, ctx, &parsed).await?;
    }
    Ok(respond(200, encoding.content_type(), export_response(Signal::Traces, &export.rejections, encoding), None))
}

/// Stores span messages as one batch (inline, or a batch of the queue
/// consumer) and writes the Analytics Engine points of the spans that were new.
pub async fn store_messages(env: &Env, ctx: &Context, messages: &[Message<'_>]) -> Result<usize, ApiError> {
    let backends = SpanBackends::of(env)?;
    let indexed = backends.indexed();
    let random = (js_sys::Math::random() * 65536.0) as u16;
    let stored =
        SpanStore::new(&backends.db, &backends.blobs, &indexed).store(messages, now_ms() as u64, random).await?;
    let points = stored
        .points
        .iter()
        .map(|p| serde_json::from_str::<DataPoint>(p.get()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::internal(format!("stored Analytics Engine point: {e}")))?;
    write_or_hand_over(env, ctx, bindings::AE_TRACES, points);
    Ok(stored.new_spans)
}

pub async fn search(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let pairs = query_pairs(req);
    let query = TraceSearch::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    let (backends, legacy) = (SpanBackends::of(env)?, D1TraceStore::new(db(env)?));
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

pub async fn get(trace_id: &str, env: &Env) -> Result<Response, ApiError> {
    let id = TraceId::from_hex(trace_id).map_err(|e| ApiError::bad_request(format!("invalid traceId: {e}")))?;
    let (backends, legacy) = (SpanBackends::of(env)?, D1TraceStore::new(db(env)?));
    let indexed = backends.indexed();
    let hex = id.to_string();
    let blocks = SpanStore::new(&backends.db, &backends.blobs, &indexed);
    // Both stores at once: a trace stored across the upgrade has spans in each.
    let (in_blocks, old) = join(blocks.trace(id), legacy.trace(&hex)).await;
    let (old, log_count) = old?;
    match combine(in_blocks?, old) {
        Some((trace, spans)) => json(200, &trace_detail(trace, spans, log_count)),
        None => Err(ApiError::not_found(format!("trace {id} not found"))),
    }
}
