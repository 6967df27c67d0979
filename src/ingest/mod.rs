//! From decoded OTLP to what the stores write: span rows (with the fields the
//! queries need already derived), service sightings, Analytics Engine points.

pub mod callee;
pub mod data_points;
pub mod span_rows;

pub use data_points::{DataPoint, DataPointError};
pub use span_rows::{span_batch, SpanBatch};
