//! Pruning hot D1 tables past retention (run by the cron trigger).

use worker::Env;

use crate::retention::{
    cutoff_ms, more_to_prune, retention_days, DEFAULT_INCIDENT_RETENTION_DAYS, DEFAULT_LOG_RETENTION_DAYS,
    DEFAULT_METRIC_RETENTION_DAYS, DEFAULT_SLO_RETENTION_DAYS, DEFAULT_SPAN_RETENTION_DAYS, MAX_PRUNE_CALL_MINUTES,
    MAX_PRUNE_INCIDENTS, MAX_PRUNE_LOG_RECORDS, MAX_PRUNE_METRIC_ROWS, MAX_PRUNE_RED_MINUTES, PRUNE_CHUNK_BLOCKS,
    PRUNE_CHUNK_LOG_SEGMENTS, PRUNE_CHUNK_TRACES,
};
use crate::storage::logs::{LogStore, PrunedLogs};
use crate::storage::metrics::{MetricStore, PrunedMetrics};
use crate::storage::spans::{PrunedBlocks, SpanStore};
use crate::store::alerts::D1AlertStore;
use crate::store::d1::D1;
use crate::store::logs::D1LogStore;
use crate::store::services::D1ServiceStore;
use crate::store::slos::D1SloStore;
use crate::store::traces::{D1TraceStore, PruneCounts};
use crate::store::{bindings, StoreError};

/// What one cron run deleted.
pub struct Pruned {
    /// The D1-only span table (deployments older than span blocks).
    pub traces: PruneCounts,
    /// Span blocks, and the traces left without spans.
    pub blocks: PrunedBlocks,
    /// Per-minute dependency calls (taken out of the totals).
    pub call_minutes: u32,
    /// Per-operation minute roll-ups (a service's RED is their sum).
    pub operation_minutes: u32,
    /// Per-operation hourly roll-ups (past `SLO_RETENTION_DAYS`).
    pub operation_hours: u32,
    /// Log records of the `logs` table (past `LOG_RETENTION_DAYS`).
    pub log_records: u32,
    /// Log block segments and their records.
    pub log_segments: PrunedLogs,
    /// Resolved incidents, with their notifications (past `INCIDENT_RETENTION_DAYS`).
    pub incidents: u32,
    /// Metric minute roll-ups, point packs and series (past `METRIC_RETENTION_DAYS`).
    pub metrics: PrunedMetrics,
}

/// Prunes traces (with their spans and dependency calls) and per-minute
/// roll-ups older than `SPAN_RETENTION_DAYS`, chunk by chunk, and hourly
/// roll-ups older than `SLO_RETENTION_DAYS`, log records older than
/// `LOG_RETENTION_DAYS`, metric roll-ups and series older than
/// `METRIC_RETENTION_DAYS`, incidents resolved more than
/// `INCIDENT_RETENTION_DAYS` ago (never open ones); returns the totals.
pub async fn prune(env: &Env, now_ms: f64) -> Result<Pruned, StoreError> {
    let db = || bindings::database(env);
    let store = D1TraceStore::new(db()?);
    let days = |name, default| retention_days(bindings::text(env, name).as_deref(), default);
    let cutoff = cutoff_ms(now_ms, days(bindings::SPAN_RETENTION_DAYS, DEFAULT_SPAN_RETENTION_DAYS));
    let slo_cutoff = cutoff_ms(now_ms, days(bindings::SLO_RETENTION_DAYS, DEFAULT_SLO_RETENTION_DAYS));
    let log_cutoff = cutoff_ms(now_ms, days(bindings::LOG_RETENTION_DAYS, DEFAULT_LOG_RETENTION_DAYS));
    let metric_cutoff = cutoff_ms(now_ms, days(bindings::METRIC_RETENTION_DAYS, DEFAULT_METRIC_RETENTION_DAYS));
    let incident_cutoff = cutoff_ms(now_ms, days(bindings::INCIDENT_RETENTION_DAYS, DEFAULT_INCIDENT_RETENTION_DAYS));
    let mut total = PruneCounts::default();
    let mut chunks = 0;
    loop {
        let chunk = store.prune_chunk(cutoff, PRUNE_CHUNK_TRACES).await?;
        chunks += 1;
        total.spans += chunk.spans;
        total.traces += chunk.traces;
        total.dependency_calls += chunk.dependency_calls;
        if !more_to_prune(chunk.traces, PRUNE_CHUNK_TRACES, chunks) {
            break;
        }
    }
    let (d1, blobs) = (D1::new(db()?), bindings::blocks(env)?);
    let spans = SpanStore::new(&d1, &blobs, &[]);
    let mut blocks = PrunedBlocks::default();
    for chunks in 1.. {
        let chunk = spans.prune_chunk(cutoff, PRUNE_CHUNK_BLOCKS).await?;
        blocks.blocks += chunk.blocks;
        blocks.traces += chunk.traces;
        if !more_to_prune(chunk.blocks, PRUNE_CHUNK_BLOCKS, chunks) {
            break;
        }
    }
    // Calls leave the totals with their minutes (migration 0009).
    let call_minutes = D1ServiceStore::new(db()?).prune_call_minutes(cutoff, MAX_PRUNE_CALL_MINUTES).await?;
    let (operation_minutes, operation_hours) =
        D1SloStore::new(db()?).prune(cutoff, slo_cutoff, MAX_PRUNE_RED_MINUTES).await?;
    let logs = LogStore::new(&d1, &blobs);
    let mut log_segments = PrunedLogs::default();
    for chunks in 1.. {
        let chunk = logs.prune_chunk(log_cutoff, PRUNE_CHUNK_LOG_SEGMENTS).await?;
        log_segments.segments += chunk.segments;
        log_segments.records += chunk.records;
        if !more_to_prune(chunk.segments, PRUNE_CHUNK_LOG_SEGMENTS, chunks) {
            break;
        }
    }
    let log_records = D1LogStore::new(db()?).prune(log_cutoff, MAX_PRUNE_LOG_RECORDS).await?;
    let incidents = D1AlertStore::new(db()?).prune_resolved(incident_cutoff, MAX_PRUNE_INCIDENTS).await?;
    let metrics = MetricStore::new(&d1).prune(metric_cutoff, MAX_PRUNE_METRIC_ROWS).await?;
    Ok(Pruned {
        traces: total,
        blocks,
        call_minutes,
        operation_minutes,
        operation_hours,
        log_records,
        log_segments,
        incidents,
        metrics,
    })
}
