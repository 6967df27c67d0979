//! Traces as the stores return them (span blocks, and the D1-only `spans`
//! table of deployments older than the blocks), how the two combine, and the
//! JSON the REST API answers: trace summaries for search and the full trace
//! (metadata + every span).

use std::collections::HashSet;

use chrono::{DateTime, SecondsFormat};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::domain::time::rfc3339_nanos;
use crate::domain::{SpanKind, StatusCode};

/// A `trace_metadata` row.
#[derive(Debug, Clone, Deserialize)]
pub struct StoredTrace {
    pub trace_id: String,
    pub root_span_id: String,
    pub root_service: String,
    pub root_operation: String,
    pub has_root: u8,
    pub start_ns: String,
    pub end_ns: String,
    pub duration_ms: f64,
    pub span_count: u32,
    pub error_count: u32,
    /// JSON array of service names.
    pub services: String,
}

/// A span of either store: a `spans` row (its JSON columns are text) or a
/// block's span (its JSON columns taken as they are, not copied or checked again).
#[derive(Debug, Clone, Deserialize)]
pub struct StoredSpan {
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: String,
    pub service_name: String,
    pub name: String,
    pub kind: u8,
    pub start_ns: String,
    pub end_ns: String,
    pub duration_ms: f64,
    pub status_code: u8,
    pub status_message: String,
    #[serde(deserialize_with = "json_text")]
    pub attributes: Box<RawValue>,
    #[serde(deserialize_with = "json_text")]
    pub events: Box<RawValue>,
    #[serde(deserialize_with = "json_text")]
    pub links: Box<RawValue>,
    #[serde(deserialize_with = "json_text")]
    pub resource: Box<RawValue>,
    pub scope_name: String,
    pub scope_version: String,
    pub trace_state: String,
    pub flags: u32,
    pub dropped_attributes_count: u32,
    pub dropped_events_count: u32,
    pub dropped_links_count: u32,
    /// From the span's resource; the service it calls (`peer.service`, `server.address`…) when it is a call.
    /// Absent from the D1-only `spans` rows.
    #[serde(default)]
    pub service_version: Option<String>,
    #[serde(default)]
    pub environment: Option<String>,
    #[serde(default)]
    pub callee: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceSummary {
    pub trace_id: String,
    pub root_span_id: String,
    pub root_service: String,
    pub root_operation: String,
    /// False while the root span has not arrived (or lives outside our system).
    pub has_root: bool,
    pub start_time: String,
    pub start_time_unix_nano: String,
    pub end_time_unix_nano: String,
    pub duration_ms: f64,
    pub span_count: u32,
    pub error_count: u32,
    pub status: &'static str,
    pub services: Box<RawValue>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SpanStatus {
    pub code: &'static str,
    pub message: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SpanScope {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SpanView {
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: Option<String>,
    pub service: String,
    pub name: String,
    pub kind: &'static str,
    pub start_time: String,
    pub start_time_unix_nano: String,
    pub end_time_unix_nano: String,
    pub duration_ms: f64,
    pub status: SpanStatus,
    pub attributes: Box<RawValue>,
    pub events: Box<RawValue>,
    pub links: Box<RawValue>,
    pub resource: Box<RawValue>,
    pub scope: SpanScope,
    pub trace_state: String,
    pub flags: u32,
    pub dropped_attributes_count: u32,
    pub dropped_events_count: u32,
    pub dropped_links_count: u32,
    pub service_version: Option<String>,
    pub environment: Option<String>,
    pub callee: Option<String>,
}

/// The full trace but its spans, which `trace_detail_json` writes after it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct TraceDetailHead {
    #[serde(flatten)]
    summary: TraceSummary,
    /// Log records carrying this trace id (`GET /api/logs?traceId=` lists them).
    log_count: u64,
}

/// A span of the trace detail as its JSON text: a block's span stored in the
/// answer's own shape (block format 2) taken as it is, or a `SpanView` written out.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanJson {
    pub span_id: String,
    pub start_ns: u64,
    pub json: Vec<u8>,
}

impl From<StoredSpan> for SpanJson {
    fn from(s: StoredSpan) -> Self {
        let (span_id, start_ns) = (s.span_id.clone(), s.start_ns.parse().unwrap_or(0));
        // A view of strings, numbers and JSON texts always serializes.
        let json = serde_json::to_vec(&SpanView::from(s)).unwrap_or_default();
        Self { span_id, start_ns, json }
    }
}

/// Stored 20-digit nanoseconds back to their plain decimal form.
pub fn unpad(ns: &str) -> String {
    ns.parse::<u64>().map(|n| n.to_string()).unwrap_or_else(|_| ns.to_string())
}

/// RFC 3339 with nanoseconds, UTC, from nanoseconds as text.
pub fn rfc3339(ns: &str) -> String {
    rfc3339_nanos(ns.parse::<u64>().unwrap_or(0))
}

/// RFC 3339 with milliseconds, UTC, from unix milliseconds.
pub fn rfc3339_ms(ms: f64) -> String {
    DateTime::from_timestamp_millis(ms as i64)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// Stored JSON columns are written by us; anything unreadable shows as `null`.
fn raw(json: String) -> Box<RawValue> {
    RawValue::from_string(json).unwrap_or_else(|_| RawValue::NULL.to_owned())
}

/// A JSON column stored as text.
fn json_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Box<RawValue>, D::Error> {
    String::deserialize(d).map(raw)
}

impl From<StoredTrace> for TraceSummary {
    fn from(t: StoredTrace) -> Self {
        TraceSummary {
            start_time: rfc3339(&t.start_ns),
            start_time_unix_nano: unpad(&t.start_ns),
            end_time_unix_nano: unpad(&t.end_ns),
            trace_id: t.trace_id,
            root_span_id: t.root_span_id,
            root_service: t.root_service,
            root_operation: t.root_operation,
            has_root: t.has_root != 0,
            duration_ms: t.duration_ms,
            span_count: t.span_count,
            error_count: t.error_count,
            status: if t.error_count > 0 { "error" } else { "ok" },
            services: raw(t.services),
        }
    }
}

impl From<StoredSpan> for SpanView {
    fn from(s: StoredSpan) -> Self {
        SpanView {
            start_time: rfc3339(&s.start_ns),
            start_time_unix_nano: unpad(&s.start_ns),
            end_time_unix_nano: unpad(&s.end_ns),
            trace_id: s.trace_id,
            span_id: s.span_id,
            parent_span_id: (!s.parent_span_id.is_empty()).then_some(s.parent_span_id),
            service: s.service_name,
            name: s.name,
            kind: SpanKind::from_i32(s.kind.into()).unwrap_or_default().name(),
            duration_ms: s.duration_ms,
            status: SpanStatus {
                code: StatusCode::from_i32(s.status_code.into()).unwrap_or_default().name(),
                message: s.status_message,
            },
            attributes: s.attributes,
            events: s.events,
            links: s.links,
            resource: s.resource,
            scope: SpanScope { name: s.scope_name, version: s.scope_version },
            trace_state: s.trace_state,
            flags: s.flags,
            dropped_attributes_count: s.dropped_attributes_count,
            dropped_events_count: s.dropped_events_count,
            dropped_links_count: s.dropped_links_count,
            service_version: s.service_version,
            environment: s.environment,
            callee: s.callee,
        }
    }
}

/// The full trace as the API answers it: its summary, its log count and its
/// spans (in start order), each span's JSON text copied as it is.
pub fn trace_detail_json(trace: StoredTrace, spans: &[SpanJson], log_count: u64) -> Result<Vec<u8>, serde_json::Error> {
    let mut body = serde_json::to_vec(&TraceDetailHead { summary: trace.into(), log_count })?;
    body.pop();
    body.reserve(spans.iter().map(|s| s.json.len() + 1).sum::<usize>() + 12);
    body.extend_from_slice(b",\"spans\":[");
    for (i, span) in spans.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(&span.json);
    }
    body.extend_from_slice(b"]}");
    Ok(body)
}

/// One trace from both stores: a trace stored across the upgrade to span
/// blocks has spans in the blocks and in the D1-only table. Spans appear once
/// (the blocks' copy first), counts add up, times widen, services merge.
pub fn combine(
    blocks: Option<(StoredTrace, Vec<SpanJson>)>,
    legacy: Option<(StoredTrace, Vec<SpanJson>)>,
) -> Option<(StoredTrace, Vec<SpanJson>)> {
    let (mut trace, mut spans, (old, old_spans)) = match (blocks, legacy) {
        (Some((trace, spans)), Some(old)) => (trace, spans, old),
        (one, other) => return one.or(other),
    };
    let known: HashSet<String> = spans.iter().map(|s| s.span_id.clone()).collect();
    spans.extend(old_spans.into_iter().filter(|s| !known.contains(&s.span_id)));
    sort_span_json(&mut spans);
    if trace.has_root == 0 && old.has_root == 1 {
        (trace.root_span_id, trace.root_service, trace.root_operation, trace.has_root) =
            (old.root_span_id, old.root_service, old.root_operation, old.has_root);
    }
    trace.start_ns = trace.start_ns.min(old.start_ns);
    trace.end_ns = trace.end_ns.max(old.end_ns);
    let (start, end) = (trace.start_ns.parse::<u64>().unwrap_or(0), trace.end_ns.parse::<u64>().unwrap_or(0));
    trace.duration_ms = crate::domain::time::nanos_to_ms(end.saturating_sub(start));
    trace.span_count += old.span_count;
    trace.error_count += old.error_count;
    let mut services: Vec<String> = serde_json::from_str(&trace.services).unwrap_or_default();
    for s in serde_json::from_str::<Vec<String>>(&old.services).unwrap_or_default() {
        if !services.contains(&s) {
            services.push(s);
        }
    }
    trace.services = serde_json::to_string(&services).unwrap_or_else(|_| "[]".into());
    Some((trace, spans))
}

/// Search answers of both stores: latest start first (then trace id), each
/// trace once (the blocks' summary), at most `limit`.
pub fn merge_found(blocks: Vec<StoredTrace>, legacy: Vec<StoredTrace>, limit: u32) -> Vec<StoredTrace> {
    let known: HashSet<String> = blocks.iter().map(|t| t.trace_id.clone()).collect();
    let mut all: Vec<StoredTrace> =
        blocks.into_iter().chain(legacy.into_iter().filter(|t| !known.contains(&t.trace_id))).collect();
    sort_traces(&mut all);
    all.truncate(limit as usize);
    all
}

/// Spans of both stores, each (trace, span) once (the blocks' copy), by
/// trace then start: what every reader of traces stored across the upgrade needs.
pub fn merge_spans(mut blocks: Vec<StoredSpan>, legacy: Vec<StoredSpan>) -> Vec<StoredSpan> {
    let known: HashSet<(String, String)> = blocks.iter().map(|s| (s.trace_id.clone(), s.span_id.clone())).collect();
    blocks.extend(legacy.into_iter().filter(|s| !known.contains(&(s.trace_id.clone(), s.span_id.clone()))));
    sort_spans(&mut blocks);
    blocks
}

/// Spans of one trace by start, then span id.
pub fn sort_span_json(spans: &mut [SpanJson]) {
    crate::sort::sort_by(spans, |a, b| (a.start_ns, &a.span_id).cmp(&(b.start_ns, &b.span_id)));
}

/// Spans by trace, then start, then span id.
pub fn sort_spans(spans: &mut [StoredSpan]) {
    crate::sort::sort_by(spans, |a, b| {
        (&a.trace_id, &a.start_ns, &a.span_id).cmp(&(&b.trace_id, &b.start_ns, &b.span_id))
    });
}

/// Traces as search answers them: latest start first, then by trace id.
pub fn sort_traces(traces: &mut [StoredTrace]) {
    crate::sort::sort_by(traces, |a, b| b.start_ns.cmp(&a.start_ns).then_with(|| a.trace_id.cmp(&b.trace_id)));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored_trace(id: &str, start: u64, end: u64, root: bool, services: &str) -> StoredTrace {
        serde_json::from_value(serde_json::json!({
            "trace_id": id, "root_span_id": if root { "01" } else { "02" }, "root_service": "a",
            "root_operation": "op", "has_root": u8::from(root), "start_ns": format!("{start:020}"),
            "end_ns": format!("{end:020}"), "duration_ms": 0.0, "span_count": 2, "error_count": 1, "services": services,
        }))
        .unwrap()
    }

    fn stored_span(id: &str, start: u64) -> StoredSpan {
        serde_json::from_value(serde_json::json!({
            "trace_id": "t", "span_id": id, "parent_span_id": "", "service_name": "a", "name": "op", "kind": 1,
            "start_ns": format!("{start:020}"), "end_ns": format!("{start:020}"), "duration_ms": 0.0,
            "status_code": 0, "status_message": "", "attributes": "{}", "events": "[]", "links": "[]",
            "resource": "{}", "scope_name": "", "scope_version": "", "trace_state": "", "flags": 0,
            "dropped_attributes_count": 0, "dropped_events_count": 0, "dropped_links_count": 0,
        }))
        .unwrap()
    }

    #[test]
    fn a_trace_in_both_stores_combines_into_one() {
        let blocks = (
            stored_trace("t", 2_000_000, 5_000_000, false, r#"["b"]"#),
            vec![stored_span("02", 2), stored_span("03", 3)],
        );
        let legacy = (
            stored_trace("t", 1_000_000, 4_000_000, true, r#"["a","b"]"#),
            vec![stored_span("01", 1), stored_span("03", 3)],
        );
        let json =
            |(trace, spans): (StoredTrace, Vec<StoredSpan>)| (trace, spans.into_iter().map(SpanJson::from).collect());
        let (blocks, legacy) = (json(blocks), json(legacy));
        let (trace, spans) = combine(Some(blocks.clone()), Some(legacy.clone())).unwrap();
        assert_eq!(spans.iter().map(|s| s.span_id.as_str()).collect::<Vec<_>>(), ["01", "02", "03"]);
        assert_eq!((trace.span_count, trace.error_count, trace.has_root), (4, 2, 1));
        assert_eq!((trace.root_span_id.as_str(), trace.duration_ms), ("01", 4.0));
        assert_eq!(trace.services, r#"["b","a"]"#);
        assert_eq!(combine(Some(blocks), None).unwrap().1.len(), 2);
        assert_eq!(combine(None, Some(legacy)).unwrap().1.len(), 2);
        assert!(combine(None, None).is_none());
    }

    #[test]
    fn spans_of_both_stores_merge_grouped_by_trace_once_each() {
        let span_of =
            |trace: &str, id: &str, start: u64| StoredSpan { trace_id: trace.into(), ..stored_span(id, start) };
        let blocks = vec![span_of("a", "02", 2), span_of("b", "01", 1)];
        let legacy = vec![span_of("a", "01", 1), span_of("a", "02", 2), span_of("b", "01", 1)];
        let merged: Vec<(String, String)> =
            merge_spans(blocks, legacy).into_iter().map(|s| (s.trace_id, s.span_id)).collect();
        let pair = |t: &str, s: &str| (t.to_string(), s.to_string());
        assert_eq!(merged, [pair("a", "01"), pair("a", "02"), pair("b", "01")]);
    }

    #[test]
    fn search_answers_merge_latest_first_once_each() {
        let blocks = vec![stored_trace("c", 30, 40, true, "[]"), stored_trace("a", 10, 20, true, "[]")];
        let legacy = vec![stored_trace("b", 20, 30, true, "[]"), stored_trace("a", 10, 20, false, "[]")];
        let found = merge_found(blocks, legacy, 10);
        assert_eq!(found.iter().map(|t| t.trace_id.as_str()).collect::<Vec<_>>(), ["c", "b", "a"]);
        assert_eq!(found[2].has_root, 1, "the blocks' summary wins");
        assert_eq!(merge_found(found, Vec::new(), 2).len(), 2);
    }

    #[test]
    fn nanosecond_times_stay_exact_and_render_as_rfc3339() {
        assert_eq!(unpad("01700000000123456789"), "1700000000123456789");
        assert_eq!(rfc3339("01700000000123456789"), "2023-11-14T22:13:20.123456789Z");
    }

    #[test]
    fn a_stored_trace_becomes_a_summary_with_its_status() {
        let t = StoredTrace {
            trace_id: "t".into(),
            root_span_id: "r".into(),
            root_service: "gw".into(),
            root_operation: "GET /".into(),
            has_root: 1,
            start_ns: "01700000000000000000".into(),
            end_ns: "01700000000250000000".into(),
            duration_ms: 250.0,
            span_count: 3,
            error_count: 1,
            services: "[\"gw\",\"db\"]".into(),
        };
        let json = serde_json::to_value(TraceSummary::from(t)).unwrap();
        assert_eq!(json["status"], "error");
        assert_eq!(json["hasRoot"], true);
        assert_eq!(json["services"], serde_json::json!(["gw", "db"]));
        assert_eq!(json["startTimeUnixNano"], "1700000000000000000");
        assert_eq!(json["startTime"], "2023-11-14T22:13:20Z");
    }
}
