//! Reading JSON request bodies field by field, so that every validation
//! error names the field it is about (`threshold: is required`).

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// Why a body was refused; the message names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

pub fn invalid(field: &'static str, message: impl Into<String>) -> FieldError {
    FieldError { field, message: message.into() }
}

/// A JSON object body whose keys are all among `known`.
pub fn object(json: &[u8], known: &[&str]) -> Result<Map<String, Value>, FieldError> {
    let body: Map<String, Value> =
        serde_json::from_slice(json).map_err(|e| invalid("body", format!("must be a JSON object: {e}")))?;
    if let Some(unknown) = body.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(invalid("body", format!("unknown field {unknown:?}; known fields: {}", known.join(", "))));
    }
    Ok(body)
}

/// One optional field, read as `T`; `null` counts as absent.
pub fn field<T: DeserializeOwned>(body: &Map<String, Value>, name: &'static str) -> Result<Option<T>, FieldError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => T::deserialize(v).map(Some).map_err(|e| invalid(name, e.to_string())),
    }
}

/// A required, non-blank text field of at most `max_len` bytes, trimmed.
pub fn text(body: &Map<String, Value>, name: &'static str, max_len: usize) -> Result<String, FieldError> {
    let value = optional_text(body, name, max_len)?.ok_or_else(|| invalid(name, "is required"))?;
    Ok(value)
}

/// An optional text field (blank counts as absent) of at most `max_len` bytes, trimmed.
pub fn optional_text(
    body: &Map<String, Value>,
    name: &'static str,
    max_len: usize,
) -> Result<Option<String>, FieldError> {
    let value = field::<String>(body, name)?.map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
    match value {
        Some(v) if v.len() > max_len => Err(invalid(name, format!("must be at most {max_len} bytes"))),
        v => Ok(v),
    }
}

/// Most notification channels one rule or SLO may notify.
pub const MAX_CHANNELS: usize = 10;

/// An optional list of notification channel ids (at most `MAX_CHANNELS`, no repeats).
pub fn channel_ids(body: &Map<String, Value>, name: &'static str) -> Result<Vec<String>, FieldError> {
    let ids: Vec<String> = field(body, name)?.unwrap_or_default();
    if ids.len() > MAX_CHANNELS {
        return Err(invalid(name, format!("at most {MAX_CHANNELS} channels")));
    }
    if let Some((i, id)) = ids.iter().enumerate().find(|&(i, id)| id.is_empty() || ids.iter().take(i).any(|x| x == id))
    {
        return Err(invalid(name, format!("entry {i} ({id:?}) is empty or repeated")));
    }
    Ok(ids)
}
