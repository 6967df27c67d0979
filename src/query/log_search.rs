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
use crate::query::trace_view::{rfc3339, unpad};

pub const DEFAULT_LIMIT: u32 = 100;
pub const MAX_LIMIT: u32 = 1000;

/// Where the previous page ended: the last record's time and id.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    pub time_ns: String,
    pub id: f64,
}

impl Cursor {
    /// `{time_ns}-{id}` (opaque to clients).
    pub fn encode(&self) -> String {
        format!("{}-{}", self.time_ns, self.id)
    }

    fn decode(text: &str) -> Option<Self> {
        let (time, id) = text.split_once('-')?;
        let valid_time = time.len() == 20 && time.bytes().all(|b| b.is_ascii_digit());
        let id: u64 = id.parse().ok()?;
        valid_time.then(|| Cursor { time_ns: time.to_string(), id: id as f64 })
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

/// A row of `logs` as the search reads it.
#[derive(Debug, Clone, Deserialize)]
pub struct StoredLog {
    pub id: f64,
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
    RawValue::from_string(json).unwrap_or_else(|_| RawValue::from_string("null".into()).expect("null is JSON"))
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

/// The page of records and the cursor of the next one (only when the page is full).
pub fn page(rows: Vec<StoredLog>, limit: u32) -> (Option<String>, Vec<LogView>) {
    let next = (rows.len() as u32 >= limit)
        .then(|| rows.last().map(|l| Cursor { time_ns: l.time_ns.clone(), id: l.id }.encode()))
        .flatten();
    (next, rows.into_iter().map(LogView::from).collect())
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
    fn cursors_round_trip_and_only_full_pages_have_one() {
        let c = Cursor { time_ns: "01700000000000000000".into(), id: 42.0 };
        assert_eq!(parse(&format!("cursor={}", c.encode())).unwrap().cursor, Some(c));
        let row = |id: f64| StoredLog {
            id,
            service_name: "s".into(),
            time_ns: "01700000000000000001".into(),
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
        let (next, views) = page(vec![row(3.0), row(2.0)], 2);
        assert_eq!(next.as_deref(), Some("01700000000000000001-2"));
        assert_eq!(views[0].time_unix_nano, "1700000000000000001");
        assert_eq!(views[0].severity, Some("INFO"));
        assert_eq!(views[0].trace_id, None);
        assert_eq!(serde_json::to_value(&views[0]).unwrap()["body"], "hello");
        assert_eq!(page(vec![row(1.0)], 2).0, None);
    }
}
