//! `D1SloStore`: SLO definitions and the roll-ups their status reads.

use serde::Deserialize;
use worker::D1Database;

use super::d1::{corrupt, flag, number as n, text as s, Id, D1};
use super::slo_sql as sql;
use super::StoreError;
use crate::alerting::slo::{burn_windows_json, BurnKey, BurnRow, Slo, BURN_ALERTS, BURN_WINDOWS};
use crate::query::service_view::StoredRed;

/// A row of `slos`.
#[derive(Debug, Clone, Deserialize)]
pub struct StoredSlo {
    pub id: String,
    /// The SLO as JSON (camelCase).
    pub slo: String,
    pub enabled: f64,
    pub created_ms: f64,
    pub updated_ms: f64,
}

impl StoredSlo {
    pub fn slo(&self) -> Result<Slo, StoreError> {
        Slo::parse(self.slo.as_bytes()).map_err(corrupt)
    }
}

pub struct D1SloStore {
    d1: D1,
}

impl D1SloStore {
    pub fn new(db: D1Database) -> Self {
        Self { d1: D1::new(db) }
    }

    pub async fn slos(&self) -> Result<Vec<StoredSlo>, StoreError> {
        self.d1.all(sql::SELECT_SLOS, &[]).await
    }

    pub async fn slo(&self, id: &str) -> Result<Option<StoredSlo>, StoreError> {
        self.d1.first(sql::SELECT_SLO, &[s(id)]).await
    }

    pub async fn insert(&self, slo: &Slo, now_ms: f64) -> Result<StoredSlo, StoreError> {
        let json = serde_json::to_string(slo).map_err(corrupt)?;
        let row = self.d1.first(sql::INSERT_SLO, &[s(&json), flag(slo.enabled), n(now_ms)]).await?;
        row.ok_or_else(|| corrupt("INSERT … RETURNING answered no row"))
    }

    pub async fn update(&self, id: &str, slo: &Slo, now_ms: f64) -> Result<Option<StoredSlo>, StoreError> {
        let json = serde_json::to_string(slo).map_err(corrupt)?;
        self.d1.first(sql::UPDATE_SLO, &[s(id), s(&json), flag(slo.enabled), n(now_ms)]).await
    }

    /// Deletes an SLO and then, if it existed, resolves its open burn-rate incidents; whether it existed.
    pub async fn delete(&self, id: &str, now_ms: f64) -> Result<bool, StoreError> {
        if self.d1.first::<Id>(sql::DELETE_SLO, &[s(id)]).await?.is_none() {
            return Ok(false);
        }
        let rule_ids: Vec<String> = BURN_ALERTS.iter().map(|a| a.rule_id(id)).collect();
        let rule_ids = serde_json::to_string(&rule_ids).map_err(corrupt)?;
        self.d1.run(sql::RESOLVE_SLO_INCIDENTS, &[s(&rule_ids), n(now_ms)]).await?;
        Ok(true)
    }

    /// An SLO with its burn windows' and its whole window's roll-ups, in one round trip.
    pub async fn status_data(
        &self,
        id: &str,
        now_ms: f64,
    ) -> Result<Option<(StoredSlo, Vec<BurnRow>, StoredRed)>, StoreError> {
        let batch = self
            .d1
            .batch(vec![
                self.d1.statement(sql::SELECT_SLO, &[s(id)])?,
                self.d1
                    .statement(sql::SELECT_BURN_WINDOWS, &[n(now_ms), s(&burn_windows_json(&BURN_WINDOWS)), s(id)])?,
                self.d1.statement(crate::storage::trace_sql::SELECT_SLO_WINDOW, &[n(now_ms), s(id)])?,
            ])
            .await?;
        let Some(slo) = batch.first::<StoredSlo>(0)? else { return Ok(None) };
        Ok(Some((slo, batch.rows_as::<BurnKey, StoredRed, _>(1)?, batch.first(2)?.unwrap_or_default())))
    }

    /// Deletes up to `limit` per-operation minutes before `minutes_cutoff_ms`
    /// and hours before `hours_cutoff_ms`; returns how many of each.
    pub async fn prune(
        &self,
        minutes_cutoff_ms: f64,
        hours_cutoff_ms: f64,
        limit: u32,
    ) -> Result<(u32, u32), StoreError> {
        let limit = n(f64::from(limit));
        let batch = self
            .d1
            .batch(vec![
                self.d1.statement(sql::PRUNE_OPERATION_MINUTES, &[n(minutes_cutoff_ms), limit.clone()])?,
                self.d1.statement(sql::PRUNE_OPERATION_HOURS, &[n(hours_cutoff_ms), limit])?,
            ])
            .await?;
        Ok((batch.changes(0)?, batch.changes(1)?))
    }
}
