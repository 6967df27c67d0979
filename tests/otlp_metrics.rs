//! The OTLP metric decoders agree with the `opentelemetry-proto` reference
//! types on every field of every data point type, for protobuf and JSON.

mod support;

use observability_collector::domain::metric::PointHeader;
use observability_collector::domain::{self, MetricData as Ours, Temporality};
use observability_collector::otlp::{decode_metrics, Encoding};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    exponential_histogram_data_point::Buckets, metric::Data, number_data_point, summary_data_point::ValueAtQuantile,
    ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint,
    ResourceMetrics, ScopeMetrics, Sum, Summary, SummaryDataPoint,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use support::compare::same_attributes;

const T0: u64 = 1_763_900_000_000_000_000;

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue { key: key.into(), value: Some(AnyValue { value: Some(Value::StringValue(value.into())) }) }
}

fn number(i: u64, value: number_data_point::Value) -> NumberDataPoint {
    NumberDataPoint {
        attributes: vec![kv("route", if i % 2 == 0 { "/a" } else { "/b" })],
        start_time_unix_nano: T0,
        time_unix_nano: T0 + i * 60_000_000_000,
        value: Some(value),
        exemplars: vec![],
        flags: 0,
    }
}

fn metric(name: &str, data: Data) -> Metric {
    Metric {
        name: name.into(),
        description: format!("{name} description"),
        unit: "1".into(),
        data: Some(data),
        metadata: vec![],
    }
}

fn request() -> ExportMetricsServiceRequest {
    let metrics = vec![
        metric(
            "queue.depth",
            Data::Gauge(Gauge {
                data_points: vec![
                    number(0, number_data_point::Value::AsDouble(12.5)),
                    number(1, number_data_point::Value::AsInt(-3)),
                ],
            }),
        ),
        metric(
            "http.requests",
            Data::Sum(Sum {
                data_points: vec![
                    number(0, number_data_point::Value::AsInt(9_007_199_254_740_993)),
                    number(1, number_data_point::Value::AsInt(40)),
                ],
                aggregation_temporality: 2,
                is_monotonic: true,
            }),
        ),
        metric(
            "inflight",
            Data::Sum(Sum {
                data_points: vec![number(2, number_data_point::Value::AsDouble(-1.0))],
                aggregation_temporality: 1,
                is_monotonic: false,
            }),
        ),
        metric(
            "http.duration",
            Data::Histogram(Histogram {
                data_points: vec![HistogramDataPoint {
                    attributes: vec![kv("route", "/a")],
                    start_time_unix_nano: T0,
                    time_unix_nano: T0 + 60_000_000_000,
                    count: 10,
                    sum: Some(1234.5),
                    bucket_counts: vec![1, 2, 3, 4],
                    explicit_bounds: vec![10.0, 100.0, 1000.0],
                    exemplars: vec![],
                    flags: 0,
                    min: Some(3.0),
                    max: Some(2000.0),
                }],
                aggregation_temporality: 1,
            }),
        ),
        metric(
            "payload.size",
            Data::ExponentialHistogram(ExponentialHistogram {
                data_points: vec![ExponentialHistogramDataPoint {
                    attributes: vec![kv("route", "/b")],
                    start_time_unix_nano: T0,
                    time_unix_nano: T0 + 60_000_000_000,
                    count: 7,
                    sum: Some(99.0),
                    scale: -2,
                    zero_count: 1,
                    positive: Some(Buckets { offset: -3, bucket_counts: vec![1, 0, 4] }),
                    negative: Some(Buckets { offset: 2, bucket_counts: vec![1] }),
                    flags: 0,
                    exemplars: vec![],
                    min: Some(-5.0),
                    max: Some(40.0),
                    zero_threshold: 0.001,
                }],
                aggregation_temporality: 2,
            }),
        ),
        metric(
            "rpc.latency",
            Data::Summary(Summary {
                data_points: vec![SummaryDataPoint {
                    attributes: vec![],
                    start_time_unix_nano: T0,
                    time_unix_nano: T0 + 60_000_000_000,
                    count: 100,
                    sum: 2500.0,
                    quantile_values: vec![
                        ValueAtQuantile { quantile: 0.5, value: 20.0 },
                        ValueAtQuantile { quantile: 0.99, value: 90.0 },
                    ],
                    flags: 0,
                }],
            }),
        ),
    ];
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource { attributes: vec![kv("service.name", "checkout")], ..Default::default() }),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope { name: "meter".into(), version: "2".into(), ..Default::default() }),
                metrics,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

fn same_header(ours: &PointHeader<'_>, attributes: &[KeyValue], start: u64, time: u64) {
    same_attributes(&ours.attributes, attributes);
    assert_eq!((ours.start_time_unix_nano, ours.time_unix_nano), (start, time));
}

fn temporality(n: i32) -> Temporality {
    Temporality::from_i64(i64::from(n)).unwrap()
}

fn assert_same(ours: &[domain::ResourceMetrics<'_>], theirs: &ExportMetricsServiceRequest) {
    let (sm, tsm) = (&ours[0].scope_metrics[0], &theirs.resource_metrics[0].scope_metrics[0]);
    same_attributes(&ours[0].resource.attributes, &theirs.resource_metrics[0].resource.as_ref().unwrap().attributes);
    assert_eq!((sm.scope.name.as_ref(), sm.scope.version.as_ref()), ("meter", "2"));
    assert_eq!(sm.metrics.len(), tsm.metrics.len());
    for (m, t) in sm.metrics.iter().zip(&tsm.metrics) {
        assert_eq!(
            (m.name.as_ref(), m.description.as_ref(), m.unit.as_ref()),
            (t.name.as_str(), t.description.as_str(), t.unit.as_str())
        );
        let number_value = |p: &NumberDataPoint| match p.value.unwrap() {
            number_data_point::Value::AsDouble(d) => d,
            number_data_point::Value::AsInt(i) => i as f64,
        };
        match (&m.data, t.data.as_ref().unwrap()) {
            (Ours::Gauge(points), Data::Gauge(g)) => {
                for (p, tp) in points.iter().zip(&g.data_points) {
                    same_header(&p.header, &tp.attributes, tp.start_time_unix_nano, tp.time_unix_nano);
                    assert_eq!(p.value, number_value(tp));
                }
                assert_eq!(points.len(), g.data_points.len());
            }
            (Ours::Sum { points, temporality: te, monotonic }, Data::Sum(s)) => {
                assert_eq!((*te, *monotonic), (temporality(s.aggregation_temporality), s.is_monotonic));
                assert_eq!(
                    points.iter().map(|p| p.value).collect::<Vec<_>>(),
                    s.data_points.iter().map(number_value).collect::<Vec<_>>()
                );
            }
            (Ours::Histogram { points, temporality: te }, Data::Histogram(h)) => {
                assert_eq!(*te, temporality(h.aggregation_temporality));
                let (p, tp) = (&points[0], &h.data_points[0]);
                same_header(&p.header, &tp.attributes, tp.start_time_unix_nano, tp.time_unix_nano);
                assert_eq!((p.count, p.sum, p.min, p.max), (tp.count, tp.sum, tp.min, tp.max));
                assert_eq!((&p.bucket_counts, &p.explicit_bounds), (&tp.bucket_counts, &tp.explicit_bounds));
            }
            (Ours::ExponentialHistogram { points, temporality: te }, Data::ExponentialHistogram(h)) => {
                assert_eq!(*te, temporality(h.aggregation_temporality));
                let (p, tp) = (&points[0], &h.data_points[0]);
                assert_eq!((p.count, p.sum, p.scale, p.zero_count), (tp.count, tp.sum, tp.scale, tp.zero_count));
                assert_eq!((p.min, p.max, p.zero_threshold), (tp.min, tp.max, tp.zero_threshold));
                let (pos, neg) = (tp.positive.as_ref().unwrap(), tp.negative.as_ref().unwrap());
                assert_eq!((p.positive.offset, &p.positive.bucket_counts), (pos.offset, &pos.bucket_counts));
                assert_eq!((p.negative.offset, &p.negative.bucket_counts), (neg.offset, &neg.bucket_counts));
            }
            (Ours::Summary(points), Data::Summary(s)) => {
                let (p, tp) = (&points[0], &s.data_points[0]);
                assert_eq!((p.count, p.sum), (tp.count, tp.sum));
                assert_eq!(p.quantiles, tp.quantile_values.iter().map(|q| (q.quantile, q.value)).collect::<Vec<_>>());
            }
            (a, b) => panic!("{}: {a:?} vs {b:?}", m.name),
        }
    }
}

#[test]
fn protobuf_and_json_decoding_agree_with_the_reference_types_for_every_point_type() {
    let request = request();
    for (encoding, body) in
        [(Encoding::Protobuf, request.encode_to_vec()), (Encoding::Json, serde_json::to_vec(&request).unwrap())]
    {
        let export = decode_metrics(&body, encoding).unwrap();
        assert!(export.rejections.is_empty(), "{encoding:?}: {}", export.rejections.message());
        assert_eq!(export.point_count(), 8, "{encoding:?}");
        assert_same(&export.resource_metrics, &request);
    }
}

#[test]
fn json_quirks_are_accepted_and_unreadable_points_rejected_alone() {
    let body = br#"{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"edge"}}]},
      "scope_metrics":[{"metrics":[
        {"name":"requests","sum":{"aggregationTemporality":"AGGREGATION_TEMPORALITY_CUMULATIVE","isMonotonic":true,
          "dataPoints":[{"timeUnixNano":"1763900000000000000","asInt":"42"},{"timeUnixNano":1763900060000000000,"asInt":"4.5"}]}},
        {"name":"latency","histogram":{"aggregation_temporality":1,"data_points":[{"count":"3","bucketCounts":["1",2],"explicitBounds":[5]}]}},
        {"name":"empty"}]}]}]}"#;
    let export = decode_metrics(body, Encoding::Json).unwrap();
    let metrics = &export.resource_metrics[0].scope_metrics[0].metrics;
    assert_eq!(export.rejections.count, 1, "asInt 4.5 is not an integer");
    match &metrics[0].data {
        Ours::Sum { points, temporality, monotonic } => {
            assert_eq!(
                (points.len(), points[0].value, *temporality, *monotonic),
                (1, 42.0, Temporality::Cumulative, true)
            )
        }
        other => panic!("{other:?}"),
    }
    match &metrics[1].data {
        Ours::Histogram { points, temporality } => {
            assert_eq!((&points[0].bucket_counts, *temporality), (&vec![1, 2], Temporality::Delta))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(metrics[2].data, Ours::Empty);
}

#[test]
fn packed_and_unpacked_repeated_fields_decode_alike() {
    // bucket_counts (field 6, fixed64) and explicit_bounds (field 7, double) sent unpacked, one field each.
    let mut point = Vec::new();
    for (field, bits) in [(6u8, 1u64), (6, 2), (7, 10.0f64.to_bits())] {
        point.push(field << 3 | 1);
        point.extend_from_slice(&bits.to_le_bytes());
    }
    point.extend_from_slice(&[0x21]); // field 4 (count), fixed64
    point.extend_from_slice(&3u64.to_le_bytes());
    let wrap = |field: u8, inner: &[u8]| [&[field << 3 | 2, inner.len() as u8][..], inner].concat();
    let histogram = wrap(1, &point);
    let metric = [wrap(1, b"h"), wrap(9, &histogram)].concat();
    let body = wrap(1, &wrap(2, &wrap(2, &metric)));
    let export = decode_metrics(&body, Encoding::Protobuf).unwrap();
    match &export.resource_metrics[0].scope_metrics[0].metrics[0].data {
        Ours::Histogram { points, .. } => {
            assert_eq!(
                (points[0].count, &points[0].bucket_counts, &points[0].explicit_bounds),
                (3, &vec![1, 2], &vec![10.0])
            )
        }
        other => panic!("{other:?}"),
    }
}
