//! Protobuf messages every signal shares: `Resource`, `InstrumentationScope`,
//! `KeyValue`, `AnyValue`, decoded with the borrowing wire reader.

use std::borrow::Cow;

use super::wire::{field_counts, Reader, WireValue};
use super::DecodeError;
use crate::domain::{AnyValue, KeyValue, Resource, Scope};

pub(super) fn resource(buf: &[u8]) -> Result<Resource<'_>, DecodeError> {
    let [attributes] = field_counts(buf, [1])?;
    let mut res = Resource { attributes: Vec::with_capacity(attributes), dropped_attributes_count: 0 };
    let mut r = Reader::new(buf);
    while let Some((n, v)) = r.next_field()? {
        match n {
            1 => res.attributes.push(key_value(v.bytes("attributes")?)?),
            2 => res.dropped_attributes_count = v.varint("dropped_attributes_count")? as u32,
            _ => {}
        }
    }
    Ok(res)
}

pub(super) fn scope(buf: &[u8]) -> Result<Scope<'_>, DecodeError> {
    let mut scope = Scope::default();
    let mut r = Reader::new(buf);
    while let Some((n, v)) = r.next_field()? {
        match n {
            1 => scope.name = Cow::Borrowed(v.str("scope.name")?),
            2 => scope.version = Cow::Borrowed(v.str("scope.version")?),
            _ => {}
        }
    }
    Ok(scope)
}

/// The outer `Result` is a broken message; the inner one a span we refuse (with why).
pub(super) fn key_value(buf: &[u8]) -> Result<KeyValue<'_>, DecodeError> {
    let mut kv = KeyValue { key: Cow::Borrowed(""), value: AnyValue::Empty };
    let mut r = Reader::new(buf);
    while let Some((n, v)) = r.next_field()? {
        match n {
            1 => kv.key = Cow::Borrowed(v.str("key")?),
            2 => kv.value = any_value(v.bytes("value")?)?,
            _ => {}
        }
    }
    Ok(kv)
}

pub(super) fn any_value(buf: &[u8]) -> Result<AnyValue<'_>, DecodeError> {
    let mut value = AnyValue::Empty;
    let mut r = Reader::new(buf);
    while let Some((n, v)) = r.next_field()? {
        value = match (n, v) {
            (1, v) => AnyValue::Str(Cow::Borrowed(v.str("string_value")?)),
            (2, v) => AnyValue::Bool(v.varint("bool_value")? != 0),
            (3, v) => AnyValue::Int(v.varint("int_value")? as i64),
            (4, v) => AnyValue::Double(f64::from_bits(v.fixed64("double_value")?)),
            (5, v) => AnyValue::Array(repeated(v, "array_value", any_value)?),
            (6, v) => AnyValue::Kvlist(repeated(v, "kvlist_value", key_value)?),
            (7, v) => AnyValue::Bytes(Cow::Borrowed(v.bytes("bytes_value")?)),
            _ => value,
        };
    }
    Ok(value)
}

/// Field 1 of an `ArrayValue` / `KeyValueList`, decoded with `item`.
fn repeated<'a, T>(
    v: WireValue<'a>,
    field: &str,
    item: fn(&'a [u8]) -> Result<T, DecodeError>,
) -> Result<Vec<T>, DecodeError> {
    let buf = v.bytes(field)?;
    let [items] = field_counts(buf, [1])?;
    let mut out = Vec::with_capacity(items);
    let mut r = Reader::new(buf);
    while let Some((n, v)) = r.next_field()? {
        if n == 1 {
            out.push(item(v.bytes(field)?)?);
        }
    }
    Ok(out)
}
