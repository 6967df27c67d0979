//! `run_alert_cycle`: one evaluation of every enabled rule at `now`, then
//! delivery of the notifications that are due. The cron trigger and
//! `POST /api/alerts/evaluate` both call it.
//!
//! Order matters for "nothing lost, nothing twice": incidents are opened
//! and resolved in D1 first, together with their notifications in the same
//! transaction (the unique index keeps one open incident per rule and
//! service whatever else runs; a notification is queued once per incident,
//! event and channel, and only with the write that took effect), states go
//! to KV, and only then are due notifications claimed and sent. A failed delivery is
//! recorded and retried by a later cycle; it never fails the evaluation.

use std::time::Duration;

use futures_util::future::{join_all, try_join};
use futures_util::TryFutureExt;
use serde::Serialize;
use worker::{Date, Env, Headers};

use crate::alerting::channel::StoredChannel;
use crate::alerting::cycle::{plan, Change, CycleInput, RuleEntry};
use crate::alerting::incident::IncidentView;
use crate::alerting::notification::{next_step, signature, Attempt, NextStep, SIGNATURE_HEADER};
use crate::alerting::slo::burn_rules;
use crate::alerting::writes::incident_writes;
use crate::storage::metrics::MetricStore;
use crate::store::alert_state::KvAlertState;
use crate::store::alerts::{AttemptRecord, D1AlertStore, DueNotification};
use crate::store::d1::D1;
use crate::store::post::{post, send_within};
use crate::store::{bindings, StoreError};

/// Notifications sent per cycle (the rest wait for the next one).
const DELIVERIES_PER_CYCLE: u32 = 50;
/// How long a claimed notification is reserved for the cycle that claimed it.
const CLAIM_MS: f64 = 60_000.0;
/// How long a receiver gets to answer.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// What a cycle did, as `POST /api/alerts/evaluate` answers it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CycleReport {
    pub evaluated_at: String,
    pub rules: usize,
    /// Rule × service evaluations.
    pub evaluations: usize,
    pub changes: Vec<Change>,
    pub opened: Vec<IncidentView>,
    pub resolved: Vec<IncidentView>,
    pub notifications: DeliveryCounts,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryCounts {
    pub delivered: usize,
    /// Failed this time, to be retried by a later cycle.
    pub retrying: usize,
    pub failed: usize,
}

fn stores(env: &Env) -> Result<(D1AlertStore, KvAlertState), StoreError> {
    Ok((D1AlertStore::new(bindings::database(env)?), KvAlertState::new(bindings::alert_state(env)?)))
}

pub async fn run_alert_cycle(env: &Env, now_ms: f64) -> Result<CycleReport, StoreError> {
    let (store, kv) = stores(env)?;
    let d1 = D1::new(bindings::database(env)?);
    let metric_store = MetricStore::new(&d1);
    let metrics = metric_store.rule_series_and_minutes(now_ms).err_into();
    let (data, (metric_series, metric_minutes)) = try_join(store.cycle_data(now_ms), metrics).await?;
    let slos: Vec<_> = data
        .slos
        .iter()
        .filter_map(|s| {
            s.slo().map(|slo| (s.id.clone(), slo)).map_err(|e| worker::console_error!("SLO {} skipped: {e}", s.id)).ok()
        })
        .collect();
    let (burn_rules, observations) = burn_rules(&slos, &data.burn_rows);
    let rules: Vec<RuleEntry> = data.rules.into_iter().chain(burn_rules).collect();
    let rule_ids: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
    let states = kv.load(&rule_ids).await?;
    let plan = plan(&CycleInput {
        now_ms,
        rules: &rules,
        services: &data.services,
        red_minutes: &data.red_minutes,
        metric_series: &metric_series,
        metric_minutes: &metric_minutes,
        states: &states,
        open_incidents: &data.open_incidents,
        observations: &observations,
    });
    let (openings, resolvings) = incident_writes(&plan, &rules, &data.open_incidents, &data.channels, now_ms);
    let (opened, resolved) = store.apply(&openings, &resolvings, now_ms).await?;
    kv.save(&plan.states).await?;
    // Claims and retries run on the clock, never on a late scheduled time.
    let delivery_ms = now_ms.max(Date::now().as_millis() as f64);
    let notifications = match deliver_due(&store, &data.channels, delivery_ms).await {
        Ok(counts) => counts,
        Err(e) => {
            worker::console_error!("alert notifications not delivered this cycle: {e}");
            DeliveryCounts::default()
        }
    };
    Ok(CycleReport {
        evaluated_at: crate::query::trace_view::rfc3339_ms(now_ms),
        rules: rules.len(),
        evaluations: plan.evaluations,
        changes: plan.changes,
        opened: opened.into_iter().map(IncidentView::from).collect(),
        resolved: resolved.into_iter().map(IncidentView::from).collect(),
        notifications,
    })
}

/// Claims the due notifications, sends them concurrently and records each attempt.
async fn deliver_due(
    store: &D1AlertStore,
    channels: &[StoredChannel],
    now_ms: f64,
) -> Result<DeliveryCounts, StoreError> {
    let due = store.claim_due(now_ms, CLAIM_MS, DELIVERIES_PER_CYCLE).await?;
    let attempts = join_all(due.iter().map(|n| send(n, channels.iter().find(|c| c.id == n.channel_id)))).await;
    let mut counts = DeliveryCounts::default();
    let records: Vec<AttemptRecord> = due
        .iter()
        .zip(attempts)
        .map(|(n, attempt)| {
            let step = next_step(&attempt, n.attempts as u32, now_ms);
            let (status, next_attempt_ms) = match step {
                NextStep::Done => ("delivered", now_ms),
                NextStep::RetryAt(at) => ("pending", at),
                NextStep::GiveUp => ("failed", now_ms),
            };
            match step {
                NextStep::Done => counts.delivered += 1,
                NextStep::RetryAt(_) => counts.retrying += 1,
                NextStep::GiveUp => counts.failed += 1,
            }
            AttemptRecord {
                id: n.id,
                incident_id: n.incident_id.clone(),
                status,
                next_attempt_ms,
                error: attempt.error(),
                delivered_ms: (step == NextStep::Done).then_some(now_ms),
            }
        })
        .collect();
    store.record_attempts(&records).await?;
    Ok(counts)
}

/// One delivery attempt: POST the payload, signed if the channel has a secret.
async fn send(notification: &DueNotification, channel: Option<&StoredChannel>) -> Attempt {
    let Some(channel) = channel.filter(|c| c.enabled != 0.0) else {
        return Attempt::ChannelGone;
    };
    let request = (|| {
        let headers = Headers::new();
        headers.set("content-type", "application/json")?;
        headers.set("user-agent", "observability-collector")?;
        headers.set("x-collector-event", notification.event.as_str())?;
        headers
            .set("x-collector-delivery", &format!("{}:{}", notification.incident_id, notification.event.as_str()))?;
        if let Some(secret) = &channel.secret {
            headers.set(SIGNATURE_HEADER, &signature(secret, notification.payload.as_bytes()))?;
        }
        post(&channel.url, &headers, &notification.payload)
    })();
    let request = match request {
        Ok(r) => r,
        Err(e) => return Attempt::Unsendable(e.to_string()),
    };
    match send_within(request, DELIVERY_TIMEOUT).await {
        Ok(Some(response)) if (200..300).contains(&response.status_code()) => Attempt::Delivered,
        Ok(Some(response)) => Attempt::Refused(response.status_code()),
        Err(e) => Attempt::Unreachable(e.to_string()),
        Ok(None) => Attempt::Unreachable(format!("no answer within {} s", DELIVERY_TIMEOUT.as_secs())),
    }
}
