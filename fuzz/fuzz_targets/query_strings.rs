//! Feeds UTF-8 text as a request path and query string to the read API's
//! parsers: `api::params::query_pairs` and the value parsers of
//! `api::params`, `api::routes::route`, and the pair parsers of
//! `query::trace_search::TraceSearch`, `query::log_search::LogSearch`,
//! `query::metric_query::MetricQuery`, `query::jaeger::{search,
//! dependencies_window, go_duration_ms}` and `query::service_view::Window`;
//! each value also as a bearer token (`api::auth::authorize`, `api::keys::parse_token`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use observability_collector::alerting::incident::IncidentState;
use observability_collector::alerting::span_metrics::SpanMetric;
use observability_collector::api::auth::{authorize, Tokens};
use observability_collector::api::keys::parse_token;
use observability_collector::api::params::{duration_ms, limit, percent_decode, query_pairs, time_ms, window_seconds};
use observability_collector::api::routes::{route, Scope};
use observability_collector::blocks::BlockId;
use observability_collector::domain::{SpanId, TraceId};
use observability_collector::query::jaeger::{dependencies_window, go_duration_ms, search};
use observability_collector::query::log_search::LogSearch;
use observability_collector::query::metric_query::{MetricAggregation, MetricQuery};
use observability_collector::query::service_view::Window;
use observability_collector::query::trace_search::{attribute_filter, TraceSearch};

/// 2026-11-28T00:00:00Z, a fixed "now" so runs are reproducible.
const NOW_MS: f64 = 1_795_824_000_000.0;

/// Every parser of one value, given the parameter's name.
fn values(name: &str, value: &str) {
    let _ = time_ms(name, value);
    let _ = duration_ms(name, value);
    let _ = window_seconds(name, value);
    let _ = limit(name, value, 1000);
    let _ = go_duration_ms(name, value);
    let _ = attribute_filter(name, value);
    let _ = MetricAggregation::parse(value);
    let _ = IncidentState::parse(value);
    let _ = SpanMetric::parse(value);
    let _ = BlockId::parse(value);
    let _ = TraceId::from_hex(value);
    let _ = SpanId::from_hex(value);
    let _ = parse_token(value);
    let tokens = Tokens { ingest: Some("in".into()), api: Some("api".into()), internal: Some("self".into()) };
    for scope in [Scope::Public, Scope::Ingest, Scope::Read, Scope::Admin, Scope::Internal] {
        let _ = authorize(scope, Some(&format!("Bearer {value}")), &tokens);
        let _ = authorize(scope, Some(value), &tokens);
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // As a whole URL (path, `?`, query) when it has a `?`, else as a query string.
    let url = if text.contains('?') { text.to_string() } else { format!("/api/traces?{text}") };
    let path = url.split(['?', '#']).next().unwrap_or("");
    for method in ["GET", "POST", "PUT", "DELETE", "HEAD"] {
        let _ = route(method, path);
    }
    let _ = route("GET", &percent_decode(path, false));

    let owned = query_pairs(&url);
    let pairs = || owned.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    let _ = TraceSearch::parse(pairs());
    let _ = LogSearch::parse(pairs());
    let _ = MetricQuery::parse(pairs(), NOW_MS);
    let _ = search(pairs(), NOW_MS);
    let _ = dependencies_window(pairs(), NOW_MS);
    let _ = Window::parse(pairs(), NOW_MS);
    for (k, v) in pairs() {
        values(k, v);
    }
    values("value", text);
});
