//! Test support shared by the integration tests; each test crate uses part of it.
#![allow(dead_code)]

pub mod compare;
pub mod fixtures;
