//! Binding and variable names (mirrored in `wrangler.toml`) and the settings read from them.

use worker::kv::KvStore;
use worker::{D1Database, Env};

use super::r2::R2Blobs;
use super::StoreError;
use crate::api::auth::Tokens;
use crate::ingest::block_summary::DEFAULT_INDEXED_ATTRIBUTES;
use crate::ingest::metric_rows::SeriesCaps;

pub const DB: &str = "DB";
pub const AE_TRACES: &str = "AE_TRACES";
pub const AE_LOGS: &str = "AE_LOGS";
pub const AE_METRICS: &str = "AE_METRICS";
pub const ALERT_STATE: &str = "ALERT_STATE";
/// The queue between span ingest and storage; without it spans are stored inline.
pub const INGEST_QUEUE: &str = "INGEST_QUEUE";
/// The R2 bucket of span blocks.
pub const BLOCKS: &str = "BLOCKS";
/// Comma-separated span attribute keys the block summaries index (docs/storage.md).
pub const INDEXED_ATTRIBUTES: &str = "INDEXED_ATTRIBUTES";
/// Service binding to this worker itself: each call is a fresh invocation
/// with its own Analytics Engine write allowance.
pub const SELF_SERVICE: &str = "SELF";
pub const INGEST_TOKEN: &str = "INGEST_TOKEN";
pub const API_TOKEN: &str = "API_TOKEN";
/// The worker's token for its calls to itself (the Analytics Engine hand-over).
pub const INTERNAL_TOKEN: &str = "INTERNAL_TOKEN";
/// Workers rate-limiting bindings: requests per caller (key id or bootstrap token) on the OTLP routes, and on the others.
pub const INGEST_RATE_LIMITER: &str = "INGEST_RATE_LIMITER";
pub const API_RATE_LIMITER: &str = "API_RATE_LIMITER";
pub const MAX_BODY_BYTES: &str = "MAX_BODY_BYTES";
pub const SPAN_RETENTION_DAYS: &str = "SPAN_RETENTION_DAYS";
pub const SLO_RETENTION_DAYS: &str = "SLO_RETENTION_DAYS";
pub const LOG_RETENTION_DAYS: &str = "LOG_RETENTION_DAYS";
pub const INCIDENT_RETENTION_DAYS: &str = "INCIDENT_RETENTION_DAYS";
pub const METRIC_RETENTION_DAYS: &str = "METRIC_RETENTION_DAYS";
pub const METRIC_MAX_SERIES_PER_SERVICE: &str = "METRIC_MAX_SERIES_PER_SERVICE";
pub const METRIC_MAX_SERIES_PER_METRIC: &str = "METRIC_MAX_SERIES_PER_METRIC";

pub const CF_ACCOUNT_ID: &str = "CF_ACCOUNT_ID";
pub const CF_API_TOKEN: &str = "CF_API_TOKEN";
pub const AE_SQL_API_URL: &str = "AE_SQL_API_URL";
/// Seconds the SQL proxy waits for the Analytics Engine SQL API.
pub const AE_SQL_TIMEOUT_SECONDS: &str = "AE_SQL_TIMEOUT_SECONDS";

/// How long the SQL proxy waits for an answer when `AE_SQL_TIMEOUT_SECONDS` is not set.
pub const DEFAULT_SQL_TIMEOUT_SECONDS: u32 = 30;

/// Decompressed request body limit when `MAX_BODY_BYTES` is not set: 10 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// The D1 database; without it storage is unavailable (retryable).
pub fn database(env: &Env) -> Result<D1Database, StoreError> {
    env.d1(DB).map_err(|e| StoreError::Unavailable(format!("D1 binding: {e}")))
}

/// The R2 bucket of span blocks; without it storage is unavailable (retryable).
pub fn blocks(env: &Env) -> Result<R2Blobs, StoreError> {
    env.bucket(BLOCKS).map(R2Blobs::new).map_err(|e| StoreError::Unavailable(format!("R2 binding {BLOCKS}: {e}")))
}

/// The ingest queue, when the deployment has one (docs/storage.md).
pub fn ingest_queue(env: &Env) -> Option<worker::Queue> {
    env.queue(INGEST_QUEUE).ok()
}

/// The span attribute keys to index: `INDEXED_ATTRIBUTES`, or the OpenTelemetry conventions' keys.
pub fn indexed_attributes(env: &Env) -> Vec<String> {
    match text(env, INDEXED_ATTRIBUTES) {
        Some(keys) => keys.split(',').map(str::trim).filter(|k| !k.is_empty()).map(str::to_string).collect(),
        None => DEFAULT_INDEXED_ATTRIBUTES.iter().map(|k| k.to_string()).collect(),
    }
}

/// The KV namespace of alert states.
pub fn alert_state(env: &Env) -> Result<KvStore, StoreError> {
    env.kv(ALERT_STATE).map_err(|e| StoreError::Unavailable(format!("KV binding {ALERT_STATE}: {e}")))
}

/// A secret or variable, unless unset or blank.
pub fn text(env: &Env, name: &str) -> Option<String> {
    env.secret(name)
        .ok()
        .map(|s| s.to_string())
        .or_else(|| env.var(name).ok().map(|v| v.to_string()))
        .filter(|s| !s.trim().is_empty())
}

pub fn tokens(env: &Env) -> Tokens {
    Tokens { ingest: text(env, INGEST_TOKEN), api: text(env, API_TOKEN), internal: text(env, INTERNAL_TOKEN) }
}

/// The metric series caps, each a positive whole number or its default.
pub fn series_caps(env: &Env) -> SeriesCaps {
    let default = SeriesCaps::default();
    let cap = |name: &str, default: u32| {
        text(env, name).and_then(|v| v.trim().parse::<u32>().ok()).filter(|n| *n > 0).unwrap_or(default)
    };
    SeriesCaps {
        per_service: cap(METRIC_MAX_SERIES_PER_SERVICE, default.per_service),
        per_metric: cap(METRIC_MAX_SERIES_PER_METRIC, default.per_metric),
    }
}

/// Where the SQL proxy sends queries, and the token it sends them with.
pub struct SqlApi {
    pub url: String,
    pub token: String,
    pub timeout_seconds: u32,
}

/// The Analytics Engine SQL API endpoint (`AE_SQL_API_URL`, else the one of
/// `CF_ACCOUNT_ID`) with `CF_API_TOKEN`; `None` until both are configured.
pub fn sql_api(env: &Env) -> Option<SqlApi> {
    let token = text(env, CF_API_TOKEN)?;
    let url = text(env, AE_SQL_API_URL).or_else(|| {
        text(env, CF_ACCOUNT_ID).map(|account| {
            format!("https://api.cloudflare.com/client/v4/accounts/{}/analytics_engine/sql", account.trim())
        })
    })?;
    let timeout_seconds = text(env, AE_SQL_TIMEOUT_SECONDS)
        .and_then(|v| v.trim().parse::<u32>().ok())
        .filter(|s| *s > 0)
        .unwrap_or(DEFAULT_SQL_TIMEOUT_SECONDS);
    Some(SqlApi { url, token, timeout_seconds })
}

pub fn max_body_bytes(env: &Env) -> usize {
    text(env, MAX_BODY_BYTES).and_then(|v| v.trim().parse().ok()).unwrap_or(DEFAULT_MAX_BODY_BYTES)
}
