//! `D1ServiceStore`: registered services, the dependencies between them and
//! the per-minute RED roll-ups of their entry spans.

use wasm_bindgen::JsValue;
use worker::D1Database;

use super::d1::D1;
use super::service_sql as sql;
use super::StoreError;
use crate::alerting::span_metrics::{MinuteKey, RedMinute};
use crate::query::service_view::{StoredRed, Window};
use crate::topology::{StoredDependency, StoredService};

pub struct D1ServiceStore {
    d1: D1,
}

impl D1ServiceStore {
    pub fn new(db: D1Database) -> Self {
        Self { d1: D1::new(db) }
    }

    fn window_args(window: &Window) -> [JsValue; 2] {
        [JsValue::from_f64(window.start_minute_ms()), JsValue::from_f64(window.end_ms)]
    }

    /// A service's (or one of its operations') RED minutes from `start_ms` to `end_ms` (span metrics, SLO burn history).
    pub async fn red_minutes(
        &self,
        service: &str,
        operation: Option<&str>,
        start_ms: f64,
        end_ms: f64,
    ) -> Result<Vec<RedMinute>, StoreError> {
        let range = [JsValue::from_str(service), JsValue::from_f64(start_ms), JsValue::from_f64(end_ms)];
        match operation {
            Some(op) => {
                let args = [range[0].clone(), range[1].clone(), range[2].clone(), JsValue::from_str(op)];
                self.d1.all_as::<MinuteKey, StoredRed, _>(sql::RED_MINUTES_OF_OPERATION, &args).await
            }
            None => self.d1.all_as::<MinuteKey, StoredRed, _>(sql::RED_MINUTES_OF_SERVICE, &range).await,
        }
    }

    /// Every registered service.
    pub async fn services(&self) -> Result<Vec<StoredService>, StoreError> {
        self.d1.all(sql::SELECT_SERVICES, &[]).await
    }

    /// Services and dependency totals, over a window or (without one) over all calls kept.
    pub async fn graph(
        &self,
        window: Option<&Window>,
    ) -> Result<(Vec<StoredService>, Vec<StoredDependency>), StoreError> {
        let dependencies = match window {
            Some(w) => self.d1.statement(sql::SELECT_DEPENDENCIES_IN_WINDOW, &Self::window_args(w))?,
            // Calls older than `SPAN_RETENTION_DAYS` left the totals with their pruned minutes.
            None => self.d1.statement(crate::storage::trace_sql::SELECT_CALL_TOTALS, &[])?,
        };
        let batch = self.d1.batch(vec![self.d1.statement(sql::SELECT_SERVICES, &[])?, dependencies]).await?;
        Ok((batch.rows(0)?, batch.rows(1)?))
    }

    /// Every service with the RED sums of the window, in one round trip.
    pub async fn services_with_red(&self, window: &Window) -> Result<(Vec<StoredService>, Vec<StoredRed>), StoreError> {
        let batch = self
            .d1
            .batch(vec![
                self.d1.statement(sql::SELECT_SERVICES, &[])?,
                self.d1.statement(sql::SELECT_RED_IN_WINDOW, &Self::window_args(window))?,
            ])
            .await?;
        Ok((batch.rows(0)?, batch.rows(1)?))
    }

    /// One service (if registered), the RED sums and the dependencies of the window.
    pub async fn service(
        &self,
        id: &str,
        window: &Window,
    ) -> Result<Option<(StoredService, Vec<StoredRed>, Vec<StoredDependency>)>, StoreError> {
        let args = Self::window_args(window);
        let batch = self
            .d1
            .batch(vec![
                self.d1.statement(sql::SELECT_SERVICE, &[JsValue::from_str(id)])?,
                self.d1.statement(sql::SELECT_RED_IN_WINDOW, &args)?,
                self.d1.statement(sql::SELECT_DEPENDENCIES_IN_WINDOW, &args)?,
            ])
            .await?;
        let Some(service) = batch.first::<StoredService>(0)? else { return Ok(None) };
        Ok(Some((service, batch.rows(1)?, batch.rows(2)?)))
    }

    /// Deletes up to `limit` dependency minutes before `cutoff_ms` and takes
    /// their calls out of the totals, in one transaction; returns how many.
    pub async fn prune_call_minutes(&self, cutoff_ms: f64, limit: u32) -> Result<u32, StoreError> {
        let args = [JsValue::from_f64(cutoff_ms), JsValue::from_f64(f64::from(limit))];
        let results = self
            .d1
            .batch(vec![
                self.d1.statement(sql::UNCOUNT_PRUNED_CALLS, &args)?,
                self.d1.statement(sql::PRUNE_CALL_MINUTES, &args)?,
                self.d1.statement(sql::DELETE_EMPTY_DEPENDENCIES, &[])?,
            ])
            .await?;
        results.changes(1)
    }
}
