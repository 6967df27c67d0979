//! The telemetry model every other module speaks: ids, attribute values,
//! spans, log records and metrics, borrowed from the request body wherever the
//! encoding allows it.

pub mod ids;
pub mod log;
pub mod metric;
pub mod span;
pub mod time;
pub mod value;

pub use ids::{IdError, SpanId, TraceId};
pub use log::{LogRecord, ResourceLogs, ScopeLogs};
pub use metric::{Metric, MetricData, ResourceMetrics, ScopeMetrics, Temporality};
pub use span::{Event, Link, Resource, ResourceSpans, Scope, ScopeSpans, Span, SpanKind, StatusCode};
pub use value::{AnyValue, KeyValue};
