//! `D1ServiceStore`: registered services and the dependencies between them.

use worker::D1Database;

use super::service_sql as sql;
use super::StoreError;
use crate::topology::{StoredDependency, StoredService};

pub struct D1ServiceStore {
    db: D1Database,
}

impl D1ServiceStore {
    pub fn new(db: D1Database) -> Self {
        Self { db }
    }

    /// Services and dependency totals, read in one round trip.
    pub async fn graph(&self) -> Result<(Vec<StoredService>, Vec<StoredDependency>), StoreError> {
        let results = self
            .db
            .batch(vec![self.db.prepare(sql::SELECT_SERVICES), self.db.prepare(sql::SELECT_DEPENDENCIES)])
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let corrupt = |e: worker::Error| StoreError::Corrupt(e.to_string());
        let (Some(services), Some(dependencies)) = (results.first(), results.get(1)) else {
            return Err(StoreError::Corrupt("batch answered fewer results than statements".into()));
        };
        Ok((services.results().map_err(corrupt)?, dependencies.results().map_err(corrupt)?))
    }
}
