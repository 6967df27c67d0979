//! W3C Trace Context (`traceparent`, `tracestate`) and W3C Baggage headers:
//! parsed from an incoming request, written onto outgoing ones.
//! <https://www.w3.org/TR/trace-context/#traceparent-header>

use crate::ids::{SpanId, TraceId};

pub const TRACEPARENT: &str = "traceparent";
pub const TRACESTATE: &str = "tracestate";
pub const BAGGAGE: &str = "baggage";

/// The longest `tracestate` carried on (the spec's 32 members of ≤ 256
/// bytes may be truncated; 512 bytes is what it asks every vendor to keep).
const MAX_TRACESTATE: usize = 512;
/// The longest `baggage` carried on (the W3C Baggage limit).
const MAX_BAGGAGE: usize = 8192;

/// The sampled bit of `trace-flags`.
const SAMPLED: u8 = 0x01;

/// A remote parent: what an incoming `traceparent` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    pub trace_id: TraceId,
    pub parent_id: SpanId,
    pub sampled: bool,
}

impl TraceParent {
    /// Parses a `traceparent` value; `None` for anything the spec says to
    /// ignore (then a new trace starts). Versions above `00` are read by the
    /// version-00 layout, with anything after a `-` at position 55 ignored.
    pub fn parse(header: &str) -> Option<Self> {
        let header = header.trim_matches([' ', '\t']);
        let version = header.get(..2)?;
        let version_number = u8::from_str_radix(version, 16).ok()?;
        if version.bytes().any(|c| c.is_ascii_uppercase()) || version_number == 0xff {
            return None;
        }
        let fields = match (version_number, header.get(55..)) {
            (_, None) => return None,
            (0, Some(rest)) if !rest.is_empty() => return None,
            (_, Some(rest)) if !rest.is_empty() && !rest.starts_with('-') => return None,
            _ => header.get(..55)?,
        };
        let mut parts = fields.split('-');
        let (Some(_), Some(trace), Some(parent), Some(flags), None) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        if flags.len() != 2 || flags.bytes().any(|c| c.is_ascii_uppercase()) {
            return None;
        }
        let flags = u8::from_str_radix(flags, 16).ok()?;
        Some(Self {
            trace_id: TraceId::from_hex(trace)?,
            parent_id: SpanId::from_hex(parent)?,
            sampled: flags & SAMPLED != 0,
        })
    }
}

/// The `traceparent` value this worker sends for a span of its own.
pub fn format_traceparent(trace_id: TraceId, span_id: SpanId, sampled: bool) -> String {
    format!("00-{trace_id}-{span_id}-{:02x}", u8::from(sampled))
}

/// A `tracestate` worth carrying on: non-empty and within the size kept.
pub fn carried_tracestate(header: Option<String>) -> Option<String> {
    header.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty() && s.len() <= MAX_TRACESTATE)
}

/// A `baggage` worth carrying on: non-empty and within the W3C limit.
pub fn carried_baggage(header: Option<String>) -> Option<String> {
    header.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty() && s.len() <= MAX_BAGGAGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const PARENT: &str = "00f067aa0ba902b7";

    fn parsed(header: &str) -> Option<(String, String, bool)> {
        TraceParent::parse(header).map(|p| (p.trace_id.to_string(), p.parent_id.to_string(), p.sampled))
    }

    #[test]
    fn the_specs_examples_parse() {
        assert_eq!(
            parsed("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            Some((TRACE.into(), PARENT.into(), true))
        );
        assert_eq!(
            parsed("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"),
            Some((TRACE.into(), PARENT.into(), false))
        );
    }

    #[test]
    fn unknown_flags_are_kept_apart_from_sampled() {
        assert_eq!(parsed(&format!("00-{TRACE}-{PARENT}-09")).map(|p| p.2), Some(true));
        assert_eq!(parsed(&format!("00-{TRACE}-{PARENT}-fe")).map(|p| p.2), Some(false));
    }

    #[test]
    fn invalid_versions_are_refused() {
        assert_eq!(parsed(&format!("ff-{TRACE}-{PARENT}-01")), None);
        assert_eq!(parsed(&format!("0g-{TRACE}-{PARENT}-01")), None);
        assert_eq!(parsed(&format!("0A-{TRACE}-{PARENT}-01")), None);
        assert_eq!(parsed(&format!("0-{TRACE}-{PARENT}-01")), None);
    }

    #[test]
    fn future_versions_parse_by_the_version_00_layout() {
        assert!(parsed(&format!("cc-{TRACE}-{PARENT}-01")).is_some());
        assert!(parsed(&format!("cc-{TRACE}-{PARENT}-01-what-the-future-holds")).is_some());
        assert_eq!(parsed(&format!("cc-{TRACE}-{PARENT}-01what")), None);
        // Version 00 allows nothing after the flags.
        assert_eq!(parsed(&format!("00-{TRACE}-{PARENT}-01-extra")), None);
    }

    #[test]
    fn all_zero_ids_are_refused() {
        assert_eq!(parsed(&format!("00-00000000000000000000000000000000-{PARENT}-01")), None);
        assert_eq!(parsed(&format!("00-{TRACE}-0000000000000000-01")), None);
    }

    #[test]
    fn malformed_fields_are_refused() {
        for header in [
            "",
            "00",
            &format!("00-{}-{PARENT}-01", TRACE.to_uppercase()),
            &format!("00-{TRACE}-{}-01", PARENT.to_uppercase()),
            &format!("00-{TRACE}-{PARENT}-0A"),
            &format!("00-{TRACE}-{PARENT}-1"),
            &format!("00-{TRACE}-{PARENT}-xy"),
            &format!("00-{TRACE}0-{PARENT}-1"),
            &format!("00_{TRACE}_{PARENT}_01"),
            &format!("00-{TRACE}-{PARENT}"),
            "00-4bf92f3577b34da6a3ce929d0e0e47é-00f067aa0ba902b7-01",
        ] {
            assert_eq!(parsed(header), None, "{header}");
        }
    }

    #[test]
    fn surrounding_whitespace_is_ignored() {
        assert!(parsed(&format!(" 00-{TRACE}-{PARENT}-01\t")).is_some());
    }

    #[test]
    fn generated_headers_parse_back() {
        let trace = TraceId::from_hex(TRACE).unwrap();
        let span = SpanId::from_hex(PARENT).unwrap();
        assert_eq!(format_traceparent(trace, span, true), format!("00-{TRACE}-{PARENT}-01"));
        assert_eq!(format_traceparent(trace, span, false), format!("00-{TRACE}-{PARENT}-00"));
        let back = TraceParent::parse(&format_traceparent(trace, span, true)).unwrap();
        assert_eq!((back.trace_id, back.parent_id, back.sampled), (trace, span, true));
    }

    #[test]
    fn tracestate_and_baggage_are_carried_within_limits() {
        assert_eq!(carried_tracestate(Some(" congo=t61rcWkgMzE ".into())), Some("congo=t61rcWkgMzE".into()));
        assert_eq!(carried_tracestate(Some("".into())), None);
        assert_eq!(carried_tracestate(Some("a=".repeat(300))), None);
        assert_eq!(carried_baggage(Some("userId=alice".into())), Some("userId=alice".into()));
        assert_eq!(carried_baggage(None), None);
    }
}
