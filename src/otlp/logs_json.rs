//! `ExportLogsServiceRequest` from OTLP/JSON into the log model, with the
//! same leniency as traces (camelCase or snake_case names, numbers as
//! strings, enum names, hex or base64 ids).

use std::borrow::Cow;

use serde::Deserialize;

use super::json_values::{id_bytes, nullable, u32_lenient, u64_lenient, EnumValue, JsonAnyValue, JsonAttributes};
use super::traces_json::{resource, JsonResource, JsonScope};
use super::{DecodeError, Rejections};
use crate::domain::log::severity_from_name;
use crate::domain::{LogRecord, ResourceLogs, Scope, ScopeLogs, SpanId, TraceId};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Request<'a> {
    #[serde(borrow, default, deserialize_with = "nullable", alias = "resource_logs")]
    resource_logs: Vec<JsonResourceLogs<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonResourceLogs<'a> {
    #[serde(borrow, default, deserialize_with = "nullable")]
    resource: JsonResource<'a>,
    #[serde(borrow, default, deserialize_with = "nullable", alias = "scope_logs")]
    scope_logs: Vec<JsonScopeLogs<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonScopeLogs<'a> {
    #[serde(borrow, default, deserialize_with = "nullable")]
    scope: JsonScope<'a>,
    #[serde(borrow, default, deserialize_with = "nullable", alias = "log_records")]
    log_records: Vec<JsonLogRecord<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonLogRecord<'a> {
    #[serde(default, deserialize_with = "u64_lenient", alias = "time_unix_nano")]
    time_unix_nano: u64,
    #[serde(default, deserialize_with = "u64_lenient", alias = "observed_time_unix_nano")]
    observed_time_unix_nano: u64,
    #[serde(borrow, default, alias = "severity_number")]
    severity_number: EnumValue<'a>,
    #[serde(borrow, default, deserialize_with = "nullable", alias = "severity_text")]
    severity_text: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "nullable")]
    body: JsonAnyValue<'a>,
    #[serde(borrow, default)]
    attributes: JsonAttributes<'a>,
    #[serde(default, deserialize_with = "u32_lenient", alias = "dropped_attributes_count")]
    dropped_attributes_count: u32,
    #[serde(default, deserialize_with = "u32_lenient")]
    flags: u32,
    #[serde(borrow, default, deserialize_with = "nullable", alias = "trace_id")]
    trace_id: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "nullable", alias = "span_id")]
    span_id: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "nullable", alias = "event_name")]
    event_name: Cow<'a, str>,
}

/// Decodes an OTLP/JSON `ExportLogsServiceRequest`; records with invalid ids
/// or values are counted in `rejections` and left out.
pub fn decode<'a>(body: &'a [u8], rejections: &mut Rejections) -> Result<Vec<ResourceLogs<'a>>, DecodeError> {
    let request: Request<'a> =
        serde_json::from_slice(body).map_err(|e| DecodeError::Malformed(format!("invalid OTLP/JSON: {e}")))?;
    Ok(request
        .resource_logs
        .into_iter()
        .map(|rl| ResourceLogs {
            resource: resource(rl.resource, rejections),
            scope_logs: rl
                .scope_logs
                .into_iter()
                .map(|sl| ScopeLogs {
                    scope: Scope { name: sl.scope.name, version: sl.scope.version },
                    log_records: sl
                        .log_records
                        .into_iter()
                        .filter_map(|r| log_record(r).map_err(|e| rejections.reject(format!("log record: {e}"))).ok())
                        .collect(),
                })
                .collect(),
        })
        .collect())
}

fn log_record(r: JsonLogRecord<'_>) -> Result<LogRecord<'_>, String> {
    Ok(LogRecord {
        time_unix_nano: r.time_unix_nano,
        observed_time_unix_nano: r.observed_time_unix_nano,
        severity_number: r.severity_number.resolve(|n| i32::try_from(n).ok(), severity_from_name),
        severity_text: r.severity_text,
        body: r.body.0?,
        attributes: r.attributes.0?,
        dropped_attributes_count: r.dropped_attributes_count,
        flags: r.flags,
        trace_id: TraceId::from_optional_bytes(&id_bytes(&r.trace_id)).map_err(|e| e.to_string())?,
        span_id: SpanId::from_optional_bytes(&id_bytes(&r.span_id)).map_err(|e| e.to_string())?,
        event_name: r.event_name,
    })
}
