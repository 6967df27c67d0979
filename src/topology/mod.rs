//! The service graph: the Cytoscape.js service map, its strongly connected
//! components (Tarjan) and every elementary cycle (Johnson), in a canonical,
//! deterministic form.

pub mod cycles;
pub mod service_map;

pub use cycles::{analyze, CycleReport};
pub use service_map::{service_map, ServiceMap, StoredDependency, StoredService};
