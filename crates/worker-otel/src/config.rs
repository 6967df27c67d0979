//! Configuration from the Worker's vars and secrets, by the OpenTelemetry
//! SDK environment variable names a user already knows:
//! `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER`
//! and `OTEL_TRACES_SAMPLER_ARG`, `OTEL_EXPORTER_OTLP_ENDPOINT` and
//! `OTEL_EXPORTER_OTLP_HEADERS`. A service binding (named `COLLECTOR` unless
//! set otherwise) is preferred to the endpoint URL.

use std::borrow::Cow;

use crate::model::KeyValue;
use crate::sampling::Sampler;

/// The binding looked up for the collector unless another name is set.
pub const DEFAULT_BINDING: &str = "COLLECTOR";

/// The service name when `OTEL_SERVICE_NAME` is not set (the SDK default).
const UNKNOWN_SERVICE: &str = "unknown_service:worker";

/// Everything the crate reads from the Worker's configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The resource every span and log carries (`service.name` first).
    pub resource: Vec<KeyValue>,
    pub sampler: Sampler,
    /// The binding tried first; then `endpoint`.
    pub binding: String,
    pub endpoint: Option<String>,
    /// Headers of every export request (e.g. the collector's ingest key).
    pub headers: Vec<(String, String)>,
}

impl Config {
    /// Reads the configuration through `lookup` (a var or secret by name).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let non_empty = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let extra = non_empty("OTEL_RESOURCE_ATTRIBUTES").map(|v| parse_pairs(&v)).unwrap_or_default();
        let service_name = non_empty("OTEL_SERVICE_NAME")
            .or_else(|| extra.iter().find(|(k, _)| k == "service.name").map(|(_, v)| v.clone()))
            .unwrap_or_else(|| UNKNOWN_SERVICE.to_owned());
        let mut resource = vec![KeyValue::new("service.name", service_name)];
        resource.extend(extra.into_iter().filter(|(k, _)| k != "service.name").map(|(k, v)| KeyValue::new(k, v)));
        for (key, value) in [
            ("telemetry.sdk.name", "worker-otel"),
            ("telemetry.sdk.language", "rust"),
            ("telemetry.sdk.version", env!("CARGO_PKG_VERSION")),
            ("cloud.provider", "cloudflare"),
            ("cloud.platform", "cloudflare.workers"),
        ] {
            if !resource.iter().any(|kv| kv.key == key) {
                resource.push(KeyValue::new(key, value));
            }
        }
        Self {
            resource,
            sampler: sampler_from(non_empty("OTEL_TRACES_SAMPLER").as_deref(), non_empty("OTEL_TRACES_SAMPLER_ARG")),
            binding: DEFAULT_BINDING.to_owned(),
            endpoint: non_empty("OTEL_EXPORTER_OTLP_ENDPOINT").map(|url| url.trim_end_matches('/').to_owned()),
            headers: non_empty("OTEL_EXPORTER_OTLP_HEADERS").map(|v| parse_pairs(&v)).unwrap_or_default(),
        }
    }

    /// Sets (or replaces) a resource attribute, e.g. `service.version`.
    pub fn with_resource(mut self, key: impl Into<Cow<'static, str>>, value: impl Into<String>) -> Self {
        let attribute = KeyValue::new(key, value.into());
        match self.resource.iter_mut().find(|kv| kv.key == attribute.key) {
            Some(existing) => *existing = attribute,
            None => self.resource.push(attribute),
        }
        self
    }

    /// Looks the collector up under another binding name.
    pub fn with_binding(mut self, name: impl Into<String>) -> Self {
        self.binding = name.into();
        self
    }

    pub fn with_sampler(mut self, sampler: Sampler) -> Self {
        self.sampler = sampler;
        self
    }

    pub fn service_name(&self) -> &str {
        match self.resource.first().map(|kv| &kv.value) {
            Some(crate::model::Value::String(name)) => name,
            _ => UNKNOWN_SERVICE,
        }
    }
}

/// `OTEL_TRACES_SAMPLER` / `_ARG`: every sampler is parent-based here; the
/// ratio is 1 for `always_on`, 0 for `always_off`, the argument otherwise.
fn sampler_from(name: Option<&str>, argument: Option<String>) -> Sampler {
    let ratio = argument.and_then(|a| a.parse::<f64>().ok());
    match name.map(|n| n.trim_start_matches("parentbased_")) {
        Some("always_off") => Sampler::new(0.0),
        Some("always_on") => Sampler::new(1.0),
        _ => Sampler::new(ratio.unwrap_or(1.0)),
    }
}

/// `key=value,key=value` with percent-encoded values (the W3C Baggage
/// octet rules the SDK variables use); malformed members are skipped.
fn parse_pairs(list: &str) -> Vec<(String, String)> {
    list.split(',')
        .filter_map(|member| {
            let (key, value) = member.split_once('=')?;
            let key = key.trim();
            (!key.is_empty()).then(|| (key.to_owned(), percent_decode(value.trim())))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let escaped = (b == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(decoded) => {
                out.push(decoded);
                i += 3;
            }
            None => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Value;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Config {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    fn attribute<'c>(config: &'c Config, key: &str) -> Option<&'c Value> {
        config.resource.iter().find(|kv| kv.key == key).map(|kv| &kv.value)
    }

    #[test]
    fn the_sdk_variables_configure_resource_sampler_and_export() {
        let config = config(&[
            ("OTEL_SERVICE_NAME", "orders"),
            ("OTEL_RESOURCE_ATTRIBUTES", "service.version=1.4.0, deployment.environment.name=prod%20eu,bad"),
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector.example.com/"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20oc_123"),
        ]);
        assert_eq!(config.service_name(), "orders");
        assert_eq!(attribute(&config, "service.version"), Some(&Value::from("1.4.0")));
        assert_eq!(attribute(&config, "deployment.environment.name"), Some(&Value::from("prod eu")));
        assert_eq!(attribute(&config, "telemetry.sdk.language"), Some(&Value::from("rust")));
        assert_eq!(config.sampler.ratio(), 0.25);
        assert_eq!(config.endpoint.as_deref(), Some("https://collector.example.com"));
        assert_eq!(config.headers, vec![("authorization".to_owned(), "Bearer oc_123".to_owned())]);
        assert_eq!(config.binding, "COLLECTOR");
    }

    #[test]
    fn defaults_follow_the_sdk() {
        let config = config(&[]);
        assert_eq!(config.service_name(), "unknown_service:worker");
        assert_eq!(config.sampler.ratio(), 1.0);
        assert_eq!(config.endpoint, None);
        assert!(config.headers.is_empty());
    }

    #[test]
    fn the_service_name_may_come_from_the_resource_attributes() {
        let config = config(&[("OTEL_RESOURCE_ATTRIBUTES", "service.name=billing")]);
        assert_eq!(config.service_name(), "billing");
        assert_eq!(config.resource.iter().filter(|kv| kv.key == "service.name").count(), 1);
    }

    #[test]
    fn named_samplers_override_the_argument() {
        assert_eq!(config(&[("OTEL_TRACES_SAMPLER", "always_off")]).sampler.ratio(), 0.0);
        assert_eq!(config(&[("OTEL_TRACES_SAMPLER", "parentbased_always_on")]).sampler.ratio(), 1.0);
        assert_eq!(config(&[("OTEL_TRACES_SAMPLER_ARG", "nonsense")]).sampler.ratio(), 1.0);
    }

    #[test]
    fn code_may_set_the_version_and_binding() {
        let config = config(&[("OTEL_SERVICE_NAME", "frontend")])
            .with_resource("service.version", "2.0.0")
            .with_resource("service.version", "2.0.1")
            .with_binding("TELEMETRY");
        assert_eq!(attribute(&config, "service.version"), Some(&Value::from("2.0.1")));
        assert_eq!(config.binding, "TELEMETRY");
    }
}
