//! Timestamps between OTLP's unix nanoseconds (`u64`, beyond 2^53 today) and
//! the f64 unix milliseconds that D1, Analytics Engine and the API use,
//! without losing the whole milliseconds on the way; and the exact text form
//! nanoseconds are stored in and shown as.

use chrono::{DateTime, SecondsFormat};

const NANOS_PER_MILLI: u64 = 1_000_000;

/// Unix milliseconds of a nanosecond timestamp. The whole milliseconds stay
/// exact (`x_000_000` ns is exactly `x` ms, which `nanos as f64 / 1e6` does
/// not guarantee above 2^53 ns) and the fraction never rounds up into the next
/// millisecond, so a time is never moved across a millisecond boundary.
pub fn nanos_to_ms(nanos: u64) -> f64 {
    let whole = (nanos / NANOS_PER_MILLI) as f64;
    let fraction = (nanos % NANOS_PER_MILLI) as f64 / NANOS_PER_MILLI as f64;
    let ms = whole + fraction;
    if ms < whole + 1.0 {
        ms
    } else {
        // The fraction rounded up to the next whole millisecond: take the
        // largest double below it instead (both are positive and finite).
        f64::from_bits((whole + 1.0).to_bits() - 1)
    }
}

/// Unix nanoseconds of a millisecond time (negative and non-finite → 0),
/// exact for whole milliseconds.
pub fn ms_to_nanos(ms: f64) -> u64 {
    if !ms.is_finite() || ms <= 0.0 {
        return 0;
    }
    let whole = ms.trunc();
    let fraction_nanos = ((ms - whole) * NANOS_PER_MILLI as f64).round() as u64;
    (whole as u64).saturating_mul(NANOS_PER_MILLI).saturating_add(fraction_nanos)
}

/// Nanosecond timestamps are stored as 20-digit zero-padded text: exact
/// (beyond 2^53) and ordered correctly by plain text comparison.
pub fn nanos_text(nanos: u64) -> String {
    format!("{nanos:020}")
}

/// RFC 3339 with nanoseconds, UTC.
pub fn rfc3339_nanos(n: u64) -> String {
    DateTime::from_timestamp((n / 1_000_000_000) as i64, (n % 1_000_000_000) as u32)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-11-27 in nanoseconds: far above 2^53 (≈ 9.007e15).
    const NOW_NS: u64 = 1_795_789_962_170_000_000;

    #[test]
    fn whole_milliseconds_above_2_pow_53_stay_exact() {
        const { assert!(NOW_NS > 1 << 53) };
        // The conversion the issue caught: the plain division gives …169.9998.
        assert_ne!(NOW_NS as f64 / 1e6, 1_795_789_962_170.0);
        assert_eq!(nanos_to_ms(NOW_NS), 1_795_789_962_170.0);
        for ms in (0..10_000u64).map(|i| 1_795_789_962_170 + i * 7_919) {
            assert_eq!(nanos_to_ms(ms * 1_000_000), ms as f64, "{ms}");
        }
    }

    #[test]
    fn fractions_never_cross_into_the_next_millisecond() {
        for fraction in [1, 250_000, 500_000, 999_000, 999_999] {
            let ms = nanos_to_ms(NOW_NS + fraction);
            assert_eq!(ms.floor(), 1_795_789_962_170.0, "{fraction}");
        }
        // Sub-millisecond precision is what a double has left at this magnitude (≈ 0.24 µs).
        assert!((nanos_to_ms(NOW_NS + 250_000) - 1_795_789_962_170.25).abs() < 1e-3);
        assert_eq!(nanos_to_ms(1_500_000), 1.5);
        assert_eq!(nanos_to_ms(0), 0.0);
        assert_eq!(nanos_to_ms(u64::MAX).floor(), (u64::MAX / 1_000_000) as f64);
    }

    #[test]
    fn milliseconds_back_to_nanoseconds() {
        assert_eq!(ms_to_nanos(1_795_789_962_170.0), NOW_NS);
        for ms in (0..10_000u64).map(|i| 1_795_789_962_170 + i * 7_919) {
            assert_eq!(ms_to_nanos(ms as f64), ms * 1_000_000, "{ms}");
            assert_eq!(nanos_to_ms(ms_to_nanos(ms as f64)), ms as f64);
        }
        assert_eq!(ms_to_nanos(1.5), 1_500_000);
        assert_eq!(ms_to_nanos(-3.0), 0);
        assert_eq!(ms_to_nanos(f64::NAN), 0);
        assert_eq!(ms_to_nanos(f64::INFINITY), 0);
        assert_eq!(ms_to_nanos(1e300), u64::MAX);
    }

    #[test]
    fn nanos_text_is_fixed_width_and_ordered() {
        assert_eq!(nanos_text(NOW_NS), "01795789962170000000");
        assert_eq!(nanos_text(0), "00000000000000000000");
        assert_eq!(nanos_text(u64::MAX), "18446744073709551615");
        assert!(nanos_text(999) < nanos_text(1_000));
    }
}
