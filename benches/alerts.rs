//! One alert evaluation cycle, pure part: 1,000 rules (span metrics and
//! OTLP metrics with every aggregation, half of them per service) over 100
//! services with an hour of per-minute RED roll-ups each and an hour of
//! minute roll-ups of 5 counter and 5 gauge series each, plus 100 SLOs'
//! burn-rate rules.

use std::collections::HashMap;

use criterion::{criterion_group, criterion_main, Criterion};
use observability_collector::alerting::cycle::{plan, CycleInput, RuleEntry};
use observability_collector::alerting::slo::{burn_rules, BurnRow, Slo, BURN_WINDOWS};
use observability_collector::alerting::span_metrics::RedMinute;
use observability_collector::alerting::AlertRule;
use observability_collector::query::metric_query::{StoredMinute, StoredSeries};
use observability_collector::query::service_view::StoredRed;

const NOW: f64 = 1_764_000_030_000.0;
const SERVICES: usize = 100;

fn service(i: usize) -> String {
    format!("service-{i:03}")
}

fn red(service: String, i: usize) -> StoredRed {
    let requests = 100.0 + (i % 50) as f64;
    StoredRed {
        service_name: service,
        requests,
        errors: (i % 7) as f64,
        duration_sum_ms: requests * 40.0,
        b5: requests * 0.6,
        b6: requests * 0.3,
        b8: requests * 0.1,
        ..Default::default()
    }
}

fn rules(n: usize) -> Vec<RuleEntry> {
    let metrics = [
        "span.count",
        "span.error_rate",
        "span.error_count",
        "span.duration.p95",
        "span.duration.avg",
        "http.server.requests",
        "memory.used",
    ];
    let aggregations = ["avg", "sum", "min", "max", "count", "rate", "last"];
    (0..n)
        .map(|i| {
            let service = if i % 2 == 0 { serde_json::Value::Null } else { service(i % SERVICES).into() };
            let body = serde_json::json!({
                "name": format!("rule {i}"), "serviceId": service, "metricName": metrics[i % metrics.len()],
                "aggregation": aggregations[i % aggregations.len()], "condition": "gt", "threshold": 50,
                "windowSeconds": 300 + 60 * (i % 55) as u32, "forSeconds": 60,
            });
            RuleEntry { id: format!("r{i}"), rule: AlertRule::parse(body.to_string().as_bytes()).unwrap() }
        })
        .collect()
}

/// Per service, 5 cumulative counter series and 5 gauge series, with a point every minute for an hour.
fn metric_roll_ups(first_minute: f64) -> (Vec<StoredSeries>, Vec<StoredMinute>) {
    let mut series = Vec::new();
    let mut minutes = Vec::new();
    for s in 0..SERVICES {
        for (metric, kind, temporality) in [("http.server.requests", "sum", "cumulative"), ("memory.used", "gauge", "")]
        {
            for a in 0..5 {
                let key = format!("{s}-{metric}-{a}");
                series.push(StoredSeries {
                    series_key: key.clone(),
                    service_name: service(s),
                    metric_name: metric.into(),
                    kind: kind.into(),
                    temporality: temporality.into(),
                    monotonic: 1.0,
                    unit: "1".into(),
                    attributes: format!(r#"{{"route":"/r{a}"}}"#),
                });
                for m in 0..60 {
                    let minute_ms = first_minute + m as f64 * 60_000.0;
                    let time = (minute_ms as u64 + 1_000) * 1_000_000;
                    let value = (m * 10 + a) as f64;
                    minutes.push(StoredMinute {
                        series_key: key.clone(),
                        minute_ms,
                        points: 1.0,
                        value_sum: value,
                        low: Some(value),
                        high: Some(value),
                        first_time_ns: time,
                        first_start_ns: 1,
                        first_value: Some(value),
                        last_time_ns: time,
                        last_start_ns: 1,
                        last_value: Some(value),
                        ..Default::default()
                    });
                }
            }
        }
    }
    (series, minutes)
}

fn bench(c: &mut Criterion) {
    let services: Vec<String> = (0..SERVICES).map(service).collect();
    let first_minute = (NOW / 60_000.0).floor() * 60_000.0 - 59.0 * 60_000.0;
    let minutes: Vec<RedMinute> = (0..SERVICES)
        .flat_map(|s| (0..60).map(move |m| (s, m)))
        .map(|(s, m)| RedMinute { minute_ms: first_minute + m as f64 * 60_000.0, red: red(service(s), s + m) })
        .collect();
    let slos: Vec<(String, Slo)> = (0..100)
        .map(|i| {
            let body =
                format!(r#"{{"name":"slo {i}","serviceId":"{}","kind":"availability","target":99.9}}"#, service(i));
            (format!("s{i}"), Slo::parse(body.as_bytes()).unwrap())
        })
        .collect();
    let burn_rows: Vec<BurnRow> = slos
        .iter()
        .flat_map(|(id, slo)| {
            BURN_WINDOWS.iter().map(move |(w, _)| BurnRow {
                slo_id: id.clone(),
                window: w.to_string(),
                red: red(slo.service_id.clone(), 3),
            })
        })
        .collect();
    let (metric_series, metric_minutes) = metric_roll_ups(first_minute);
    let mut all_rules = rules(1000);
    let (slo_rules, observations) = burn_rules(&slos, &burn_rows);
    all_rules.extend(slo_rules);
    let input = |states| CycleInput {
        now_ms: NOW,
        rules: &all_rules,
        services: &services,
        red_minutes: &minutes,
        metric_series: &metric_series,
        metric_minutes: &metric_minutes,
        states,
        open_incidents: &[],
        observations: &observations,
    };
    let no_states = HashMap::new();
    c.bench_function("alert cycle, first run: 1,000 rules + 100 SLOs × 100 services", |b| {
        b.iter(|| plan(&input(&no_states)).evaluations)
    });
    // Steady state: every rule was evaluated a minute ago (few transitions, few state writes).
    let first = plan(&input(&no_states));
    assert!(first.evaluations > 50_000);
    let states: HashMap<_, _> = first.states.into_iter().collect();
    c.bench_function("alert cycle, steady: 1,000 rules + 100 SLOs × 100 services", |b| {
        b.iter(|| plan(&input(&states)).evaluations)
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
