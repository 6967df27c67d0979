//! `GET /api/logs`: parameters (`service`, `traceId`, `spanId`, `severity`
//! minimum, `q` substring of the body, `start` / `end`, `limit`, `cursor`),
//! the stored row, and the record as the API shows it, newest first with a
//! cursor for the next page.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::api::params::{limit, time_ms};
use crate::api::ApiError;
use crate::domain::log::{severity_from_name, severity_name};
use crate::domain::time::{ms_to_nanos, nanos_text};
use crate::domain::{SpanId, TraceId};
use crate::ingest::log_rows::KEY_HEX_LEN;
use crate::query::trace_view::{rfc3339, unpad};

pub const DEFAULT_LIMIT: u32 = 100;
pub const MAX_LIMIT: u32 = 1000;

/// Where the previous page ended: the next page holds the records before
/// `(time_ns, key)` in newest-first order. An empty key takes every record
/// of `time_ns` and older (where a search that ran out of reads stopped).
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    pub time_ns: String,
    pub key: String,
}

impl Cursor {
    /// `{time_ns}-{key}` (opaque to clients).
    pub fn encode(&self) -> String {
        format!("{}-{}", self.time_ns, self.key)
    }

    fn decode(text: &str) -> Option<Self> {
        let (time, key) = text.split_once('-')?;
        let valid_time = time.len() == 20 && time.bytes().all(|b| b.is_ascii_digit());
        let valid_key = key.is_empty() || (key.len() == KEY_HEX_LEN && key.bytes().all(|b| b.is_ascii_hexdigit()));
        (valid_time && valid_key).then(|| Cursor { time_ns: time.to_string(), key: key.to_ascii_lowercase() })
    }

    /// Whether a record comes after the cursor (and so belongs to the page).
    pub fn admits(&self, time_ns: &str, key: &str) -> bool {
        (time_ns, key) < (self.time_ns.as_str(), self.key.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct LogSearch {
    pub service: Option<String>,
    pub trace_id: Option<String>,
    pub span_id: Option<String>,
    pub min_severity: Option<i32>,
    pub text: Option<String>,
    /// Nanosecond text, inclusive / exclusive.
    pub start_ns: Option<String>,
    pub end_ns: Option<String>,
    pub cursor: Option<Cursor>,
    pub limit: u32,
}

/// A severity given as a number (1–24) or a name (`warn`, `ERROR`, `SEVERITY_NUMBER_INFO2`).
fn severity(value: &str) -> Result<i32, ApiError> {
    let v = value.trim();
    v.parse::<i32>().ok().filter(|n| (0..=24).contains(n)).or_else(|| severity_from_name(v)).ok_or_else(|| {
        ApiError::bad_request(format!("severity must be 1–24 or TRACE, DEBUG, INFO, WARN, ERROR, FATAL, got {value:?}"))
    })
}

fn ns(ms: f64) -> String {
    nanos_text(ms_to_nanos(ms))
}

impl LogSearch {
    pub fn parse<'p>(pairs: impl IntoIterator<Item = (&'p str, &'p str)>) -> Result<Self, ApiError> {
        let mut q = LogSearch { limit: DEFAULT_LIMIT, ..Default::default() };
        let (mut start, mut end) = (None, None);
        for (k, v) in pairs.into_iter().filter(|(_, v)| !v.trim().is_empty()) {
            match k {
                "service" => q.service = Some(v.to_string()),
                "traceId" => {
                    let id = TraceId::from_hex(v.trim()).map_err(|e| ApiError::bad_request(format!("traceId: {e}")))?;
                    q.trace_id = Some(id.to_hex());
                }
                "spanId" => {
                    let id = SpanId::from_hex(v.trim()).map_err(|e| ApiError::bad_request(format!("spanId: {e}")))?;
                    q.span_id = Some(id.to_hex());
                }
                "severity" => q.min_severity = Some(severity(v)?),
                "q" => q.text = Some(v.to_string()),
                "start" => start = Some(time_ms(k, v)?),
                "end" => end = Some(time_ms(k, v)?),
                "limit" => q.limit = limit(k, v, MAX_LIMIT)?,
                "cursor" => {
                    q.cursor = Some(Cursor::decode(v.trim()).ok_or_else(|| {
                        ApiError::bad_request("cursor must be the nextCursor of a previous page".to_string())
                    })?)
                }
                _ => {}
            }
        }
        if let (Some(s), Some(e)) = (start, end) {
            if s >= e {
                return Err(ApiError::bad_request("start must be before end"));
            }
        }
        q.start_ns = start.map(ns);
        q.end_ns = end.map(ns);
        Ok(q)
    }
}

/// The most log records a trace's detail counts in the blocks.
pub const TRACE_LOG_COUNT_LIMIT: u32 = 10_000;
/// How far before its first span starts and after its last ends a trace's
/// log records are looked for when the search names the trace but no time.
pub const TRACE_LOG_SLACK_MS: u64 = 5 * 60 * 1000;

impl LogSearch {
    /// Limits the search to the time of a trace (unix ns), with `TRACE_LOG_SLACK_MS` either side.
    pub fn within_trace(&mut self, start_ns: u64, end_ns: u64) {
        let slack = TRACE_LOG_SLACK_MS * 1_000_000;
        self.start_ns = Some(nanos_text(start_ns.saturating_sub(slack)));
        self.end_ns = Some(nanos_text(end_ns.saturating_add(slack + 1)));
    }

    /// Whether a record passes every filter and comes after the cursor.
    /// The text is a substring of the body, ASCII letters in either case
    /// (as SQLite's `lower()`): a string body's text, another body's JSON.
    pub fn matches(&self, l: &StoredLog) -> bool {
        let text_matches = |needle: &str| {
            let body: std::borrow::Cow<'_, str> = match serde_json::from_str::<String>(&l.body) {
                Ok(text) => text.into(),
                Err(_) => l.body.as_str().into(),
            };
            body.to_ascii_lowercase().contains(&needle.to_ascii_lowercase())
        };
        self.service.as_ref().is_none_or(|s| *s == l.service_name)
            && self.trace_id.as_ref().is_none_or(|t| *t == l.trace_id)
            && self.span_id.as_ref().is_none_or(|s| *s == l.span_id)
            && self.min_severity.is_none_or(|m| l.severity_number >= f64::from(m))
            && self.start_ns.as_ref().is_none_or(|s| l.time_ns >= *s)
            && self.end_ns.as_ref().is_none_or(|e| l.time_ns < *e)
            && self.cursor.as_ref().is_none_or(|c| c.admits(&l.time_ns, &l.key))
            && self.text.as_deref().is_none_or(text_matches)
    }
}

/// A record as the search reads it (from a block, or a row of the `logs`
/// table stored before 0010).
#[derive(Debug, Clone, Deserialize)]
pub struct StoredLog {
    /// The record's content key (`ingest::log_rows`).
    pub key: String,
    pub service_name: String,
    pub time_ns: String,
    pub observed_ns: String,
    pub severity_number: f64,
    pub severity_text: String,
    /// JSON text.
    pub body: String,
    pub attributes: String,
    pub resource: String,
    pub scope_name: String,
    pub scope_version: String,
    pub trace_id: String,
    pub span_id: String,
    pub flags: f64,
    pub event_name: String,
}

/// A record as `GET /api/logs` answers it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogView {
    pub timestamp: String,
    /// Exact nanoseconds, as a decimal string.
    pub time_unix_nano: String,
    pub observed_time_unix_nano: String,
    pub service_name: String,
    pub severity_number: i32,
    /// TRACE … FATAL from the number; `None` when unspecified.
    pub severity: Option<&'static str>,
    pub severity_text: String,
    pub body: Box<RawValue>,
    pub attributes: Box<RawValue>,
    pub resource: Box<RawValue>,
    pub scope: ScopeView,
    pub trace_id: Option<String>,
    pub span_id: Option<String>,
    pub flags: u32,
    pub event_name: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ScopeView {
    pub name: String,
    pub version: String,
}

fn raw(json: String) -> Box<RawValue> {
    RawValue::from_string(json).unwrap_or_else(|_| RawValue::NULL.to_owned())
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

impl From<StoredLog> for LogView {
    fn from(l: StoredLog) -> Self {
        let severity_number = l.severity_number as i32;
        LogView {
            timestamp: rfc3339(&l.time_ns),
            time_unix_nano: unpad(&l.time_ns),
            observed_time_unix_nano: unpad(&l.observed_ns),
            service_name: l.service_name,
            severity_number,
            severity: severity_name(severity_number),
            severity_text: l.severity_text,
            body: raw(l.body),
            attributes: raw(l.attributes),
            resource: raw(l.resource),
            scope: ScopeView { name: l.scope_name, version: l.scope_version },
            trace_id: non_empty(l.trace_id),
            span_id: non_empty(l.span_id),
            flags: l.flags as u32,
            event_name: non_empty(l.event_name),
        }
    }
}

/// Records found in the blocks: every record after `complete_above_ns`
/// that matched is here; older ones may be missing (the search ran out of
/// reads before it reached them).
#[derive(Debug, Default)]
pub struct FoundLogs {
    pub logs: Vec<StoredLog>,
    pub complete_above_ns: Option<u64>,
}

/// Newest first, ties by key.
pub fn sort_logs(logs: &mut [StoredLog]) {
    crate::sort::sort_by(logs, |a, b| (&b.time_ns, &b.key).cmp(&(&a.time_ns, &a.key)));
}

/// One page from the blocks' records and the rows of the `logs` table
/// (each record once), and the cursor of the next page: after its last
/// record when the page is full, or where the block search stopped short.
pub fn page(found: FoundLogs, legacy: Vec<StoredLog>, limit: u32) -> (Option<String>, Vec<LogView>) {
    let mut seen = std::collections::HashSet::new();
    let bound = found.complete_above_ns.map(nanos_text);
    let complete = |l: &StoredLog| bound.as_deref().is_none_or(|b| l.time_ns.as_str() > b);
    let mut logs: Vec<StoredLog> =
        found.logs.iter().chain(&legacy).filter(|l| complete(l) && seen.insert(l.key.clone())).cloned().collect();
    sort_logs(&mut logs);
    let limit = limit as usize;
    let next = if logs.len() >= limit {
        logs.truncate(limit);
        logs.last().map(|l| Cursor { time_ns: l.time_ns.clone(), key: l.key.clone() })
    } else {
        found.complete_above_ns.map(|b| Cursor { time_ns: nanos_text(b.saturating_add(1)), key: String::new() })
    };
    (next.map(|c| c.encode()), logs.into_iter().map(LogView::from).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(q: &str) -> Result<LogSearch, ApiError> {
        LogSearch::parse(q.split('&').filter_map(|p| p.split_once('=')))
    }

    #[test]
    fn every_parameter_is_read_and_checked() {
        let q = parse("service=checkout&traceId=4BF92F3577B34DA6A3CE929D0E0E4736&spanId=00f067aa0ba902b7&severity=warn&q=Timeout&start=1700000000000&end=1700000060000&limit=20").unwrap();
        assert_eq!(q.service.as_deref(), Some("checkout"));
        assert_eq!(q.trace_id.as_deref(), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
        assert_eq!(q.span_id.as_deref(), Some("00f067aa0ba902b7"));
        assert_eq!((q.min_severity, q.text.as_deref(), q.limit), (Some(13), Some("Timeout"), 20));
        assert_eq!(q.start_ns.as_deref(), Some("01700000000000000000"));
        assert_eq!(q.end_ns.as_deref(), Some("01700000060000000000"));
        assert_eq!(parse("severity=17").unwrap().min_severity, Some(17));
        assert_eq!(parse("").unwrap().limit, DEFAULT_LIMIT);
        for bad in
            ["traceId=xyz", "spanId=12", "severity=loud", "severity=30", "limit=0", "cursor=nope", "start=2&end=1"]
        {
            assert_eq!(parse(bad).unwrap_err().status, 400, "{bad}");
        }
    }

    #[test]
    fn cursors_round_trip_and_pages_end_where_the_search_stopped() {
        let key = "0123456789abcdef0123456789abcdef";
        let c = Cursor { time_ns: "01700000000000000000".into(), key: key.into() };
        assert_eq!(parse(&format!("cursor={}", c.encode())).unwrap().cursor, Some(c.clone()));
        assert_eq!(parse("cursor=01700000000000000000-").unwrap().cursor.unwrap().key, "");
        assert_eq!(parse("cursor=01700000000000000000-12").unwrap_err().status, 400);
        assert!(c.admits("01699999999999999999", "f") && c.admits("01700000000000000000", "0"));
        assert!(!c.admits("01700000000000000000", key) && !c.admits("01700000000000000001", ""));
        let row = |time: u64, key: &str| StoredLog {
            key: key.into(),
            service_name: "s".into(),
            time_ns: nanos_text(time),
            observed_ns: "00000000000000000000".into(),
            severity_number: 9.0,
            severity_text: "INFO".into(),
            body: r#""hello""#.into(),
            attributes: "{}".into(),
            resource: "{}".into(),
            scope_name: String::new(),
            scope_version: String::new(),
            trace_id: String::new(),
            span_id: String::new(),
            flags: 0.0,
            event_name: String::new(),
        };
        let found = |logs, complete_above_ns| FoundLogs { logs, complete_above_ns };
        // Blocks and the legacy table merge newest first, each record once.
        let (next, views) = page(found(vec![row(3, "b"), row(1, "a")], None), vec![row(2, "c"), row(3, "b")], 2);
        assert_eq!(next.as_deref(), Some("00000000000000000002-c"));
        assert_eq!(views.iter().map(|v| v.time_unix_nano.as_str()).collect::<Vec<_>>(), ["3", "2"]);
        assert_eq!(views[0].severity, Some("INFO"));
        assert_eq!(views[0].trace_id, None);
        assert_eq!(serde_json::to_value(&views[0]).unwrap()["body"], "hello");
        assert_eq!(page(found(vec![row(1, "a")], None), vec![], 2).0, None);
        // A search that stopped short: only what is complete, and a cursor at the stop.
        let (next, views) = page(found(vec![row(9, "a"), row(5, "b")], Some(6)), vec![row(4, "c")], 10);
        assert_eq!(views.len(), 1);
        assert_eq!(next.as_deref(), Some("00000000000000000007-"));
    }
}
