//! Thin request handlers: read the request, call the pure code and the
//! stores, turn the result or the `ApiError` into a response.

mod alerts;
mod health;
mod jaeger;
mod keys;
pub mod logs;
mod metrics;
mod query;
mod services;
mod slos;
pub mod traces;

use std::borrow::Cow;

use worker::{Context, Env, Request, Response};

use crate::api::{self, ApiError, Route};
use crate::ingest::span_rows::MAX_MESSAGE_BYTES;
use crate::otlp::{decompress, response::status_body, DecodeError, Encoding};
use crate::storage::logs::LogStore;
use crate::store::analytics_engine::{accept_handover, PointsHandover};
use crate::store::bindings;
use crate::store::d1::D1;
use crate::store::ingest_queue;
use crate::store::r2::R2Blobs;

pub async fn handle(req: Request, env: Env, ctx: Context) -> Response {
    let protobuf_otlp = req.path().starts_with("/v1/")
        && matches!(Encoding::from_content_type(header(&req, "content-type").as_deref(), b"{"), Ok(Encoding::Protobuf));
    match dispatch(req, &env, &ctx).await {
        Ok(response) => response,
        Err(e) if protobuf_otlp => {
            respond(e.status, Encoding::Protobuf.content_type(), status_body(e.status, &e.message), e.retry_after)
        }
        Err(e) => error_response(&e),
    }
}

async fn dispatch(mut req: Request, env: &Env, ctx: &Context) -> Result<Response, ApiError> {
    // The raw method: `worker::Method` maps methods it does not know to GET.
    let route = api::route(&req.inner().method(), &req.path())?;
    keys::admit(route.scope(), header(&req, "authorization").as_deref(), env).await?;
    match route {
        Route::Health => health::get(env).await,
        Route::IngestTraces => traces::ingest(&mut req, env, ctx).await,
        Route::IngestMetrics => metrics::ingest(&mut req, env, ctx).await,
        Route::IngestLogs => logs::ingest(&mut req, env, ctx).await,
        Route::ListMetrics => metrics::list(&req, env).await,
        Route::QueryMetric => metrics::query(&req, env).await,
        Route::Sql => query::run(&mut req, env).await,
        Route::SqlSchema => query::get_schema(),
        Route::SearchLogs => logs::search(&req, env).await,
        Route::SearchTraces => traces::search(&req, env).await,
        Route::GetTrace(id) => traces::get(&id, env).await,
        Route::ListServices => services::list(&req, env).await,
        Route::GetService(id) => services::get(&id, &req, env).await,
        Route::ServiceMap => services::get_map(&req, env).await,
        Route::ServiceMapCycles => services::get_cycles(&req, env).await,
        Route::Jaeger(route) => Ok(jaeger::handle(route, &req, env).await),
        Route::Alerts(route) => alerts::handle(route, &mut req, env).await,
        Route::Slos(route) => slos::handle(route, &mut req, env).await,
        Route::Keys(route) => keys::handle(route, &mut req, env).await,
        Route::WriteDataPoints => {
            let body = req.bytes().await.map_err(|e| ApiError::bad_request(format!("unreadable body: {e}")))?;
            let handover: PointsHandover = serde_json::from_slice(&body)
                .map_err(|e| ApiError::bad_request(format!("invalid data points: {e}")))?;
            accept_handover(env, &handover)?;
            Ok(no_content())
        }
    }
}

/// An OTLP/HTTP body, decompressed, with its encoding; size limits
/// (`MAX_BODY_BYTES`) checked on the declared length, the body, and after gzip.
pub async fn read_otlp(req: &mut Request, env: &Env) -> Result<(Vec<u8>, Encoding), ApiError> {
    let limit = bindings::max_body_bytes(env);
    let declared = header(req, "content-length").and_then(|v| v.trim().parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(DecodeError::TooLarge { limit, after: "" }.into());
    }
    let content_type = header(req, "content-type");
    if let Some(ct) = &content_type {
        Encoding::from_content_type(Some(ct), b"")?;
    }
    let raw = read_body(req).await?;
    // The body as received is kept (not copied) unless it was compressed.
    let inflated = match decompress(&raw, header(req, "content-encoding").as_deref(), limit)? {
        Cow::Borrowed(_) => None,
        Cow::Owned(inflated) => Some(inflated),
    };
    let body = inflated.unwrap_or(raw);
    let encoding = Encoding::from_content_type(content_type.as_deref(), &body)?;
    Ok((body, encoding))
}

/// The D1 binding; without it the request is retryable (503).
pub fn db(env: &Env) -> Result<worker::D1Database, ApiError> {
    Ok(bindings::database(env)?)
}

/// What block storage (spans and logs) runs on: D1, the R2 bucket of
/// blocks, the indexed attribute keys.
pub struct BlockBackends {
    pub db: D1,
    pub blobs: R2Blobs,
    indexed: Vec<String>,
}

impl BlockBackends {
    /// Without D1 or R2 the request is retryable (503).
    pub fn of(env: &Env) -> Result<Self, ApiError> {
        Ok(Self { db: D1::new(db(env)?), blobs: bindings::blocks(env)?, indexed: bindings::indexed_attributes(env) })
    }

    pub fn indexed(&self) -> Vec<&str> {
        self.indexed.iter().map(String::as_str).collect()
    }

    pub fn logs(&self) -> LogStore<'_, D1, R2Blobs> {
        LogStore::new(&self.db, &self.blobs)
    }
}

/// The ingest step every signal shares: the accepted data, as queue
/// messages, goes to the ingest queue when the deployment has one; what
/// comes back is to be stored inline (everything without a queue, a message
/// too large for one). The export is answered once its data is safe.
pub async fn enqueue<'m>(env: &Env, messages: &'m [String]) -> Result<Vec<&'m str>, ApiError> {
    let messages = messages.iter().map(String::as_str);
    let Some(queue) = bindings::ingest_queue(env) else { return Ok(messages.collect()) };
    let (queued, too_large): (Vec<&str>, Vec<&str>) = messages.partition(|m| m.len() <= MAX_MESSAGE_BYTES);
    ingest_queue::send(&queue, &queued).await?;
    Ok(too_large)
}

/// Reads the messages `enqueue` left to store inline (they were written by
/// this request, so a failure is ours: 500).
pub fn parse_inline<'m, T, E: std::fmt::Display>(
    inline: &[&'m str],
    parse: impl Fn(&'m [u8]) -> Result<T, E>,
) -> Result<Vec<T>, ApiError> {
    inline.iter().map(|m| parse(m.as_bytes()).map_err(|e| ApiError::internal(e.to_string()))).collect()
}

/// A random block id part (`blocks::BlockId`).
pub fn block_random() -> u16 {
    (js_sys::Math::random() * 65536.0) as u16
}

/// Now, unix milliseconds.
pub fn now_ms() -> f64 {
    worker::Date::now().as_millis() as f64
}

/// The whole request body.
pub async fn read_body(req: &mut Request) -> Result<Vec<u8>, ApiError> {
    req.bytes().await.map_err(|e| ApiError::bad_request(format!("unreadable body: {e}")))
}

pub fn header(req: &Request, name: &str) -> Option<String> {
    req.headers().get(name).ok().flatten()
}

/// The query string as pairs, percent-decoded.
pub fn query_pairs(req: &Request) -> Vec<(String, String)> {
    api::params::query_pairs(&req.inner().url())
}

pub fn respond(status: u16, content_type: &str, body: Vec<u8>, retry_after: Option<u32>) -> Response {
    let response = Response::builder().with_status(status).fixed(body);
    let headers = response.headers();
    let _ = headers.set("content-type", content_type);
    if let Some(seconds) = retry_after {
        let _ = headers.set("retry-after", &seconds.to_string());
    }
    response
}

/// 204 No Content: a null body (an empty one makes workerd warn on every response).
pub fn no_content() -> Response {
    Response::builder().with_status(204).empty()
}

pub fn json<T: serde::Serialize>(status: u16, value: &T) -> Result<Response, ApiError> {
    let body = serde_json::to_vec(value).map_err(|e| ApiError::internal(format!("response encoding: {e}")))?;
    Ok(respond(status, "application/json", body, None))
}

/// `{"<key>": value}`, written straight from `value` (a `json!` object would
/// first build a `serde_json::Value`: a second serializer per type in the wasm).
/// `key` is a plain name (no characters JSON would escape).
pub fn json_under<T: serde::Serialize>(status: u16, key: &'static str, value: &T) -> Result<Response, ApiError> {
    let mut body = format!("{{\"{key}\":").into_bytes();
    serde_json::to_writer(&mut body, value).map_err(|e| ApiError::internal(format!("response encoding: {e}")))?;
    body.push(b'}');
    Ok(respond(status, "application/json", body, None))
}

pub fn error_response(e: &ApiError) -> Response {
    if e.status >= 500 {
        worker::console_error!("{e}");
    }
    let response = respond(e.status, "application/json", e.body().into_bytes(), e.retry_after);
    if let Some(allow) = e.allow {
        let _ = response.headers().set("allow", allow);
    }
    response
}
