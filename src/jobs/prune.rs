//! Pruning hot D1 tables past retention (run by the cron trigger).

use worker::Env;

use crate::retention::{cutoff_ms, more_to_prune, retention_days, MAX_PRUNE_RED_MINUTES, PRUNE_CHUNK_TRACES};
use crate::store::services::D1ServiceStore;
use crate::store::traces::{D1TraceStore, PruneCounts};
use crate::store::{bindings, StoreError};

/// What one cron run deleted.
pub struct Pruned {
    pub traces: PruneCounts,
    pub red_minutes: u32,
}

/// Prunes traces (with their spans and dependency calls) and RED minutes
/// older than `SPAN_RETENTION_DAYS`, chunk by chunk, and returns the totals.
pub async fn prune(env: &Env, now_ms: f64) -> Result<Pruned, StoreError> {
    let db = || env.d1(bindings::DB).map_err(|e| StoreError::Unavailable(e.to_string()));
    let store = D1TraceStore::new(db()?);
    let cutoff = cutoff_ms(now_ms, retention_days(bindings::text(env, bindings::SPAN_RETENTION_DAYS).as_deref()));
    let mut total = PruneCounts::default();
    let mut chunks = 0;
    loop {
        let chunk = store.prune_chunk(cutoff, PRUNE_CHUNK_TRACES).await?;
        chunks += 1;
        total.spans += chunk.spans;
        total.traces += chunk.traces;
        total.dependency_calls += chunk.dependency_calls;
        if !more_to_prune(chunk.traces, chunks) {
            break;
        }
    }
    let red_minutes = D1ServiceStore::new(db()?).prune_red_minutes(cutoff, MAX_PRUNE_RED_MINUTES).await?;
    Ok(Pruned { traces: total, red_minutes })
}
