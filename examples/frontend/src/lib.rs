//! Example `frontend` Worker: `GET /orders/:id` asks the `orders` Worker
//! through the `ORDERS` service binding and renders the answer; `GET
//! /status` asks an outside status page over the internet. One line
//! instruments it (`worker_otel::instrument`); the call to `orders` goes
//! through `Span::fetch_binding`, so `orders` joins the same trace, and the
//! status call through `Span::fetch`.
#![cfg(target_arch = "wasm32")]

use worker::{event, Context, Env, Method, Request, Response, Result};
use worker_otel::{otel_log, Span};

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    let config = worker_otel::config_from_env(&env).with_resource("service.version", env!("CARGO_PKG_VERSION"));
    worker_otel::instrument(config, req, env, &ctx, handle).await
}

async fn handle(req: Request, env: Env, span: Span) -> Result<Response> {
    let path = req.path();
    if path == "/status" {
        span.set_http_route("/status");
        let mut status = span.fetch(Request::new("https://status.example.com/api/status", Method::Get)?).await?;
        return Response::ok(format!("upstream status: {}", status.text().await?));
    }
    let Some(id) = path.strip_prefix("/orders/") else {
        return Response::error("not found", 404);
    };
    span.set_http_route("/orders/:id");
    otel_log!(span, Info, "looking up order {id}");
    let orders = env.service("ORDERS")?;
    let mut answer =
        span.fetch_binding(&orders, Request::new(&format!("https://orders/orders/{id}"), Method::Get)?).await?;
    let status = answer.status_code();
    if status >= 500 {
        otel_log!(span, Error, "orders answered {status} for order {id}");
        return Response::error(format!("orders is unavailable ({status})"), 502);
    }
    let body = answer.text().await?;
    let page = span
        .in_span("render", |render| async move {
            render.set_attribute("order.found", status == 200);
            Ok::<_, worker::Error>(format!("<h1>Order {id}</h1><pre>{body}</pre>"))
        })
        .await?;
    Ok(Response::from_html(page)?.with_status(status))
}
