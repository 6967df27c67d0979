//! Workers entry points: `fetch` hands every request to `http::handle`,
//! `queue` stores the span and log messages of the ingest queue, `scheduled` (the
//! cron trigger, every minute) evaluates the alert rules, rolls the call
//! minutes into the call totals and then prunes past retention.

use worker::{
    event, Context, Env, MessageBatch, MessageExt, RawMessage, Request, Response, Result, ScheduleContext,
    ScheduledEvent,
};

use crate::api::ApiError;
use crate::http::{logs as http_logs, traces};
use crate::ingest::log_batch::{self, is_log_message};
use crate::ingest::trace_batch::{parse_message, BatchPieces};

use crate::jobs::{alerts::run_alert_cycle, prune::prune};

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    Ok(crate::http::handle(req, env, ctx).await)
}

/// One batch of the ingest queue: its span messages stored as one batch of
/// spans, its log messages as one batch of log records. A message that
/// cannot be read is retried alone (it ends in the dead-letter queue); when
/// storing a signal fails, its messages are retried; a message delivered
/// again stores and counts nothing twice. Never returns an error: that
/// would retry the acknowledged messages too.
#[event(queue)]
async fn queue(batch: MessageBatch<String>, env: Env, ctx: Context) -> Result<()> {
    let delivered: Vec<_> = batch.raw_iter().collect();
    let texts: Vec<Option<String>> = delivered.iter().map(|m| m.body().as_string()).collect();
    let (mut span_messages, mut spans) = (Vec::new(), BatchPieces::default());
    let (mut log_messages, mut logs) = (Vec::new(), Vec::new());
    for (message, text) in delivered.iter().zip(&texts) {
        let Some(text) = text.as_deref() else {
            worker::console_error!("ingest queue message {} is not text", message.id());
            message.retry();
            continue;
        };
        let unreadable = if is_log_message(text.as_bytes()) {
            log_batch::parse_message(text.as_bytes())
                .map(|m| {
                    log_messages.push(message);
                    logs.push(m);
                })
                .map_err(|e| e.to_string())
        } else {
            parse_message(text.as_bytes())
                .and_then(|m| spans.add(&m))
                .map(|()| span_messages.push(message))
                .map_err(|e| e.to_string())
        };
        if let Err(e) = unreadable {
            worker::console_error!("ingest queue message {} unreadable: {e}", message.id());
            message.retry();
        }
    }
    if !span_messages.is_empty() {
        settle("span", traces::store_messages(&env, &ctx, &spans).await, &span_messages);
    }
    if !logs.is_empty() {
        settle("log", http_logs::store_messages(&env, &ctx, &logs).await, &log_messages);
    }
    Ok(())
}

/// Acknowledges the messages once stored, else retries them.
fn settle(signal: &str, stored: std::result::Result<usize, ApiError>, messages: &[&RawMessage]) {
    match stored {
        Ok(_) => messages.iter().for_each(|m| m.ack()),
        Err(e) => {
            worker::console_error!("{} {signal} messages not stored, retried: {}", messages.len(), e.message);
            messages.iter().for_each(|m| m.retry());
        }
    }
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
    match crate::jobs::rollups::roll(&env, now_ms).await {
        Ok(rows) => worker::console_log!("roll-ups rolled forward (call totals, operation hours): {rows} rows written"),
        Err(e) => worker::console_error!("rolling call totals failed: {e}"),
    }
    match prune(&env, now_ms).await {
        Ok(pruned) => worker::console_log!(
            "pruned {} span blocks, {} traces of blocks, {} spans, {} traces, {} dependency calls, {} dependency minutes, {} operation minutes, {} operation hours, {} log segments holding {} records, {} log records, {} resolved incidents, {} metric packs, {} metric series",
            pruned.blocks.blocks,
            pruned.blocks.traces,
            pruned.traces.spans,
            pruned.traces.traces,
            pruned.traces.dependency_calls,
            pruned.call_minutes,
            pruned.operation_minutes,
            pruned.operation_hours,
            pruned.log_segments.segments,
            pruned.log_segments.records,
            pruned.log_records,
            pruned.incidents,
            pruned.metrics.packs,
            pruned.metrics.series
        ),
        Err(e) => worker::console_error!("pruning failed: {e}"),
    }
}
