//! Workers entry points: `fetch` hands every request to `http::handle`.

use worker::{event, Context, Env, Request, Response, Result};

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    Ok(crate::http::handle(req, env, ctx).await)
}
