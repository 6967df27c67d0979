//! The roll-ups of one stored batch, aggregated in Rust so that each key
//! costs one upsert per batch (carrying the batch's sums) instead of one per
//! span: services, operations, RED per operation minute (a service's is their
//! sum), and
//! calls between services per minute (the cron rolls the operation minutes
//! into hours and the calls into totals, `storage::spans::SpanStore::roll_forward`). Fed with the
//! spans that were new and the call changes of `trace_index`.

use std::collections::{HashMap, HashSet};

use super::trace_index::{CallDelta, SpanFacts, MINUTE_MS};
use crate::domain::time::nanos_to_ms;
use crate::query::service_view::BUCKET_BOUNDS_MS;

/// Requests, errors and the duration histogram of entry spans (the bucket
/// bounds of `query::service_view`, plus one bucket above the last).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Red {
    pub requests: u32,
    pub errors: u32,
    pub duration_sum_ms: f64,
    pub buckets: [u32; BUCKET_BOUNDS_MS.len() + 1],
}

impl Red {
    // `bucket` is at most `BUCKET_BOUNDS_MS.len()`, the last index of `buckets`.
    #[allow(clippy::indexing_slicing)]
    fn add(&mut self, duration_ms: f64, error: bool) {
        self.requests += 1;
        self.errors += u32::from(error);
        self.duration_sum_ms += duration_ms;
        let bucket = BUCKET_BOUNDS_MS.iter().position(|upper| duration_ms <= *upper).unwrap_or(BUCKET_BOUNDS_MS.len());
        self.buckets[bucket] += 1;
    }
}

/// Calls between two services; negative when calls moved away (see `CallDelta`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Calls {
    pub count: i32,
    pub errors: i32,
    pub duration_sum_ms: f64,
}

/// A service as the batch saw it: version and environment of its latest span.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceSighting {
    pub version: Option<String>,
    pub environment: Option<String>,
    pub first_seen_ms: f64,
    pub last_seen_ms: f64,
}

/// Everything one batch adds to the roll-ups, one entry per key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchRollups {
    pub services: HashMap<String, ServiceSighting>,
    /// (service, operation, span kind)
    pub operations: HashSet<(String, String, u8)>,
    /// (service, operation, minute ms)
    pub operation_minutes: HashMap<(String, String, u64), Red>,
    /// (caller, callee, minute ms)
    pub call_minutes: HashMap<(String, String, u64), Calls>,
}

impl BatchRollups {
    /// Counts one newly stored span.
    pub fn add_span(&mut self, span: &SpanFacts<'_>) {
        let start_ms = nanos_to_ms(span.start_ns);
        let end_ms = nanos_to_ms(span.end_ns.max(span.start_ns));
        let service = span.service.to_string();
        let sighting = self.services.entry(service.clone()).or_insert_with(|| ServiceSighting {
            version: None,
            environment: None,
            first_seen_ms: start_ms,
            last_seen_ms: end_ms,
        });
        sighting.first_seen_ms = sighting.first_seen_ms.min(start_ms);
        if end_ms >= sighting.last_seen_ms {
            sighting.last_seen_ms = end_ms;
            sighting.version = span.service_version.map(str::to_string).or(sighting.version.take());
            sighting.environment = span.environment.map(str::to_string).or(sighting.environment.take());
        }
        self.operations.insert((service.clone(), span.name.to_string(), span.kind as u8));
        if !span.is_entry() {
            return;
        }
        let start = span.start_ns / 1_000_000;
        let minute = start - start % MINUTE_MS;
        let (duration, error) = (span.duration_ms(), span.error);
        self.operation_minutes.entry((service, span.name.to_string(), minute)).or_default().add(duration, error);
    }

    /// Counts one change to the calls between two services.
    pub fn add_call(&mut self, delta: &CallDelta) {
        let minute_ms = delta.timing.minute.saturating_mul(MINUTE_MS);
        let duration = delta.timing.duration_ms() * f64::from(delta.count);
        let errors = i32::from(delta.timing.error) * delta.count;
        let minute = self.call_minutes.entry((delta.caller.clone(), delta.callee.clone(), minute_ms)).or_default();
        minute.count += delta.count;
        minute.errors += errors;
        minute.duration_sum_ms += duration;
    }

    /// How many keys the batch upserts: what it costs in D1 rows written
    /// (before secondary index entries).
    pub fn keys(&self) -> usize {
        self.services.len() + self.operations.len() + self.operation_minutes.len() + self.call_minutes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{SpanId, SpanKind};
    use crate::ingest::trace_index::Timing;

    const T0_MS: u64 = 1_795_789_920_000; // a minute boundary, 2026-11-27

    fn span(n: u8, parent: Option<u8>, service: &'static str, start_ms: u64, duration_ms: u64) -> SpanFacts<'static> {
        let id = |n: u8| SpanId::from_bytes(&[n, 1, 2, 3, 4, 5, 6, 7]).unwrap();
        SpanFacts {
            span_id: id(n),
            parent_span_id: parent.map(id),
            service,
            service_version: Some("1.0"),
            environment: None,
            name: "GET /cart",
            kind: SpanKind::Server,
            start_ns: (T0_MS + start_ms) * 1_000_000,
            end_ns: (T0_MS + start_ms + duration_ms) * 1_000_000,
            error: false,
            callee: None,
        }
    }

    #[test]
    fn entry_spans_aggregate_to_one_key_per_minute() {
        let mut rollups = BatchRollups::default();
        let mut failed = span(2, Some(1), "cart", 30_000, 300);
        failed.error = true;
        let mut internal = span(3, Some(2), "cart", 30_001, 1);
        internal.kind = SpanKind::Internal;
        internal.name = "render";
        let mut newer = span(4, Some(9), "cart", 61_000, 7);
        newer.service_version = Some("1.1");
        for s in [span(1, None, "cart", 0, 5), failed, internal, newer] {
            rollups.add_span(&s);
        }
        let first = &rollups.operation_minutes[&("cart".to_string(), "GET /cart".to_string(), T0_MS)];
        assert_eq!((first.requests, first.errors, first.duration_sum_ms), (2, 1, 305.0));
        assert_eq!(first.buckets[2], 1, "5 ms is in the ≤ 5 bucket");
        assert_eq!(first.buckets[8], 1, "300 ms is in the ≤ 500 bucket");
        assert_eq!(rollups.operation_minutes.len(), 2, "two minutes of GET /cart (render is not an entry span)");
        assert_eq!(rollups.operations.len(), 2, "GET /cart and render");
        let cart = &rollups.services["cart"];
        assert_eq!(cart.version.as_deref(), Some("1.1"), "the latest span's version");
        assert_eq!((cart.first_seen_ms, cart.last_seen_ms), (T0_MS as f64, (T0_MS + 61_007) as f64));
        assert_eq!(rollups.keys(), 1 + 2 + 2, "service, operations, operation minutes");
    }

    #[test]
    fn call_changes_sum_per_minute_and_moves_cancel_out() {
        let mut rollups = BatchRollups::default();
        let minute = T0_MS / MINUTE_MS;
        let call = |callee: &str, count, error| CallDelta {
            caller: "frontend".into(),
            callee: callee.into(),
            timing: Timing { minute, duration_us: 12_500, error },
            count,
        };
        rollups.add_call(&call("orders", 1, true));
        rollups.add_call(&call("orders", 1, false));
        rollups.add_call(&call("orders.example.com", 1, true));
        rollups.add_call(&call("orders.example.com", -1, true));
        let orders = &rollups.call_minutes[&("frontend".to_string(), "orders".to_string(), T0_MS)];
        assert_eq!(*orders, Calls { count: 2, errors: 1, duration_sum_ms: 25.0 });
        let moved = &rollups.call_minutes[&("frontend".to_string(), "orders.example.com".to_string(), T0_MS)];
        assert_eq!(*moved, Calls { count: 0, errors: 0, duration_sum_ms: 0.0 });
    }
}
