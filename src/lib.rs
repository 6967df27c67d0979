//! An OpenTelemetry collector and observability backend for Cloudflare Workers.
//!
//! # Layout
//! Data flows one way: request → adapter → pure domain → store adapter.
//! - `blocks`: the R2 block format (gzip segments of stored rows), block ids and keys.
//! - `domain`: the span model (ids, attribute values, spans), no I/O.
//! - `alerting`: alert rules, aggregations, conditions and the alert state machine.
//! - `otlp`: OTLP/HTTP bodies in (gzip, protobuf, JSON) and responses out.
//! - `ingest`: decoded spans → stored rows, service sightings, Analytics Engine points.
//! - `query`: REST query parameters and response shapes.
//! - `retention`: how long hot data stays in D1 and how pruning is chunked.
//! - `storage`: span blocks, the trace index, search and pruning, over ports
//!   for SQL and blobs (D1/R2 in production, SQLite/memory in native tests).
//! - `topology`: the service graph, its components and cycles.
//! - `api`: routing, auth, the error → HTTP status table; pure.
//! - `http`, `jobs`, `store`, `entry` (wasm32 only): the Workers adapter —
//!   request handlers, cron jobs, D1/KV/Analytics Engine access and the
//!   `fetch`/`scheduled` entry points.
//!
//! Everything but the wasm32-only adapter compiles and is tested natively.

#![cfg_attr(not(test), deny(clippy::expect_used, clippy::unwrap_used, clippy::indexing_slicing))]

pub mod alerting;
pub mod api;
pub mod blocks;
pub mod domain;
pub mod ingest;
pub mod otlp;
pub mod query;
pub mod retention;
pub mod sort;
pub mod storage;
pub mod topology;

#[cfg(target_arch = "wasm32")]
mod entry;
#[cfg(target_arch = "wasm32")]
mod http;
#[cfg(target_arch = "wasm32")]
mod jobs;
#[cfg(target_arch = "wasm32")]
mod store;
