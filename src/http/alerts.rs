//! `/api/alerts/*`: rules (configs), notification channels, incidents and
//! acknowledgement, and on-demand evaluation.

use worker::{Env, Request, Response};

use super::{db, json, json_under, no_content, now_ms, query_pairs, read_body};
use crate::alerting::channel::{Channel, ChannelView};
use crate::alerting::cycle::ServiceStates;
use crate::alerting::incident::{acknowledge_conflict, acknowledged_by, IncidentState, IncidentView};
use crate::alerting::rule::RuleView;
use crate::alerting::AlertRule;
use crate::api::params::limit;
use crate::api::{AlertRoute, ApiError};
use crate::jobs::alerts::run_alert_cycle;
use crate::query::trace_view::rfc3339_ms;
use crate::store::alert_state::KvAlertState;
use crate::store::alerts::{Acknowledged, D1AlertStore, StoredNotification, StoredRule};
use crate::store::bindings;

/// Incidents listed when no `limit` is given, and the most one page may hold.
const DEFAULT_INCIDENTS: u32 = 100;
const MAX_INCIDENTS: u32 = 1000;

fn store(env: &Env) -> Result<D1AlertStore, ApiError> {
    db(env).map(D1AlertStore::new)
}

fn alert_state(env: &Env) -> Result<KvAlertState, ApiError> {
    Ok(KvAlertState::new(bindings::alert_state(env)?))
}

pub async fn handle(route: AlertRoute, req: &mut Request, env: &Env) -> Result<Response, ApiError> {
    match route {
        AlertRoute::ListConfigs => list_rules(env).await,
        AlertRoute::CreateConfig => save_rule(None, req, env).await,
        AlertRoute::GetConfig(id) => get_rule(&id, env).await,
        AlertRoute::ReplaceConfig(id) => save_rule(Some(&id), req, env).await,
        AlertRoute::DeleteConfig(id) => delete_rule(&id, env).await,
        AlertRoute::ListChannels => {
            let channels: Vec<ChannelView> = store(env)?.channels().await?.into_iter().map(ChannelView::from).collect();
            json_under(200, "channels", &channels)
        }
        AlertRoute::CreateChannel => save_channel(None, req, env).await,
        AlertRoute::GetChannel(id) => match store(env)?.channel(&id).await? {
            Some(c) => json(200, &ChannelView::from(c)),
            None => Err(channel_not_found(&id)),
        },
        AlertRoute::ReplaceChannel(id) => save_channel(Some(&id), req, env).await,
        AlertRoute::DeleteChannel(id) => match store(env)?.delete_channel(&id).await? {
            true => Ok(no_content()),
            false => Err(channel_not_found(&id)),
        },
        AlertRoute::ListIncidents => list_incidents(req, env).await,
        AlertRoute::GetIncident(id) => get_incident(&id, env).await,
        AlertRoute::AcknowledgeIncident(id) => acknowledge(&id, req, env).await,
        AlertRoute::Evaluate => json(200, &run_alert_cycle(env, now_ms()).await?),
    }
}

fn rule_not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("alert config {id:?} not found"))
}

fn channel_not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("notification channel {id:?} not found"))
}

fn rule_view<'a>(stored: &'a StoredRule, rule: &'a AlertRule, state: Option<&'a ServiceStates>) -> RuleView<'a> {
    RuleView {
        id: &stored.id,
        rule,
        created_at: rfc3339_ms(stored.created_ms),
        updated_at: rfc3339_ms(stored.updated_ms),
        state,
    }
}

fn rule_response(status: u16, stored: &StoredRule, state: Option<&ServiceStates>) -> Result<Response, ApiError> {
    json(status, &rule_view(stored, &stored.entry()?.rule, state))
}

async fn list_rules(env: &Env) -> Result<Response, ApiError> {
    let stored = store(env)?.rules().await?;
    let entries = stored.iter().map(|s| s.entry()).collect::<Result<Vec<_>, _>>()?;
    let configs: Vec<RuleView> = stored.iter().zip(&entries).map(|(s, e)| rule_view(s, &e.rule, None)).collect();
    json_under(200, "configs", &configs)
}

async fn get_rule(id: &str, env: &Env) -> Result<Response, ApiError> {
    let stored = store(env)?.rule(id).await?.ok_or_else(|| rule_not_found(id))?;
    let state = alert_state(env)?.get(id).await?.unwrap_or_default();
    rule_response(200, &stored, Some(&state))
}

/// Creates (`id` None) or replaces a rule; its channels must exist.
async fn save_rule(id: Option<&str>, req: &mut Request, env: &Env) -> Result<Response, ApiError> {
    let rule = AlertRule::parse(&read_body(req).await?)?;
    let store = store(env)?;
    ensure_channels_exist(&store, &rule.channels).await?;
    match id {
        None => rule_response(201, &store.insert_rule(&rule, now_ms()).await?, None),
        Some(id) => {
            let stored = store.update_rule(id, &rule, now_ms()).await?.ok_or_else(|| rule_not_found(id))?;
            rule_response(200, &stored, None)
        }
    }
}

/// 400 unless every id names a notification channel.
pub async fn ensure_channels_exist(store: &D1AlertStore, ids: &[String]) -> Result<(), ApiError> {
    if ids.is_empty() {
        return Ok(());
    }
    let channels = store.channels().await?;
    match ids.iter().find(|id| !channels.iter().any(|c| &&c.id == id)) {
        Some(unknown) => Err(ApiError::bad_request(format!("channels: no notification channel {unknown:?}"))),
        None => Ok(()),
    }
}

async fn delete_rule(id: &str, env: &Env) -> Result<Response, ApiError> {
    if !store(env)?.delete_rule(id, now_ms()).await? {
        return Err(rule_not_found(id));
    }
    alert_state(env)?.delete(id).await?;
    Ok(no_content())
}

async fn save_channel(id: Option<&str>, req: &mut Request, env: &Env) -> Result<Response, ApiError> {
    let channel = Channel::parse(&read_body(req).await?)?;
    let store = store(env)?;
    match id {
        None => json(201, &ChannelView::from(store.insert_channel(&channel, now_ms()).await?)),
        Some(id) => {
            let stored = store.update_channel(id, &channel, now_ms()).await?.ok_or_else(|| channel_not_found(id))?;
            json(200, &ChannelView::from(stored))
        }
    }
}

async fn list_incidents(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let (mut state, mut max) = (None, DEFAULT_INCIDENTS);
    for (k, v) in query_pairs(req).iter().filter(|(_, v)| !v.trim().is_empty()) {
        match k.as_str() {
            "state" => {
                state = Some(IncidentState::parse(v.trim()).ok_or_else(|| {
                    ApiError::bad_request(format!("state must be firing, acknowledged or resolved, got {v:?}"))
                })?)
            }
            "limit" => max = limit(k, v, MAX_INCIDENTS)?,
            _ => {}
        }
    }
    let incidents: Vec<IncidentView> =
        store(env)?.incidents(state, max).await?.into_iter().map(IncidentView::from).collect();
    json_under(200, "incidents", &incidents)
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct NotificationView {
    channel_id: String,
    event: &'static str,
    status: String,
    attempts: u32,
    next_attempt_at: Option<String>,
    last_error: Option<String>,
    delivered_at: Option<String>,
}

impl From<StoredNotification> for NotificationView {
    fn from(n: StoredNotification) -> Self {
        NotificationView {
            next_attempt_at: (n.status == "pending").then(|| rfc3339_ms(n.next_attempt_ms)),
            channel_id: n.channel_id,
            event: n.event.as_str(),
            status: n.status,
            attempts: n.attempts as u32,
            last_error: n.last_error,
            delivered_at: n.delivered_ms.map(rfc3339_ms),
        }
    }
}

async fn get_incident(id: &str, env: &Env) -> Result<Response, ApiError> {
    let (incident, notifications) =
        store(env)?.incident(id).await?.ok_or_else(|| ApiError::not_found(format!("incident {id:?} not found")))?;
    let mut view = serde_json::to_value(IncidentView::from(incident))
        .map_err(|e| ApiError::internal(format!("response encoding: {e}")))?;
    let serde_json::Value::Object(fields) = &mut view else {
        return Err(ApiError::internal("response encoding: an incident is not an object"));
    };
    let notifications: Vec<NotificationView> = notifications.into_iter().map(NotificationView::from).collect();
    fields.insert("notifications".into(), serde_json::to_value(notifications).unwrap_or_default());
    json(200, &view)
}

async fn acknowledge(id: &str, req: &mut Request, env: &Env) -> Result<Response, ApiError> {
    let by = acknowledged_by(&read_body(req).await?)?;
    match store(env)?.acknowledge(id, &by, now_ms()).await? {
        Acknowledged::Done(incident) => json(200, &IncidentView::from(incident)),
        Acknowledged::NotFound => Err(ApiError::not_found(format!("incident {id:?} not found"))),
        Acknowledged::Conflict(state) => Err(ApiError::conflict(
            acknowledge_conflict(state).unwrap_or("the incident cannot be acknowledged").to_string(),
        )),
    }
}
