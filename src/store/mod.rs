//! The only code that touches Workers bindings: binding names, D1 stores,
//! KV alert state, the Analytics Engine writer, and the D1 and R2 sides of
//! `storage`'s ports. Each maps platform errors to `StoreError` (or `StorageError`).

mod alert_sql;
pub mod alert_state;
pub mod alerts;
pub mod analytics_engine;
pub mod bindings;
pub mod counters;
pub mod d1;
pub mod ingest_queue;
mod log_sql;
pub mod logs;
pub mod post;
pub mod r2;
mod service_sql;
pub mod services;
mod slo_sql;
pub mod slos;
mod trace_sql;
pub mod traces;

/// A storage failure, as the HTTP layer needs to tell them apart.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store did not answer or refused the statement: retryable.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The store answered with rows we cannot read.
    #[error("unexpected stored data: {0}")]
    Corrupt(String),
}

impl From<crate::storage::ports::StorageError> for StoreError {
    fn from(e: crate::storage::ports::StorageError) -> Self {
        match e {
            crate::storage::ports::StorageError::Corrupt(m) => StoreError::Corrupt(m),
            other => StoreError::Unavailable(other.to_string()),
        }
    }
}

impl From<StoreError> for crate::api::ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => crate::api::ApiError::unavailable(e.to_string()),
            StoreError::Corrupt(_) => crate::api::ApiError::internal(e.to_string()),
        }
    }
}
