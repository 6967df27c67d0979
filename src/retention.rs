//! How long hot data stays in D1 and how the cron job prunes it: trace by
//! trace (a trace goes when it started before the cutoff, with all its spans
//! and dependency calls), in bounded chunks, so one run stays within the
//! Workers CPU and D1 statement limits.

/// Default `SPAN_RETENTION_DAYS`: spans, trace metadata, dependency calls and per-minute roll-ups.
pub const DEFAULT_SPAN_RETENTION_DAYS: f64 = 7.0;
/// Default `LOG_RETENTION_DAYS`: log records.
pub const DEFAULT_LOG_RETENTION_DAYS: f64 = 7.0;
/// Log records deleted per cron run.
pub const MAX_PRUNE_LOG_RECORDS: u32 = 10_000;
/// Default `METRIC_RETENTION_DAYS`: metric points and series not seen since (as Prometheus keeps).
pub const DEFAULT_METRIC_RETENTION_DAYS: f64 = 15.0;
/// Metric minute rows, point packs and series deleted per cron run (each).
pub const MAX_PRUNE_METRIC_ROWS: u32 = 10_000;
/// Default `INCIDENT_RETENTION_DAYS`: resolved incidents and their notifications.
pub const DEFAULT_INCIDENT_RETENTION_DAYS: f64 = 90.0;
/// Resolved incidents deleted per cron run.
pub const MAX_PRUNE_INCIDENTS: u32 = 1_000;
/// Default `SLO_RETENTION_DAYS`: per-operation hourly roll-ups (long enough for 30-day SLOs).
pub const DEFAULT_SLO_RETENTION_DAYS: f64 = 35.0;
/// Traces of the D1-only span table deleted per chunk (one D1 batch).
pub const PRUNE_CHUNK_TRACES: u32 = 200;
/// Span blocks pruned per chunk (one D1 batch, their traces' records read first).
pub const PRUNE_CHUNK_BLOCKS: u32 = 20;
/// Log block segments pruned per chunk (one D1 read, one D1 delete, one R2 delete).
pub const PRUNE_CHUNK_LOG_SEGMENTS: u32 = 500;
/// Dependency minute rows deleted per cron run.
pub const MAX_PRUNE_CALL_MINUTES: u32 = 10_000;
/// Operation minute rows deleted per cron run (one per operation and minute).
pub const MAX_PRUNE_RED_MINUTES: u32 = 10_000;
/// Chunks per cron run (the rest waits for the next minute).
pub const MAX_PRUNE_CHUNKS: u32 = 25;

const DAY_MS: f64 = 86_400_000.0;

/// Rows starting before this (unix ms) are past retention.
pub fn cutoff_ms(now_ms: f64, retention_days: f64) -> f64 {
    now_ms - retention_days * DAY_MS
}

/// Parses a retention in days: a positive number, else `default`.
pub fn retention_days(value: Option<&str>, default: f64) -> f64 {
    value.and_then(|v| v.trim().parse::<f64>().ok()).filter(|d| d.is_finite() && *d > 0.0).unwrap_or(default)
}

/// Whether another chunk is worth running: the last one was full (`removed`
/// of at most `chunk`) and the budget is not spent.
pub fn more_to_prune(removed: u32, chunk: u32, chunks_run: u32) -> bool {
    removed >= chunk && chunks_run < MAX_PRUNE_CHUNKS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cutoff_is_retention_days_before_now() {
        assert_eq!(cutoff_ms(10.0 * DAY_MS, 7.0), 3.0 * DAY_MS);
    }

    #[test]
    fn retention_falls_back_to_the_default_for_missing_or_bad_values() {
        assert_eq!(retention_days(Some("3"), DEFAULT_SPAN_RETENTION_DAYS), 3.0);
        assert_eq!(retention_days(Some("0.5"), DEFAULT_SPAN_RETENTION_DAYS), 0.5);
        for bad in [None, Some(""), Some("-1"), Some("0"), Some("week")] {
            assert_eq!(retention_days(bad, DEFAULT_SLO_RETENTION_DAYS), DEFAULT_SLO_RETENTION_DAYS, "{bad:?}");
        }
    }

    #[test]
    fn pruning_stops_at_a_partial_chunk_or_the_budget() {
        assert!(more_to_prune(PRUNE_CHUNK_TRACES, PRUNE_CHUNK_TRACES, 1));
        assert!(!more_to_prune(PRUNE_CHUNK_TRACES - 1, PRUNE_CHUNK_TRACES, 1));
        assert!(!more_to_prune(PRUNE_CHUNK_TRACES, PRUNE_CHUNK_TRACES, MAX_PRUNE_CHUNKS));
    }
}
