//! Lenient readers for the scalar quirks of OTLP/JSON senders: 64-bit integers
//! as strings or numbers, enums as integers or names, ids as hex (any case)
//! or base64, `null` where a list or object was expected.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use base64::Engine as _;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::domain::{AnyValue, KeyValue};

/// `null` or a missing field both give the type's default.
pub fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A number sent as a JSON number or a decimal string.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Num(pub NumValue);

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NumValue {
    Int(i128),
    Float(f64),
}

impl Default for NumValue {
    fn default() -> Self {
        NumValue::Int(0)
    }
}

impl Num {
    pub fn as_u64(self) -> Option<u64> {
        match self.0 {
            NumValue::Int(i) => u64::try_from(i).ok(),
            NumValue::Float(f) if f >= 0.0 && f.fract() == 0.0 && f < 1.8446744073709552e19 => Some(f as u64),
            NumValue::Float(_) => None,
        }
    }

    pub fn as_i64(self) -> Option<i64> {
        match self.0 {
            NumValue::Int(i) => i64::try_from(i).ok(),
            NumValue::Float(f) if f.fract() == 0.0 && f.abs() < 9.223372036854776e18 => Some(f as i64),
            NumValue::Float(_) => None,
        }
    }

    pub fn as_f64(self) -> f64 {
        match self.0 {
            NumValue::Int(i) => i as f64,
            NumValue::Float(f) => f,
        }
    }
}

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Num;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number or a numeric string")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Num, E> {
                Ok(Num(NumValue::Int(v.into())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Num, E> {
                Ok(Num(NumValue::Int(v.into())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Num, E> {
                Ok(Num(NumValue::Float(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Num, E> {
                let t = v.trim();
                if let Ok(i) = t.parse::<i128>() {
                    return Ok(Num(NumValue::Int(i)));
                }
                let f = match t {
                    "NaN" => f64::NAN,
                    "Infinity" => f64::INFINITY,
                    "-Infinity" => f64::NEG_INFINITY,
                    _ => t.parse::<f64>().map_err(|_| E::custom(format!("{v:?} is not a number")))?,
                };
                Ok(Num(NumValue::Float(f)))
            }
        }
        d.deserialize_any(V)
    }
}

/// An unsigned 64-bit value (timestamps, counts) from a number or a string.
pub fn u64_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    match Option::<Num>::deserialize(d)? {
        None => Ok(0),
        Some(n) => n.as_u64().ok_or_else(|| de::Error::custom("expected an unsigned 64-bit integer")),
    }
}

/// A 32-bit count from a number or a string.
pub fn u32_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let v = u64_lenient(d)?;
    u32::try_from(v).map_err(|_| de::Error::custom("expected a 32-bit count"))
}

/// An enum given as its number or as its name; names are resolved by the caller.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum EnumValue<'a> {
    #[default]
    Absent,
    Number(i64),
    Name(Cow<'a, str>),
}

impl<'de: 'a, 'a> Deserialize<'de> for EnumValue<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw<'a> {
            Num(i64),
            Name(#[serde(borrow)] Cow<'a, str>),
            Null(()),
        }
        Ok(match Raw::deserialize(d)? {
            Raw::Num(n) => EnumValue::Number(n),
            Raw::Name(s) => match s.trim().parse::<i64>() {
                Ok(n) => EnumValue::Number(n),
                Err(_) => EnumValue::Name(s),
            },
            Raw::Null(()) => EnumValue::Absent,
        })
    }
}

impl EnumValue<'_> {
    /// Resolves with `by_number` / `by_name`; unknown values give the default,
    /// as protobuf does for enum numbers it does not know.
    pub fn resolve<T: Default>(&self, by_number: fn(i64) -> Option<T>, by_name: fn(&str) -> Option<T>) -> T {
        match self {
            EnumValue::Absent => None,
            EnumValue::Number(n) => by_number(*n),
            EnumValue::Name(s) => by_name(s),
        }
        .unwrap_or_default()
    }
}

/// Bytes of an id: hex as the OTLP/JSON spec says, or base64 as generic
/// protobuf-JSON encoders produce.
pub fn id_bytes(text: &str) -> Cow<'_, [u8]> {
    let hex_len = text.len() % 2 == 0 && text.bytes().all(|b| b.is_ascii_hexdigit());
    if hex_len {
        let bytes = text
            .as_bytes()
            .chunks_exact(2)
            .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap_or("zz"), 16).unwrap_or(0))
            .collect();
        return Cow::Owned(bytes);
    }
    match base64::engine::general_purpose::STANDARD.decode(text) {
        Ok(bytes) => Cow::Owned(bytes),
        Err(_) => Cow::Borrowed(text.as_bytes()),
    }
}

fn base64_bytes(text: &str) -> Result<Vec<u8>, String> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(text))
        .map_err(|_| format!("{text:?} is not base64"))
}

/// A string that borrows from the body unless it had escapes.
#[derive(Deserialize)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

/// An attribute list read straight into domain key-values. A value we cannot
/// accept (an `intValue` that is no integer, bad base64) makes the list an
/// `Err` with the reason, after the whole list was read, so only the span
/// that holds it is refused.
#[derive(Debug, PartialEq)]
pub struct JsonAttributes<'a>(pub Result<Vec<KeyValue<'a>>, String>);

impl Default for JsonAttributes<'_> {
    fn default() -> Self {
        JsonAttributes(Ok(Vec::new()))
    }
}

/// One `AnyValue`, or why it was refused.
pub struct JsonAnyValue<'a>(pub Result<AnyValue<'a>, String>);

impl Default for JsonAnyValue<'_> {
    fn default() -> Self {
        JsonAnyValue(Ok(AnyValue::Empty))
    }
}

/// One `KeyValue`, or why its value was refused.
struct JsonKeyValue<'a>(Result<KeyValue<'a>, String>);

/// `{"values": [...]}` of `arrayValue` / `kvlistValue`.
struct JsonValues<T>(Vec<T>);

impl<'de: 'a, 'a> Deserialize<'de> for JsonAttributes<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = JsonAttributes<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of key-values")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(JsonAttributes::default())
            }
            fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Self::Value, S::Error> {
                let mut out = Ok(Vec::with_capacity(seq.size_hint().unwrap_or(8)));
                while let Some(JsonKeyValue(kv)) = seq.next_element()? {
                    match (&mut out, kv) {
                        (Ok(list), Ok(kv)) => list.push(kv),
                        (Ok(_), Err(e)) => out = Err(e),
                        (Err(_), _) => {}
                    }
                }
                Ok(JsonAttributes(out))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for JsonKeyValue<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = JsonKeyValue<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key-value object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let (mut key, mut value) = (Cow::Borrowed(""), Ok(AnyValue::Empty));
                while let Some(Text(field)) = map.next_key()? {
                    match field.as_ref() {
                        "key" => key = map.next_value::<Option<Text<'de>>>()?.map_or(Cow::Borrowed(""), |t| t.0),
                        "value" => {
                            value = map.next_value::<Option<JsonAnyValue<'de>>>()?.map_or(Ok(AnyValue::Empty), |v| v.0)
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(JsonKeyValue(value.map(|value| KeyValue { key, value })))
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for JsonAnyValue<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = JsonAnyValue<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an AnyValue object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut value = Ok(AnyValue::Empty);
                while let Some(Text(field)) = map.next_key()? {
                    value = match field.as_ref() {
                        "stringValue" | "string_value" => Ok(AnyValue::Str(map.next_value::<Text<'de>>()?.0)),
                        "boolValue" | "bool_value" => Ok(AnyValue::Bool(map.next_value()?)),
                        "intValue" | "int_value" => map
                            .next_value::<Num>()?
                            .as_i64()
                            .map(AnyValue::Int)
                            .ok_or_else(|| "intValue is not a 64-bit integer".to_string()),
                        "doubleValue" | "double_value" => Ok(AnyValue::Double(map.next_value::<Num>()?.as_f64())),
                        "arrayValue" | "array_value" => map
                            .next_value::<JsonValues<JsonAnyValue<'de>>>()?
                            .0
                            .into_iter()
                            .map(|v| v.0)
                            .collect::<Result<_, _>>()
                            .map(AnyValue::Array),
                        "kvlistValue" | "kvlist_value" => map
                            .next_value::<JsonValues<JsonKeyValue<'de>>>()?
                            .0
                            .into_iter()
                            .map(|v| v.0)
                            .collect::<Result<_, _>>()
                            .map(AnyValue::Kvlist),
                        "bytesValue" | "bytes_value" => {
                            base64_bytes(&map.next_value::<Text<'de>>()?.0).map(|b| AnyValue::Bytes(Cow::Owned(b)))
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                            continue;
                        }
                    };
                }
                Ok(JsonAnyValue(value))
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for JsonValues<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw<T> {
            #[serde(default = "Vec::new", bound(deserialize = "T: Deserialize<'de>"), deserialize_with = "nullable")]
            values: Vec<T>,
        }
        Ok(JsonValues(Raw::deserialize(d)?.values))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_come_as_numbers_or_strings_and_keep_64_bit_precision() {
        let n: Num = serde_json::from_str(r#""1700000000123456789""#).unwrap();
        assert_eq!(n.as_u64(), Some(1_700_000_000_123_456_789));
        let n: Num = serde_json::from_str("1700000000123456789").unwrap();
        assert_eq!(n.as_u64(), Some(1_700_000_000_123_456_789));
        let n: Num = serde_json::from_str(r#""-5""#).unwrap();
        assert_eq!((n.as_i64(), n.as_u64()), (Some(-5), None));
        let n: Num = serde_json::from_str(r#""NaN""#).unwrap();
        assert!(n.as_f64().is_nan());
        assert!(serde_json::from_str::<Num>(r#""abc""#).is_err());
    }

    #[test]
    fn enums_come_as_numbers_names_or_numeric_strings() {
        fn by_name(s: &str) -> Option<i32> {
            (s == "SPAN_KIND_SERVER").then_some(2)
        }
        for (json, want) in [("2", 2), (r#""SPAN_KIND_SERVER""#, 2), (r#""2""#, 2), ("null", 0), (r#""bogus""#, 0)] {
            let e: EnumValue = serde_json::from_str(json).unwrap();
            assert_eq!(e.resolve(|n| Some(n as i32), by_name), want, "{json}");
        }
    }

    #[test]
    fn attributes_of_every_type_are_read_and_bad_values_reported_after_the_list() {
        let json = r#"[{"key":"s","value":{"stringValue":"x\"y"}},{"key":"i","value":{"intValue":"-7"}},
            {"key":"a","value":{"arrayValue":{"values":[{"boolValue":true},{}]}}},
            {"key":"k","value":{"kvlistValue":{"values":[{"key":"d","value":{"doubleValue":2}}]}}},
            {"key":"b","value":{"bytesValue":"AQI="}},{"key":"n","value":null},{"key":"x","value":{"futureValue":1}}]"#;
        let JsonAttributes(Ok(attrs)) = serde_json::from_str(json).unwrap() else { panic!() };
        let values: Vec<_> = attrs.iter().map(|kv| (kv.key.as_ref(), kv.value.clone())).collect();
        assert_eq!(values[0], ("s", AnyValue::Str("x\"y".into())));
        assert_eq!(values[1], ("i", AnyValue::Int(-7)));
        assert_eq!(values[2], ("a", AnyValue::Array(vec![AnyValue::Bool(true), AnyValue::Empty])));
        assert_eq!(values[3].1, AnyValue::Kvlist(vec![KeyValue { key: "d".into(), value: AnyValue::Double(2.0) }]));
        assert_eq!(values[4].1, AnyValue::Bytes(Cow::Owned(vec![1, 2])));
        assert_eq!((values[5].1.clone(), values[6].1.clone()), (AnyValue::Empty, AnyValue::Empty));
        let bad: JsonAttributes =
            serde_json::from_str(r#"[{"key":"i","value":{"intValue":"1.5"}},{"key":"ok","value":{}}]"#).unwrap();
        assert_eq!(bad.0, Err("intValue is not a 64-bit integer".to_string()));
        assert_eq!(serde_json::from_str::<JsonAttributes>("null").unwrap(), JsonAttributes::default());
    }

    #[test]
    fn ids_are_read_from_hex_in_any_case_or_from_base64() {
        assert_eq!(id_bytes("0A0b").as_ref(), &[10, 11]);
        assert_eq!(id_bytes("AQIDBAUGBwg=").as_ref(), &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(id_bytes("").len(), 0);
    }
}
