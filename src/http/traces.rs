//! `POST /v1/traces`, `GET /api/traces`, `GET /api/traces/:traceId`.

use worker::{Context, Env, Request, Response};

use super::{db, json, now_ms, query_pairs, read_otlp, respond, SpanBackends};
use crate::api::ApiError;
use crate::domain::TraceId;
use crate::ingest::trace_batch::parse_message;
use crate::ingest::{span_batch, DataPoint};
use crate::otlp::decode_traces;
use crate::otlp::response::{export_response, Signal};
use crate::query::trace_view::{combine, merge_found, trace_detail, TraceSummary};
use crate::query::TraceSearch;
use crate::storage::spans::SpanStore;
use crate::store::analytics_engine::write_or_hand_over;
use crate::store::bindings;
use crate::store::traces::D1TraceStore;

/// Stores the export's spans in a block (inline: the simple deployment) and
/// writes the Analytics Engine points of the spans that were new.
pub async fn ingest(req: &mut Request, env: &Env, ctx: &Context) -> Result<Response, ApiError> {
    let (body, encoding) = read_otlp(req, env).await?;
    let mut export = decode_traces(&body, encoding)?;
    let batch = span_batch(&export.resource_spans, &mut export.rejections);
    if batch.span_count > 0 {
        let messages = batch
            .messages
            .iter()
            .map(|m| parse_message(m.as_bytes()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let backends = SpanBackends::of(env)?;
        let indexed = backends.indexed();
        let random = (js_sys::Math::random() * 65536.0) as u16;
        let stored =
            SpanStore::new(&backends.db, &backends.blobs, &indexed).store(&messages, now_ms() as u64, random).await?;
        let points = stored
            .points
            .iter()
            .map(|p| serde_json::from_str::<DataPoint>(p.get()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ApiError::internal(format!("stored Analytics Engine point: {e}")))?;
        write_or_hand_over(env, ctx, bindings::AE_TRACES, points);
    }
    Ok(respond(200, encoding.content_type(), export_response(Signal::Traces, &export.rejections, encoding), None))
}

pub async fn search(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let pairs = query_pairs(req);
    let query = TraceSearch::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    let backends = SpanBackends::of(env)?;
    let indexed = backends.indexed();
    let found = SpanStore::new(&backends.db, &backends.blobs, &indexed).search(&query).await?;
    let legacy = D1TraceStore::new(db(env)?).search(&query).await?;
    let traces: Vec<TraceSummary> =
        merge_found(found, legacy, query.limit).into_iter().map(TraceSummary::from).collect();
    json(200, &TraceList { traces, limit: query.limit })
}

#[derive(serde::Serialize)]
struct TraceList {
    traces: Vec<TraceSummary>,
    limit: u32,
}

pub async fn get(trace_id: &str, env: &Env) -> Result<Response, ApiError> {
    let id = TraceId::from_hex(trace_id).map_err(|e| ApiError::bad_request(format!("invalid traceId: {e}")))?;
    let backends = SpanBackends::of(env)?;
    let indexed = backends.indexed();
    let in_blocks = SpanStore::new(&backends.db, &backends.blobs, &indexed).trace(id).await?;
    let (legacy, log_count) = D1TraceStore::new(db(env)?).trace(&id.to_string()).await?;
    match combine(in_blocks, legacy) {
        Some((trace, spans)) => json(200, &trace_detail(trace, spans, log_count)),
        None => Err(ApiError::not_found(format!("trace {id} not found"))),
    }
}
