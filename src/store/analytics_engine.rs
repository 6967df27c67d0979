//! Analytics Engine writes. An invocation may write at most
//! `MAX_POINTS_PER_INVOCATION` points; larger batches write the first share
//! here and hand the rest, in allowance-sized parts, to fresh invocations of
//! this worker through its own service binding. Points that cannot be
//! written or handed over are logged and counted (`counters`, `/health`).

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use worker::{AnalyticsEngineDataset, Context, Date, Env, Fetcher, Headers};

use super::bindings;
use super::counters::{self, AE_POINTS_NOT_WRITTEN};
use super::d1::D1;
use super::post::post;
use super::StoreError;
use crate::api::routes::DATA_POINTS_PATH;
use crate::ingest::data_points::is_previous_form;
use crate::ingest::data_points::MAX_POINTS_PER_INVOCATION;
use crate::ingest::DataPoint;

/// The body of the hand-over route: `{"binding":…,"points":[…]}`, the
/// points in the JSON `writeDataPoint` takes (`DataPoint`'s).
#[derive(Deserialize)]
pub struct PointsHandover<'b> {
    pub binding: String,
    #[serde(borrow)]
    pub points: &'b RawValue,
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

/// Points not written, and why.
struct NotWritten(usize, StoreError);

/// Writes the points, given as a JSON array of the objects `writeDataPoint`
/// takes. They cross into JavaScript as one JSON text (one string copy and
/// one `JSON.parse`, instead of a copy per blob and a property set per field
/// through workers-rs' point builder: 9 % of the worker's ingest CPU before).
fn write_points(dataset: &AnalyticsEngineDataset, array: &str, count: usize) -> Result<(), NotWritten> {
    let failed = |e: JsValue| StoreError::Unavailable(format!("Analytics Engine: {e:?}"));
    let parsed: js_sys::Array = js_sys::JSON::parse(array).map_err(|e| NotWritten(count, failed(e)))?.unchecked_into();
    let raw: &Dataset = dataset.unchecked_ref();
    for (i, point) in parsed.iter().enumerate() {
        raw.write_data_point(&point).map_err(|e| NotWritten(count - i, failed(e)))?;
    }
    Ok(())
}

/// Logs points not written and counts them (after the response).
fn not_written(env: &Env, ctx: &Context, NotWritten(count, why): NotWritten) {
    worker::console_error!("{count} Analytics Engine points not written: {why}");
    let env = env.clone();
    ctx.wait_until(async move { count_not_written(&env, count).await });
}

async fn count_not_written(env: &Env, count: usize) {
    let counted = match bindings::database(env) {
        Ok(db) => counters::add(&D1::new(db), AE_POINTS_NOT_WRITTEN, count, Date::now().as_millis() as f64).await,
        Err(e) => Err(e),
    };
    if let Err(e) = counted {
        worker::console_error!("{count} Analytics Engine points not written, and not counted: {e}");
    }
}

fn json_array(items: &[Cow<'_, str>]) -> String {
    let mut out = String::with_capacity(items.iter().map(|i| i.len() + 1).sum::<usize>() + 2);
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(item);
    }
    out.push(']');
    out
}

/// The points' JSON. Writing a `DataPoint` cannot fail: strings and finite doubles.
fn point_texts(points: &[DataPoint<'_>]) -> Vec<Cow<'static, str>> {
    points.iter().filter_map(|p| serde_json::to_string(p).ok()).map(Cow::Owned).collect()
}

/// Writes points built in this invocation (`write_point_texts`).
pub fn write_or_hand_over(env: &Env, ctx: &Context, binding: &'static str, points: Vec<DataPoint<'_>>) {
    write_point_texts(env, ctx, binding, point_texts(&points));
}

/// Writes points stored with the queued rows, as they were stored (a point of
/// the previous version's form is read and written anew). An unreadable one
/// is an error: the caller stores nothing it could not count.
pub fn write_stored_points<'p>(
    env: &Env,
    ctx: &Context,
    binding: &'static str,
    points: &[&'p RawValue],
) -> Result<(), StoreError> {
    let texts = points
        .iter()
        .map(|p| {
            if !is_previous_form(p.get()) {
                return Ok(Cow::Borrowed(p.get()));
            }
            let point: DataPoint = serde_json::from_str(p.get()).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            serde_json::to_string(&point).map(Cow::Owned).map_err(|e| StoreError::Corrupt(e.to_string()))
        })
        .collect::<Result<Vec<Cow<'p, str>>, StoreError>>()?;
    write_point_texts(env, ctx, binding, texts);
    Ok(())
}

/// Writes what this invocation may and hands the rest over (after the response, via `wait_until`),
/// authenticated with the internal token; without one the rest is not written (and counted).
fn write_point_texts(env: &Env, ctx: &Context, binding: &'static str, points: Vec<Cow<'_, str>>) {
    let dataset = match env.analytics_engine(binding) {
        Ok(d) => d,
        Err(e) => {
            let why = StoreError::Unavailable(format!("Analytics Engine binding {binding} missing: {e}"));
            return not_written(env, ctx, NotWritten(points.len(), why));
        }
    };
    let (now, later) = points.split_at(points.len().min(MAX_POINTS_PER_INVOCATION));
    if let Err(e) = write_points(&dataset, &json_array(now), now.len()) {
        not_written(env, ctx, e);
    }
    if later.is_empty() {
        return;
    }
    let fetcher = match env.service(bindings::SELF_SERVICE) {
        Ok(f) => f,
        Err(e) => {
            let why = StoreError::Unavailable(format!("service binding {} missing: {e}", bindings::SELF_SERVICE));
            return not_written(env, ctx, NotWritten(later.len(), why));
        }
    };
    let Some(token) = bindings::tokens(env).internal else {
        let why = StoreError::Unavailable(format!("no {} secret for the hand-over", bindings::INTERNAL_TOKEN));
        return not_written(env, ctx, NotWritten(later.len(), why));
    };
    let parts: Vec<(usize, String)> =
        later.chunks(MAX_POINTS_PER_INVOCATION).map(|c| (c.len(), json_array(c))).collect();
    let env = env.clone();
    ctx.wait_until(async move {
        for (count, part) in parts {
            if let Err(e) = hand_over(&fetcher, binding, &part, &token).await {
                worker::console_error!("{count} Analytics Engine points not handed over: {e}");
                count_not_written(&env, count).await;
            }
        }
    });
}

async fn hand_over(fetcher: &Fetcher, binding: &str, points_array: &str, token: &str) -> worker::Result<()> {
    let body = format!("{{\"binding\":{},\"points\":{points_array}}}", serde_json::to_string(binding)?);
    let headers = Headers::new();
    headers.set("content-type", "application/json")?;
    headers.set("authorization", &format!("Bearer {token}"))?;
    let response = fetcher.fetch_request(post(&format!("https://self{DATA_POINTS_PATH}"), &headers, &body)?).await?;
    match response.status_code() {
        200..=299 => Ok(()),
        status => Err(worker::Error::RustError(format!("hand-over answered {status}"))),
    }
}

/// Writes handed-over points into the named binding (at most one allowance).
pub fn accept_handover(env: &Env, handover: &PointsHandover<'_>) -> Result<(), crate::api::ApiError> {
    use crate::api::ApiError;
    let binding = KNOWN_BINDINGS
        .iter()
        .find(|b| **b == handover.binding)
        .ok_or_else(|| ApiError::bad_request(format!("unknown Analytics Engine binding {:?}", handover.binding)))?;
    // Checked against the limits, then written as they came (or anew, in the previous version's form).
    let points: Vec<DataPoint> = serde_json::from_str(handover.points.get())
        .map_err(|e| ApiError::bad_request(format!("invalid data points: {e}")))?;
    if points.len() > MAX_POINTS_PER_INVOCATION {
        return Err(ApiError::bad_request(format!("at most {MAX_POINTS_PER_INVOCATION} points per hand-over")));
    }
    let dataset = env.analytics_engine(binding).map_err(|e| ApiError::unavailable(e.to_string()))?;
    let written = if is_previous_form(handover.points.get()) {
        write_points(&dataset, &json_array(&point_texts(&points)), points.len())
    } else {
        write_points(&dataset, handover.points.get(), points.len())
    };
    // The sender counts what the hand-over did not write.
    written.map_err(|NotWritten(_, why)| ApiError::from(why))
}
