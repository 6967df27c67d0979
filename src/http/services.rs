//! `GET /api/service-map` and `GET /api/service-map/cycles`.

use worker::{Env, Request, Response};

use super::{json, query_pairs};
use crate::api::ApiError;
use crate::store::bindings;
use crate::store::services::D1ServiceStore;
use crate::topology::{analyze, service_map, ServiceMap};

async fn map(req: &Request, env: &Env) -> Result<ServiceMap, ApiError> {
    let pairs = query_pairs(req)?;
    let environment = pairs.iter().find(|(k, _)| k == "environment").map(|(_, v)| v.as_str()).filter(|v| !v.is_empty());
    let db = env.d1(bindings::DB).map_err(|e| ApiError::unavailable(format!("D1 binding: {e}")))?;
    let (services, dependencies) = D1ServiceStore::new(db).graph().await?;
    Ok(service_map(services, dependencies, environment))
}

pub async fn get_map(req: &Request, env: &Env) -> Result<Response, ApiError> {
    json(200, &map(req, env).await?)
}

pub async fn get_cycles(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let map = map(req, env).await?;
    json(200, &analyze(map.edges.iter().map(|e| (e.data.source.as_str(), e.data.target.as_str()))))
}
