//! `D1AlertStore`: alert rules, notification channels, incidents and the
//! notification outbox in D1.

use serde::{Deserialize, Serialize};
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement};

use super::alert_sql as sql;
use super::d1::{corrupt, flag, number as n, number_or_null, text as s, text_or_null, Id, D1};
use super::slo_sql;
use super::slos::StoredSlo;
use super::StoreError;
use crate::alerting::channel::{Channel, Secret, StoredChannel};
use crate::alerting::cycle::RuleEntry;
use crate::alerting::incident::{IncidentState, StoredIncident};
use crate::alerting::notification::Event;
use crate::alerting::slo::{alert_burn_windows, burn_windows_json, BurnKey, BurnRow};
use crate::alerting::span_metrics::{MinuteKey, RedMinute};
use crate::alerting::writes::{Opening, QueuedNotification, Resolving};
use crate::alerting::AlertRule;
use crate::query::service_view::StoredRed;

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

/// Everything a cycle reads in one round trip (beside the metric store's read of the rules' OTLP metrics).
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

    /// Deletes a rule and then, if it existed, resolves its open incidents; whether it existed.
    pub async fn delete_rule(&self, id: &str, now_ms: f64) -> Result<bool, StoreError> {
        if self.d1.first::<Id>(sql::DELETE_RULE, &[s(id)]).await?.is_none() {
            return Ok(false);
        }
        self.d1.run(sql::RESOLVE_RULE_INCIDENTS, &[s(id), n(now_ms)]).await?;
        Ok(true)
    }

    pub async fn channels(&self) -> Result<Vec<StoredChannel>, StoreError> {
        self.d1.all(sql::SELECT_CHANNELS, &[]).await
    }

    pub async fn channel(&self, id: &str) -> Result<Option<StoredChannel>, StoreError> {
        self.d1.first(sql::SELECT_CHANNEL, &[s(id)]).await
    }

    fn channel_args(c: &Channel) -> Result<[JsValue; 5], StoreError> {
        Ok([s(&c.name), enum_text(&c.kind)?, s(&c.url), text_or_null(c.secret.for_new()), flag(c.enabled)])
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
        args.push(flag(channel.secret == Secret::Keep));
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
        // A stored rule that no longer parses is skipped (and logged), not allowed to stop every other rule.
        let rules = batch
            .rows::<StoredRule>(0)?
            .iter()
            .filter(|r| r.enabled != 0.0)
            .filter_map(|r| r.entry().map_err(|e| worker::console_error!("alert rule {} skipped: {e}", r.id)).ok())
            .collect();
        Ok(CycleData {
            rules,
            services: batch.rows::<Id>(1)?.into_iter().map(|r| r.id).collect(),
            red_minutes: batch.rows_as::<MinuteKey, StoredRed, _>(2)?,
            open_incidents: batch.rows(3)?,
            channels: batch.rows(4)?,
            slos: batch.rows::<StoredSlo>(5)?.into_iter().filter(|s| s.enabled != 0.0).collect(),
            burn_rows: batch.rows_as::<BurnKey, StoredRed, _>(6)?,
        })
    }

    fn queue(&self, incident_id: &str, q: &QueuedNotification, now_ms: f64) -> Result<D1PreparedStatement, StoreError> {
        self.d1.statement(
            sql::QUEUE_NOTIFICATION,
            &[s(incident_id), s(q.event.as_str()), s(&q.channel_id), s(&q.payload), n(now_ms)],
        )
    }

    /// Opens and resolves incidents, each with its notifications, in one
    /// transaction; returns only the incidents this call opened or resolved
    /// (not those another cycle got to first, whose notifications are not queued).
    pub async fn apply(
        &self,
        openings: &[Opening],
        resolvings: &[Resolving],
        now_ms: f64,
    ) -> Result<(Vec<StoredIncident>, Vec<StoredIncident>), StoreError> {
        let mut statements = Vec::new();
        let (mut open_at, mut resolve_at) = (Vec::new(), Vec::new());
        for o in openings {
            let i = &o.incident;
            open_at.push(statements.len());
            statements.push(self.d1.statement(
                sql::OPEN_INCIDENT,
                &[
                    s(&i.id),
                    s(&i.rule_id),
                    s(&i.rule_name),
                    s(&i.service_name),
                    s(&i.metric_name),
                    enum_text(&i.severity)?,
                    enum_text(&i.condition)?,
                    n(i.threshold),
                    n(i.value),
                    n(now_ms),
                ],
            )?);
            for q in &o.notifications {
                statements.push(self.queue(&i.id, q, now_ms)?);
            }
        }
        for r in resolvings {
            resolve_at.push(statements.len());
            statements.push(self.d1.statement(
                sql::RESOLVE_INCIDENT,
                &[s(&r.incident_id), number_or_null(r.value), enum_text(&r.resolution)?, n(now_ms)],
            )?);
            for q in &r.notifications {
                statements.push(self.queue(&r.incident_id, q, now_ms)?);
            }
        }
        let batch = self.d1.batch(statements).await?;
        let rows = |at: &[usize]| -> Result<Vec<StoredIncident>, StoreError> {
            let mut out = Vec::new();
            for i in at {
                out.extend(batch.first::<StoredIncident>(*i)?);
            }
            Ok(out)
        };
        Ok((rows(&open_at)?, rows(&resolve_at)?))
    }

    /// Claims up to `limit` due notifications for `claim_ms`.
    pub async fn claim_due(&self, now_ms: f64, claim_ms: f64, limit: u32) -> Result<Vec<DueNotification>, StoreError> {
        self.d1.all(sql::CLAIM_DUE_NOTIFICATIONS, &[n(now_ms), n(claim_ms), n(f64::from(limit))]).await
    }

    /// Deletes up to `limit` incidents resolved before `cutoff_ms`, with their
    /// notifications; returns how many incidents.
    pub async fn prune_resolved(&self, cutoff_ms: f64, limit: u32) -> Result<u32, StoreError> {
        let args = [n(cutoff_ms), n(f64::from(limit))];
        let batch = self
            .d1
            .batch(vec![
                self.d1.statement(sql::PRUNE_RESOLVED_NOTIFICATIONS, &args)?,
                self.d1.statement(sql::PRUNE_RESOLVED_INCIDENTS, &args)?,
            ])
            .await?;
        batch.changes(1)
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
