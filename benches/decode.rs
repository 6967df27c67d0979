//! Decode + map of a 512-span OTLP batch (the SDKs' default export size):
//! our borrowing decoders against `prost` with the `opentelemetry-proto` types.

#[path = "../tests/support/fixtures.rs"]
mod fixtures;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use observability_collector::ingest::span_batch;
use observability_collector::otlp::{decode_traces, Encoding};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

const SPANS: usize = 512;

fn decode(c: &mut Criterion) {
    let request = fixtures::trace_request(SPANS);
    let protobuf = request.encode_to_vec();
    let json = serde_json::to_vec(&request).unwrap();
    let mut group = c.benchmark_group("512 spans");
    group.throughput(Throughput::Elements(SPANS as u64));

    group.bench_function("protobuf: decode (ours)", |b| {
        b.iter(|| decode_traces(&protobuf, Encoding::Protobuf).unwrap())
    });
    group.bench_function("protobuf: decode (prost reference)", |b| {
        b.iter(|| ExportTraceServiceRequest::decode(protobuf.as_slice()).unwrap())
    });
    group.bench_function("protobuf: decode + map", |b| {
        b.iter(|| {
            let mut e = decode_traces(&protobuf, Encoding::Protobuf).unwrap();
            span_batch(&e.resource_spans, &mut e.rejections).span_count
        })
    });
    group.bench_function("json: decode (ours)", |b| b.iter(|| decode_traces(&json, Encoding::Json).unwrap()));
    group.bench_function("json: decode + map", |b| {
        b.iter(|| {
            let mut e = decode_traces(&json, Encoding::Json).unwrap();
            span_batch(&e.resource_spans, &mut e.rejections).span_count
        })
    });
    group.bench_function("map only (rows, services, Analytics Engine points)", |b| {
        b.iter_batched(
            || decode_traces(&protobuf, Encoding::Protobuf).unwrap(),
            |mut e| span_batch(&e.resource_spans, &mut e.rejections).span_count,
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
