//! Storage logic written once over two small ports (`ports`): span blocks
//! and the D1 trace index, search and retention (`spans`); log blocks and
//! their D1 segment rows (`logs`); metric series and point packs in D1
//! (`metrics`); API keys (`api_keys`). Production binds
//! the ports to D1 and R2 (`store`, wasm32); native tests bind them to
//! SQLite with the real migrations and to memory (`testing`).

pub mod api_keys;
mod log_sql;
pub mod logs;
pub mod metric_sql;
pub mod metrics;
pub mod ports;
pub mod spans;
pub mod trace_sql;

#[cfg(test)]
pub mod testing;
