//! Who a CLIENT or PRODUCER span calls when that callee is not instrumented
//! (a database, a queue, an external API): the node the service map draws.
//! The attribute order follows the OpenTelemetry semantic conventions and the
//! defaults of Tempo's service graph (`peer.service`, `db.name`, `db.system`).

use crate::domain::value::find;
use crate::domain::{KeyValue, Span, SpanKind};

/// Attributes that name the callee, most specific first.
const CALLEE_ATTRIBUTES: &[&str] = &[
    "peer.service",
    "db.namespace",
    "db.name",
    "db.system.name",
    "db.system",
    "messaging.destination.name",
    "messaging.system",
    "rpc.service",
    "server.address",
    "net.peer.name",
    "http.host",
];

/// URL attributes whose host names the callee when nothing else does.
const URL_ATTRIBUTES: &[&str] = &["url.full", "http.url"];

/// The callee of an outgoing span, unless it is the calling service itself.
pub fn callee_of<'s>(span: &'s Span<'_>, service: &str) -> Option<&'s str> {
    if !matches!(span.kind, SpanKind::Client | SpanKind::Producer) {
        return None;
    }
    let name = named_callee(&span.attributes).or_else(|| url_host(&span.attributes))?;
    (name != service).then_some(name)
}

fn named_callee<'s>(attributes: &'s [KeyValue<'_>]) -> Option<&'s str> {
    CALLEE_ATTRIBUTES
        .iter()
        .filter_map(|key| find(attributes, key).and_then(|v| v.as_str()))
        .map(str::trim)
        .find(|s| !s.is_empty())
}

fn url_host<'s>(attributes: &'s [KeyValue<'_>]) -> Option<&'s str> {
    URL_ATTRIBUTES.iter().filter_map(|key| find(attributes, key).and_then(|v| v.as_str())).find_map(|url| {
        let rest = url.split_once("://")?.1;
        let authority = rest.split(['/', '?', '#']).next()?;
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let host = match host_port.strip_prefix('[') {
            Some(v6) => v6.split(']').next()?,
            None => host_port.split(':').next()?,
        };
        (!host.is_empty()).then_some(host)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AnyValue, SpanId, StatusCode, TraceId};

    fn span(kind: SpanKind, attrs: &[(&'static str, &'static str)]) -> Span<'static> {
        Span {
            trace_id: TraceId::from_bytes(&[1; 16]).unwrap(),
            span_id: SpanId::from_bytes(&[2; 8]).unwrap(),
            parent_span_id: None,
            trace_state: "".into(),
            flags: 0,
            name: "call".into(),
            kind,
            start_time_unix_nano: 0,
            end_time_unix_nano: 0,
            attributes: attrs
                .iter()
                .map(|(k, v)| KeyValue { key: (*k).into(), value: AnyValue::Str((*v).into()) })
                .collect(),
            dropped_attributes_count: 0,
            events: vec![],
            dropped_events_count: 0,
            links: vec![],
            dropped_links_count: 0,
            status_code: StatusCode::Unset,
            status_message: "".into(),
        }
    }

    #[test]
    fn peer_service_wins_over_database_and_address_attributes() {
        let s = span(
            SpanKind::Client,
            &[("server.address", "10.0.0.1"), ("db.system", "postgresql"), ("peer.service", "billing")],
        );
        assert_eq!(callee_of(&s, "checkout"), Some("billing"));
    }

    #[test]
    fn databases_are_named_by_namespace_then_system() {
        let s = span(SpanKind::Client, &[("db.system", "postgresql"), ("db.name", "orders")]);
        assert_eq!(callee_of(&s, "checkout"), Some("orders"));
        let s = span(SpanKind::Client, &[("db.system", "redis")]);
        assert_eq!(callee_of(&s, "checkout"), Some("redis"));
    }

    #[test]
    fn the_host_of_the_url_names_external_apis() {
        let s = span(SpanKind::Client, &[("url.full", "https://user@api.stripe.com:443/v1/charges?x=1")]);
        assert_eq!(callee_of(&s, "checkout"), Some("api.stripe.com"));
        let s = span(SpanKind::Producer, &[("http.url", "http://[::1]:8080/")]);
        assert_eq!(callee_of(&s, "checkout"), Some("::1"));
    }

    #[test]
    fn server_internal_and_self_calls_have_no_callee() {
        assert_eq!(callee_of(&span(SpanKind::Server, &[("peer.service", "x")]), "a"), None);
        assert_eq!(callee_of(&span(SpanKind::Client, &[("peer.service", "a")]), "a"), None);
        assert_eq!(callee_of(&span(SpanKind::Client, &[("peer.service", "  ")]), "a"), None);
        assert_eq!(callee_of(&span(SpanKind::Client, &[]), "a"), None);
    }
}
