//! Workers entry points: `fetch` hands every request to `http::handle`,
//! `scheduled` (the cron trigger) runs the jobs.

use worker::{event, Context, Env, Request, Response, Result, ScheduleContext, ScheduledEvent};

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    Ok(crate::http::handle(req, env, ctx).await)
}

#[event(scheduled)]
async fn scheduled(event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    match crate::jobs::prune(&env, event.schedule()).await {
        Ok(pruned) => worker::console_log!(
            "pruned {} spans, {} traces, {} dependency calls, {} RED minutes",
            pruned.traces.spans,
            pruned.traces.traces,
            pruned.traces.dependency_calls,
            pruned.red_minutes
        ),
        Err(e) => worker::console_error!("pruning failed: {e}"),
    }
}
