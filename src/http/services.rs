//! `GET /api/services`, `GET /api/services/:id`, `GET /api/service-map`
//! and `GET /api/service-map/cycles`.

use worker::{Env, Request, Response};

use super::{db, json, now_ms, query_pairs};
use crate::api::ApiError;
use crate::query::service_view::{service_detail, service_view, ServiceView, Window, WindowView};
use crate::store::services::D1ServiceStore;
use crate::topology::{analyze, service_map, ServiceMap};

fn store(env: &Env) -> Result<D1ServiceStore, ApiError> {
    db(env).map(D1ServiceStore::new)
}

fn window(req: &Request) -> Result<Option<Window>, ApiError> {
    let pairs = query_pairs(req);
    Window::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())), now_ms())
}

async fn map(req: &Request, env: &Env) -> Result<ServiceMap, ApiError> {
    let pairs = query_pairs(req);
    let environment = pairs.iter().find(|(k, _)| k == "environment").map(|(_, v)| v.as_str()).filter(|v| !v.is_empty());
    let (services, dependencies) = store(env)?.graph(window(req)?.as_ref()).await?;
    Ok(service_map(services, dependencies, environment))
}

pub async fn get_map(req: &Request, env: &Env) -> Result<Response, ApiError> {
    json(200, &map(req, env).await?)
}

pub async fn get_cycles(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let map = map(req, env).await?;
    json(200, &analyze(map.edges.iter().map(|e| (e.data.source.as_str(), e.data.target.as_str()))))
}

pub async fn list(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let window = window(req)?.unwrap_or_else(|| Window::last_hour(now_ms()));
    let (services, reds) = store(env)?.services_with_red(&window).await?;
    let services: Vec<ServiceView> = services.into_iter().map(|s| service_view(s, &reds, &window)).collect();
    json(200, &ServiceList { services, window: WindowView::from(&window) })
}

#[derive(serde::Serialize)]
struct ServiceList {
    services: Vec<ServiceView>,
    window: WindowView,
}

pub async fn get(id: &str, req: &Request, env: &Env) -> Result<Response, ApiError> {
    let window = window(req)?.unwrap_or_else(|| Window::last_hour(now_ms()));
    match store(env)?.service(id, &window).await? {
        Some((service, reds, edges)) => json(200, &service_detail(service, &reds, &edges, &window)),
        None => Err(ApiError::not_found(format!("service {id:?} not found"))),
    }
}
