//! The route table: method + path → what to do and which token it needs.

use super::params::percent_decode;
use super::ApiError;

/// Which token a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Public,
    /// The OTLP routes.
    Ingest,
    /// Reads: every `GET` of the API and SQL queries.
    Read,
    /// Changes: alert rules, channels, SLOs, acknowledgements, evaluation, API keys.
    Admin,
    /// The collector's own calls to itself (`INTERNAL_TOKEN`), never a client's.
    Internal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Health,

    IngestTraces,
    IngestMetrics,
    IngestLogs,
    SearchTraces,
    SearchLogs,
    ListMetrics,
    QueryMetric,
    /// The Grafana SQL proxy and its schema.
    Sql,
    SqlSchema,
    GetTrace(String),
    ListServices,
    GetService(String),
    ServiceMap,
    ServiceMapCycles,
    Jaeger(JaegerRoute),
    Alerts(AlertRoute),
    Slos(SloRoute),
    Keys(KeyRoute),
    /// Analytics Engine points handed over from an invocation that had more than it may write.
    WriteDataPoints,
}

impl Route {
    pub fn scope(&self) -> Scope {
        match self {
            Route::Health => Scope::Public,
            Route::IngestTraces | Route::IngestMetrics | Route::IngestLogs => Scope::Ingest,
            Route::WriteDataPoints => Scope::Internal,
            Route::SearchTraces
            | Route::SearchLogs
            | Route::ListMetrics
            | Route::QueryMetric
            | Route::Sql
            | Route::SqlSchema
            | Route::GetTrace(_)
            | Route::ListServices
            | Route::GetService(_)
            | Route::ServiceMap
            | Route::ServiceMapCycles
            | Route::Jaeger(_) => Scope::Read,
            Route::Alerts(route) => match route {
                AlertRoute::ListConfigs
                | AlertRoute::GetConfig(_)
                | AlertRoute::ListChannels
                | AlertRoute::GetChannel(_)
                | AlertRoute::ListIncidents
                | AlertRoute::GetIncident(_) => Scope::Read,
                _ => Scope::Admin,
            },
            Route::Slos(SloRoute::List | SloRoute::Get(_) | SloRoute::Status(_) | SloRoute::BurnRates(_)) => {
                Scope::Read
            }
            Route::Slos(_) | Route::Keys(_) => Scope::Admin,
        }
    }
}

/// The API key routes, under `/api/keys`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRoute {
    List,
    Create,
    Revoke(String),
    Rotate(String),
}

/// The Jaeger query API routes, under `/jaeger/api`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JaegerRoute {
    Services,
    ServiceOperations(String),
    Operations,
    Traces,
    Trace(String),
    Dependencies,
}

/// The alerting routes, under `/api/alerts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertRoute {
    ListConfigs,
    CreateConfig,
    GetConfig(String),
    ReplaceConfig(String),
    DeleteConfig(String),
    ListChannels,
    CreateChannel,
    GetChannel(String),
    ReplaceChannel(String),
    DeleteChannel(String),
    ListIncidents,
    GetIncident(String),
    AcknowledgeIncident(String),
    Evaluate,
}

/// A collection (`GET` lists, `POST` creates) or one item (`GET`, `PUT`, `DELETE`).
fn resource<T>(
    method: &str,
    id: Option<&str>,
    list: T,
    create: T,
    item: [fn(String) -> T; 3],
) -> (Option<T>, &'static str) {
    let route = match (id, method) {
        (None, "GET") => Some(list),
        (None, "POST") => Some(create),
        (None, _) => return (None, "GET, POST"),
        (Some(id), "GET") => Some(item[0](decode_segment(id))),
        (Some(id), "PUT") => Some(item[1](decode_segment(id))),
        (Some(id), "DELETE") => Some(item[2](decode_segment(id))),
        (Some(_), _) => None,
    };
    (route, "GET, PUT, DELETE")
}

const CONFIG_ITEM: [fn(String) -> AlertRoute; 3] =
    [AlertRoute::GetConfig, AlertRoute::ReplaceConfig, AlertRoute::DeleteConfig];
const CHANNEL_ITEM: [fn(String) -> AlertRoute; 3] =
    [AlertRoute::GetChannel, AlertRoute::ReplaceChannel, AlertRoute::DeleteChannel];

fn alert_route(method: &str, rest: &[&str]) -> Option<(Option<AlertRoute>, &'static str)> {
    use AlertRoute as A;
    let only = |m: &'static str, route: AlertRoute| ((method == m).then_some(route), m);
    Some(match rest {
        ["configs", id @ ..] if id.len() <= 1 => {
            resource(method, id.first().copied(), A::ListConfigs, A::CreateConfig, CONFIG_ITEM)
        }
        ["channels", id @ ..] if id.len() <= 1 => {
            resource(method, id.first().copied(), A::ListChannels, A::CreateChannel, CHANNEL_ITEM)
        }
        ["incidents"] => only("GET", A::ListIncidents),
        ["incidents", id] => only("GET", A::GetIncident(decode_segment(id))),
        ["incidents", id, "acknowledge"] => only("POST", A::AcknowledgeIncident(decode_segment(id))),
        ["evaluate"] => only("POST", A::Evaluate),
        _ => return None,
    })
}

/// The SLO routes, under `/api/slos`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SloRoute {
    List,
    Create,
    Get(String),
    Replace(String),
    Delete(String),
    Status(String),
    /// Burn rates over time.
    BurnRates(String),
}

const SLO_ITEM: [fn(String) -> SloRoute; 3] = [SloRoute::Get, SloRoute::Replace, SloRoute::Delete];

/// Path of the internal route that takes Analytics Engine points over.
pub const DATA_POINTS_PATH: &str = "/internal/analytics-engine/points";

/// Matches a request; unknown paths are 404, known paths with another method 405.
pub fn route(method: &str, path: &str) -> Result<Route, ApiError> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    let (route, allowed) = match segments.as_slice() {
        ["health"] => (matches!(method, "GET" | "HEAD").then_some(Route::Health), "GET"),
        ["v1", "traces"] => ((method == "POST").then_some(Route::IngestTraces), "POST"),
        ["v1", "metrics"] => ((method == "POST").then_some(Route::IngestMetrics), "POST"),
        ["v1", "logs"] => ((method == "POST").then_some(Route::IngestLogs), "POST"),
        ["api", "traces"] => ((method == "GET").then_some(Route::SearchTraces), "GET"),
        ["api", "logs"] => ((method == "GET").then_some(Route::SearchLogs), "GET"),
        ["api", "metrics"] => ((method == "GET").then_some(Route::ListMetrics), "GET"),
        ["api", "metrics", "query"] => ((method == "GET").then_some(Route::QueryMetric), "GET"),
        ["api", "query"] => ((method == "POST").then_some(Route::Sql), "POST"),
        ["api", "query", "schema"] => ((method == "GET").then_some(Route::SqlSchema), "GET"),
        ["api", "traces", id] => ((method == "GET").then(|| Route::GetTrace((*id).to_string())), "GET"),
        ["api", "services"] => ((method == "GET").then_some(Route::ListServices), "GET"),
        ["api", "services", id] => ((method == "GET").then(|| Route::GetService(decode_segment(id))), "GET"),
        ["api", "service-map"] => ((method == "GET").then_some(Route::ServiceMap), "GET"),
        ["api", "service-map", "cycles"] => ((method == "GET").then_some(Route::ServiceMapCycles), "GET"),
        ["jaeger", "api", rest @ ..] => {
            let jaeger = match rest {
                ["services"] => JaegerRoute::Services,
                ["services", service, "operations"] => JaegerRoute::ServiceOperations(decode_segment(service)),
                ["operations"] => JaegerRoute::Operations,
                ["traces"] => JaegerRoute::Traces,
                ["traces", id] => JaegerRoute::Trace((*id).to_string()),
                ["dependencies"] => JaegerRoute::Dependencies,
                _ => return Err(ApiError::not_found(format!("no route for {path}"))),
            };
            ((method == "GET").then_some(Route::Jaeger(jaeger)), "GET")
        }
        ["api", "alerts", rest @ ..] => {
            let (route, allowed) =
                alert_route(method, rest).ok_or_else(|| ApiError::not_found(format!("no route for {path}")))?;
            (route.map(Route::Alerts), allowed)
        }
        ["api", "slos", id @ ..] if id.len() <= 1 => {
            let (route, allowed) = resource(method, id.first().copied(), SloRoute::List, SloRoute::Create, SLO_ITEM);
            (route.map(Route::Slos), allowed)
        }
        ["api", "slos", id, "status"] => {
            ((method == "GET").then(|| Route::Slos(SloRoute::Status(decode_segment(id)))), "GET")
        }
        ["api", "slos", id, "burn-rates"] => {
            ((method == "GET").then(|| Route::Slos(SloRoute::BurnRates(decode_segment(id)))), "GET")
        }
        ["api", "keys"] => (
            match method {
                "GET" => Some(Route::Keys(KeyRoute::List)),
                "POST" => Some(Route::Keys(KeyRoute::Create)),
                _ => None,
            },
            "GET, POST",
        ),
        ["api", "keys", id] => {
            ((method == "DELETE").then(|| Route::Keys(KeyRoute::Revoke(decode_segment(id)))), "DELETE")
        }
        ["api", "keys", id, "rotate"] => {
            ((method == "POST").then(|| Route::Keys(KeyRoute::Rotate(decode_segment(id)))), "POST")
        }
        _ if path == DATA_POINTS_PATH => ((method == "POST").then_some(Route::WriteDataPoints), "POST"),
        _ => return Err(ApiError::not_found(format!("no route for {path}"))),
    };
    route.ok_or_else(|| ApiError::method_not_allowed(allowed, format!("{path} only accepts {allowed}")))
}

/// A path segment with its percent-escapes decoded (service names may hold spaces or slashes).
fn decode_segment(segment: &str) -> String {
    percent_decode(segment, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_paths_route_with_their_scope() {
        assert_eq!(route("GET", "/health").unwrap().scope(), Scope::Public);
        assert_eq!(route("POST", "/v1/traces").unwrap(), Route::IngestTraces);
        assert_eq!(route("POST", "/v1/traces/").unwrap(), Route::IngestTraces);
        assert_eq!(route("POST", "/v1/logs").unwrap().scope(), Scope::Ingest);
        assert_eq!(route("GET", "/api/logs").unwrap(), Route::SearchLogs);
        assert_eq!(route("POST", "/v1/metrics").unwrap(), Route::IngestMetrics);
        assert_eq!(route("GET", "/api/metrics").unwrap(), Route::ListMetrics);
        assert_eq!(route("GET", "/api/metrics/query").unwrap(), Route::QueryMetric);
        assert_eq!(route("POST", "/api/query").unwrap().scope(), Scope::Read);
        assert_eq!(route("GET", "/api/query/schema").unwrap(), Route::SqlSchema);
        assert_eq!(route("GET", "/api/query").unwrap_err().status, 405);
        assert_eq!(route("GET", "/api/traces/abc").unwrap(), Route::GetTrace("abc".into()));
        assert_eq!(route("GET", "/api/traces").unwrap().scope(), Scope::Read);
        assert_eq!(route("GET", "/api/service-map").unwrap(), Route::ServiceMap);
        assert_eq!(route("GET", "/api/services").unwrap(), Route::ListServices);
        assert_eq!(
            route("GET", "/jaeger/api/services/my%20svc/operations").unwrap(),
            Route::Jaeger(JaegerRoute::ServiceOperations("my svc".into()))
        );
        assert_eq!(route("GET", "/jaeger/api/traces/abc").unwrap(), Route::Jaeger(JaegerRoute::Trace("abc".into())));
        assert_eq!(route("GET", "/jaeger/api/nope").unwrap_err().status, 404);
        assert_eq!(route("GET", "/api/services/my%20svc%2Fv2").unwrap(), Route::GetService("my svc/v2".into()));
        assert_eq!(route("GET", "/api/service-map/cycles").unwrap().scope(), Scope::Read);
        assert_eq!(route("GET", "/api/keys").unwrap(), Route::Keys(KeyRoute::List));
        assert_eq!(route("POST", "/api/keys").unwrap().scope(), Scope::Admin);
        assert_eq!(route("DELETE", "/api/keys/k1").unwrap(), Route::Keys(KeyRoute::Revoke("k1".into())));
        assert_eq!(route("POST", "/api/keys/k1/rotate").unwrap(), Route::Keys(KeyRoute::Rotate("k1".into())));
        assert_eq!(route("GET", "/api/keys/k1").unwrap_err().status, 405);
        assert_eq!(route("GET", "/api/keys").unwrap().scope(), Scope::Admin);
        assert_eq!(route("POST", DATA_POINTS_PATH).unwrap().scope(), Scope::Internal);
    }

    #[test]
    fn alert_routes_map_methods_to_actions() {
        use AlertRoute as A;
        let alerts = |m, p| {
            route(m, p).map(|r| match r {
                Route::Alerts(a) => a,
                other => panic!("{other:?}"),
            })
        };
        assert_eq!(alerts("GET", "/api/alerts/configs").unwrap(), A::ListConfigs);
        assert_eq!(alerts("POST", "/api/alerts/configs").unwrap(), A::CreateConfig);
        assert_eq!(alerts("GET", "/api/alerts/configs/r1").unwrap(), A::GetConfig("r1".into()));
        assert_eq!(alerts("PUT", "/api/alerts/configs/r1").unwrap(), A::ReplaceConfig("r1".into()));
        assert_eq!(alerts("DELETE", "/api/alerts/configs/r1").unwrap(), A::DeleteConfig("r1".into()));
        assert_eq!(alerts("POST", "/api/alerts/channels").unwrap(), A::CreateChannel);
        assert_eq!(alerts("DELETE", "/api/alerts/channels/c1").unwrap(), A::DeleteChannel("c1".into()));
        assert_eq!(alerts("GET", "/api/alerts/incidents").unwrap(), A::ListIncidents);
        assert_eq!(alerts("GET", "/api/alerts/incidents/i1").unwrap(), A::GetIncident("i1".into()));
        assert_eq!(
            alerts("POST", "/api/alerts/incidents/i1/acknowledge").unwrap(),
            A::AcknowledgeIncident("i1".into())
        );
        assert_eq!(alerts("POST", "/api/alerts/evaluate").unwrap(), A::Evaluate);
        assert_eq!(route("POST", "/api/alerts/evaluate").unwrap().scope(), Scope::Admin);
        assert_eq!(route("POST", "/api/alerts/incidents/i1/acknowledge").unwrap().scope(), Scope::Admin);
        assert_eq!(route("PUT", "/api/alerts/configs/r1").unwrap().scope(), Scope::Admin);
        assert_eq!(route("GET", "/api/alerts/channels/c1").unwrap().scope(), Scope::Read);
        let wrong = route("PATCH", "/api/alerts/configs/r1").unwrap_err();
        assert_eq!((wrong.status, wrong.allow), (405, Some("GET, PUT, DELETE")));
        assert_eq!(route("DELETE", "/api/alerts/configs").unwrap_err().allow, Some("GET, POST"));
        assert_eq!(route("GET", "/api/alerts/evaluate").unwrap_err().allow, Some("POST"));
        assert_eq!(route("GET", "/api/alerts/nope").unwrap_err().status, 404);
    }

    #[test]
    fn slo_routes_map_methods_to_actions() {
        assert_eq!(route("GET", "/api/slos").unwrap(), Route::Slos(SloRoute::List));
        assert_eq!(route("POST", "/api/slos").unwrap(), Route::Slos(SloRoute::Create));
        assert_eq!(route("PUT", "/api/slos/s1").unwrap(), Route::Slos(SloRoute::Replace("s1".into())));
        assert_eq!(route("DELETE", "/api/slos/s1").unwrap(), Route::Slos(SloRoute::Delete("s1".into())));
        assert_eq!(route("GET", "/api/slos/s1/status").unwrap(), Route::Slos(SloRoute::Status("s1".into())));
        assert_eq!(route("GET", "/api/slos/s1/status").unwrap().scope(), Scope::Read);
        assert_eq!(route("GET", "/api/slos/s1/burn-rates").unwrap(), Route::Slos(SloRoute::BurnRates("s1".into())));
        assert_eq!(route("GET", "/api/slos/s1/burn-rates").unwrap().scope(), Scope::Read);
        assert_eq!(route("DELETE", "/api/slos/s1").unwrap().scope(), Scope::Admin);
        assert_eq!(route("POST", "/api/slos/s1/status").unwrap_err().status, 405);
    }

    #[test]
    fn every_path_of_the_openapi_document_is_routed() {
        let doc: serde_json::Value = serde_json::from_str(include_str!("../../public/openapi.json")).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        assert!(paths.len() >= 15);
        // `/openapi.json` itself is a static asset (wrangler.toml `[assets]`), served before the worker runs.
        for (path, methods) in paths.iter().filter(|(path, _)| *path != "/openapi.json") {
            let concrete = path.replace("{traceId}", "4bf92f3577b34da6a3ce929d0e0e4736").replace(['{', '}'], "");
            for method in methods.as_object().unwrap().keys() {
                let routed = route(&method.to_uppercase(), &concrete);
                assert!(routed.is_ok(), "{method} {path}: {routed:?}");
            }
        }
    }

    #[test]
    fn unknown_paths_are_404_and_wrong_methods_405() {
        assert_eq!(route("GET", "/nope").unwrap_err().status, 404);
        assert_eq!(route("GET", "/v1/traces").unwrap_err().status, 405);
        let wrong = route("DELETE", "/api/traces/x").unwrap_err();
        assert_eq!((wrong.status, wrong.allow), (405, Some("GET")));
    }
}
