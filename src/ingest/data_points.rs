//! Analytics Engine data points: the column layout of each dataset (the one
//! source for `docs/analytics-engine.md` and the SQL proxy's friendly names)
//! and the mapping of spans, log records and metric points onto it, within
//! the platform's limits.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::domain::log::severity_name;
use crate::domain::time::nanos_to_ms;
use crate::domain::value::find;
use crate::domain::{KeyValue, LogRecord, Span};

/// Analytics Engine limits per data point and per invocation.
pub const MAX_INDEX_BYTES: usize = 96;
pub const MAX_BLOBS: usize = 20;
pub const MAX_DOUBLES: usize = 20;
pub const MAX_BLOB_BYTES_TOTAL: usize = 16 * 1024;
pub const MAX_POINTS_PER_INVOCATION: usize = 250;

/// A point that breaks an Analytics Engine limit (never built by the mappers).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DataPointError {
    #[error("index is {0} bytes, the limit is {MAX_INDEX_BYTES}")]
    IndexTooLong(usize),
    #[error("{0} blobs, the limit is {MAX_BLOBS}")]
    TooManyBlobs(usize),
    #[error("{0} doubles, the limit is {MAX_DOUBLES}")]
    TooManyDoubles(usize),
    #[error("blobs total {0} bytes, the limit is {MAX_BLOB_BYTES_TOTAL}")]
    BlobsTooLarge(usize),
    #[error("double {0} is not a finite number")]
    NotFinite(usize),
    #[error("{0} indexes, a point has exactly one")]
    Indexes(usize),
}

/// One Analytics Engine data point: exactly one index, blobs and doubles in
/// layout order, every double finite (a point crosses into JavaScript as
/// JSON). Blobs borrow from the decoded request where they can.
///
/// Its JSON is the object `writeDataPoint` takes (`{"indexes":[…],"blobs":
/// […],"doubles":[…]}`), so stored and handed-over points reach the binding
/// as their text, unparsed. Deserializing re-checks the limits, and also
/// reads the `{"index":…}` form points had until 2026-11-28 (queued or
/// handed over by the previous version).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "UncheckedPoint")]
pub struct DataPoint<'a> {
    index: Cow<'a, str>,
    blobs: Vec<Cow<'a, str>>,
    doubles: Vec<f64>,
}

impl Serialize for DataPoint<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut point = serializer.serialize_struct("DataPoint", 3)?;
        point.serialize_field("indexes", &[&self.index])?;
        point.serialize_field("blobs", &self.blobs)?;
        point.serialize_field("doubles", &self.doubles)?;
        point.end()
    }
}

#[derive(Deserialize)]
struct UncheckedPoint {
    #[serde(default)]
    indexes: Vec<String>,
    index: Option<String>,
    blobs: Vec<String>,
    doubles: Vec<f64>,
}

impl TryFrom<UncheckedPoint> for DataPoint<'static> {
    type Error = DataPointError;
    fn try_from(p: UncheckedPoint) -> Result<Self, Self::Error> {
        let count = p.indexes.len() + usize::from(p.index.is_some());
        let Some(index) = p.index.or_else(|| p.indexes.into_iter().next()).filter(|_| count == 1) else {
            return Err(DataPointError::Indexes(count));
        };
        DataPoint::new(index.into(), p.blobs.into_iter().map(Cow::Owned).collect(), p.doubles)
    }
}

/// Whether a point's JSON is the form of the previous version (`{"index":…}`),
/// which `writeDataPoint` does not take as it is. The key cannot occur inside
/// a JSON string, where its quotes would be escaped.
pub fn is_previous_form(point_json: &str) -> bool {
    point_json.contains("\"index\":")
}

impl<'a> DataPoint<'a> {
    pub fn new(index: Cow<'a, str>, blobs: Vec<Cow<'a, str>>, doubles: Vec<f64>) -> Result<Self, DataPointError> {
        let blob_bytes: usize = blobs.iter().map(|b| b.len()).sum();
        if index.len() > MAX_INDEX_BYTES {
            Err(DataPointError::IndexTooLong(index.len()))
        } else if blobs.len() > MAX_BLOBS {
            Err(DataPointError::TooManyBlobs(blobs.len()))
        } else if doubles.len() > MAX_DOUBLES {
            Err(DataPointError::TooManyDoubles(doubles.len()))
        } else if blob_bytes > MAX_BLOB_BYTES_TOTAL {
            Err(DataPointError::BlobsTooLarge(blob_bytes))
        } else if let Some(i) = doubles.iter().position(|d| !d.is_finite()) {
            Err(DataPointError::NotFinite(i + 1))
        } else {
            Ok(Self { index, blobs, doubles })
        }
    }

    pub fn index(&self) -> &str {
        &self.index
    }
    pub fn blobs(&self) -> &[Cow<'a, str>] {
        &self.blobs
    }
    pub fn doubles(&self) -> &[f64] {
        &self.doubles
    }
}

/// A named column of a dataset: `blobN` / `doubleN` by position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Column {
    pub name: &'static str,
    pub description: &'static str,
    /// Longest value kept, in bytes (blobs only; longer values are cut at a character boundary).
    pub max_bytes: usize,
}

/// The layout of one dataset.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    pub dataset: &'static str,
    pub index: Column,
    pub blobs: &'static [Column],
    pub doubles: &'static [Column],
}

const fn col(name: &'static str, max_bytes: usize, description: &'static str) -> Column {
    Column { name, description, max_bytes }
}

/// `distributed_traces`: one point per span.
pub const TRACES: Layout = Layout {
    dataset: "distributed_traces",
    index: col("service_name", MAX_INDEX_BYTES, "service.name of the span's resource (the sampling key)"),
    blobs: &[
        col("trace_id", 32, "trace id, 32 lower-case hex digits"),
        col("span_id", 16, "span id, 16 lower-case hex digits"),
        col("parent_span_id", 16, "parent span id, empty for a root span"),
        col("service_name", 256, "service.name"),
        col("operation", 512, "span name"),
        col("span_kind", 16, "internal, server, client, producer, consumer or unspecified"),
        col("status_code", 8, "unset, ok or error"),
        col("status_message", 2048, "status message"),
        col("service_version", 128, "service.version"),
        col("environment", 128, "deployment.environment(.name)"),
        col("http_method", 16, "http.request.method or http.method"),
        col("http_route", 512, "http.route, else url.path / http.target"),
        col("callee", 256, "uninstrumented callee of a client/producer span (peer.service, db, host)"),
        col("db_system", 64, "db.system.name or db.system"),
        col("exception_type", 256, "exception.type of the first exception event"),
        col("scope_name", 256, "instrumentation scope name"),
    ],
    doubles: &[
        col("duration_ms", 0, "span duration in milliseconds"),
        col("start_time_ms", 0, "span start, unix milliseconds"),
        col("is_error", 0, "1 when the status is error, else 0"),
        col("http_status_code", 0, "http.response.status_code or http.status_code, 0 when absent"),
        col("is_root", 0, "1 when the span has no parent"),
        col("is_entry", 0, "1 for server/consumer spans and roots (requests into the service)"),
        col("event_count", 0, "number of span events"),
        col("link_count", 0, "number of span links"),
        col("attribute_count", 0, "number of span attributes"),
    ],
};

/// `worker_logs`: one point per log record.
pub const LOGS: Layout = Layout {
    dataset: "worker_logs",
    index: col("service_name", MAX_INDEX_BYTES, "service.name of the record's resource (the sampling key)"),
    blobs: &[
        col("trace_id", 32, "trace id, 32 lower-case hex digits; empty when the record has none"),
        col("span_id", 16, "span id, 16 lower-case hex digits; empty when the record has none"),
        col("service_name", 256, "service.name"),
        col("severity", 8, "TRACE, DEBUG, INFO, WARN, ERROR or FATAL from the severity number; empty when unspecified"),
        col("severity_text", 32, "severity text as sent"),
        col("body", 8192, "the body: the string itself, other values as JSON"),
        col("event_name", 256, "event name"),
        col("service_version", 128, "service.version"),
        col("environment", 128, "deployment.environment(.name)"),
        col("exception_type", 256, "exception.type attribute"),
        col("scope_name", 256, "instrumentation scope name"),
        col("attributes", 4096, "the record's attributes as a JSON object"),
    ],
    doubles: &[
        col("time_ms", 0, "record time (else observed time, else ingestion time), unix milliseconds"),
        col("observed_time_ms", 0, "observed time, unix milliseconds; 0 when absent"),
        col("severity_number", 0, "severity number, 1–24; 0 when unspecified"),
        col("attribute_count", 0, "number of attributes"),
        col("body_bytes", 0, "length of the whole body in bytes (before the blob is cut)"),
    ],
};

/// `worker_metrics`: one point per metric data point.
pub const METRICS: Layout = Layout {
    dataset: "worker_metrics",
    index: col("service_name", MAX_INDEX_BYTES, "service.name of the point's resource (the sampling key)"),
    blobs: &[
        col("metric_name", 256, "metric name"),
        col("service_name", 256, "service.name"),
        col("kind", 24, "gauge, sum, histogram, exponential_histogram or summary"),
        col("temporality", 16, "delta or cumulative (sums and histograms); empty for gauges and summaries"),
        col("unit", 64, "unit as sent"),
        col("series_key", 32, "series id: 32 hex digits over service, name and attribute set"),
        col("attributes", 4096, "the point's attributes as a JSON object"),
        col("service_version", 128, "service.version"),
        col("environment", 128, "deployment.environment(.name)"),
        col("scope_name", 256, "instrumentation scope name"),
        col("description", 1024, "metric description"),
    ],
    doubles: &[
        col("value", 0, "a gauge's or sum's value; a histogram's or summary's sum (0 when absent)"),
        col("count", 0, "observations of a histogram or summary; 0 for gauges and sums"),
        col("min", 0, "a histogram's min (else 0); a gauge's or sum's value"),
        col("max", 0, "a histogram's max (else 0); a gauge's or sum's value"),
        col("time_ms", 0, "point time, unix milliseconds"),
        col(
            "start_time_ms",
            0,
            "start of the point's interval (cumulative: since the counter started), unix milliseconds; 0 when absent",
        ),
        col("is_monotonic", 0, "1 for monotonic sums (counters), else 0"),
        col("attribute_count", 0, "number of point attributes"),
    ],
};

/// Every dataset the collector writes.
pub const LAYOUTS: [Layout; 3] = [TRACES, LOGS, METRICS];

/// What the log mapping needs beyond the record itself.
pub struct LogContext<'s> {
    pub service: &'s str,
    pub service_version: &'s str,
    pub environment: &'s str,
    pub scope_name: &'s str,
    /// The record's trace and span ids as hex, empty when it has none.
    pub trace_id: String,
    pub span_id: String,
    /// The body as text: the string itself, other values as JSON.
    pub body: Cow<'s, str>,
    /// The record's attributes as a JSON object.
    pub attributes_json: String,
    pub time_ms: f64,
}

/// Cuts a blob to its column's maximum without splitting a character.
fn cut<'s>(value: Cow<'s, str>, column: &Column) -> Cow<'s, str> {
    match value {
        Cow::Borrowed(v) => Cow::Borrowed(truncate(v, column.max_bytes)),
        Cow::Owned(mut v) => {
            let keep = truncate(&v, column.max_bytes).len();
            v.truncate(keep);
            Cow::Owned(v)
        }
    }
}

/// The `worker_logs` point of one record.
// Cannot fail: the index and blobs are cut to their columns, which fit the
// limits (`every_layout_fits_the_analytics_engine_limits`), and every double
// is a count or a time.
#[allow(clippy::expect_used)]
pub fn log_point<'s>(record: &'s LogRecord<'_>, ctx: LogContext<'s>) -> DataPoint<'s> {
    let body_bytes = ctx.body.len() as f64;
    let values: [Cow<'s, str>; 12] = [
        Cow::Owned(ctx.trace_id),
        Cow::Owned(ctx.span_id),
        Cow::Borrowed(ctx.service),
        Cow::Borrowed(severity_name(record.severity_number).unwrap_or("")),
        Cow::Borrowed(&record.severity_text),
        ctx.body,
        Cow::Borrowed(&record.event_name),
        Cow::Borrowed(ctx.service_version),
        Cow::Borrowed(ctx.environment),
        Cow::Borrowed(text(&record.attributes, &["exception.type"])),
        Cow::Borrowed(ctx.scope_name),
        Cow::Owned(ctx.attributes_json),
    ];
    let blobs = values.into_iter().zip(LOGS.blobs).map(|(v, c)| cut(v, c)).collect();
    let doubles = vec![
        ctx.time_ms,
        nanos_to_ms(record.observed_time_unix_nano),
        f64::from(record.severity_number),
        record.attributes.len() as f64,
        body_bytes,
    ];
    DataPoint::new(Cow::Borrowed(truncate(ctx.service, LOGS.index.max_bytes)), blobs, doubles)
        .expect("the logs layout is within the Analytics Engine limits")
}

/// The numbers of one metric point, in `METRICS` double order.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MetricNumbers {
    pub value: f64,
    pub count: f64,
    pub min: f64,
    pub max: f64,
    pub time_ms: f64,
    pub start_time_ms: f64,
    pub monotonic: bool,
    pub attribute_count: usize,
}

/// The texts of one metric point, in `METRICS` blob order.
pub struct MetricTexts<'s> {
    pub metric_name: &'s str,
    pub service: &'s str,
    pub kind: &'static str,
    pub temporality: &'static str,
    pub unit: &'s str,
    pub series_key: String,
    pub attributes_json: String,
    pub service_version: &'s str,
    pub environment: &'s str,
    pub scope_name: &'s str,
    pub description: &'s str,
}

/// The `worker_metrics` point of one metric data point; `Err` for a number that is not finite.
pub fn metric_point(texts: MetricTexts<'_>, n: MetricNumbers) -> Result<DataPoint<'_>, DataPointError> {
    let values: [Cow<'_, str>; 11] = [
        Cow::Borrowed(texts.metric_name),
        Cow::Borrowed(texts.service),
        Cow::Borrowed(texts.kind),
        Cow::Borrowed(texts.temporality),
        Cow::Borrowed(texts.unit),
        Cow::Owned(texts.series_key),
        Cow::Owned(texts.attributes_json),
        Cow::Borrowed(texts.service_version),
        Cow::Borrowed(texts.environment),
        Cow::Borrowed(texts.scope_name),
        Cow::Borrowed(texts.description),
    ];
    let blobs = values.into_iter().zip(METRICS.blobs).map(|(v, c)| cut(v, c)).collect();
    let doubles = vec![
        n.value,
        n.count,
        n.min,
        n.max,
        n.time_ms,
        n.start_time_ms,
        f64::from(u8::from(n.monotonic)),
        n.attribute_count as f64,
    ];
    DataPoint::new(Cow::Borrowed(truncate(texts.service, METRICS.index.max_bytes)), blobs, doubles)
}

/// Cuts `s` to at most `max` bytes without splitting a character.
pub fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn text<'s>(attributes: &'s [KeyValue<'_>], keys: &[&str]) -> &'s str {
    keys.iter().find_map(|k| find(attributes, k).and_then(|v| v.as_str())).unwrap_or("")
}

/// A span's ids as hex, rendered once per span and moved into its point.
#[derive(Clone)]
pub struct SpanIds {
    pub trace_id: String,
    pub span_id: String,
    /// Empty for a root span.
    pub parent_span_id: String,
}

impl SpanIds {
    pub fn of(span: &Span<'_>) -> Self {
        Self {
            trace_id: span.trace_id.to_hex(),
            span_id: span.span_id.to_hex(),
            parent_span_id: span.parent_span_id.map(|p| p.to_hex()).unwrap_or_default(),
        }
    }
}

/// What the span mapping needs beyond the span itself.
pub struct SpanContext<'s> {
    pub service: &'s str,
    pub service_version: &'s str,
    pub environment: &'s str,
    pub scope_name: &'s str,
    pub callee: Option<&'s str>,
}

/// The `distributed_traces` point of one span.
// Cannot fail: the index and blobs are cut to their columns, which fit the
// limits (`every_layout_fits_the_analytics_engine_limits`), and every double
// is a count, a time or a status code.
#[allow(clippy::expect_used)]
pub fn span_point<'s>(span: &'s Span<'_>, ids: SpanIds, ctx: &SpanContext<'s>) -> DataPoint<'s> {
    let a = &span.attributes;
    let exception_type = span
        .events
        .iter()
        .filter(|e| e.name == "exception")
        .find_map(|e| find(&e.attributes, "exception.type").and_then(|v| v.as_str()))
        .unwrap_or("");
    let route = text(a, &["http.route", "url.path", "http.target"]);
    let borrowed: [&'s str; 13] = [
        ctx.service,
        &span.name,
        span.kind.name(),
        span.status_code.name(),
        &span.status_message,
        ctx.service_version,
        ctx.environment,
        text(a, &["http.request.method", "http.method"]),
        route,
        ctx.callee.unwrap_or(""),
        text(a, &["db.system.name", "db.system"]),
        exception_type,
        ctx.scope_name,
    ];
    // Ids are exactly as long as their columns allow; the rest is cut to its column's maximum.
    let mut blobs = Vec::with_capacity(TRACES.blobs.len());
    blobs.extend([ids.trace_id, ids.span_id, ids.parent_span_id].map(Cow::Owned));
    let columns = TRACES.blobs.iter().skip(3);
    blobs.extend(borrowed.iter().zip(columns).map(|(v, c)| Cow::Borrowed(truncate(v, c.max_bytes))));
    let http_status = ["http.response.status_code", "http.status_code"]
        .iter()
        .find_map(|k| find(a, k).and_then(|v| v.as_i64()))
        .unwrap_or(0);
    let is_root = span.parent_span_id.is_none();
    let is_entry = is_root || matches!(span.kind, crate::domain::SpanKind::Server | crate::domain::SpanKind::Consumer);
    let doubles = vec![
        nanos_to_ms(span.duration_nanos()),
        nanos_to_ms(span.start_time_unix_nano),
        f64::from(u8::from(span.is_error())),
        http_status as f64,
        f64::from(u8::from(is_root)),
        f64::from(u8::from(is_entry)),
        span.events.len() as f64,
        span.links.len() as f64,
        span.attributes.len() as f64,
    ];
    DataPoint::new(Cow::Borrowed(truncate(ctx.service, TRACES.index.max_bytes)), blobs, doubles)
        .expect("the traces layout is within the Analytics Engine limits")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_layout_fits_the_analytics_engine_limits() {
        for layout in LAYOUTS {
            assert!(layout.blobs.len() <= MAX_BLOBS && layout.doubles.len() <= MAX_DOUBLES, "{}", layout.dataset);
            assert!(layout.index.max_bytes <= MAX_INDEX_BYTES);
            let blob_budget: usize = layout.blobs.iter().map(|c| c.max_bytes).sum();
            assert!(blob_budget <= MAX_BLOB_BYTES_TOTAL, "{}: {blob_budget}", layout.dataset);
        }
    }

    #[test]
    fn points_breaking_a_limit_cannot_be_built() {
        assert_eq!(DataPoint::new("x".repeat(97).into(), vec![], vec![]), Err(DataPointError::IndexTooLong(97)));
        assert_eq!(DataPoint::new("x".into(), vec!["".into(); 21], vec![]), Err(DataPointError::TooManyBlobs(21)));
        assert_eq!(DataPoint::new("x".into(), vec![], vec![0.0; 21]), Err(DataPointError::TooManyDoubles(21)));
        assert_eq!(
            DataPoint::new("x".into(), vec!["y".repeat(16 * 1024 + 1).into()], vec![]),
            Err(DataPointError::BlobsTooLarge(16 * 1024 + 1))
        );
        assert_eq!(DataPoint::new("x".into(), vec![], vec![1.0, f64::NAN]), Err(DataPointError::NotFinite(2)));
        assert_eq!(DataPoint::new("x".into(), vec![], vec![f64::INFINITY]), Err(DataPointError::NotFinite(1)));
    }

    #[test]
    fn points_round_trip_through_json_as_write_data_point_takes_them_and_are_rechecked() {
        let p = DataPoint::new("svc".into(), vec!["a \"index\": b".into()], vec![1.5]).unwrap();
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(json, r#"{"indexes":["svc"],"blobs":["a \"index\": b"],"doubles":[1.5]}"#);
        assert_eq!(serde_json::from_str::<DataPoint>(&json).unwrap(), p);
        assert!(!is_previous_form(&json), "the key inside a blob is escaped");
        let previous = r#"{"index":"svc","blobs":["a \"index\": b"],"doubles":[1.5]}"#;
        assert!(is_previous_form(previous));
        assert_eq!(serde_json::from_str::<DataPoint>(previous).unwrap(), p, "queued by the previous version");
        let too_long = format!(r#"{{"indexes":["{}"],"blobs":[],"doubles":[]}}"#, "x".repeat(97));
        assert!(serde_json::from_str::<DataPoint>(&too_long).is_err());
        let two = r#"{"indexes":["a","b"],"blobs":[],"doubles":[]}"#;
        assert!(serde_json::from_str::<DataPoint>(two).is_err());
        let both = r#"{"indexes":["a"],"index":"b","blobs":[],"doubles":[]}"#;
        assert!(serde_json::from_str::<DataPoint>(both).is_err());
        assert!(serde_json::from_str::<DataPoint>(r#"{"blobs":[],"doubles":[]}"#).is_err());
    }

    #[test]
    fn truncation_never_splits_a_character() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("héllo", 3), "hé");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
