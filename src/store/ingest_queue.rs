//! The producer side of the queue between span ingest and storage
//! (docs/storage.md): an export's messages, sent as text in as few
//! `sendBatch` calls as Queues allows.

use wasm_bindgen::JsValue;
use worker::{Queue, QueueContentType, RawMessageBuilder, SendMessage};

use super::StoreError;

/// Queues takes at most 100 messages and 256 KB per `sendBatch`.
const MAX_BATCH_MESSAGES: usize = 100;
const MAX_BATCH_BYTES: usize = 250_000;

/// Sends every message or fails (a retried export sends them again; storage
/// counts a message delivered twice once).
pub async fn send(queue: &Queue, messages: &[&str]) -> Result<(), StoreError> {
    let mut group: Vec<SendMessage<JsValue>> = Vec::new();
    let mut bytes = 0;
    for message in messages {
        if !group.is_empty() && (group.len() == MAX_BATCH_MESSAGES || bytes + message.len() > MAX_BATCH_BYTES) {
            send_group(queue, std::mem::take(&mut group)).await?;
            bytes = 0;
        }
        group.push(RawMessageBuilder::new(JsValue::from_str(message)).build_with_content_type(QueueContentType::Text));
        bytes += message.len();
    }
    if group.is_empty() {
        return Ok(());
    }
    send_group(queue, group).await
}

async fn send_group(queue: &Queue, group: Vec<SendMessage<JsValue>>) -> Result<(), StoreError> {
    queue.send_raw_batch(group).await.map_err(|e| StoreError::Unavailable(format!("ingest queue: {e}")))
}
