//! Read-side hot paths: the service map and its cycles on a 100-service
//! graph, and a 1,000-span trace converted to the Jaeger model and to the
//! trace detail answer.

use criterion::{criterion_group, criterion_main, Criterion};
use observability_collector::query::jaeger;
use observability_collector::query::trace_view::{trace_detail_json, SpanJson};
use observability_collector::query::{StoredSpan, StoredTrace};
use observability_collector::topology::{analyze, service_map, StoredDependency, StoredService};

fn services(n: usize) -> (Vec<StoredService>, Vec<StoredDependency>) {
    let name = |i: usize| format!("service-{i:03}");
    let services = (0..n)
        .map(|i| StoredService {
            id: name(i),
            name: name(i),
            version: Some("1.0.0".into()),
            environment: Some("production".into()),
            first_seen_ms: 0.0,
            last_seen_ms: 1.0,
        })
        .collect();
    // Each service calls the next three (a ring, so there are cycles) and a database.
    let deps = (0..n)
        .flat_map(|i| {
            [(i + 1) % n, (i + 7) % n, (i + 31) % n]
                .into_iter()
                .map(move |j| (name(i), name(j)))
                .chain([(name(i), format!("db-{}", i % 10))])
        })
        .map(|(a, b)| StoredDependency {
            caller_service: a,
            callee_service: b,
            call_count: 100.0,
            error_count: 1.0,
            total_duration_ms: 1234.0,
        })
        .collect();
    (services, deps)
}

fn json(text: &str) -> Box<serde_json::value::RawValue> {
    serde_json::value::RawValue::from_string(text.to_string()).expect("fixture JSON")
}

fn trace(spans: usize) -> Vec<StoredSpan> {
    (0..spans)
        .map(|i| StoredSpan {
            trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".into(),
            span_id: format!("{:016x}", i + 1),
            parent_span_id: if i == 0 { String::new() } else { format!("{:016x}", i / 4 + 1) },
            service_name: format!("service-{}", i % 12),
            name: format!("GET /api/{}", i % 20),
            kind: 2,
            start_ns: format!("{:020}", 1_763_900_000_000_000_000u64 + i as u64 * 1000),
            end_ns: format!("{:020}", 1_763_900_000_005_000_000u64 + i as u64 * 1000),
            duration_ms: 5.0,
            status_code: 1,
            status_message: String::new(),
            attributes: json(r#"{"http.request.method":"GET","http.route":"/api/:id","http.response.status_code":200,"peer.service":"db"}"#),
            events: json(r#"[{"timeUnixNano":"1763900000001000000","name":"cache miss","attributes":{"key":"k"},"droppedAttributesCount":0}]"#),
            links: json("[]"),
            resource: json(r#"{"service.name":"service","service.version":"1.0.0","cloud.provider":"cloudflare"}"#),
            scope_name: "lib".into(),
            scope_version: "1".into(),
            trace_state: String::new(),
            flags: 1,
            dropped_attributes_count: 0,
            dropped_events_count: 0,
            dropped_links_count: 0,
            service_version: Some("1.0.0".into()),
            environment: None,
            callee: Some("db".into()),
        })
        .collect()
}

fn query(c: &mut Criterion) {
    let (svcs, deps) = services(100);
    c.bench_function("service map, 100 services / 400 edges", |b| {
        b.iter(|| service_map(svcs.clone(), deps.clone(), None).edges.len())
    });
    let edges: Vec<(String, String)> =
        deps.iter().map(|d| (d.caller_service.clone(), d.callee_service.clone())).collect();
    c.bench_function("cycles + components, 100 services / 400 edges (capped at 1,000 cycles)", |b| {
        b.iter(|| analyze(edges.iter().map(|(a, b)| (a.as_str(), b.as_str()))).cycles.len())
    });
    let spans = trace(1000);
    c.bench_function("Jaeger model + JSON, 1,000-span trace", |b| {
        b.iter(|| serde_json::to_vec(&jaeger::traces(spans.clone())).unwrap().len())
    });
    let summary = StoredTrace {
        trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".into(),
        root_span_id: "0000000000000001".into(),
        root_service: "service-0".into(),
        root_operation: "GET /api/0".into(),
        has_root: 1,
        start_ns: spans[0].start_ns.clone(),
        end_ns: spans[999].end_ns.clone(),
        duration_ms: 6.0,
        span_count: 1000,
        error_count: 0,
        services: r#"["service-0"]"#.into(),
    };
    c.bench_function("trace detail (GET /api/traces/:id) view + JSON, 1,000 format-1 spans", |b| {
        b.iter(|| {
            let json: Vec<SpanJson> = spans.iter().cloned().map(SpanJson::from).collect();
            trace_detail_json(summary.clone(), &json, 0).unwrap().len()
        })
    });
    let json: Vec<SpanJson> = spans.iter().cloned().map(SpanJson::from).collect();
    c.bench_function("trace detail (GET /api/traces/:id) spliced, 1,000 spans in the answer's shape", |b| {
        b.iter(|| trace_detail_json(summary.clone(), &json, 0).unwrap().len())
    });
}

criterion_group!(benches, query);
criterion_main!(benches);
