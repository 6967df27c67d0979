//! `GET /health`: liveness plus D1 reachability.

use serde::Serialize;
use worker::{Env, Response};

use super::json;
use crate::api::ApiError;
use crate::store::bindings;
use crate::store::traces::D1TraceStore;

#[derive(Serialize)]
struct Health {
    status: &'static str,
    service: &'static str,
    version: &'static str,
    checks: Checks,
}

#[derive(Serialize)]
struct Checks {
    d1: String,
}

pub async fn get(env: &Env) -> Result<Response, ApiError> {
    let d1 = match env.d1(bindings::DB) {
        Ok(db) => D1TraceStore::new(db).ping().await.map(|_| "ok".to_string()).unwrap_or_else(|e| e.to_string()),
        Err(e) => format!("binding {} missing: {e}", bindings::DB),
    };
    let healthy = d1 == "ok";
    let body = Health {
        status: if healthy { "healthy" } else { "unhealthy" },
        service: "observability-collector",
        version: env!("CARGO_PKG_VERSION"),
        checks: Checks { d1 },
    };
    json(if healthy { 200 } else { 503 }, &body)
}
