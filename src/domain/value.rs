//! OTLP attribute values (`AnyValue`, `KeyValue`) and their plain-JSON form
//! used for storage and the REST API: `{"http.method":"GET","retries":3}`.

use std::borrow::Cow;

use base64::Engine as _;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

/// One attribute value; strings and bytes borrow from the request body when they can.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum AnyValue<'a> {
    #[default]
    Empty,
    Str(Cow<'a, str>),
    Bool(bool),
    Int(i64),
    Double(f64),
    Bytes(Cow<'a, [u8]>),
    Array(Vec<AnyValue<'a>>),
    Kvlist(Vec<KeyValue<'a>>),
}

/// A key and its value, in the order the sender gave them.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyValue<'a> {
    pub key: Cow<'a, str>,
    pub value: AnyValue<'a>,
}

impl<'a> AnyValue<'a> {
    /// The value as text, for attributes that name things (`service.name`, `peer.service`).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            AnyValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value as an integer, accepting integral doubles and numeric strings.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            AnyValue::Int(i) => Some(*i),
            AnyValue::Double(d) if d.fract() == 0.0 && d.is_finite() => Some(*d as i64),
            AnyValue::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

/// Looks up the last value given for `key` (later duplicates win, as in JSON objects).
pub fn find<'k, 'a>(attributes: &'k [KeyValue<'a>], key: &str) -> Option<&'k AnyValue<'a>> {
    attributes.iter().rev().find(|kv| kv.key == key).map(|kv| &kv.value)
}

impl Serialize for AnyValue<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            AnyValue::Empty => serializer.serialize_none(),
            AnyValue::Str(s) => serializer.serialize_str(s),
            AnyValue::Bool(b) => serializer.serialize_bool(*b),
            AnyValue::Int(i) => serializer.serialize_i64(*i),
            AnyValue::Double(d) if d.is_finite() => serializer.serialize_f64(*d),
            AnyValue::Double(d) => serializer.serialize_str(if d.is_nan() {
                "NaN"
            } else if *d > 0.0 {
                "Infinity"
            } else {
                "-Infinity"
            }),
            AnyValue::Bytes(b) => serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(b)),
            AnyValue::Array(values) => {
                let mut seq = serializer.serialize_seq(Some(values.len()))?;
                for v in values {
                    seq.serialize_element(v)?;
                }
                seq.end()
            }
            AnyValue::Kvlist(kvs) => Attributes(kvs).serialize(serializer),
        }
    }
}

/// Serializes a list of key-values as one plain JSON object.
pub struct Attributes<'s, 'a>(pub &'s [KeyValue<'a>]);

impl Serialize for Attributes<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for kv in self.0 {
            map.serialize_entry(kv.key.as_ref(), &kv.value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv<'a>(key: &'a str, value: AnyValue<'a>) -> KeyValue<'a> {
        KeyValue { key: Cow::Borrowed(key), value }
    }

    #[test]
    fn attributes_serialize_as_one_plain_json_object() {
        let attrs = vec![
            kv("s", AnyValue::Str("x".into())),
            kv("i", AnyValue::Int(i64::MAX)),
            kv("d", AnyValue::Double(1.5)),
            kv("b", AnyValue::Bool(true)),
            kv("raw", AnyValue::Bytes(Cow::Borrowed(&[1, 2, 3]))),
            kv("arr", AnyValue::Array(vec![AnyValue::Int(1), AnyValue::Empty])),
            kv("nested", AnyValue::Kvlist(vec![kv("k", AnyValue::Str("v".into()))])),
            kv("nan", AnyValue::Double(f64::NAN)),
        ];
        let json = serde_json::to_string(&Attributes(&attrs)).unwrap();
        assert_eq!(
            json,
            r#"{"s":"x","i":9223372036854775807,"d":1.5,"b":true,"raw":"AQID","arr":[1,null],"nested":{"k":"v"},"nan":"NaN"}"#
        );
    }

    #[test]
    fn the_last_duplicate_key_wins_a_lookup() {
        let attrs = vec![kv("k", AnyValue::Int(1)), kv("k", AnyValue::Int(2))];
        assert_eq!(find(&attrs, "k"), Some(&AnyValue::Int(2)));
        assert_eq!(find(&attrs, "missing"), None);
    }

    #[test]
    fn integers_are_read_from_ints_integral_doubles_and_numeric_strings() {
        assert_eq!(AnyValue::Int(404).as_i64(), Some(404));
        assert_eq!(AnyValue::Double(404.0).as_i64(), Some(404));
        assert_eq!(AnyValue::Str("404".into()).as_i64(), Some(404));
        assert_eq!(AnyValue::Double(1.5).as_i64(), None);
    }
}
