//! Binding and variable names (mirrored in `wrangler.toml`) and the settings read from them.

use worker::kv::KvStore;
use worker::{D1Database, Env};

use super::StoreError;
use crate::api::auth::Tokens;

pub const DB: &str = "DB";
pub const AE_TRACES: &str = "AE_TRACES";
pub const AE_LOGS: &str = "AE_LOGS";
pub const ALERT_STATE: &str = "ALERT_STATE";
/// Service binding to this worker itself: each call is a fresh invocation
/// with its own Analytics Engine write allowance.
pub const SELF_SERVICE: &str = "SELF";
pub const INGEST_TOKEN: &str = "INGEST_TOKEN";
pub const API_TOKEN: &str = "API_TOKEN";
pub const MAX_BODY_BYTES: &str = "MAX_BODY_BYTES";
pub const SPAN_RETENTION_DAYS: &str = "SPAN_RETENTION_DAYS";
pub const SLO_RETENTION_DAYS: &str = "SLO_RETENTION_DAYS";
pub const LOG_RETENTION_DAYS: &str = "LOG_RETENTION_DAYS";
pub const INCIDENT_RETENTION_DAYS: &str = "INCIDENT_RETENTION_DAYS";

/// Decompressed request body limit when `MAX_BODY_BYTES` is not set: 10 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// The D1 database; without it storage is unavailable (retryable).
pub fn database(env: &Env) -> Result<D1Database, StoreError> {
    env.d1(DB).map_err(|e| StoreError::Unavailable(format!("D1 binding: {e}")))
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
    Tokens { ingest: text(env, INGEST_TOKEN), api: text(env, API_TOKEN) }
}

pub fn max_body_bytes(env: &Env) -> usize {
    text(env, MAX_BODY_BYTES).and_then(|v| v.trim().parse().ok()).unwrap_or(DEFAULT_MAX_BODY_BYTES)
}
