//! Trace and span identifiers: W3C lower-case hex, never all zeros, drawn
//! from a per-isolate generator (ids need to be unique, not secret).

use std::cell::Cell;
use std::fmt;

/// A 16-byte trace id, never all zeros.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceId(pub(crate) [u8; 16]);

/// An 8-byte span id, never all zeros.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SpanId(pub(crate) [u8; 8]);

impl TraceId {
    /// The id from 32 lower-case hex digits; `None` when malformed or all zeros.
    pub fn from_hex(hex: &str) -> Option<Self> {
        parse_hex(hex).map(Self)
    }
    pub fn to_bytes(self) -> [u8; 16] {
        self.0
    }
    /// The low 8 bytes as a number: what ratio sampling compares.
    pub(crate) fn low_u64(self) -> u64 {
        let [_, _, _, _, _, _, _, _, low @ ..] = self.0;
        u64::from_be_bytes(low)
    }
}

impl SpanId {
    /// The id from 16 lower-case hex digits; `None` when malformed or all zeros.
    pub fn from_hex(hex: &str) -> Option<Self> {
        parse_hex(hex).map(Self)
    }
    pub fn to_bytes(self) -> [u8; 8] {
        self.0
    }
}

fn parse_hex<const N: usize>(hex: &str) -> Option<[u8; N]> {
    if hex.len() != 2 * N {
        return None;
    }
    let mut id = [0u8; N];
    for (slot, pair) in id.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
        let [high, low] = pair else { return None };
        *slot = (lower_hex_digit(*high)? << 4) | lower_hex_digit(*low)?;
    }
    id.iter().any(|b| *b != 0).then_some(id)
}

/// W3C trace context allows lower-case hex only.
fn lower_hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    bytes.iter().try_for_each(|b| write!(f, "{b:02x}"))
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Display for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Debug for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceId({self})")
    }
}

impl fmt::Debug for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SpanId({self})")
    }
}

/// SplitMix64 over a per-isolate state: fast, tiny, and every output of a
/// 64-bit state is distinct over its whole period.
pub(crate) struct IdGenerator {
    state: Cell<u64>,
}

impl IdGenerator {
    pub(crate) const fn new(seed: u64) -> Self {
        Self { state: Cell::new(seed) }
    }

    fn next_u64(&self) -> u64 {
        let state = self.state.get().wrapping_add(0x9e37_79b9_7f4a_7c15);
        self.state.set(state);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn non_zero_u64(&self) -> u64 {
        loop {
            let value = self.next_u64();
            if value != 0 {
                return value;
            }
        }
    }

    pub(crate) fn trace_id(&self) -> TraceId {
        let mut id = [0u8; 16];
        let (high, low) = id.split_at_mut(8);
        high.copy_from_slice(&self.next_u64().to_be_bytes());
        low.copy_from_slice(&self.non_zero_u64().to_be_bytes());
        TraceId(id)
    }

    pub(crate) fn span_id(&self) -> SpanId {
        SpanId(self.non_zero_u64().to_be_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn hex_round_trips_in_lower_case() {
        let trace = TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap();
        assert_eq!(trace.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        let span = SpanId::from_hex("00f067aa0ba902b7").unwrap();
        assert_eq!(span.to_string(), "00f067aa0ba902b7");
        assert_eq!(span.to_bytes(), [0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7]);
    }

    #[test]
    fn malformed_upper_case_and_zero_ids_are_refused() {
        assert!(TraceId::from_hex("4BF92F3577B34DA6A3CE929D0E0E4736").is_none());
        assert!(TraceId::from_hex("00000000000000000000000000000000").is_none());
        assert!(SpanId::from_hex("0000000000000000").is_none());
        assert!(SpanId::from_hex("00f067aa0ba902b").is_none());
        assert!(SpanId::from_hex("00f067aa0ba902bg").is_none());
        assert!(SpanId::from_hex("00f067aa0ba902b7a").is_none());
    }

    #[test]
    fn generated_ids_are_distinct_and_never_zero() {
        let ids = IdGenerator::new(0);
        let spans: HashSet<_> = (0..10_000).map(|_| ids.span_id()).collect();
        assert_eq!(spans.len(), 10_000);
        let traces: HashSet<_> = (0..10_000).map(|_| ids.trace_id()).collect();
        assert_eq!(traces.len(), 10_000);
        assert!(traces.iter().all(|t| t.low_u64() != 0));
    }
}
