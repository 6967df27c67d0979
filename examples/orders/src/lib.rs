//! Example `orders` Worker: `GET /orders/:id` reads the order from D1 and
//! counts the view (two D1 statements, each a span with its rows read and
//! written). `GET /orders/broken` queries a table that does not exist: the
//! D1 span records the exception and the request answers 500.
#![cfg(target_arch = "wasm32")]

use serde::{Deserialize, Serialize};
use worker::{event, Context, Env, Request, Response, Result};
use worker_otel::{otel_log, Span};

#[derive(Deserialize, Serialize)]
struct Order {
    id: i64,
    item: String,
    quantity: i64,
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    let config = worker_otel::config_from_env(&env).with_resource("service.version", env!("CARGO_PKG_VERSION"));
    worker_otel::instrument(config, req, env, &ctx, |req, env, span| async move {
        match handle(req, env, span.clone()).await {
            Ok(response) => Ok(response),
            Err(error) => {
                otel_log!(span, Error, "order lookup failed: {error}");
                Response::error(format!("order lookup failed: {error}"), 500)
            }
        }
    })
    .await
}

async fn handle(req: Request, env: Env, span: Span) -> Result<Response> {
    let path = req.path();
    let Some(id) = path.strip_prefix("/orders/") else {
        return Response::error("not found", 404);
    };
    span.set_http_route("/orders/:id");
    let db = span.d1(env.d1("DB")?, "DB");
    let table = if id == "broken" { "missing_orders" } else { "orders" };
    let order = db
        .prepare(&format!("SELECT id, item, quantity FROM {table} WHERE id = ?1"))
        .bind(&[id.into()])?
        .first::<Order>()
        .await?;
    let Some(order) = order else {
        otel_log!(span, Warn, "order {id} not found");
        return Response::error("no such order", 404);
    };
    db.prepare("UPDATE orders SET views = views + 1 WHERE id = ?1").bind(&[(order.id as f64).into()])?.run().await?;
    otel_log!(span, Info, "order {} read", order.id);
    Response::from_json(&order)
}
