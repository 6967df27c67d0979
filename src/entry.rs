//! Workers entry points: `fetch` hands every request to `http::handle`,
//! `queue` stores the span messages of the ingest queue, `scheduled` (the
//! cron trigger, every minute) evaluates the alert rules and then prunes past
//! retention.

use worker::{
    event, Context, Env, MessageBatch, MessageExt, Request, Response, Result, ScheduleContext, ScheduledEvent,
};

use crate::ingest::trace_batch::{parse_message, trace_ids};

use crate::jobs::{alerts::run_alert_cycle, prune::prune};

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    Ok(crate::http::handle(req, env, ctx).await)
}

/// One batch of the ingest queue, stored as one batch of spans. A message
/// that cannot be read is retried alone (it ends in the dead-letter queue);
/// when storing fails every message is retried; a message delivered again
/// stores and counts nothing twice. Never returns an error: that would retry
/// the acknowledged messages too.
#[event(queue)]
async fn queue(batch: MessageBatch<String>, env: Env, ctx: Context) -> Result<()> {
    let delivered: Vec<_> = batch.raw_iter().collect();
    let texts: Vec<Option<String>> = delivered.iter().map(|m| m.body().as_string()).collect();
    let mut readable = Vec::new();
    let mut parsed = Vec::new();
    for (message, text) in delivered.iter().zip(&texts) {
        let checked = text
            .as_deref()
            .map(|t| parse_message(t.as_bytes()).and_then(|m| trace_ids(std::slice::from_ref(&m)).map(|_| m)));
        match checked {
            Some(Ok(m)) => {
                readable.push(message);
                parsed.push(m);
            }
            Some(Err(e)) => {
                worker::console_error!("ingest queue message {} unreadable: {e}", message.id());
                message.retry();
            }
            None => {
                worker::console_error!("ingest queue message {} is not text", message.id());
                message.retry();
            }
        }
    }
    match crate::http::traces::store_messages(&env, &ctx, &parsed).await {
        Ok(_) => readable.iter().for_each(|m| m.ack()),
        Err(e) => {
            worker::console_error!("{} ingest queue messages not stored, retried: {}", readable.len(), e.message);
            readable.iter().for_each(|m| m.retry());
        }
    }
    Ok(())
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
