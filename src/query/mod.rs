//! Read side: the parameters of each query route and the JSON it answers,
//! built from rows as the stores return them.

pub mod jaeger;
pub mod log_search;
pub mod metric_query;
pub mod metric_rollup;
pub mod service_view;
pub mod sql_proxy;
pub mod sql_syntax;
pub mod trace_search;
pub mod trace_view;

pub use trace_search::{StatusFilter, TraceSearch};
pub use trace_view::{StoredSpan, StoredTrace};
