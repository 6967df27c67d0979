//! Analytics Engine writes. An invocation may write at most
//! `MAX_POINTS_PER_INVOCATION` points; larger batches write the first share
//! here and hand the rest, in allowance-sized parts, to fresh invocations of
//! this worker through its own service binding.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use worker::{AnalyticsEngineDataset, Context, Env, Fetcher, Headers};

use super::bindings;
use super::post::post;
use super::StoreError;
use crate::api::routes::DATA_POINTS_PATH;
use crate::ingest::data_points::MAX_POINTS_PER_INVOCATION;
use crate::ingest::DataPoint;

/// The body of the hand-over route.
#[derive(Serialize, Deserialize)]
pub struct PointsHandover {
    pub binding: String,
    pub points: Vec<DataPoint<'static>>,
}

/// Bindings this writer may be asked to write to by the hand-over route.
const KNOWN_BINDINGS: &[&str] = &[bindings::AE_TRACES, bindings::AE_METRICS, bindings::AE_LOGS];

#[wasm_bindgen]
extern "C" {
    /// The binding itself: `writeDataPoint` takes the point as a plain object.
    type Dataset;
    #[wasm_bindgen(method, catch, js_name = writeDataPoint)]
    fn write_data_point(this: &Dataset, point: &JsValue) -> Result<(), JsValue>;
}

/// A point as `writeDataPoint` takes it.
#[derive(Serialize)]
struct PointObject<'p> {
    indexes: [&'p str; 1],
    blobs: &'p [Cow<'p, str>],
    doubles: &'p [f64],
}

/// Writes the points. They cross into JavaScript as one JSON text (one string
/// copy and one `JSON.parse`, instead of a copy per blob and a property set
/// per field through workers-rs' point builder: 9 % of the worker's ingest
/// CPU before); `DataPoint` holds finite doubles only, which JSON can carry.
pub fn write_points(dataset: &AnalyticsEngineDataset, points: &[DataPoint<'_>]) -> Result<(), StoreError> {
    let failed = |e: JsValue| StoreError::Unavailable(format!("Analytics Engine: {e:?}"));
    let objects: Vec<PointObject> =
        points.iter().map(|p| PointObject { indexes: [p.index()], blobs: p.blobs(), doubles: p.doubles() }).collect();
    let text = serde_json::to_string(&objects).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let parsed: js_sys::Array = js_sys::JSON::parse(&text).map_err(failed)?.unchecked_into();
    let raw: &Dataset = dataset.unchecked_ref();
    for point in parsed.iter() {
        raw.write_data_point(&point).map_err(failed)?;
    }
    Ok(())
}

/// Writes what this invocation may and hands the rest over (after the response, via `wait_until`),
/// authenticated with the ingest token (or the API token when only that is set).
pub fn write_or_hand_over(env: &Env, ctx: &Context, binding: &'static str, points: Vec<DataPoint<'_>>) {
    let dataset = match env.analytics_engine(binding) {
        Ok(d) => d,
        Err(e) => return worker::console_error!("Analytics Engine binding {binding} missing: {e}"),
    };
    let (now, later) = points.split_at(points.len().min(MAX_POINTS_PER_INVOCATION));
    if let Err(e) = write_points(&dataset, now) {
        worker::console_error!("{e}");
    }
    if later.is_empty() {
        return;
    }
    let fetcher = match env.service(bindings::SELF_SERVICE) {
        Ok(f) => f,
        Err(e) => {
            return worker::console_error!(
                "{} Analytics Engine points not written: service binding {} missing: {e}",
                later.len(),
                bindings::SELF_SERVICE
            )
        }
    };
    let tokens = bindings::tokens(env);
    let token = tokens.ingest.or(tokens.api);
    let parts: Vec<Vec<DataPoint<'static>>> = later
        .chunks(MAX_POINTS_PER_INVOCATION)
        .map(|part| part.iter().cloned().map(DataPoint::into_owned).collect())
        .collect();
    ctx.wait_until(async move {
        for part in parts {
            let count = part.len();
            if let Err(e) = hand_over(&fetcher, binding, part, token.as_deref()).await {
                worker::console_error!("{count} Analytics Engine points not handed over: {e}");
            }
        }
    });
}

async fn hand_over(
    fetcher: &Fetcher,
    binding: &str,
    points: Vec<DataPoint<'static>>,
    token: Option<&str>,
) -> worker::Result<()> {
    let body = serde_json::to_string(&PointsHandover { binding: binding.to_string(), points })?;
    let headers = Headers::new();
    headers.set("content-type", "application/json")?;
    if let Some(t) = token {
        headers.set("authorization", &format!("Bearer {t}"))?;
    }
    let response = fetcher.fetch_request(post(&format!("https://self{DATA_POINTS_PATH}"), &headers, &body)?).await?;
    match response.status_code() {
        200..=299 => Ok(()),
        status => Err(worker::Error::RustError(format!("hand-over answered {status}"))),
    }
}

/// Writes handed-over points into the named binding (at most one allowance).
pub fn accept_handover(env: &Env, handover: &PointsHandover) -> Result<(), crate::api::ApiError> {
    use crate::api::ApiError;
    let binding = KNOWN_BINDINGS
        .iter()
        .find(|b| **b == handover.binding)
        .ok_or_else(|| ApiError::bad_request(format!("unknown Analytics Engine binding {:?}", handover.binding)))?;
    if handover.points.len() > MAX_POINTS_PER_INVOCATION {
        return Err(ApiError::bad_request(format!("at most {MAX_POINTS_PER_INVOCATION} points per hand-over")));
    }
    let dataset = env.analytics_engine(binding).map_err(|e| ApiError::unavailable(e.to_string()))?;
    write_points(&dataset, &handover.points).map_err(ApiError::from)
}
