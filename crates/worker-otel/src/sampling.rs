//! Head sampling, parent-based: a request that arrives with a `traceparent`
//! follows its sampled flag (a sampled parent keeps the whole trace); a new
//! trace is kept with the configured probability, decided on the trace id
//! the way OpenTelemetry's `TraceIdRatioBased` sampler does, so every
//! service taking the same ratio decides alike.

use crate::ids::TraceId;
use crate::propagation::TraceParent;

/// Keeps a ratio of new traces and follows a remote parent's decision.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampler {
    ratio: f64,
}

impl Sampler {
    /// `ratio` is clamped to [0, 1]; NaN samples nothing.
    pub fn new(ratio: f64) -> Self {
        Self { ratio: if ratio.is_nan() { 0.0 } else { ratio.clamp(0.0, 1.0) } }
    }

    pub fn ratio(self) -> f64 {
        self.ratio
    }

    /// Whether the trace of a new root span (or of a request continuing
    /// `parent`) is recorded.
    pub fn sampled(self, parent: Option<&TraceParent>, trace_id: TraceId) -> bool {
        match parent {
            Some(parent) => parent.sampled,
            None => self.keeps(trace_id),
        }
    }

    fn keeps(self, trace_id: TraceId) -> bool {
        if self.ratio >= 1.0 {
            return true;
        }
        // The low 63 bits of the id against ratio × 2^63, as the SDKs do.
        let bound = (self.ratio * (1u64 << 63) as f64) as u64;
        (trace_id.low_u64() & (u64::MAX >> 1)) < bound
    }
}

impl Default for Sampler {
    fn default() -> Self {
        Self::new(1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{IdGenerator, SpanId};

    fn parent(sampled: bool) -> TraceParent {
        TraceParent {
            trace_id: TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
            parent_id: SpanId::from_hex("00f067aa0ba902b7").unwrap(),
            sampled,
        }
    }

    #[test]
    fn a_remote_parent_decides_whatever_the_ratio() {
        let id = parent(true).trace_id;
        assert!(Sampler::new(0.0).sampled(Some(&parent(true)), id));
        assert!(!Sampler::new(1.0).sampled(Some(&parent(false)), id));
    }

    #[test]
    fn ratios_one_and_zero_keep_all_and_none() {
        let ids = IdGenerator::new(7);
        for _ in 0..1000 {
            let id = ids.trace_id();
            assert!(Sampler::new(1.0).sampled(None, id));
            assert!(!Sampler::new(0.0).sampled(None, id));
            assert!(!Sampler::new(f64::NAN).sampled(None, id));
        }
    }

    #[test]
    fn a_ratio_keeps_about_that_share_of_new_traces() {
        let ids = IdGenerator::new(11);
        let sampler = Sampler::new(0.25);
        let kept = (0..100_000).filter(|_| sampler.sampled(None, ids.trace_id())).count();
        assert!((24_000..26_000).contains(&kept), "kept {kept} of 100000 at 0.25");
    }

    #[test]
    fn the_decision_depends_on_the_trace_id_only() {
        let sampler = Sampler::new(0.5);
        let low = TraceId::from_hex("ffffffffffffffff0000000000000001").unwrap();
        let high = TraceId::from_hex("00000000000000007fffffffffffffff").unwrap();
        assert!(sampler.sampled(None, low));
        assert!(!sampler.sampled(None, high));
        assert_eq!(Sampler::new(3.0).ratio(), 1.0);
        assert_eq!(Sampler::new(-1.0).ratio(), 0.0);
    }
}
