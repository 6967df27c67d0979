//! Counters of the collector's own failures that nothing else records (the
//! Analytics Engine points it could not write), kept in D1 for `/health`.
//! Written only when something fails.

use serde::Deserialize;

use super::d1::{number, text, D1};
use super::StoreError;

/// Analytics Engine points not written: the binding missing or throwing, or a hand-over that failed.
pub const AE_POINTS_NOT_WRITTEN: &str = "analytics_engine.points_not_written";

const ADD: &str = "INSERT INTO collector_counters (name, value, updated_ms) VALUES (?1, ?2, ?3) \
     ON CONFLICT (name) DO UPDATE SET value = value + excluded.value, updated_ms = excluded.updated_ms";
const READ: &str = "SELECT value, updated_ms FROM collector_counters WHERE name = ?1";

/// A counter's total and when it last grew (unix ms).
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct Counter {
    pub value: f64,
    pub updated_ms: f64,
}

pub async fn add(d1: &D1, name: &str, amount: usize, now_ms: f64) -> Result<(), StoreError> {
    d1.run(ADD, &[text(name), number(amount as f64), number(now_ms)]).await.map(|_| ())
}

/// The counter, zero if it never grew.
pub async fn read(d1: &D1, name: &str) -> Result<Counter, StoreError> {
    Ok(d1.first::<Counter>(READ, &[text(name)]).await?.unwrap_or_default())
}
