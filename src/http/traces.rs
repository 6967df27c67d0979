//! `POST /v1/traces`, `GET /api/traces`, `GET /api/traces/:traceId`.

use worker::{Context, Env, Request, Response};

use super::{db, json, now_ms, query_pairs, read_otlp, respond};
use crate::api::ApiError;
use crate::domain::TraceId;
use crate::ingest::span_batch;
use crate::otlp::decode_traces;
use crate::otlp::response::{export_response, Signal};
use crate::query::trace_view::{trace_detail, TraceSummary};
use crate::query::TraceSearch;
use crate::store::analytics_engine::write_or_hand_over;
use crate::store::bindings;
use crate::store::traces::D1TraceStore;

fn store(env: &Env) -> Result<D1TraceStore, ApiError> {
    db(env).map(D1TraceStore::new)
}

pub async fn ingest(req: &mut Request, env: &Env, ctx: &Context) -> Result<Response, ApiError> {
    let (body, encoding) = read_otlp(req, env).await?;
    let mut export = decode_traces(&body, encoding)?;
    let batch = span_batch(&export.resource_spans, &mut export.rejections);
    if batch.span_count > 0 {
        let inserted = store(env)?.ingest(&batch, now_ms()).await?;
        let new_points = batch
            .points
            .into_iter()
            .filter(|((t, s), _)| inserted.contains(&(t.to_string(), s.to_string())))
            .map(|(_, p)| p)
            .collect();
        write_or_hand_over(env, ctx, bindings::AE_TRACES, new_points);
    }
    Ok(respond(200, encoding.content_type(), export_response(Signal::Traces, &export.rejections, encoding), None))
}

pub async fn search(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let pairs = query_pairs(req);
    let query = TraceSearch::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    let traces: Vec<TraceSummary> = store(env)?.search(&query).await?.into_iter().map(TraceSummary::from).collect();
    json(200, &TraceList { traces, limit: query.limit })
}

#[derive(serde::Serialize)]
struct TraceList {
    traces: Vec<TraceSummary>,
    limit: u32,
}

pub async fn get(trace_id: &str, env: &Env) -> Result<Response, ApiError> {
    let id = TraceId::from_hex(trace_id).map_err(|e| ApiError::bad_request(format!("invalid traceId: {e}")))?;
    match store(env)?.trace(&id.to_string()).await? {
        Some((trace, spans, log_count)) => json(200, &trace_detail(trace, spans, log_count)),
        None => Err(ApiError::not_found(format!("trace {id} not found"))),
    }
}
