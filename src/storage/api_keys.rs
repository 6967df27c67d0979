//! API keys in D1 (`api_keys`, migration 0018): created, found by id,
//! listed, revoked and rotated; and the per-isolate cache that spares a D1
//! read on every request (a key's row is trusted for `CACHE_MS`, so a
//! revocation reaches other isolates within that time).

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::ports::{result, SqlDatabase, SqlValue, Statement, StorageError};
use crate::api::keys::{KeyRequest, NewKey, StoredKey};

/// How long an isolate trusts a key's row (or its absence) before reading it again.
pub const CACHE_MS: f64 = 60_000.0;
/// Most ids one isolate keeps (unknown ids included); past it the cache starts over.
const CACHE_ENTRIES: usize = 1024;

macro_rules! columns {
    () => {
        "id, name, scope, secret_hash, previous_hash, previous_valid_until_ms, created_ms, expires_ms, revoked_ms, rotated_ms"
    };
}

const INSERT: &str = concat!(
    "INSERT INTO api_keys (id, name, scope, secret_hash, created_ms, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING ",
    columns!()
);
const FIND: &str = concat!("SELECT ", columns!(), " FROM api_keys WHERE id = ?1");
/// The newest 1000 keys.
const LIST: &str = concat!("SELECT ", columns!(), " FROM api_keys ORDER BY created_ms DESC, id LIMIT 1000");
/// Revoking twice keeps the first time.
const REVOKE: &str =
    concat!("UPDATE api_keys SET revoked_ms = coalesce(revoked_ms, ?2) WHERE id = ?1 RETURNING ", columns!());
/// The current secret becomes the previous one, valid until ?3.
const ROTATE: &str = concat!(
    "UPDATE api_keys SET previous_hash = secret_hash, previous_valid_until_ms = ?3, secret_hash = ?2, rotated_ms = ?4 ",
    "WHERE id = ?1 AND revoked_ms IS NULL RETURNING ",
    columns!()
);

/// What a rotation found.
#[derive(Debug)]
pub enum Rotation {
    Rotated(StoredKey),
    NotFound,
    Revoked,
}

pub struct KeyStore<'a, D: SqlDatabase> {
    db: &'a D,
}

impl<'a, D: SqlDatabase> KeyStore<'a, D> {
    pub fn new(db: &'a D) -> Self {
        Self { db }
    }

    async fn rows(&self, sql: &'static str, args: Vec<SqlValue>) -> Result<Vec<StoredKey>, StorageError> {
        let rows: Vec<Map<String, Value>> =
            result(&self.db.batch(vec![Statement::new(sql, args)]).await?, 0)?.rows()?;
        rows.iter().map(|row| StoredKey::from_row(row).map_err(|e| StorageError::Corrupt(e.to_string()))).collect()
    }

    async fn one(&self, sql: &'static str, args: Vec<SqlValue>) -> Result<Option<StoredKey>, StorageError> {
        Ok(self.rows(sql, args).await?.into_iter().next())
    }

    pub async fn create(&self, key: &NewKey, request: &KeyRequest, now_ms: f64) -> Result<StoredKey, StorageError> {
        let expires = request.expires_ms.map_or(SqlValue::Null, SqlValue::Number);
        let args = vec![
            key.id.as_str().into(),
            request.name.as_str().into(),
            request.scope.as_str().into(),
            key.secret_hash.as_str().into(),
            now_ms.into(),
            expires,
        ];
        self.one(INSERT, args).await?.ok_or_else(|| StorageError::Corrupt("a created key was not returned".into()))
    }

    pub async fn find(&self, id: &str) -> Result<Option<StoredKey>, StorageError> {
        self.one(FIND, vec![id.into()]).await
    }

    /// The newest keys (1000 at most), revoked and expired ones included.
    pub async fn list(&self) -> Result<Vec<StoredKey>, StorageError> {
        self.rows(LIST, Vec::new()).await
    }

    /// The revoked key, `None` if there is none with this id.
    pub async fn revoke(&self, id: &str, now_ms: f64) -> Result<Option<StoredKey>, StorageError> {
        self.one(REVOKE, vec![id.into(), now_ms.into()]).await
    }

    /// A new secret; the previous one stays valid for `grace_ms`.
    pub async fn rotate(&self, key: &NewKey, grace_ms: f64, now_ms: f64) -> Result<Rotation, StorageError> {
        let args =
            vec![key.id.as_str().into(), key.secret_hash.as_str().into(), (now_ms + grace_ms).into(), now_ms.into()];
        if let Some(rotated) = self.one(ROTATE, args).await? {
            return Ok(Rotation::Rotated(rotated));
        }
        Ok(match self.find(&key.id).await? {
            Some(_) => Rotation::Revoked,
            None => Rotation::NotFound,
        })
    }
}

/// Rows of keys (or their absence) read by this isolate, with when.
#[derive(Debug, Default)]
pub struct KeyCache {
    entries: HashMap<String, (Option<StoredKey>, f64)>,
}

impl KeyCache {
    /// The cached row (`Some(None)`: known not to exist), if read less than `CACHE_MS` ago.
    pub fn get(&self, id: &str, now_ms: f64) -> Option<Option<StoredKey>> {
        self.entries.get(id).filter(|(_, at)| now_ms - at < CACHE_MS).map(|(key, _)| key.clone())
    }

    pub fn put(&mut self, id: &str, key: Option<StoredKey>, now_ms: f64) {
        if self.entries.len() >= CACHE_ENTRIES {
            self.entries.clear();
        }
        self.entries.insert(id.to_string(), (key, now_ms));
    }

    /// The next use reads the row again (after this isolate changed it).
    pub fn forget(&mut self, id: &str) {
        self.entries.remove(id);
    }
}

#[cfg(test)]
mod tests {
    use pollster::block_on;

    use super::*;
    use crate::api::keys::{parse_token, KeyScope, KEY_RANDOM_BYTES};
    use crate::storage::testing::Sqlite;

    const NOW: f64 = 1_800_000_000_000.0;

    fn new_key(seed: u8) -> NewKey {
        NewKey::from_random(&[seed; KEY_RANDOM_BYTES])
    }

    fn request(scope: KeyScope) -> KeyRequest {
        KeyRequest { name: "ci exporter".into(), scope, expires_ms: Some(NOW + 1000.0) }
    }

    #[test]
    fn a_created_key_is_found_listed_and_checks_its_secret() {
        let db = Sqlite::with_schema();
        let store = KeyStore::new(&db);
        let key = new_key(1);
        let created = block_on(store.create(&key, &request(KeyScope::Ingest), NOW)).unwrap();
        assert_eq!((created.scope.as_str(), created.expires_ms), ("ingest", Some(NOW + 1000.0)));
        let found = block_on(store.find(&key.id)).unwrap().unwrap();
        assert_eq!(found, created);
        assert_eq!(found.check(parse_token(&key.token).unwrap().1, NOW), Ok(KeyScope::Ingest));
        block_on(store.create(&new_key(2), &request(KeyScope::Read), NOW + 1.0)).unwrap();
        let listed: Vec<String> = block_on(store.list()).unwrap().into_iter().map(|k| k.id).collect();
        assert_eq!(listed, [new_key(2).id, key.id.clone()]);
        assert_eq!(block_on(store.find("000000000000")).unwrap(), None);
        let stored = db.query("SELECT * FROM api_keys");
        assert!(!format!("{stored:?}").contains(parse_token(&key.token).unwrap().1), "the secret is never stored");
    }

    #[test]
    fn revoking_keeps_the_first_time_and_rotation_keeps_the_old_secret_for_the_grace_period() {
        let db = Sqlite::with_schema();
        let store = KeyStore::new(&db);
        let old = new_key(3);
        block_on(store.create(&old, &request(KeyScope::Admin), NOW)).unwrap();
        let new = NewKey::rotated(&old.id, &[9; KEY_RANDOM_BYTES]);
        let Rotation::Rotated(row) = block_on(store.rotate(&new, 500.0, NOW + 10.0)).unwrap() else { panic!() };
        let secret = |k: &NewKey| parse_token(&k.token).unwrap().1.to_string();
        assert_eq!(row.check(&secret(&old), NOW + 100.0), Ok(KeyScope::Admin));
        assert_eq!(row.check(&secret(&new), NOW + 100.0), Ok(KeyScope::Admin));
        assert!(row.check(&secret(&old), NOW + 510.0).is_err());
        assert_eq!(row.rotated_ms, Some(NOW + 10.0));

        assert_eq!(block_on(store.revoke(&old.id, NOW + 20.0)).unwrap().unwrap().revoked_ms, Some(NOW + 20.0));
        assert_eq!(block_on(store.revoke(&old.id, NOW + 30.0)).unwrap().unwrap().revoked_ms, Some(NOW + 20.0));
        assert!(block_on(store.find(&old.id)).unwrap().unwrap().check(&secret(&new), NOW + 40.0).is_err());
        assert!(matches!(block_on(store.rotate(&new, 0.0, NOW)).unwrap(), Rotation::Revoked));
        let unknown = NewKey::rotated("0123456789ab", &[1; KEY_RANDOM_BYTES]);
        assert!(matches!(block_on(store.rotate(&unknown, 0.0, NOW)).unwrap(), Rotation::NotFound));
        assert_eq!(block_on(store.revoke("0123456789ab", NOW)).unwrap(), None);
    }

    #[test]
    fn the_cache_trusts_a_row_for_a_minute_and_stays_bounded() {
        let mut cache = KeyCache::default();
        assert_eq!(cache.get("a", NOW), None);
        cache.put("a", None, NOW);
        assert_eq!(cache.get("a", NOW + CACHE_MS - 1.0), Some(None));
        assert_eq!(cache.get("a", NOW + CACHE_MS), None);
        cache.put("b", None, NOW);
        cache.forget("b");
        assert_eq!(cache.get("b", NOW), None);
        for i in 0..CACHE_ENTRIES + 1 {
            cache.put(&i.to_string(), None, NOW);
        }
        assert!(cache.entries.len() <= CACHE_ENTRIES);
    }
}
