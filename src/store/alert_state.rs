//! Per-rule alert state in KV `ALERT_STATE`, keyed `alert:{rule_id}`: the
//! rule's `RuleState` per service. Read with bulk gets (100 keys per KV
//! operation); written only when a phase changes, so a quiet rule costs no
//! KV writes.

use std::collections::HashMap;

use futures_util::future::try_join_all;
use worker::kv::KvStore;

use super::StoreError;
use crate::alerting::cycle::{state_key, ServiceStates};

/// Keys per bulk get (the KV limit).
const BULK_GET_KEYS: usize = 100;

pub struct KvAlertState {
    kv: KvStore,
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("KV ALERT_STATE: {e}"))
}

impl KvAlertState {
    pub fn new(kv: KvStore) -> Self {
        Self { kv }
    }

    /// The stored states of these rules (rules never evaluated are absent).
    pub async fn load(&self, rule_ids: &[&str]) -> Result<HashMap<String, ServiceStates>, StoreError> {
        let mut states = HashMap::with_capacity(rule_ids.len());
        for ids in rule_ids.chunks(BULK_GET_KEYS) {
            let keys: Vec<String> = ids.iter().map(|id| state_key(id)).collect();
            let values = self.kv.get_bulk(&keys).text().await.map_err(unavailable)?;
            for id in ids {
                let Some(Some(text)) = values.get(&state_key(id)) else { continue };
                // An unreadable state is dropped: the rule starts over, its incidents are reconciled.
                match serde_json::from_str::<ServiceStates>(text) {
                    Ok(state) => _ = states.insert((*id).to_string(), state),
                    Err(e) => worker::console_error!("alert state of {id} ignored: {e}"),
                }
            }
        }
        Ok(states)
    }

    /// One rule's stored state (`None` when absent or unreadable).
    pub async fn get(&self, rule_id: &str) -> Result<Option<ServiceStates>, StoreError> {
        let text = self.kv.get(&state_key(rule_id)).text().await.map_err(unavailable)?;
        Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
    }

    /// Writes these rules' states, concurrently.
    pub async fn save(&self, states: &[(String, ServiceStates)]) -> Result<(), StoreError> {
        let puts = states.iter().map(|(rule_id, state)| async move {
            // As JSON text, in bytes: handing a value to `put` converts it through serde_wasm_bindgen
            // (a map would become a JS Map, not JSON) and pulls core's float formatting into the wasm.
            let json = serde_json::to_vec(state).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            self.kv.put_bytes(&state_key(rule_id), &json).map_err(unavailable)?.execute().await.map_err(unavailable)
        });
        try_join_all(puts).await?;
        Ok(())
    }

    pub async fn delete(&self, rule_id: &str) -> Result<(), StoreError> {
        self.kv.delete(&state_key(rule_id)).await.map_err(unavailable)
    }
}
