//! The CPU an instrumented request spends on telemetry: a SERVER span with
//! its HTTP attributes, one outgoing call (CLIENT span, propagation headers),
//! two D1 statements (sanitised, with rows read and written), one log record,
//! and the OTLP protobuf encoding of it all.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use worker_otel::{Config, Incoming, Severity, Span, SpanKind};

fn clock() -> u64 {
    1_800_000_000_000_000_000
}

fn instrumented_request(config: &Config) -> usize {
    let incoming = Incoming {
        traceparent: Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into()),
        ..Incoming::default()
    };
    let root = Span::root(config, incoming, "GET", SpanKind::Server, clock, 42);
    root.set_attribute("http.request.method", "GET");
    root.set_attribute("url.path", "/orders/1234".to_owned());
    root.set_attribute("url.scheme", "https");
    root.set_attribute("server.address", "shop.example.com".to_owned());
    root.set_attribute("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64)".to_owned());
    root.set_http_route("/orders/:id");

    let call = root.child("GET", SpanKind::Client);
    call.set_attribute("http.request.method", "GET");
    call.set_attribute("server.address", "orders".to_owned());
    call.set_attribute("server.port", 443);
    call.set_attribute("url.full", "https://orders/orders/1234".to_owned());
    black_box(call.propagation_headers());
    call.set_attribute("http.response.status_code", 200);
    call.end();

    for sql in ["SELECT id, total, state FROM orders WHERE id = ?1", "UPDATE orders SET seen = 1 WHERE id = 1234"] {
        let statement = worker_otel::Statement::new(sql);
        let query = root.child(statement.span_name(), SpanKind::Client);
        query.set_attribute("db.system.name", "cloudflare-d1");
        query.set_attribute("db.namespace", "DB");
        query.set_attribute("db.query.text", statement.text);
        if let Some(operation) = statement.operation {
            query.set_attribute("db.operation.name", operation);
        }
        if let Some(collection) = statement.collection {
            query.set_attribute("db.collection.name", collection);
        }
        query.set_attribute("cloudflare.d1.rows_read", 1);
        query.set_attribute("cloudflare.d1.rows_written", 0);
        query.end();
    }
    root.log(Severity::Info, "order 1234 shown", Vec::new());
    root.set_attribute("http.response.status_code", 200);
    root.end();
    let export = root.take_export();
    export.traces.map_or(0, |t| t.len()) + export.logs.map_or(0, |l| l.len())
}

fn bench(c: &mut Criterion) {
    let config = Config::from_lookup(|name| match name {
        "OTEL_SERVICE_NAME" => Some("frontend".to_owned()),
        "OTEL_RESOURCE_ATTRIBUTES" => Some("service.version=1.0.0,deployment.environment.name=production".to_owned()),
        _ => None,
    });
    c.bench_function("request: server span, one call, two D1 queries, one log, encoded", |b| {
        b.iter(|| instrumented_request(black_box(&config)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
