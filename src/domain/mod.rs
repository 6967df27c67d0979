//! The telemetry model every other module speaks: ids, attribute values,
//! spans and log records, borrowed from the request body wherever the
//! encoding allows it.

pub mod ids;
pub mod log;
pub mod span;
pub mod value;

pub use ids::{IdError, SpanId, TraceId};
pub use log::{LogRecord, ResourceLogs, ScopeLogs};
pub use span::{Event, Link, Resource, ResourceSpans, Scope, ScopeSpans, Span, SpanKind, StatusCode};
pub use value::{AnyValue, KeyValue};
