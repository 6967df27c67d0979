//! `D1ServiceStore`: registered services, the dependencies between them and
//! the per-minute RED roll-ups of their entry spans.

use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, D1Result};

use super::service_sql as sql;
use super::StoreError;
use crate::query::service_view::{StoredRed, Window};
use crate::topology::{StoredDependency, StoredService};

pub struct D1ServiceStore {
    db: D1Database,
}

fn rows<T: serde::de::DeserializeOwned>(results: &[D1Result], i: usize) -> Result<Vec<T>, StoreError> {
    results
        .get(i)
        .ok_or_else(|| StoreError::Corrupt("batch answered fewer results than statements".into()))?
        .results()
        .map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl D1ServiceStore {
    pub fn new(db: D1Database) -> Self {
        Self { db }
    }

    fn statement(&self, query: &str, args: &[JsValue]) -> Result<D1PreparedStatement, StoreError> {
        self.db.prepare(query).bind(args).map_err(|e| StoreError::Unavailable(e.to_string()))
    }

    async fn run(&self, statements: Vec<D1PreparedStatement>) -> Result<Vec<D1Result>, StoreError> {
        self.db.batch(statements).await.map_err(|e| StoreError::Unavailable(e.to_string()))
    }

    fn window_args(window: &Window) -> [JsValue; 2] {
        [JsValue::from_f64(window.start_minute_ms()), JsValue::from_f64(window.end_ms)]
    }

    /// Every registered service.
    pub async fn services(&self) -> Result<Vec<StoredService>, StoreError> {
        let result = self
            .statement(sql::SELECT_SERVICES, &[])?
            .all()
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        result.results().map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    /// Services and dependency totals, over a window or (without one) over all calls kept.
    pub async fn graph(
        &self,
        window: Option<&Window>,
    ) -> Result<(Vec<StoredService>, Vec<StoredDependency>), StoreError> {
        let dependencies = match window {
            Some(w) => self.statement(sql::SELECT_DEPENDENCIES_IN_WINDOW, &Self::window_args(w))?,
            None => self.statement(sql::SELECT_DEPENDENCIES, &[])?,
        };
        let results = self.run(vec![self.statement(sql::SELECT_SERVICES, &[])?, dependencies]).await?;
        Ok((rows(&results, 0)?, rows(&results, 1)?))
    }

    /// Every service with the RED sums of the window, in one round trip.
    pub async fn services_with_red(&self, window: &Window) -> Result<(Vec<StoredService>, Vec<StoredRed>), StoreError> {
        let results = self
            .run(vec![
                self.statement(sql::SELECT_SERVICES, &[])?,
                self.statement(sql::SELECT_RED_IN_WINDOW, &Self::window_args(window))?,
            ])
            .await?;
        Ok((rows(&results, 0)?, rows(&results, 1)?))
    }

    /// One service (if registered), the RED sums and the dependencies of the window.
    pub async fn service(
        &self,
        id: &str,
        window: &Window,
    ) -> Result<Option<(StoredService, Vec<StoredRed>, Vec<StoredDependency>)>, StoreError> {
        let args = Self::window_args(window);
        let results = self
            .run(vec![
                self.statement(sql::SELECT_SERVICE, &[JsValue::from_str(id)])?,
                self.statement(sql::SELECT_RED_IN_WINDOW, &args)?,
                self.statement(sql::SELECT_DEPENDENCIES_IN_WINDOW, &args)?,
            ])
            .await?;
        let Some(service) = rows::<StoredService>(&results, 0)?.into_iter().next() else { return Ok(None) };
        Ok(Some((service, rows(&results, 1)?, rows(&results, 2)?)))
    }

    /// Deletes up to `limit` RED minutes before `cutoff_ms`; returns how many.
    pub async fn prune_red_minutes(&self, cutoff_ms: f64, limit: u32) -> Result<u32, StoreError> {
        let result = self
            .statement(sql::PRUNE_RED_MINUTES, &[JsValue::from_f64(cutoff_ms), JsValue::from_f64(f64::from(limit))])?
            .run()
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let meta = result.meta().map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(meta.and_then(|m| m.changes).unwrap_or(0) as u32)
    }
}
