//! Field-by-field comparison of our decoded values with the `opentelemetry-proto` reference types.

use observability_collector::domain::{self, AnyValue as OurValue};
use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, KeyValue};

pub fn same_value(ours: &OurValue<'_>, theirs: &Option<AnyValue>) {
    match (ours, theirs.as_ref().and_then(|v| v.value.as_ref())) {
        (OurValue::Empty, None) => {}
        (OurValue::Str(a), Some(Value::StringValue(b))) => assert_eq!(a, b),
        (OurValue::Bool(a), Some(Value::BoolValue(b))) => assert_eq!(a, b),
        (OurValue::Int(a), Some(Value::IntValue(b))) => assert_eq!(a, b),
        (OurValue::Double(a), Some(Value::DoubleValue(b))) => assert_eq!(a.to_bits(), b.to_bits()),
        (OurValue::Bytes(a), Some(Value::BytesValue(b))) => assert_eq!(a.as_ref(), b.as_slice()),
        (OurValue::Array(a), Some(Value::ArrayValue(b))) => {
            assert_eq!(a.len(), b.values.len());
            for (x, y) in a.iter().zip(&b.values) {
                same_value(x, &Some(y.clone()));
            }
        }
        (OurValue::Kvlist(a), Some(Value::KvlistValue(b))) => same_attributes(a, &b.values),
        (a, b) => panic!("value mismatch: {a:?} vs {b:?}"),
    }
}

pub fn same_attributes(ours: &[domain::KeyValue<'_>], theirs: &[KeyValue]) {
    assert_eq!(ours.len(), theirs.len());
    for (a, b) in ours.iter().zip(theirs) {
        assert_eq!(a.key, b.key);
        same_value(&a.value, &b.value);
    }
}
