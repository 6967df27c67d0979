//! `POST /api/query` (the Grafana SQL proxy onto the Analytics Engine SQL
//! API) and `GET /api/query/schema`.

use std::time::Duration;

use worker::{Env, Headers, Request, Response};

use super::{header, json_under, read_body, respond};
use crate::api::ApiError;
use crate::ingest::data_points::LAYOUTS;
use crate::query::sql_proxy::{prepare, query_text, schema, upstream_outcome};
use crate::store::bindings;
use crate::store::post::{post, send_within};

pub async fn run(req: &mut Request, env: &Env) -> Result<Response, ApiError> {
    let body = read_body(req).await?;
    let sql = query_text(header(req, "content-type").as_deref(), &body)?;
    let prepared = prepare(&sql, &LAYOUTS)?;
    let api = bindings::sql_api(env).ok_or_else(|| {
        ApiError::unavailable(
            "the SQL proxy is not configured: set CF_ACCOUNT_ID and the CF_API_TOKEN secret (see docs/grafana.md)",
        )
    })?;
    let upstream = (|| {
        let headers = Headers::new();
        headers.set("authorization", &format!("Bearer {}", api.token))?;
        headers.set("content-type", "text/plain; charset=utf-8")?;
        post(&api.url, &headers, &prepared.sql)
    })()
    .map_err(|e| ApiError::bad_gateway(format!("the Analytics Engine SQL API request could not be built: {e}")))?;
    // A query the SQL API takes too long over is abandoned, not waited on.
    let timeout = Duration::from_secs(u64::from(api.timeout_seconds));
    let mut answer = send_within(upstream, timeout)
        .await
        .map_err(|e| ApiError::bad_gateway(format!("the Analytics Engine SQL API is unreachable: {e}")))?
        .ok_or_else(|| {
            ApiError::gateway_timeout(format!(
                "the Analytics Engine SQL API did not answer within {} s (AE_SQL_TIMEOUT_SECONDS): narrow the \
                 time range or aggregate more",
                api.timeout_seconds
            ))
        })?;
    let status = answer.status_code();
    let content_type = answer.headers().get("content-type").ok().flatten();
    let retry_after = answer.headers().get("retry-after").ok().flatten().and_then(|v| v.trim().parse().ok());
    let bytes = answer.bytes().await.map_err(|e| ApiError::bad_gateway(format!("unreadable upstream answer: {e}")))?;
    upstream_outcome(status, &String::from_utf8_lossy(&bytes), retry_after)?;
    Ok(respond(200, content_type.as_deref().unwrap_or("application/json"), bytes, None))
}

pub fn get_schema() -> Result<Response, ApiError> {
    json_under(200, "datasets", &schema(&LAYOUTS))
}
