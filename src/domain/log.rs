//! The log model: OTLP log records with their resource and scope, borrowed
//! from the request body wherever the encoding allows it.

use std::borrow::Cow;

use super::ids::{SpanId, TraceId};
use super::span::{Resource, Scope};
use super::value::{AnyValue, KeyValue};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct LogRecord<'a> {
    /// When the event happened; 0 when unknown.
    pub time_unix_nano: u64,
    /// When the collector that first saw it observed it; 0 when unknown.
    pub observed_time_unix_nano: u64,
    /// 1–24 (TRACE 1–4, DEBUG 5–8, INFO 9–12, WARN 13–16, ERROR 17–20, FATAL 21–24); 0 unspecified.
    pub severity_number: i32,
    pub severity_text: Cow<'a, str>,
    pub body: AnyValue<'a>,
    pub attributes: Vec<KeyValue<'a>>,
    pub dropped_attributes_count: u32,
    pub flags: u32,
    pub trace_id: Option<TraceId>,
    pub span_id: Option<SpanId>,
    pub event_name: Cow<'a, str>,
}

impl LogRecord<'_> {
    /// The time the record is filed under: its own time, else when it was observed.
    pub fn effective_time_unix_nano(&self) -> u64 {
        if self.time_unix_nano > 0 {
            self.time_unix_nano
        } else {
            self.observed_time_unix_nano
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScopeLogs<'a> {
    pub scope: Scope<'a>,
    pub log_records: Vec<LogRecord<'a>>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResourceLogs<'a> {
    pub resource: Resource<'a>,
    pub scope_logs: Vec<ScopeLogs<'a>>,
}

/// The short severity names, each covering four numbers.
const SEVERITY_NAMES: [&str; 6] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];

/// `SEVERITY_NUMBER_WARN2` → 14, `warn` → 13, `error` → 17 (the first number of the range).
pub fn severity_from_name(name: &str) -> Option<i32> {
    let upper = name.trim().to_ascii_uppercase();
    let bare = upper.strip_prefix("SEVERITY_NUMBER_").unwrap_or(&upper);
    if bare == "UNSPECIFIED" {
        return Some(0);
    }
    let aliases = [("WARNING", "WARN"), ("ERR", "ERROR"), ("CRITICAL", "FATAL")];
    let (base, offset) = match bare.char_indices().last() {
        Some((i, c @ '1'..='4')) => (&bare[..i], i32::from(c as u8 - b'1')),
        _ => (bare, 0),
    };
    let base = aliases.iter().find(|(a, _)| *a == base).map_or(base, |(_, b)| b);
    SEVERITY_NAMES.iter().position(|n| *n == base).map(|i| i as i32 * 4 + 1 + offset)
}

/// The short name of a severity number (`13` → `WARN`); `None` for 0 or out of range.
pub fn severity_name(number: i32) -> Option<&'static str> {
    let index = usize::try_from(number).ok()?.checked_sub(1)? / 4;
    SEVERITY_NAMES.get(index).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_parse_from_spec_names_and_short_names() {
        assert_eq!(severity_from_name("SEVERITY_NUMBER_WARN2"), Some(14));
        assert_eq!(severity_from_name("warn"), Some(13));
        assert_eq!(severity_from_name("Warning"), Some(13));
        assert_eq!(severity_from_name("ERROR"), Some(17));
        assert_eq!(severity_from_name("fatal4"), Some(24));
        assert_eq!(severity_from_name("SEVERITY_NUMBER_UNSPECIFIED"), Some(0));
        assert_eq!(severity_from_name("loud"), None);
        assert_eq!(severity_name(9), Some("INFO"));
        assert_eq!(severity_name(24), Some("FATAL"));
        assert_eq!(severity_name(0), None);
    }

    #[test]
    fn records_without_a_time_are_filed_at_their_observed_time() {
        let r = LogRecord { observed_time_unix_nano: 7, ..Default::default() };
        assert_eq!(r.effective_time_unix_nano(), 7);
        assert_eq!(LogRecord { time_unix_nano: 5, ..r }.effective_time_unix_nano(), 5);
    }
}
