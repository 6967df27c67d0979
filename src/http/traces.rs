//! `POST /v1/traces`, `GET /api/traces`, `GET /api/traces/:traceId`.

use worker::{Context, Date, Env, Request, Response};

use super::{db, header, json, query_pairs, respond};
use crate::api::ApiError;
use crate::domain::TraceId;
use crate::ingest::span_batch;
use crate::otlp::response::{export_response, Signal};
use crate::otlp::{decode_traces, decompress, DecodeError, Encoding};
use crate::query::trace_view::{trace_detail, TraceSummary};
use crate::query::TraceSearch;
use crate::store::analytics_engine::write_or_hand_over;
use crate::store::bindings;
use crate::store::traces::D1TraceStore;

fn store(env: &Env) -> Result<D1TraceStore, ApiError> {
    db(env).map(D1TraceStore::new)
}

pub async fn ingest(req: &mut Request, env: &Env, ctx: &Context) -> Result<Response, ApiError> {
    let limit = bindings::max_body_bytes(env);
    let declared = header(req, "content-length").and_then(|v| v.trim().parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(DecodeError::TooLarge { limit, after: "" }.into());
    }
    let content_type = header(req, "content-type");
    if let Some(ct) = &content_type {
        Encoding::from_content_type(Some(ct), b"")?;
    }
    let raw = req.bytes().await.map_err(|e| ApiError::bad_request(format!("unreadable body: {e}")))?;
    let body = decompress(&raw, header(req, "content-encoding").as_deref(), limit)?;
    let encoding = Encoding::from_content_type(content_type.as_deref(), &body)?;
    let mut export = decode_traces(&body, encoding)?;
    let batch = span_batch(&export.resource_spans, &mut export.rejections);
    if batch.span_count > 0 {
        let inserted = store(env)?.ingest(&batch, Date::now().as_millis() as f64).await?;
        let new_points = batch
            .points
            .into_iter()
            .filter(|((t, s), _)| inserted.contains(&(t.to_string(), s.to_string())))
            .map(|(_, p)| p)
            .collect();
        let tokens = bindings::tokens(env);
        write_or_hand_over(env, ctx, bindings::AE_TRACES, new_points, tokens.ingest.or(tokens.api));
    }
    Ok(respond(200, encoding.content_type(), export_response(Signal::Traces, &export.rejections, encoding), None))
}

pub async fn search(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let pairs = query_pairs(req)?;
    let query = TraceSearch::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    let traces: Vec<TraceSummary> = store(env)?.search(&query).await?.into_iter().map(TraceSummary::from).collect();
    json(200, &serde_json::json!({ "traces": traces, "limit": query.limit }))
}

pub async fn get(trace_id: &str, env: &Env) -> Result<Response, ApiError> {
    let id = TraceId::from_hex(trace_id).map_err(|e| ApiError::bad_request(format!("invalid traceId: {e}")))?;
    match store(env)?.trace(&id.to_string()).await? {
        Some((trace, spans)) => json(200, &trace_detail(trace, spans)),
        None => Err(ApiError::not_found(format!("trace {id} not found"))),
    }
}
