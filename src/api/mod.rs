//! The HTTP contract in pure Rust: the route table, bearer-token auth, the
//! error → status mapping, API keys and the parsing of shared query parameters.

pub mod auth;
pub mod error;
pub mod keys;
pub mod params;
pub mod routes;

pub use error::ApiError;
pub use routes::{route, AlertRoute, KeyRoute, Route, Scope, SloRoute};
