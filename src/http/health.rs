//! `GET /health`: liveness plus D1 reachability, and the Analytics Engine
//! points the collector could not write (`store::counters`; read with one
//! D1 query, which is the reachability check too).

use serde::Serialize;
use worker::{Env, Response};

use super::json;
use crate::api::ApiError;
use crate::query::trace_view::rfc3339_ms;
use crate::store::bindings;
use crate::store::counters::{self, AE_POINTS_NOT_WRITTEN};
use crate::store::d1::D1;

#[derive(Serialize)]
struct Health {
    status: &'static str,
    service: &'static str,
    version: &'static str,
    checks: Checks,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Checks {
    d1: String,
    analytics_engine: AnalyticsEngineCheck,
}

/// Points not written to Analytics Engine since the database was created
/// (binding missing or throwing, hand-over failed): the count and the last time.
#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct AnalyticsEngineCheck {
    points_not_written: u64,
    last_failure_at: Option<String>,
}

pub async fn get(env: &Env) -> Result<Response, ApiError> {
    // Reading the counter is the database check too (reachable, and migrated).
    let (d1, analytics_engine) = match env.d1(bindings::DB) {
        Ok(db) => match counters::read(&D1::new(db), AE_POINTS_NOT_WRITTEN).await {
            Ok(lost) => {
                let check = AnalyticsEngineCheck {
                    points_not_written: lost.value as u64,
                    last_failure_at: (lost.value > 0.0).then(|| rfc3339_ms(lost.updated_ms)),
                };
                ("ok".to_string(), check)
            }
            Err(e) => (e.to_string(), AnalyticsEngineCheck::default()),
        },
        Err(e) => (format!("binding {} missing: {e}", bindings::DB), AnalyticsEngineCheck::default()),
    };
    let healthy = d1 == "ok";
    let body = Health {
        status: if healthy { "healthy" } else { "unhealthy" },
        service: "observability-collector",
        version: env!("CARGO_PKG_VERSION"),
        checks: Checks { d1, analytics_engine },
    };
    json(if healthy { 200 } else { 503 }, &body)
}
