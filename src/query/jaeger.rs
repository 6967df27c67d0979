//! The Jaeger query API (`/jaeger/api/...`) as Jaeger's query service and
//! Grafana's Jaeger data source expect it: the `{data,total,limit,offset,errors}`
//! envelope, traces in the Jaeger UI model (microsecond times, `references`,
//! typed `tags`, `logs`, `processes`), search parameters in Jaeger's units.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::api::params::{limit, window_seconds};
use crate::api::ApiError;
use crate::domain::{SpanKind, StatusCode};
use crate::query::trace_search::{attribute_filter, StatusFilter, TraceSearch, MAX_LIMIT};
use crate::query::StoredSpan;

/// Jaeger's default number of traces per search.
pub const DEFAULT_LIMIT: u32 = 20;
/// Default `lookback` when a search gives no `start`: one hour.
pub const DEFAULT_LOOKBACK_MS: f64 = 3_600_000.0;

#[derive(Debug, Serialize)]
pub struct JaegerError {
    pub code: u16,
    pub msg: String,
}

/// The envelope of every Jaeger query response.
#[derive(Debug, Serialize)]
pub struct Envelope<T> {
    pub data: T,
    pub total: usize,
    pub limit: u32,
    pub offset: u32,
    pub errors: Option<Vec<JaegerError>>,
}

pub fn envelope<T>(data: T, total: usize) -> Envelope<T> {
    Envelope { data, total, limit: 0, offset: 0, errors: None }
}

/// The body Jaeger answers with on errors: `data: null` and the error.
pub fn error_envelope(e: &ApiError) -> Envelope<Option<()>> {
    Envelope {
        data: None,
        total: 0,
        limit: 0,
        offset: 0,
        errors: Some(vec![JaegerError { code: e.status, msg: e.message.clone() }]),
    }
}

/// A `span_operations` row.
#[derive(Debug, Clone, Deserialize)]
pub struct StoredOperation {
    pub name: String,
    pub kind: u8,
}

#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    pub name: String,
    pub span_kind: &'static str,
}

/// Operations, optionally of one span kind (`server`, `client`, …).
pub fn operations(stored: Vec<StoredOperation>, span_kind: Option<&str>) -> Vec<Operation> {
    stored
        .into_iter()
        .map(|o| Operation { name: o.name, span_kind: jaeger_kind(o.kind) })
        .filter(|o| span_kind.is_none_or(|k| k.is_empty() || o.span_kind == k))
        .collect()
}

/// Jaeger leaves the kind of unspecified spans empty.
fn jaeger_kind(kind: u8) -> &'static str {
    match SpanKind::from_i32(kind.into()).unwrap_or_default() {
        SpanKind::Unspecified => "",
        k => k.name(),
    }
}

#[derive(Debug, Serialize)]
pub struct Tag {
    pub key: String,
    pub r#type: &'static str,
    pub value: Value,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reference {
    pub ref_type: &'static str,
    #[serde(rename = "traceID")]
    pub trace_id: String,
    #[serde(rename = "spanID")]
    pub span_id: String,
}

#[derive(Debug, Serialize)]
pub struct Log {
    pub timestamp: u64,
    pub fields: Vec<Tag>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JaegerSpan {
    #[serde(rename = "traceID")]
    pub trace_id: String,
    #[serde(rename = "spanID")]
    pub span_id: String,
    pub flags: u32,
    pub operation_name: String,
    pub references: Vec<Reference>,
    pub start_time: u64,
    pub duration: u64,
    pub tags: Vec<Tag>,
    pub logs: Vec<Log>,
    #[serde(rename = "processID")]
    pub process_id: String,
    pub warnings: Option<Vec<String>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Process {
    pub service_name: String,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Serialize)]
pub struct JaegerTrace {
    #[serde(rename = "traceID")]
    pub trace_id: String,
    pub spans: Vec<JaegerSpan>,
    /// `p1`, `p2`, … in order of first use, written as a JSON object.
    #[serde(serialize_with = "as_object")]
    pub processes: Vec<(String, Process)>,
    pub warnings: Option<Vec<String>>,
}

fn as_object<S: serde::Serializer>(entries: &[(String, Process)], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(entries.iter().map(|(id, process)| (id, process)))
}

/// A plain-JSON attribute value as a typed Jaeger tag.
fn tag(key: String, value: Value) -> Tag {
    let (r#type, value) = match value {
        Value::Bool(b) => ("bool", Value::Bool(b)),
        Value::Number(n) if n.is_i64() || n.is_u64() => ("int64", Value::Number(n)),
        Value::Number(n) => ("float64", Value::Number(n)),
        Value::String(s) => ("string", Value::String(s)),
        Value::Null => ("string", Value::String(String::new())),
        other => ("string", Value::String(other.to_string())),
    };
    Tag { key, r#type, value }
}

fn tags(json: &str) -> Vec<Tag> {
    match serde_json::from_str::<Map<String, Value>>(json) {
        Ok(map) => map.into_iter().map(|(k, v)| tag(k, v)).collect(),
        Err(_) => Vec::new(),
    }
}

fn string_tag(key: &str, value: &str) -> Tag {
    tag(key.to_string(), Value::String(value.to_string()))
}

fn micros(ns: &str) -> u64 {
    ns.parse::<u64>().unwrap_or(0) / 1000
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredEvent {
    time_unix_nano: String,
    name: String,
    attributes: Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredLink {
    trace_id: String,
    span_id: String,
}

/// Spans of one or more traces (grouped by trace id, in order) as Jaeger traces.
pub fn traces(spans: Vec<StoredSpan>) -> Vec<JaegerTrace> {
    let mut out: Vec<JaegerTrace> = Vec::new();
    let mut current: Option<JaegerTrace> = None;
    // The (service, resource) of each process of the current trace, by position (`p1` first).
    let mut processes: Vec<(String, String)> = Vec::new();
    for s in spans {
        if current.as_ref().is_none_or(|t| t.trace_id != s.trace_id) {
            processes.clear();
            out.extend(current.take());
        }
        let trace = current.get_or_insert_with(|| JaegerTrace {
            trace_id: s.trace_id.clone(),
            spans: Vec::new(),
            processes: Vec::new(),
            warnings: None,
        });
        let known =
            processes.iter().position(|(service, resource)| *service == s.service_name && resource == s.resource.get());
        let process_id = match known {
            Some(i) => format!("p{}", i + 1),
            None => {
                let id = format!("p{}", processes.len() + 1);
                let resource_tags = tags(s.resource.get()).into_iter().filter(|t| t.key != "service.name").collect();
                trace
                    .processes
                    .push((id.clone(), Process { service_name: s.service_name.clone(), tags: resource_tags }));
                processes.push((s.service_name.clone(), s.resource.get().to_string()));
                id
            }
        };
        trace.spans.push(span(s, process_id));
    }
    out.extend(current);
    out
}

fn span(s: StoredSpan, process_id: String) -> JaegerSpan {
    let mut references = Vec::new();
    if !s.parent_span_id.is_empty() {
        references.push(Reference {
            ref_type: "CHILD_OF",
            trace_id: s.trace_id.clone(),
            span_id: s.parent_span_id.clone(),
        });
    }
    for link in serde_json::from_str::<Vec<StoredLink>>(s.links.get()).unwrap_or_default() {
        references.push(Reference { ref_type: "FOLLOWS_FROM", trace_id: link.trace_id, span_id: link.span_id });
    }
    let mut span_tags = tags(s.attributes.get());
    let kind = jaeger_kind(s.kind);
    if !kind.is_empty() {
        span_tags.push(string_tag("span.kind", kind));
    }
    match StatusCode::from_i32(s.status_code.into()).unwrap_or_default() {
        StatusCode::Unset => {}
        StatusCode::Ok => span_tags.push(string_tag("otel.status_code", "OK")),
        StatusCode::Error => {
            span_tags.push(string_tag("otel.status_code", "ERROR"));
            span_tags.push(tag("error".into(), Value::Bool(true)));
        }
    }
    if !s.status_message.is_empty() {
        span_tags.push(string_tag("otel.status_description", &s.status_message));
    }
    if !s.scope_name.is_empty() {
        span_tags.push(string_tag("otel.scope.name", &s.scope_name));
    }
    if !s.scope_version.is_empty() {
        span_tags.push(string_tag("otel.scope.version", &s.scope_version));
    }
    let logs = serde_json::from_str::<Vec<StoredEvent>>(s.events.get())
        .unwrap_or_default()
        .into_iter()
        .map(|e| Log {
            timestamp: micros(&e.time_unix_nano),
            fields: std::iter::once(string_tag("event", &e.name))
                .chain(e.attributes.into_iter().map(|(k, v)| tag(k, v)))
                .collect(),
        })
        .collect();
    let (start, end) = (micros(&s.start_ns), micros(&s.end_ns));
    JaegerSpan {
        operation_name: s.name,
        references,
        start_time: start,
        duration: end.saturating_sub(start),
        tags: span_tags,
        logs,
        process_id,
        warnings: None,
        flags: s.flags & 0xff,
        trace_id: s.trace_id,
        span_id: s.span_id,
    }
}

/// A Go duration (`1.2s`, `100ms`, `500us`, `1h30m`) in milliseconds.
pub fn go_duration_ms(name: &str, value: &str) -> Result<f64, ApiError> {
    let bad = || ApiError::bad_request(format!("{name} must be a duration such as 100ms, 1.5s or 2m, got {value:?}"));
    let mut rest = value.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let split = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(bad)?;
        let number: f64 = rest[..split].parse().map_err(|_| bad())?;
        let unit_len = rest[split..].find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len() - split);
        let scale = match &rest[split..split + unit_len] {
            "ns" => 1e-6,
            "us" | "µs" | "μs" => 1e-3,
            "ms" => 1.0,
            "s" => 1e3,
            "m" => 60e3,
            "h" => 3600e3,
            _ => return Err(bad()),
        };
        total += number * scale;
        rest = &rest[split + unit_len..];
    }
    Ok(total)
}

fn micros_param(name: &str, value: &str) -> Result<f64, ApiError> {
    value
        .trim()
        .parse::<u64>()
        .map(|us| us as f64 / 1000.0)
        .map_err(|_| ApiError::bad_request(format!("{name} must be unix microseconds, got {value:?}")))
}

/// `GET /jaeger/api/traces` parameters as a trace search: `service`,
/// `operation` (exact), `tags` (a JSON object) or repeated `tag=key:value`
/// (`error=true` selects traces with errors), `start`/`end` (unix µs),
/// `lookback` (when `start` is absent), `minDuration`/`maxDuration` (Go
/// durations), `limit` (default 20).
pub fn search<'p>(pairs: impl IntoIterator<Item = (&'p str, &'p str)>, now_ms: f64) -> Result<TraceSearch, ApiError> {
    let mut q = TraceSearch { limit: DEFAULT_LIMIT, exact_operation: true, ..Default::default() };
    let mut tags: Vec<(String, String)> = Vec::new();
    let mut lookback_ms = DEFAULT_LOOKBACK_MS;
    // Empty values are absent parameters, as Grafana and the Jaeger UI send them.
    for (key, value) in pairs.into_iter().filter(|(_, v)| !v.trim().is_empty()) {
        match key {
            "service" => q.service = Some(value.trim().to_string()),
            "operation" => q.operation = Some(value.trim().to_string()),
            "start" => q.start_ms = Some(micros_param(key, value)?),
            "end" => q.end_ms = Some(micros_param(key, value)?),
            "lookback" if value != "custom" => lookback_ms = window_seconds(key, value)? * 1000.0,
            "minDuration" => q.min_duration_ms = Some(go_duration_ms(key, value)?),
            "maxDuration" => q.max_duration_ms = Some(go_duration_ms(key, value)?),
            "limit" => q.limit = limit(key, value, MAX_LIMIT)?,
            "tags" => {
                let object: Map<String, Value> = serde_json::from_str(value)
                    .map_err(|_| ApiError::bad_request(format!("tags must be a JSON object, got {value:?}")))?;
                for (k, v) in object {
                    tags.push((k, v.as_str().map_or_else(|| v.to_string(), str::to_string)));
                }
            }
            "tag" => {
                let (k, v) = value
                    .split_once(':')
                    .ok_or_else(|| ApiError::bad_request(format!("tag must be key:value, got {value:?}")))?;
                tags.push((k.to_string(), v.to_string()));
            }
            _ => {}
        }
    }
    let end_ms = q.end_ms.unwrap_or(now_ms);
    q.end_ms = Some(end_ms);
    q.start_ms = Some(q.start_ms.unwrap_or(end_ms - lookback_ms));
    for (k, v) in tags {
        if k == "error" && v == "true" {
            q.status = Some(StatusFilter::Error);
        } else {
            q.attributes.push(attribute_filter(&k, &v)?);
        }
    }
    q.validated()
}

#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DependencyLink {
    pub parent: String,
    pub child: String,
    pub call_count: u64,
}

/// `endTs` and `lookback` (unix ms, ms) of `GET /jaeger/api/dependencies`, as a window in ms.
pub fn dependencies_window<'p>(
    pairs: impl IntoIterator<Item = (&'p str, &'p str)>,
    now_ms: f64,
) -> Result<(f64, f64), ApiError> {
    let number = |name: &str, v: &str| {
        v.trim().parse::<f64>().ok().filter(|n| n.is_finite() && *n > 0.0).ok_or_else(|| {
            ApiError::bad_request(format!("{name} must be a positive number of milliseconds, got {v:?}"))
        })
    };
    let (mut end, mut lookback) = (now_ms, 86_400_000.0);
    for (k, v) in pairs.into_iter().filter(|(_, v)| !v.trim().is_empty()) {
        match k {
            "endTs" => end = number(k, v)?,
            "lookback" => lookback = number(k, v)?,
            _ => {}
        }
    }
    Ok((end - lookback, end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn json(text: &str) -> Box<serde_json::value::RawValue> {
        serde_json::value::RawValue::from_string(text.to_string()).unwrap()
    }

    fn stored(span: &str, parent: &str, service: &str, kind: u8, status: u8) -> StoredSpan {
        StoredSpan {
            trace_id: "t1".into(),
            span_id: span.into(),
            parent_span_id: parent.into(),
            service_name: service.into(),
            name: format!("op-{span}"),
            kind,
            start_ns: "01700000000000001000".into(),
            end_ns: "01700000000250002000".into(),
            duration_ms: 250.0,
            status_code: status,
            status_message: if status == 2 { "boom".into() } else { String::new() },
            attributes: json(r#"{"http.status_code":500,"ratio":0.5,"ok":true,"route":"/x","list":[1,2]}"#),
            events: json(
                r#"[{"timeUnixNano":"1700000000100000000","name":"exception","attributes":{"exception.type":"E"},"droppedAttributesCount":0}]"#,
            ),
            links: json(
                r#"[{"traceId":"t0","spanId":"s0","traceState":"","attributes":{},"droppedAttributesCount":0,"flags":0}]"#,
            ),
            resource: json(&format!(r#"{{"service.name":"{service}","host.name":"h1"}}"#)),
            scope_name: "lib".into(),
            scope_version: "1.0".into(),
            trace_state: String::new(),
            flags: 257,
            dropped_attributes_count: 0,
            dropped_events_count: 0,
            dropped_links_count: 0,
            service_version: None,
            environment: None,
            callee: None,
        }
    }

    #[test]
    fn spans_become_jaeger_spans_with_typed_tags_references_logs_and_processes() {
        let traces =
            traces(vec![stored("a", "", "gw", 2, 0), stored("b", "a", "db", 3, 2), stored("c", "a", "gw", 1, 1)]);
        assert_eq!(traces.len(), 1);
        let json = serde_json::to_value(&traces[0]).unwrap();
        assert_eq!(json["traceID"], "t1");
        assert_eq!(json["processes"]["p1"]["serviceName"], "gw");
        assert_eq!(
            json["processes"]["p1"]["tags"],
            serde_json::json!([{"key":"host.name","type":"string","value":"h1"}])
        );
        assert_eq!(json["processes"]["p2"]["serviceName"], "db");
        let b = &json["spans"][1];
        assert_eq!(b["spanID"], "b");
        assert_eq!(b["operationName"], "op-b");
        assert_eq!(b["processID"], "p2");
        assert_eq!(b["startTime"], 1_700_000_000_000_001u64);
        assert_eq!(b["duration"], 250_001);
        assert_eq!(b["flags"], 1);
        assert_eq!(b["references"][0], serde_json::json!({"refType":"CHILD_OF","traceID":"t1","spanID":"a"}));
        assert_eq!(b["references"][1]["refType"], "FOLLOWS_FROM");
        let tags: BTreeMap<String, (String, Value)> = b["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (t["key"].as_str().unwrap().to_string(), (t["type"].as_str().unwrap().to_string(), t["value"].clone()))
            })
            .collect();
        assert_eq!(tags["http.status_code"], ("int64".into(), 500.into()));
        assert_eq!(tags["ratio"], ("float64".into(), 0.5.into()));
        assert_eq!(tags["ok"], ("bool".into(), true.into()));
        assert_eq!(tags["list"], ("string".into(), "[1,2]".into()));
        assert_eq!(tags["span.kind"].1, "client");
        assert_eq!(tags["error"], ("bool".into(), true.into()));
        assert_eq!(tags["otel.status_code"].1, "ERROR");
        assert_eq!(tags["otel.status_description"].1, "boom");
        assert_eq!(b["logs"][0]["timestamp"], 1_700_000_000_100_000u64);
        assert_eq!(b["logs"][0]["fields"][0], serde_json::json!({"key":"event","type":"string","value":"exception"}));
        assert_eq!(
            json["spans"][0]["references"],
            serde_json::json!([{"refType":"FOLLOWS_FROM","traceID":"t0","spanID":"s0"}])
        );
        assert_eq!(json["spans"][2]["processID"], "p1", "spans of one process share it");
    }

    /// Jaeger's UI model (`model/json` in Jaeger's query service), field for
    /// field: our output must deserialize into it with no field left over.
    mod jaeger_model {
        use serde::Deserialize;
        use std::collections::BTreeMap;

        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        pub struct Trace {
            #[serde(rename = "traceID")]
            pub trace_id: String,
            pub spans: Vec<Span>,
            pub processes: BTreeMap<String, Process>,
            pub warnings: Option<Vec<String>>,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields, rename_all = "camelCase")]
        #[allow(dead_code)]
        pub struct Span {
            #[serde(rename = "traceID")]
            pub trace_id: String,
            #[serde(rename = "spanID")]
            pub span_id: String,
            pub flags: Option<u32>,
            pub operation_name: String,
            pub references: Option<Vec<Reference>>,
            pub start_time: u64,
            pub duration: u64,
            pub tags: Option<Vec<KeyValue>>,
            pub logs: Option<Vec<Log>>,
            #[serde(rename = "processID")]
            pub process_id: String,
            pub warnings: Option<Vec<String>>,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields, rename_all = "camelCase")]
        #[allow(dead_code)]
        pub struct Reference {
            pub ref_type: String,
            #[serde(rename = "traceID")]
            pub trace_id: String,
            #[serde(rename = "spanID")]
            pub span_id: String,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields, rename_all = "camelCase")]
        #[allow(dead_code)]
        pub struct Process {
            pub service_name: String,
            pub tags: Option<Vec<KeyValue>>,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        pub struct Log {
            pub timestamp: u64,
            pub fields: Option<Vec<KeyValue>>,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        pub struct KeyValue {
            pub key: String,
            pub r#type: Option<String>,
            pub value: serde_json::Value,
        }
    }

    #[test]
    fn traces_fit_the_jaeger_ui_model_exactly() {
        // A trace in Jaeger's own shape parses (the mirror is right) ...
        let jaeger_shaped = r#"{"traceID":"abc0","spans":[{"traceID":"abc0","spanID":"s1","operationName":"root",
            "startTime":1000,"duration":500,"processID":"p1"},{"traceID":"abc0","spanID":"s2","operationName":"child",
            "references":[{"refType":"CHILD_OF","traceID":"abc0","spanID":"s1"}],"startTime":1100,"duration":200,
            "tags":[{"key":"error","type":"bool","value":true}],"logs":[{"timestamp":1150,"fields":[{"key":"event","type":"string","value":"x"}]}],
            "processID":"p1"}],"processes":{"p1":{"serviceName":"svc","tags":[{"key":"host","type":"string","value":"h"}]}}}"#;
        serde_json::from_str::<jaeger_model::Trace>(jaeger_shaped).unwrap();
        // ... and so does ours, with no field Jaeger does not have.
        let ours =
            serde_json::to_string(&traces(vec![stored("a", "", "gw", 2, 0), stored("b", "a", "db", 3, 2)])[0]).unwrap();
        let parsed: jaeger_model::Trace = serde_json::from_str(&ours).unwrap();
        assert_eq!(parsed.spans.len(), 2);
        let types: Vec<String> =
            parsed.spans.iter().flat_map(|s| s.tags.iter().flatten()).filter_map(|t| t.r#type.clone()).collect();
        assert!(
            types.iter().all(|t| ["string", "bool", "int64", "float64", "binary"].contains(&t.as_str())),
            "{types:?}"
        );
    }

    #[test]
    fn search_parameters_are_read_in_jaeger_units() {
        let q = search(
            [
                ("service", "gw"),
                ("operation", "GET /"),
                ("start", "1700000000000000"),
                ("end", "1700000060000000"),
                ("minDuration", "1.5ms"),
                ("maxDuration", "2s"),
                ("tags", r#"{"http.status_code":"500","error":"true"}"#),
                ("limit", "5"),
            ],
            0.0,
        )
        .unwrap();
        assert_eq!(
            (q.service.as_deref(), q.operation.as_deref(), q.exact_operation),
            (Some("gw"), Some("GET /"), true)
        );
        assert_eq!((q.start_ms, q.end_ms), (Some(1_700_000_000_000.0), Some(1_700_000_060_000.0)));
        assert_eq!((q.min_duration_ms, q.max_duration_ms), (Some(1.5), Some(2000.0)));
        assert_eq!(q.status, Some(StatusFilter::Error));
        assert_eq!(q.attributes.len(), 1);
        assert_eq!(q.limit, 5);
        let q =
            search([("lookback", "2h"), ("tag", "k:v"), ("tag", ""), ("start", ""), ("minDuration", "")], 10_000_000.0)
                .unwrap();
        assert_eq!((q.start_ms, q.end_ms, q.limit), (Some(2_800_000.0), Some(10_000_000.0), DEFAULT_LIMIT));
        for bad in
            [("start", "yesterday"), ("minDuration", "fast"), ("tags", "[1]"), ("tag", "novalue"), ("limit", "0")]
        {
            assert_eq!(search([bad], 0.0).unwrap_err().status, 400, "{bad:?}");
        }
    }

    #[test]
    fn go_durations_combine_units() {
        assert_eq!(go_duration_ms("d", "1h30m").unwrap(), 5_400_000.0);
        assert_eq!(go_duration_ms("d", "500us").unwrap(), 0.5);
        assert_eq!(go_duration_ms("d", "250ms").unwrap(), 250.0);
        assert!(go_duration_ms("d", "5").is_err());
        assert!(go_duration_ms("d", "").is_err());
    }

    #[test]
    fn operations_filter_by_span_kind() {
        let stored =
            vec![StoredOperation { name: "GET".into(), kind: 2 }, StoredOperation { name: "SELECT".into(), kind: 3 }];
        assert_eq!(
            operations(stored.clone(), Some("server")),
            vec![Operation { name: "GET".into(), span_kind: "server" }]
        );
        assert_eq!(operations(stored, None).len(), 2);
    }

    #[test]
    fn errors_use_the_jaeger_envelope() {
        let json = serde_json::to_value(error_envelope(&ApiError::not_found("trace not found"))).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":404,"msg":"trace not found"}]})
        );
    }
}
