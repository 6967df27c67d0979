//! Rolling the call minutes into the call totals (the cron, every minute;
//! `storage::spans::SpanStore::roll_call_totals`), so stored batches write
//! call minutes only.

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
    SpanStore::new(&d1, &blobs, &[]).roll_call_totals(now_ms).await
}
