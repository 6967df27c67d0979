//! Query-string values shared by the REST routes: times (RFC 3339 or unix
//! milliseconds), durations in milliseconds, limits.

use chrono::DateTime;

use super::ApiError;

/// A point in time as unix milliseconds, from RFC 3339 or a number of unix ms.
pub fn time_ms(name: &str, value: &str) -> Result<f64, ApiError> {
    let v = value.trim();
    if let Ok(ms) = v.parse::<f64>() {
        if ms.is_finite() && ms >= 0.0 {
            return Ok(ms);
        }
    }
    DateTime::parse_from_rfc3339(v)
        .map(|t| t.timestamp_micros() as f64 / 1e3)
        .map_err(|_| ApiError::bad_request(format!("{name} must be RFC 3339 or unix milliseconds, got {value:?}")))
}

/// A non-negative duration in milliseconds.
pub fn duration_ms(name: &str, value: &str) -> Result<f64, ApiError> {
    match value.trim().parse::<f64>() {
        Ok(ms) if ms.is_finite() && ms >= 0.0 => Ok(ms),
        _ => Err(ApiError::bad_request(format!("{name} must be a non-negative number of milliseconds, got {value:?}"))),
    }
}

/// A duration in seconds: a number of seconds, or a number with a unit
/// `s`, `m`, `h` or `d` (`90`, `15m`, `1h`, `7d`); positive.
pub fn window_seconds(name: &str, value: &str) -> Result<f64, ApiError> {
    let v = value.trim();
    let (number, unit) = match v.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&v[..i], c),
        _ => (v, 's'),
    };
    let scale = match unit {
        's' => 1.0,
        'm' => 60.0,
        'h' => 3600.0,
        'd' => 86_400.0,
        _ => 0.0,
    };
    match number.trim().parse::<f64>() {
        Ok(n) if n.is_finite() && n > 0.0 && scale > 0.0 => Ok(n * scale),
        _ => Err(ApiError::bad_request(format!(
            "{name} must be a positive duration such as 90s, 15m, 1h or 7d, got {value:?}"
        ))),
    }
}

/// Decodes `%XX` escapes (and, in query strings, `+` as a space); malformed
/// escapes are kept as they are, invalid UTF-8 is replaced.
pub fn percent_decode(text: &str, plus_as_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (byte, hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b'+', _) if plus_as_space => {
                out.push(b' ');
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The `application/x-www-form-urlencoded` pairs of a URL's query string
/// (the part after `?`, before any `#`).
pub fn query_pairs(url: &str) -> Vec<(String, String)> {
    let Some((_, rest)) = url.split_once('?') else { return Vec::new() };
    let query = rest.split('#').next().unwrap_or("");
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k, true), percent_decode(v, true))
        })
        .collect()
}

/// A limit between 1 and `max`.
pub fn limit(name: &str, value: &str, max: u32) -> Result<u32, ApiError> {
    match value.trim().parse::<u32>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(ApiError::bad_request(format!("{name} must be an integer from 1 to {max}, got {value:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_or_unix_milliseconds() {
        assert_eq!(time_ms("start", "1700000000000").unwrap(), 1_700_000_000_000.0);
        assert_eq!(time_ms("start", "2023-11-14T22:13:20.5Z").unwrap(), 1_700_000_000_500.0);
        assert_eq!(time_ms("start", "2023-11-14T23:13:20+01:00").unwrap(), 1_700_000_000_000.0);
        assert_eq!(
            time_ms("start", "yesterday").unwrap_err().message,
            "start must be RFC 3339 or unix milliseconds, got \"yesterday\""
        );
        assert!(time_ms("start", "-5").is_err());
    }

    #[test]
    fn windows_take_seconds_or_a_unit() {
        assert_eq!(window_seconds("window", "90").unwrap(), 90.0);
        assert_eq!(window_seconds("window", "15m").unwrap(), 900.0);
        assert_eq!(window_seconds("window", "1h").unwrap(), 3600.0);
        assert_eq!(window_seconds("window", "1.5d").unwrap(), 129_600.0);
        for bad in ["", "0", "-1h", "1w", "h", "soon"] {
            assert!(window_seconds("window", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn query_strings_decode_as_forms() {
        let pairs =
            query_pairs("https://h/api/traces?service=my+svc&attr.http.route=%2Forders%3Fx&empty=&flag&q=a%2Bb#frag");
        let expected =
            [("service", "my svc"), ("attr.http.route", "/orders?x"), ("empty", ""), ("flag", ""), ("q", "a+b")];
        assert_eq!(pairs, expected.map(|(k, v)| (k.to_string(), v.to_string())));
        assert!(query_pairs("https://h/api/traces").is_empty());
        assert_eq!(percent_decode("caf%C3%A9%2", false), "café%2");
        assert_eq!(percent_decode("a+b", false), "a+b");
    }

    #[test]
    fn durations_and_limits_are_range_checked() {
        assert_eq!(duration_ms("minDuration", "12.5").unwrap(), 12.5);
        assert!(duration_ms("minDuration", "-1").is_err());
        assert!(duration_ms("minDuration", "NaN").is_err());
        assert_eq!(limit("limit", "20", 1000).unwrap(), 20);
        assert!(limit("limit", "0", 1000).is_err());
        assert!(limit("limit", "1001", 1000).is_err());
    }
}
