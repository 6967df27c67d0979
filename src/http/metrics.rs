//! `POST /v1/metrics`, `GET /api/metrics` and `GET /api/metrics/query`.

use worker::{Context, Env, Request, Response};

use super::{db, json, now_ms, query_pairs, read_otlp, respond};
use crate::alerting::rule::Aggregation;
use crate::alerting::span_metrics::{observe, SpanMetric};
use crate::alerting::Observation;
use crate::api::ApiError;
use crate::ingest::metric_batch;
use crate::otlp::decode_metrics;
use crate::otlp::response::{export_response, Signal};
use crate::query::metric_query::{
    by_series, evaluate, MetricAggregation, MetricPoint, MetricQuery, MetricSeriesResult,
};
use crate::query::service_view::Window;
use crate::storage::metrics::MetricStore;
use crate::store::analytics_engine::write_or_hand_over;
use crate::store::bindings;
use crate::store::d1::D1;
use crate::store::services::D1ServiceStore;

fn database(env: &Env) -> Result<D1, ApiError> {
    db(env).map(D1::new)
}

pub async fn ingest(req: &mut Request, env: &Env, ctx: &Context) -> Result<Response, ApiError> {
    let (body, encoding) = read_otlp(req, env).await?;
    let mut export = decode_metrics(&body, encoding)?;
    let batch = metric_batch(&export.resource_metrics, &mut export.rejections);
    if batch.point_count() > 0 {
        let caps = bindings::series_caps(env);
        let stored = MetricStore::new(&database(env)?).ingest(&batch, now_ms(), caps).await?;
        for (key, service) in &batch.point_series {
            if !stored.series.contains(key) {
                export.rejections.reject(format!(
                    "service {service:?} is at its metric series limit ({} per service, {} per metric): new series are refused",
                    caps.per_service, caps.per_metric
                ));
            }
        }
        let mut points: Vec<_> = batch.points.into_iter().map(Some).collect();
        let new_points = stored.new_points.iter().filter_map(|&i| points.get_mut(i).and_then(Option::take)).collect();
        write_or_hand_over(env, ctx, bindings::AE_METRICS, new_points);
    }
    Ok(respond(200, encoding.content_type(), export_response(Signal::Metrics, &export.rejections, encoding), None))
}

pub async fn list(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let pairs = query_pairs(req);
    let service = pairs.iter().find(|(k, v)| k == "service" && !v.trim().is_empty()).map(|(_, v)| v.as_str());
    let metrics = MetricStore::new(&database(env)?).list(service).await?;
    let span_metrics = crate::alerting::rule::SPAN_METRICS;
    json(200, &MetricList { metrics, span_metrics })
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct MetricList {
    metrics: Box<serde_json::value::RawValue>,
    span_metrics: &'static [&'static str],
}

#[derive(serde::Serialize)]
struct MetricAnswer<'q> {
    name: &'q str,
    service: Option<&'q str>,
    start: f64,
    end: f64,
    step: f64,
    result: MetricSeriesResult,
}

pub async fn query(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let pairs = query_pairs(req);
    let q = MetricQuery::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())), now_ms())?;
    let result = match SpanMetric::parse(&q.name) {
        Some(metric) => span_series(metric, &q, env).await?,
        None => {
            let d1 = database(env)?;
            let (series, minutes) =
                MetricStore::new(&d1).series_and_minutes(&q.name, q.service.as_deref(), &q.steps).await?;
            let matching: Vec<_> = series.iter().filter(|s| s.matches(&q.attributes)).collect();
            evaluate(&q.name, &matching, &by_series(&minutes), q.aggregation, &q.steps)?
        }
    };
    let answer = MetricAnswer {
        name: &q.name,
        service: q.service.as_deref(),
        start: q.steps.start_ms,
        end: q.steps.end_ms(),
        step: q.steps.step_ms / 1000.0,
        result,
    };
    json(200, &answer)
}

/// A span metric per step, from the service's (or operation's) RED minutes,
/// each step reduced as an alert rule with that window would be.
async fn span_series(metric: SpanMetric, q: &MetricQuery, env: &Env) -> Result<MetricSeriesResult, ApiError> {
    let service = q.service.as_deref().ok_or_else(|| ApiError::bad_request("span metrics need a service"))?;
    let aggregation =
        match q.aggregation {
            None => Aggregation::default(),
            Some(MetricAggregation::Rule(a)) => a,
            Some(MetricAggregation::Quantile(_)) => return Err(ApiError::bad_request(
                "span metrics take avg, sum, min, max, count, rate or last: use span.duration.p50 … p99 for quantiles",
            )),
        };
    let minutes = D1ServiceStore::new(db(env)?)
        .red_minutes(service, q.operation.as_deref(), q.steps.start_ms, q.steps.end_ms())
        .await?;
    let rows: Vec<_> = minutes.iter().collect();
    let points = q
        .steps
        .times()
        .map(|time| {
            let window = Window { start_ms: time, end_ms: time + q.steps.step_ms };
            let value = match observe(metric, aggregation, &rows, &window) {
                Observation::Value(v) => Some(v),
                Observation::NoData => None,
            };
            MetricPoint { time, value }
        })
        .collect();
    Ok(MetricSeriesResult {
        kind: "span".into(),
        temporality: String::new(),
        unit: if q.name.starts_with("span.duration") { "ms".into() } else { "1".into() },
        aggregation: MetricAggregation::Rule(aggregation).name(),
        series: usize::from(!rows.is_empty()),
        points,
    })
}
