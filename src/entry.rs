//! Workers entry points: `fetch` hands every request to `http::handle`,
//! `scheduled` (the cron trigger, every minute) evaluates the alert rules
//! and then prunes past retention.

use worker::{event, Context, Env, Request, Response, Result, ScheduleContext, ScheduledEvent};

use crate::jobs::{alerts::run_alert_cycle, prune::prune};

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    Ok(crate::http::handle(req, env, ctx).await)
}

#[event(scheduled)]
async fn scheduled(event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let now_ms = event.schedule();
    match run_alert_cycle(&env, now_ms).await {
        Ok(report) => worker::console_log!(
            "alerts: {} evaluations, {} changes, {} opened, {} resolved, {} notifications delivered",
            report.evaluations,
            report.changes.len(),
            report.opened.len(),
            report.resolved.len(),
            report.notifications.delivered
        ),
        Err(e) => worker::console_error!("alert evaluation failed: {e}"),
    }
    match prune(&env, now_ms).await {
        Ok(pruned) => worker::console_log!(
            "pruned {} span blocks, {} traces of blocks, {} spans, {} traces, {} dependency calls, {} dependency minutes, {} RED minutes, {} operation minutes, {} operation hours, {} log records, {} resolved incidents, {} metric minutes, {} metric points, {} metric series",
            pruned.blocks.blocks,
            pruned.blocks.traces,
            pruned.traces.spans,
            pruned.traces.traces,
            pruned.traces.dependency_calls,
            pruned.call_minutes,
            pruned.red_minutes,
            pruned.operation_minutes,
            pruned.operation_hours,
            pruned.log_records,
            pruned.incidents,
            pruned.metric_minutes,
            pruned.metric_points,
            pruned.metric_series
        ),
        Err(e) => worker::console_error!("pruning failed: {e}"),
    }
}
