//! The service map as Cytoscape.js elements: one node per service (and per
//! uninstrumented callee: a database, a queue, an external host), one edge
//! per caller → callee with its call count, error rate and mean latency.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A `services` row.
#[derive(Debug, Clone, Deserialize)]
pub struct StoredService {
    pub id: String,
    pub name: String,
    pub version: Option<String>,
    pub environment: Option<String>,
    pub first_seen_ms: f64,
    pub last_seen_ms: f64,
}

/// A `service_dependencies` row.
#[derive(Debug, Clone, Deserialize)]
pub struct StoredDependency {
    pub caller_service: String,
    pub callee_service: String,
    pub call_count: f64,
    pub error_count: f64,
    pub total_duration_ms: f64,
}

impl StoredDependency {
    pub fn calls(&self) -> u64 {
        self.call_count.max(0.0) as u64
    }

    pub fn errors(&self) -> u64 {
        self.error_count.max(0.0) as u64
    }

    /// Errors per call, 0 without calls.
    pub fn error_rate(&self) -> f64 {
        if self.calls() == 0 {
            0.0
        } else {
            self.errors() as f64 / self.calls() as f64
        }
    }

    /// Mean call latency, 0 without calls.
    pub fn avg_latency_ms(&self) -> f64 {
        if self.calls() == 0 {
            0.0
        } else {
            self.total_duration_ms / self.calls() as f64
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Element<T> {
    pub data: T,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeData {
    pub id: String,
    pub label: String,
    pub version: Option<String>,
    pub environment: Option<String>,
    /// False for callees we only know from their callers' spans.
    pub instrumented: bool,
    /// `service` for instrumented services, `external` for the rest.
    pub r#type: &'static str,
    pub first_seen_ms: Option<f64>,
    pub last_seen_ms: Option<f64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EdgeData {
    pub id: String,
    pub source: String,
    pub target: String,
    pub label: String,
    pub request_count: u64,
    pub error_count: u64,
    pub error_rate: f64,
    pub avg_latency_ms: f64,
}

#[derive(Debug, Serialize)]
pub struct ServiceMap {
    pub nodes: Vec<Element<NodeData>>,
    pub edges: Vec<Element<EdgeData>>,
}

/// Builds the map; with `environment`, only services of that environment, the
/// edges they call out on and the callees of those edges are kept.
pub fn service_map(
    services: Vec<StoredService>,
    dependencies: Vec<StoredDependency>,
    environment: Option<&str>,
) -> ServiceMap {
    let services: BTreeMap<String, StoredService> = crate::sort::btree_map(
        services
            .into_iter()
            .filter(|s| environment.is_none_or(|e| s.environment.as_deref() == Some(e)))
            .map(|s| (s.id.clone(), s)),
    );
    let dependencies: Vec<StoredDependency> =
        dependencies.into_iter().filter(|d| services.contains_key(&d.caller_service)).collect();
    let mut nodes: BTreeMap<String, NodeData> = crate::sort::btree_map(services.values().map(|s| {
        let node = NodeData {
            id: s.id.clone(),
            label: s.name.clone(),
            version: s.version.clone(),
            environment: s.environment.clone(),
            instrumented: true,
            r#type: "service",
            first_seen_ms: Some(s.first_seen_ms),
            last_seen_ms: Some(s.last_seen_ms),
        };
        (s.id.clone(), node)
    }));
    for d in &dependencies {
        nodes.entry(d.callee_service.clone()).or_insert_with(|| NodeData {
            id: d.callee_service.clone(),
            label: d.callee_service.clone(),
            version: None,
            environment: None,
            instrumented: false,
            r#type: "external",
            first_seen_ms: None,
            last_seen_ms: None,
        });
    }
    let mut edges: Vec<Element<EdgeData>> = dependencies
        .into_iter()
        .map(|d| Element {
            data: EdgeData {
                id: format!("{}->{}", d.caller_service, d.callee_service),
                label: format!("{} calls", d.calls()),
                request_count: d.calls(),
                error_count: d.errors(),
                error_rate: d.error_rate(),
                avg_latency_ms: d.avg_latency_ms(),
                source: d.caller_service,
                target: d.callee_service,
            },
        })
        .collect();
    crate::sort::sort_by(&mut edges, |a, b| a.data.id.cmp(&b.data.id));
    ServiceMap { nodes: nodes.into_values().map(|data| Element { data }).collect(), edges }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(id: &str, env: &str) -> StoredService {
        StoredService {
            id: id.into(),
            name: id.into(),
            version: Some("1".into()),
            environment: Some(env.into()),
            first_seen_ms: 1.0,
            last_seen_ms: 2.0,
        }
    }

    fn dep(a: &str, b: &str, calls: f64, errors: f64, total_ms: f64) -> StoredDependency {
        StoredDependency {
            caller_service: a.into(),
            callee_service: b.into(),
            call_count: calls,
            error_count: errors,
            total_duration_ms: total_ms,
        }
    }

    #[test]
    fn edges_carry_counts_error_rate_and_mean_latency_and_callees_become_external_nodes() {
        let map = service_map(
            vec![service("gateway", "prod"), service("checkout", "prod")],
            vec![dep("gateway", "checkout", 4.0, 1.0, 100.0), dep("checkout", "orders-db", 2.0, 0.0, 30.0)],
            None,
        );
        let ids: Vec<&str> = map.nodes.iter().map(|n| n.data.id.as_str()).collect();
        assert_eq!(ids, ["checkout", "gateway", "orders-db"]);
        let db = &map.nodes[2].data;
        assert!(!db.instrumented && db.r#type == "external");
        let edge = &map.edges[1].data;
        assert_eq!((edge.id.as_str(), edge.request_count, edge.error_count), ("gateway->checkout", 4, 1));
        assert_eq!((edge.error_rate, edge.avg_latency_ms), (0.25, 25.0));
        assert_eq!(edge.label, "4 calls");
    }

    #[test]
    fn the_environment_filter_keeps_that_environment_and_its_callees() {
        let map = service_map(
            vec![service("gateway", "prod"), service("gateway-staging", "staging")],
            vec![dep("gateway", "db", 1.0, 0.0, 1.0), dep("gateway-staging", "db-staging", 1.0, 0.0, 1.0)],
            Some("prod"),
        );
        let ids: Vec<&str> = map.nodes.iter().map(|n| n.data.id.as_str()).collect();
        assert_eq!(ids, ["db", "gateway"]);
        assert_eq!(map.edges.len(), 1);
    }
}
