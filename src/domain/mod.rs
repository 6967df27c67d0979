//! The span model every other module speaks: ids, attribute values and spans,
//! borrowed from the request body wherever the encoding allows it.

pub mod ids;
pub mod span;
pub mod value;

pub use ids::{IdError, SpanId, TraceId};
pub use span::{Event, Link, Resource, ResourceSpans, Scope, ScopeSpans, Span, SpanKind, StatusCode};
pub use value::{AnyValue, KeyValue};
