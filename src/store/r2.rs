//! The blob port of `storage` on an R2 bucket: whole-object puts that never
//! overwrite (a conditional put), range reads of one segment, deletes of up
//! to 1,000 keys per call.

use worker::{Bucket, Conditional, Range};

use crate::storage::ports::{BlobStore, StorageError};

/// R2 deletes at most this many keys per call.
const MAX_DELETE_KEYS: usize = 1000;

pub struct R2Blobs {
    bucket: Bucket,
}

impl R2Blobs {
    pub fn new(bucket: Bucket) -> Self {
        Self { bucket }
    }
}

fn unavailable(e: worker::Error) -> StorageError {
    StorageError::Unavailable(format!("R2: {e}"))
}

impl BlobStore for R2Blobs {
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StorageError> {
        // `etagDoesNotMatch: "*"`: only if no object has the key (R2 answers no object otherwise).
        let absent = Conditional { etag_does_not_match: Some("*".into()), ..Conditional::default() };
        match self.bucket.put(key, bytes).only_if(absent).execute().await.map_err(unavailable)? {
            Some(_) => Ok(()),
            None => Err(StorageError::Conflict),
        }
    }

    async fn get_range(&self, key: &str, offset: u32, length: u32) -> Result<Option<Vec<u8>>, StorageError> {
        let range = Range::OffsetWithLength { offset: offset.into(), length: length.into() };
        let Some(object) = self.bucket.get(key).range(range).execute().await.map_err(unavailable)? else {
            return Ok(None);
        };
        let body = object.body().ok_or_else(|| StorageError::Corrupt(format!("R2 object {key} has no body")))?;
        let bytes = body.bytes().await.map_err(unavailable)?;
        if bytes.len() != length as usize {
            return Err(StorageError::Corrupt(format!("R2 object {key}: {} bytes read of {length}", bytes.len())));
        }
        Ok(Some(bytes))
    }

    async fn delete(&self, keys: &[String]) -> Result<(), StorageError> {
        for part in keys.chunks(MAX_DELETE_KEYS) {
            self.bucket.delete_multiple(part.iter().map(String::as_str).collect()).await.map_err(unavailable)?;
        }
        Ok(())
    }
}
