//! From decoded OTLP to what the stores write: span, log and metric rows (with the
//! fields the queries need already derived), Analytics Engine points.

pub mod block_summary;
pub mod bloom;
pub mod callee;
pub mod data_points;
pub mod log_batch;
pub mod log_rows;
pub mod metric_packs;
pub mod metric_rows;
pub mod metric_series;
pub mod rollups;
pub mod row_chunks;
pub mod span_rows;
pub mod span_segment;
pub mod trace_batch;
pub mod trace_index;

pub use data_points::{DataPoint, DataPointError};
pub use log_rows::{log_batch, LogBatch};
pub use metric_rows::{metric_batch, MetricBatch};
pub use span_rows::{span_batch, SpanBatch};
