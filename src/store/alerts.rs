//! `D1AlertStore`: alert rules, notification channels, incidents and the
//! notification outbox in D1.

use serde::{Deserialize, Serialize};
use wasm_bindgen::JsValue;
use worker::D1Database;

use super::alert_sql as sql;
use super::d1::{corrupt, flag, number_or_null, text_or_null, Id, D1};
use super::slo_sql;
use super::slos::StoredSlo;
use super::StoreError;
use crate::alerting::channel::{Channel, StoredChannel};
use crate::alerting::cycle::{RuleEntry, ToOpen, ToResolve};
use crate::alerting::incident::{IncidentState, StoredIncident};
use crate::alerting::notification::Event;
use crate::alerting::slo::{alert_burn_windows, burn_windows_json, BurnRow};
use crate::alerting::span_metrics::RedMinute;
use crate::alerting::AlertRule;

/// A row of `alert_configs`.
#[derive(Debug, Clone, Deserialize)]
pub struct StoredRule {
    pub id: String,
    /// The rule as JSON (camelCase).
    pub rule: String,
    pub enabled: f64,
    pub created_ms: f64,
    pub updated_ms: f64,
}

impl StoredRule {
    pub fn entry(&self) -> Result<RuleEntry, StoreError> {
        let rule = AlertRule::parse(self.rule.as_bytes()).map_err(corrupt)?;
        Ok(RuleEntry { id: self.id.clone(), rule })
    }
}

/// A row of `alert_notifications`, as the incident detail shows it.
#[derive(Debug, Clone, Deserialize)]
pub struct StoredNotification {
    pub event: Event,
    pub channel_id: String,
    pub status: String,
    pub attempts: f64,
    pub next_attempt_ms: f64,
    pub last_error: Option<String>,
    pub delivered_ms: Option<f64>,
}

/// A notification claimed for delivery.
#[derive(Debug, Clone, Deserialize)]
pub struct DueNotification {
    pub id: f64,
    pub incident_id: String,
    pub event: Event,
    pub channel_id: String,
    pub payload: String,
    pub attempts: f64,
}

/// A notification to queue.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueuedNotification {
    pub incident_id: String,
    pub event: Event,
    pub channel_id: String,
    pub payload: String,
}

/// What one delivery attempt leaves on the notification.
pub struct AttemptRecord {
    pub id: f64,
    pub incident_id: String,
    /// `pending` (retry later), `delivered` or `failed`.
    pub status: &'static str,
    pub next_attempt_ms: f64,
    pub error: Option<String>,
    pub delivered_ms: Option<f64>,
}

/// Everything a cycle reads, in one round trip.
pub struct CycleData {
    pub rules: Vec<RuleEntry>,
    pub services: Vec<String>,
    pub red_minutes: Vec<RedMinute>,
    pub open_incidents: Vec<StoredIncident>,
    pub channels: Vec<StoredChannel>,
    /// Enabled SLOs and their burn windows' roll-ups.
    pub slos: Vec<StoredSlo>,
    pub burn_rows: Vec<BurnRow>,
}

/// How an acknowledgement ended.
pub enum Acknowledged {
    Done(StoredIncident),
    NotFound,
    /// The incident is not firing: its current state.
    Conflict(IncidentState),
}

pub struct D1AlertStore {
    d1: D1,
}

fn s(v: &str) -> JsValue {
    JsValue::from_str(v)
}

fn n(v: f64) -> JsValue {
    JsValue::from_f64(v)
}

/// A unit enum as the text it serializes to (`"critical"`, `"gt"`, …).
fn enum_text<T: Serialize>(value: &T) -> Result<JsValue, StoreError> {
    match serde_json::to_value(value).map_err(corrupt)? {
        serde_json::Value::String(text) => Ok(s(&text)),
        other => Err(corrupt(format!("{other} is not a text value"))),
    }
}

impl D1AlertStore {
    pub fn new(db: D1Database) -> Self {
        Self { d1: D1::new(db) }
    }

    pub async fn rules(&self) -> Result<Vec<StoredRule>, StoreError> {
        self.d1.all(sql::SELECT_RULES, &[]).await
    }

    pub async fn rule(&self, id: &str) -> Result<Option<StoredRule>, StoreError> {
        self.d1.first(sql::SELECT_RULE, &[s(id)]).await
    }

    pub async fn insert_rule(&self, rule: &AlertRule, now_ms: f64) -> Result<StoredRule, StoreError> {
        let json = serde_json::to_string(rule).map_err(corrupt)?;
        let row = self.d1.first(sql::INSERT_RULE, &[s(&json), flag(rule.enabled), n(now_ms)]).await?;
        row.ok_or_else(|| corrupt("INSERT … RETURNING answered no row"))
    }

    pub async fn update_rule(&self, id: &str, rule: &AlertRule, now_ms: f64) -> Result<Option<StoredRule>, StoreError> {
        let json = serde_json::to_string(rule).map_err(corrupt)?;
        self.d1.first(sql::UPDATE_RULE, &[s(id), s(&json), flag(rule.enabled), n(now_ms)]).await
    }

    /// Deletes a rule and resolves its open incidents; whether it existed.
    pub async fn delete_rule(&self, id: &str, now_ms: f64) -> Result<bool, StoreError> {
        let batch = self
            .d1
            .batch(vec![
                self.d1.statement(sql::RESOLVE_RULE_INCIDENTS, &[s(id), n(now_ms)])?,
                self.d1.statement(sql::DELETE_RULE, &[s(id)])?,
            ])
            .await?;
        Ok(batch.first::<Id>(1)?.is_some())
    }

    pub async fn channels(&self) -> Result<Vec<StoredChannel>, StoreError> {
        self.d1.all(sql::SELECT_CHANNELS, &[]).await
    }

    pub async fn channel(&self, id: &str) -> Result<Option<StoredChannel>, StoreError> {
        self.d1.first(sql::SELECT_CHANNEL, &[s(id)]).await
    }

    fn channel_args(c: &Channel) -> Result<[JsValue; 5], StoreError> {
        Ok([s(&c.name), enum_text(&c.kind)?, s(&c.url), text_or_null(c.secret.as_deref()), flag(c.enabled)])
    }

    pub async fn insert_channel(&self, channel: &Channel, now_ms: f64) -> Result<StoredChannel, StoreError> {
        let mut args = Self::channel_args(channel)?.to_vec();
        args.push(n(now_ms));
        let row = self.d1.first(sql::INSERT_CHANNEL, &args).await?;
        row.ok_or_else(|| corrupt("INSERT … RETURNING answered no row"))
    }

    pub async fn update_channel(
        &self,
        id: &str,
        channel: &Channel,
        now_ms: f64,
    ) -> Result<Option<StoredChannel>, StoreError> {
        let mut args = vec![s(id)];
        args.extend(Self::channel_args(channel)?);
        args.push(n(now_ms));
        self.d1.first(sql::UPDATE_CHANNEL, &args).await
    }

    pub async fn delete_channel(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.d1.first::<Id>(sql::DELETE_CHANNEL, &[s(id)]).await?.is_some())
    }

    pub async fn incidents(&self, state: Option<IncidentState>, limit: u32) -> Result<Vec<StoredIncident>, StoreError> {
        let state = text_or_null(state.map(IncidentState::as_str));
        self.d1.all(sql::SELECT_INCIDENTS, &[state, n(f64::from(limit))]).await
    }

    pub async fn incident(&self, id: &str) -> Result<Option<(StoredIncident, Vec<StoredNotification>)>, StoreError> {
        let batch = self
            .d1
            .batch(vec![
                self.d1.statement(sql::SELECT_INCIDENT, &[s(id)])?,
                self.d1.statement(sql::SELECT_INCIDENT_NOTIFICATIONS, &[s(id)])?,
            ])
            .await?;
        let Some(incident) = batch.first(0)? else { return Ok(None) };
        Ok(Some((incident, batch.rows(1)?)))
    }

    /// Acknowledges a firing incident, in one round trip.
    pub async fn acknowledge(&self, id: &str, by: &str, now_ms: f64) -> Result<Acknowledged, StoreError> {
        let batch = self
            .d1
            .batch(vec![
                self.d1.statement(sql::ACKNOWLEDGE_INCIDENT, &[s(id), s(by), n(now_ms)])?,
                self.d1.statement(sql::SELECT_INCIDENT, &[s(id)])?,
            ])
            .await?;
        let acknowledged = batch.first::<Id>(0)?.is_some();
        Ok(match batch.first::<StoredIncident>(1)? {
            None => Acknowledged::NotFound,
            Some(incident) if acknowledged => Acknowledged::Done(incident),
            Some(incident) => Acknowledged::Conflict(incident.state),
        })
    }

    /// Enabled rules, services, RED minutes of the longest rule window, open
    /// incidents, channels, and enabled SLOs with their burn windows' roll-ups.
    pub async fn cycle_data(&self, now_ms: f64) -> Result<CycleData, StoreError> {
        let batch = self
            .d1
            .batch(vec![
                self.d1.statement(sql::SELECT_RULES, &[])?,
                self.d1.statement(sql::SELECT_SERVICE_IDS, &[])?,
                self.d1.statement(sql::SELECT_RED_MINUTES_FOR_RULES, &[n(now_ms)])?,
                self.d1.statement(sql::SELECT_OPEN_INCIDENTS, &[])?,
                self.d1.statement(sql::SELECT_CHANNELS, &[])?,
                self.d1.statement(slo_sql::SELECT_SLOS, &[])?,
                self.d1.statement(
                    slo_sql::SELECT_BURN_WINDOWS,
                    &[n(now_ms), s(&burn_windows_json(&alert_burn_windows())), JsValue::NULL],
                )?,
            ])
            .await?;
        let rules = batch
            .rows::<StoredRule>(0)?
            .iter()
            .filter(|r| r.enabled != 0.0)
            .map(StoredRule::entry)
            .collect::<Result<_, _>>()?;
        Ok(CycleData {
            rules,
            services: batch.rows::<Id>(1)?.into_iter().map(|r| r.id).collect(),
            red_minutes: batch.rows(2)?,
            open_incidents: batch.rows(3)?,
            channels: batch.rows(4)?,
            slos: batch.rows::<StoredSlo>(5)?.into_iter().filter(|s| s.enabled != 0.0).collect(),
            burn_rows: batch.rows(6)?,
        })
    }

    /// Opens and resolves incidents in one transaction; returns only the
    /// ones this call opened or resolved (not those another cycle got to first).
    pub async fn apply(
        &self,
        open: &[ToOpen<'_>],
        resolve: &[ToResolve],
        now_ms: f64,
    ) -> Result<(Vec<StoredIncident>, Vec<StoredIncident>), StoreError> {
        let mut statements = Vec::with_capacity(open.len() + resolve.len());
        for o in open {
            let r = &o.rule.rule;
            statements.push(self.d1.statement(
                sql::OPEN_INCIDENT,
                &[
                    s(&o.rule.id),
                    s(&r.name),
                    s(&o.service),
                    s(&r.metric_name),
                    enum_text(&r.severity)?,
                    enum_text(&r.condition)?,
                    n(r.threshold),
                    n(o.value),
                    n(now_ms),
                ],
            )?);
        }
        for r in resolve {
            statements.push(self.d1.statement(
                sql::RESOLVE_INCIDENT,
                &[s(&r.incident_id), number_or_null(r.value), enum_text(&r.resolution)?, n(now_ms)],
            )?);
        }
        let batch = self.d1.batch(statements).await?;
        let (mut opened, mut resolved) = (Vec::new(), Vec::new());
        for i in 0..open.len() {
            opened.extend(batch.first::<StoredIncident>(i)?);
        }
        for i in open.len()..open.len() + resolve.len() {
            resolved.extend(batch.first::<StoredIncident>(i)?);
        }
        Ok((opened, resolved))
    }

    pub async fn queue_notifications(&self, queued: &[QueuedNotification], now_ms: f64) -> Result<(), StoreError> {
        if queued.is_empty() {
            return Ok(());
        }
        let json = serde_json::to_string(queued).map_err(corrupt)?;
        self.d1.run(sql::QUEUE_NOTIFICATIONS, &[s(&json), n(now_ms)]).await?;
        Ok(())
    }

    /// Claims up to `limit` due notifications for `claim_ms`.
    pub async fn claim_due(&self, now_ms: f64, claim_ms: f64, limit: u32) -> Result<Vec<DueNotification>, StoreError> {
        self.d1.all(sql::CLAIM_DUE_NOTIFICATIONS, &[n(now_ms), n(claim_ms), n(f64::from(limit))]).await
    }

    /// Records attempts, and each failure on its incident, in one round trip.
    pub async fn record_attempts(&self, records: &[AttemptRecord]) -> Result<(), StoreError> {
        let mut statements = Vec::new();
        for r in records {
            statements.push(self.d1.statement(
                sql::RECORD_ATTEMPT,
                &[
                    n(r.id),
                    s(r.status),
                    n(r.next_attempt_ms),
                    text_or_null(r.error.as_deref()),
                    number_or_null(r.delivered_ms),
                ],
            )?);
            if let Some(error) = &r.error {
                statements
                    .push(self.d1.statement(sql::RECORD_INCIDENT_NOTIFICATION_ERROR, &[s(&r.incident_id), s(error)])?);
            }
        }
        self.d1.batch(statements).await?;
        Ok(())
    }
}
