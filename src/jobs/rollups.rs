//! Rolling minute roll-ups forward (the cron, every minute;
//! `storage::spans::SpanStore::roll_forward`): call minutes into the call
//! totals, operation minutes into their hours, so stored batches write
//! minutes only.

use worker::Env;

use crate::storage::ports::StorageError;
use crate::storage::spans::SpanStore;
use crate::store::bindings;
use crate::store::d1::D1;

/// Returns the D1 rows written.
pub async fn roll(env: &Env, now_ms: f64) -> Result<u64, StorageError> {
    let unavailable = |e: crate::store::StoreError| StorageError::Unavailable(e.to_string());
    let d1 = D1::new(bindings::database(env).map_err(unavailable)?);
    let blobs = bindings::blocks(env).map_err(unavailable)?;
    SpanStore::new(&d1, &blobs, &[]).roll_forward(now_ms).await
}
