//! `/api/slos`: SLO definitions, their status (SLI, error budget, burn
//! rates) and their burn rates over time.

use serde::Serialize;
use worker::{Env, Request, Response};

use super::alerts::ensure_channels_exist;
use super::{db, json, json_under, no_content, now_ms, query_pairs, read_body};
use crate::alerting::slo::{status, window_events, Slo, SloStatus};
use crate::alerting::slo_history::{
    burn_history, history_steps, lookback_ms, AlertFiring, BurnHistory, WindowBurnRates,
};
use crate::api::{ApiError, SloRoute};
use crate::query::trace_view::rfc3339_ms;
use crate::store::alerts::D1AlertStore;
use crate::store::services::D1ServiceStore;
use crate::store::slos::{D1SloStore, StoredSlo};

fn store(env: &Env) -> Result<D1SloStore, ApiError> {
    db(env).map(D1SloStore::new)
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("SLO {id:?} not found"))
}

/// An SLO as the API shows it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SloView<'a> {
    id: &'a str,
    #[serde(flatten)]
    slo: &'a Slo,
    created_at: String,
    updated_at: String,
}

fn view<'a>(stored: &'a StoredSlo, slo: &'a Slo) -> SloView<'a> {
    SloView {
        id: &stored.id,
        slo,
        created_at: rfc3339_ms(stored.created_ms),
        updated_at: rfc3339_ms(stored.updated_ms),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusView<'a> {
    #[serde(flatten)]
    slo: SloView<'a>,
    evaluated_at: String,
    #[serde(flatten)]
    status: SloStatus,
}

/// `GET /api/slos/:id/burn-rates`: the range and the history's fields
/// (written out: a `serde(flatten)` of `BurnHistory` would add serde's
/// map-flattening serializer to the wasm).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BurnRatesView<'a> {
    slo_id: &'a str,
    start: f64,
    end: f64,
    /// Seconds.
    step: f64,
    times: Vec<f64>,
    burn_rates: Vec<WindowBurnRates>,
    alerts: Vec<AlertFiring>,
}

pub async fn handle(route: SloRoute, req: &mut Request, env: &Env) -> Result<Response, ApiError> {
    let store = store(env)?;
    match route {
        SloRoute::List => {
            let stored = store.slos().await?;
            let slos = stored.iter().map(StoredSlo::slo).collect::<Result<Vec<_>, _>>()?;
            let views: Vec<SloView> = stored.iter().zip(&slos).map(|(s, slo)| view(s, slo)).collect();
            json_under(200, "slos", &views)
        }
        SloRoute::Get(id) => {
            let stored = store.slo(&id).await?.ok_or_else(|| not_found(&id))?;
            json(200, &view(&stored, &stored.slo()?))
        }
        SloRoute::Create | SloRoute::Replace(_) => {
            let slo = Slo::parse(&read_body(req).await?)?;
            ensure_channels_exist(&D1AlertStore::new(db(env)?), &slo.channels).await?;
            let (status_code, stored) = match &route {
                SloRoute::Replace(id) => (200, store.update(id, &slo, now_ms()).await?.ok_or_else(|| not_found(id))?),
                _ => (201, store.insert(&slo, now_ms()).await?),
            };
            json(status_code, &view(&stored, &slo))
        }
        SloRoute::Delete(id) => match store.delete(&id, now_ms()).await? {
            true => Ok(no_content()),
            false => Err(not_found(&id)),
        },
        SloRoute::Status(id) => {
            let now = now_ms();
            let (stored, burn_rows, whole) = store.status_data(&id, now).await?.ok_or_else(|| not_found(&id))?;
            let slo = stored.slo()?;
            let status = status(&slo, slo.events(&whole), &window_events(&stored.id, &slo, &burn_rows));
            json(200, &StatusView { slo: view(&stored, &slo), evaluated_at: rfc3339_ms(now), status })
        }
        SloRoute::BurnRates(id) => {
            let pairs = query_pairs(req);
            let (steps, end) = history_steps(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())), now_ms())?;
            let stored = store.slo(&id).await?.ok_or_else(|| not_found(&id))?;
            let slo = stored.slo()?;
            let minutes = D1ServiceStore::new(db(env)?)
                .red_minutes(&slo.service_id, slo.operation.as_deref(), steps.start_ms - lookback_ms(), end)
                .await?;
            let BurnHistory { times, burn_rates, alerts } = burn_history(&slo, &minutes, &steps, end);
            let (start, step) = (steps.start_ms, steps.step_ms / 1000.0);
            json(200, &BurnRatesView { slo_id: &id, start, end, step, times, burn_rates, alerts })
        }
    }
}
