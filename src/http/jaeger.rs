//! The Jaeger query API under `/jaeger/api`: errors answer in Jaeger's
//! envelope too, so Grafana shows their message.

use futures_util::future::join;
use worker::{Env, Request, Response};

use super::{db, json, now_ms, query_pairs, BlockBackends};
use crate::api::routes::JaegerRoute;
use crate::api::ApiError;
use crate::domain::TraceId;
use crate::query::jaeger::{self, envelope, error_envelope, DependencyLink};
use crate::query::service_view::Window;
use crate::query::trace_view::{merge_found, merge_spans};
use crate::query::StoredSpan;
use crate::storage::spans::SpanStore;
use crate::store::d1::D1;
use crate::store::r2::R2Blobs;
use crate::store::services::D1ServiceStore;
use crate::store::traces::D1TraceStore;

pub async fn handle(route: JaegerRoute, req: &Request, env: &Env) -> Response {
    match dispatch(route, req, env).await {
        Ok(response) => response,
        Err(e) => json(e.status, &error_envelope(&e)).unwrap_or_else(|e| super::error_response(&e)),
    }
}

async fn dispatch(route: JaegerRoute, req: &Request, env: &Env) -> Result<Response, ApiError> {
    let pairs = query_pairs(req);
    let pairs = || pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    let now_ms = now_ms();
    match route {
        JaegerRoute::Services => {
            let names: Vec<String> =
                D1ServiceStore::new(db(env)?).services().await?.into_iter().map(|s| s.name).collect();
            json(200, &envelope(&names, names.len()))
        }
        JaegerRoute::ServiceOperations(service) => {
            let mut names: Vec<String> =
                D1TraceStore::new(db(env)?).operations(&service).await?.into_iter().map(|o| o.name).collect();
            names.dedup();
            json(200, &envelope(&names, names.len()))
        }
        JaegerRoute::Operations => {
            let service = pairs().find(|(k, _)| *k == "service").map(|(_, v)| v.to_string()).unwrap_or_default();
            let kind = pairs().find(|(k, _)| *k == "spanKind").map(|(_, v)| v);
            let operations = jaeger::operations(D1TraceStore::new(db(env)?).operations(&service).await?, kind);
            json(200, &envelope(&operations, operations.len()))
        }
        JaegerRoute::Traces => {
            let query = jaeger::search(pairs(), now_ms)?;
            let (backends, legacy) = (BlockBackends::of(env)?, D1TraceStore::new(db(env)?));
            let indexed = backends.indexed();
            let blocks = SpanStore::new(&backends.db, &backends.blobs, &indexed);
            let (found, old) = join(blocks.search(&query), legacy.search(&query)).await;
            let found = merge_found(found?, old?, query.limit);
            let ids: Vec<&str> = found.iter().map(|t| t.trace_id.as_str()).collect();
            let mut traces = jaeger::traces(spans_of_traces(&blocks, &legacy, &ids).await?);
            // Newest first, as the search found them.
            let position = |t: &jaeger::JaegerTrace| ids.iter().position(|id| *id == t.trace_id);
            crate::sort::sort_by(&mut traces, |a, b| position(a).cmp(&position(b)));
            json(200, &envelope(&traces, traces.len()))
        }
        JaegerRoute::Trace(id) => {
            let id = TraceId::from_hex(&id).map_err(|e| ApiError::bad_request(format!("invalid trace id: {e}")))?;
            let (backends, legacy) = (BlockBackends::of(env)?, D1TraceStore::new(db(env)?));
            let indexed = backends.indexed();
            let blocks = SpanStore::new(&backends.db, &backends.blobs, &indexed);
            let traces = jaeger::traces(spans_of_traces(&blocks, &legacy, &[&id.to_string()]).await?);
            if traces.is_empty() {
                return Err(ApiError::not_found("trace not found"));
            }
            json(200, &envelope(&traces, traces.len()))
        }
        JaegerRoute::Dependencies => {
            let (start_ms, end_ms) = jaeger::dependencies_window(pairs(), now_ms)?;
            let (_, edges) = D1ServiceStore::new(db(env)?).graph(Some(&Window { start_ms, end_ms })).await?;
            let links: Vec<DependencyLink> = edges
                .into_iter()
                .map(|e| DependencyLink { call_count: e.calls(), parent: e.caller_service, child: e.callee_service })
                .collect();
            json(200, &envelope(&links, links.len()))
        }
    }
}

/// The spans of the traces from the blocks and the D1-only table, each span
/// once, grouped by trace (as `jaeger::traces` reads them).
async fn spans_of_traces(
    blocks: &SpanStore<'_, D1, R2Blobs>,
    legacy: &D1TraceStore,
    ids: &[&str],
) -> Result<Vec<StoredSpan>, ApiError> {
    let parsed = ids.iter().filter_map(|id| TraceId::from_hex(id).ok()).collect::<Vec<_>>();
    let (in_blocks, old) = join(blocks.spans_of_traces(&parsed), legacy.spans_of_traces(ids)).await;
    Ok(merge_spans(in_blocks?, old?))
}
