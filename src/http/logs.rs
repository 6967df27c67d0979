//! `POST /v1/logs` and `GET /api/logs`.

use worker::{Context, Env, Request, Response};

use super::{db, json, now_ms, query_pairs, read_otlp, respond};
use crate::api::ApiError;
use crate::ingest::log_batch;
use crate::otlp::decode_logs;
use crate::otlp::response::{export_response, Signal};
use crate::query::log_search::{page, LogSearch, LogView};
use crate::store::analytics_engine::write_or_hand_over;
use crate::store::bindings;
use crate::store::logs::D1LogStore;

fn store(env: &Env) -> Result<D1LogStore, ApiError> {
    db(env).map(D1LogStore::new)
}

pub async fn ingest(req: &mut Request, env: &Env, ctx: &Context) -> Result<Response, ApiError> {
    let (body, encoding) = read_otlp(req, env).await?;
    let mut export = decode_logs(&body, encoding)?;
    let now_ms = now_ms();
    let batch = log_batch(&export.resource_logs, now_ms, &mut export.rejections);
    if batch.record_count > 0 {
        let inserted = store(env)?.ingest(&batch, now_ms).await?;
        let new_points = batch.points.into_iter().filter(|(key, _)| inserted.contains(key)).map(|(_, p)| p).collect();
        write_or_hand_over(env, ctx, bindings::AE_LOGS, new_points);
    }
    Ok(respond(200, encoding.content_type(), export_response(Signal::Logs, &export.rejections, encoding), None))
}

pub async fn search(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let pairs = query_pairs(req);
    let query = LogSearch::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    let (next_cursor, logs) = page(store(env)?.search(&query).await?, query.limit);
    json(200, &LogPage { logs, next_cursor, limit: query.limit })
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct LogPage {
    logs: Vec<LogView>,
    next_cursor: Option<String>,
    limit: u32,
}
