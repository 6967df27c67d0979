//! A minimal Worker: one service-binding call and one D1 query. Built plain
//! and with the `otel` feature (the same work inside `worker_otel::instrument`,
//! a CLIENT span, a D1 span and a log record) by `scripts/client-size.sh`:
//! the difference is what worker-otel adds to a Worker's wasm.
#![cfg(target_arch = "wasm32")]

use serde::Deserialize;
use worker::{event, Context, Env, Method, Request, Response, Result};

#[derive(Deserialize)]
struct Row {
    one: i64,
}

#[cfg(not(feature = "otel"))]
#[event(fetch)]
async fn fetch(_req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let mut answer = env.service("ORDERS")?.fetch_request(Request::new("https://orders/1", Method::Get)?).await?;
    let rows = env.d1("DB")?.prepare("SELECT 1 AS one WHERE ?1 = ?1").bind(&["x".into()])?.all().await?;
    let sum: i64 = rows.results::<Row>()?.iter().map(|r| r.one).sum();
    Response::ok(format!("{} {sum}", answer.text().await?))
}

#[cfg(feature = "otel")]
#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    let config = worker_otel::config_from_env(&env);
    worker_otel::instrument(config, req, env, &ctx, |_req, env, span| async move {
        let orders = env.service("ORDERS")?;
        let mut answer = span.fetch_binding(&orders, Request::new("https://orders/1", Method::Get)?).await?;
        let db = span.d1(env.d1("DB")?, "DB");
        let rows = db.prepare("SELECT 1 AS one WHERE ?1 = ?1").bind(&["x".into()])?.all().await?;
        let sum: i64 = rows.results::<Row>()?.iter().map(|r| r.one).sum();
        worker_otel::otel_log!(span, Info, "sum {sum}");
        Response::ok(format!("{} {sum}", answer.text().await?))
    })
    .await
}
