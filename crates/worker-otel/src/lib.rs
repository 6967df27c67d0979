//! OpenTelemetry for workers-rs Workers: a SERVER span around each request
//! (continuing the caller's W3C trace context), CLIENT spans for `fetch` and
//! service-binding calls (which carry the context on), D1 query spans,
//! INTERNAL spans for any async block, log records tied to the active span,
//! head sampling, and one OTLP/HTTP protobuf export per request in
//! `ctx.wait_until` through a service binding or a URL.
//!
//! The recording and encoding core ([`Span`], [`Config`], [`Sampler`],
//! [`Statement`], [`TraceParent`]) is plain Rust and runs natively; the
//! Worker glue (`instrument`, `SpanExt`, the D1 and fetch helpers) exists
//! on `wasm32` only.
#![cfg_attr(not(test), deny(clippy::expect_used, clippy::unwrap_used, clippy::indexing_slicing))]

mod config;
mod http;
mod ids;
mod model;
mod otlp;
mod propagation;
#[cfg(target_arch = "wasm32")]
mod runtime;
mod sampling;
mod statement;
mod trace;

pub use config::{Config, DEFAULT_BINDING};
pub use http::{client_attributes, server_attributes};
pub use ids::{SpanId, TraceId};
pub use model::{KeyValue, Severity, SpanKind, StatusCode, Value};
pub use propagation::{format_traceparent, TraceParent};
#[cfg(target_arch = "wasm32")]
pub use runtime::{config_from_env, instrument, TracedDatabase, TracedStatement};
pub use sampling::Sampler;
pub use statement::{sanitize, Statement};
pub use trace::{Export, Incoming, Span, MAX_ATTRIBUTES, MAX_EVENTS, MAX_LOGS, MAX_SPANS};

/// Writes a log record tied to `span`, formatted like `format!`:
/// `otel_log!(span, Info, "order {} paid", id)`.
#[macro_export]
macro_rules! otel_log {
    ($span:expr, $severity:ident, $($arg:tt)+) => {
        $span.log($crate::Severity::$severity, format!($($arg)+), Vec::new())
    };
}
