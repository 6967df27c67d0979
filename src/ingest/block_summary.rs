//! The search summary of a span block, kept in its D1 `span_blocks` row
//! (docs/storage.md): its traces, services and operation names, and a Bloom
//! filter of (service, operation) pairs and `key=value` of indexed span
//! attributes and of every resource attribute. Search skips every block whose summary cannot match, so a
//! filter nothing matches reads no block at all.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use serde::Deserialize;
use serde_json::value::RawValue;

use super::bloom::Bloom;
use crate::domain::TraceId;

/// Span attribute keys indexed by default: the OpenTelemetry HTTP, RPC,
/// database, messaging and exception conventions (old and new names).
pub const DEFAULT_INDEXED_ATTRIBUTES: &[&str] = &[
    "http.request.method",
    "http.method",
    "http.response.status_code",
    "http.status_code",
    "http.route",
    "url.path",
    "server.address",
    "rpc.system",
    "rpc.service",
    "rpc.method",
    "rpc.grpc.status_code",
    "db.system",
    "db.system.name",
    "db.operation",
    "db.operation.name",
    "db.namespace",
    "db.name",
    "messaging.system",
    "messaging.destination.name",
    "exception.type",
    "error.type",
    "peer.service",
    "cloud.region",
    "faas.trigger",
];

const OPERATION: &[u8] = b"o";
const ATTRIBUTE: &[u8] = b"a";

/// What a block summary knows of a block.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockSummary {
    pub traces: Vec<TraceId>,
    pub services: Vec<String>,
    pub operations: Vec<String>,
    pub bloom: Bloom,
}

#[derive(Deserialize)]
struct RowIndexed<'a> {
    #[serde(borrow)]
    service: Cow<'a, str>,
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow, default)]
    attributes: HashMap<Cow<'a, str>, &'a RawValue>,
    #[serde(borrow, default)]
    resource: HashMap<Cow<'a, str>, &'a RawValue>,
}

/// The text an attribute value is indexed and searched as: a string as
/// itself, anything else as its JSON (`500`, `true`), so `attr.k=500`
/// finds both the string "500" and the number 500.
pub fn value_text(value: &RawValue) -> Cow<'_, str> {
    match serde_json::from_str::<Cow<str>>(value.get()) {
        Ok(s) => s,
        Err(_) => Cow::Borrowed(value.get()),
    }
}

/// Builds the summary of the rows a block holds (rows that do not read as
/// span rows are left out of the filter, never an error: they were checked
/// when the block was planned).
pub fn summarize<'r>(
    traces: Vec<TraceId>,
    rows: impl IntoIterator<Item = &'r RawValue>,
    indexed: &[&str],
) -> BlockSummary {
    let mut items: HashSet<(Vec<u8>, Vec<u8>, Vec<u8>)> = HashSet::new();
    let (mut services, mut operations) = (Vec::new(), Vec::new());
    for row in rows {
        let Ok(row) = serde_json::from_str::<RowIndexed>(row.get()) else { continue };
        items.insert((OPERATION.to_vec(), row.service.as_bytes().to_vec(), row.name.as_bytes().to_vec()));
        let span_attributes = row.attributes.iter().filter(|(k, _)| indexed.contains(&k.as_ref()));
        for (key, value) in span_attributes.chain(&row.resource) {
            items.insert((ATTRIBUTE.to_vec(), key.as_bytes().to_vec(), value_text(value).as_bytes().to_vec()));
        }
        services.push(row.service.into_owned());
        operations.push(row.name.into_owned());
    }
    for names in [&mut services, &mut operations] {
        crate::sort::sort_by(names, Ord::cmp);
        names.dedup();
    }
    let mut bloom = Bloom::with_capacity(items.len());
    for (kind, a, b) in &items {
        bloom.insert(&[kind, a, b]);
    }
    BlockSummary { traces, services, operations, bloom }
}

impl BlockSummary {
    pub fn may_have_service(&self, service: &str) -> bool {
        self.services.iter().any(|s| s == service)
    }

    pub fn may_have_operation(&self, service: &str, operation: &str) -> bool {
        self.bloom.may_contain(&[OPERATION, service.as_bytes(), operation.as_bytes()])
    }

    /// Some operation name contains `part`, ignoring ASCII case (as SQLite's `lower()` did).
    pub fn may_have_operation_like(&self, part: &str) -> bool {
        let part = part.to_ascii_lowercase();
        self.operations.iter().any(|o| o.to_ascii_lowercase().contains(&part))
    }

    /// False only if no span of the block has the attribute. Decisive for
    /// indexed keys; any other key may be on a span the filter does not cover.
    pub fn may_have_attribute(&self, key: &str, value: &str, indexed: &[&str]) -> bool {
        !indexed.contains(&key) || self.bloom.may_contain(&[ATTRIBUTE, key.as_bytes(), value.as_bytes()])
    }

    /// The block's trace ids as stored: 16 bytes each.
    pub fn trace_bytes(&self) -> Vec<u8> {
        self.traces.iter().flat_map(|t| *t.as_bytes()).collect()
    }
}

/// Trace ids from their stored form; `None` when the bytes cannot be a list of them.
pub fn traces_from_bytes(bytes: &[u8]) -> Option<Vec<TraceId>> {
    if bytes.len() % 16 != 0 {
        return None;
    }
    bytes.chunks_exact(16).map(|id| TraceId::from_bytes(id).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<Box<RawValue>> {
        [
            r#"{"service":"cart","name":"GET /cart","attributes":{"http.response.status_code":500,"user.id":"u1"},"resource":{"cloud.provider":"cloudflare"}}"#,
            r#"{"service":"db-proxy","name":"SELECT","attributes":{"db.system.name":"postgresql"},"resource":{}}"#,
            r#"{"not":"a span row"}"#,
        ]
        .iter()
        .map(|r| RawValue::from_string(r.to_string()).unwrap())
        .collect()
    }

    #[test]
    fn the_summary_rules_out_blocks_that_cannot_match() {
        let trace = TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").unwrap();
        let rows = rows();
        let s = summarize(vec![trace], rows.iter().map(|r| r.as_ref()), DEFAULT_INDEXED_ATTRIBUTES);
        assert_eq!(s.services, ["cart", "db-proxy"]);
        assert!(s.may_have_service("cart") && !s.may_have_service("payments"));
        assert!(s.may_have_operation("cart", "GET /cart"));
        assert!(!s.may_have_operation("db-proxy", "GET /cart"), "operations are per service");
        assert!(s.may_have_operation_like("get /") && !s.may_have_operation_like("POST"));
        let indexed = DEFAULT_INDEXED_ATTRIBUTES;
        assert!(s.may_have_attribute("http.response.status_code", "500", indexed), "numbers as their JSON text");
        assert!(!s.may_have_attribute("http.response.status_code", "404", indexed));
        assert!(s.may_have_attribute("db.system.name", "postgresql", indexed));
        assert!(
            s.may_have_attribute("cloud.provider", "cloudflare", &["cloud.provider"]),
            "resource attributes are all in"
        );
        assert!(s.may_have_attribute("user.id", "nobody", indexed), "keys not indexed cannot be ruled out");
        assert_eq!(traces_from_bytes(&s.trace_bytes()), Some(vec![trace]));
        assert_eq!(traces_from_bytes(&[1; 15]), None);
        assert_eq!(traces_from_bytes(&[0; 16]), None, "an all-zero id is not a trace id");
    }

    #[test]
    fn values_are_searched_as_text() {
        let raw = |s: &str| RawValue::from_string(s.to_string()).unwrap();
        assert_eq!(value_text(&raw(r#""a\"b""#)), "a\"b");
        assert_eq!(value_text(&raw("500")), "500");
        assert_eq!(value_text(&raw("true")), "true");
        assert_eq!(value_text(&raw("[1,2]")), "[1,2]");
    }
}
