//! HTTP span attributes from a request's URL text, by the HTTP semantic
//! conventions (`url.*`, `server.*`), without a URL parser: the runtime's
//! URLs are already normalised, and the `url` crate would add its IDNA
//! tables to every instrumented Worker.

use crate::model::KeyValue;

/// The parts of an absolute URL the attributes need.
#[derive(Debug, Clone, PartialEq, Eq)]
struct UrlParts<'u> {
    scheme: &'u str,
    host: &'u str,
    port: Option<u16>,
    /// From the first `/` to before `?` or `#` (`/` when empty).
    path: &'u str,
    /// The URL without `user:password@`.
    redacted: String,
}

fn parse(url: &str) -> Option<UrlParts<'_>> {
    let (scheme, rest) = url.split_once("://")?;
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let (credentials, host_port) = match authority.rsplit_once('@') {
        Some((credentials, host_port)) => (Some(credentials), host_port),
        None => (None, authority),
    };
    let (host, port) = match host_port.strip_prefix('[') {
        Some(v6) => {
            let (host, after) = v6.split_once(']')?;
            (host, after.strip_prefix(':'))
        }
        None => match host_port.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        },
    };
    let port = match port {
        Some(port) => Some(port.parse().ok()?),
        None => match scheme {
            "https" | "wss" => Some(443),
            "http" | "ws" => Some(80),
            _ => None,
        },
    };
    let path_end = tail.find(['?', '#']).unwrap_or(tail.len());
    let path = tail.get(..path_end).filter(|p| !p.is_empty()).unwrap_or("/");
    let redacted = match credentials {
        Some(credentials) => url.replacen(&format!("{credentials}@"), "", 1),
        None => url.to_owned(),
    };
    Some(UrlParts { scheme, host, port, path, redacted })
}

/// A SERVER span's request attributes.
pub fn server_attributes(method: &str, url: &str, user_agent: Option<String>) -> Vec<KeyValue> {
    let mut attributes = vec![KeyValue::new("http.request.method", method.to_owned())];
    if let Some(parts) = parse(url) {
        attributes.push(KeyValue::new("url.path", parts.path.to_owned()));
        attributes.push(KeyValue::new("url.scheme", parts.scheme.to_owned()));
        attributes.push(KeyValue::new("server.address", parts.host.to_owned()));
    }
    if let Some(agent) = user_agent {
        attributes.push(KeyValue::new("user_agent.original", agent));
    }
    attributes
}

/// A CLIENT span's request attributes (`url.full` without credentials).
pub fn client_attributes(method: &str, url: &str) -> Vec<KeyValue> {
    let mut attributes = vec![KeyValue::new("http.request.method", method.to_owned())];
    if let Some(parts) = parse(url) {
        attributes.push(KeyValue::new("server.address", parts.host.to_owned()));
        if let Some(port) = parts.port {
            attributes.push(KeyValue::new("server.port", port));
        }
        attributes.push(KeyValue::new("url.full", parts.redacted));
    }
    attributes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(attributes: &[KeyValue], key: &str) -> Option<crate::Value> {
        attributes.iter().find(|kv| kv.key == key).map(|kv| kv.value.clone())
    }

    #[test]
    fn urls_split_into_their_parts() {
        let parts = parse("https://shop.example.com/orders/1?x=1#top").unwrap();
        assert_eq!(
            (parts.scheme, parts.host, parts.port, parts.path),
            ("https", "shop.example.com", Some(443), "/orders/1")
        );
        let parts = parse("http://user:secret@[::1]:8787?q").unwrap();
        assert_eq!((parts.host, parts.port, parts.path), ("::1", Some(8787), "/"));
        assert_eq!(parts.redacted, "http://[::1]:8787?q");
        assert_eq!(parse("http://localhost:99999/").map(|p| p.port), None);
        assert_eq!(parse("/relative"), None);
        assert_eq!(parse("custom://host/a").map(|p| p.port), Some(None));
    }

    #[test]
    fn server_and_client_attributes_follow_the_conventions() {
        let server = server_attributes("GET", "https://shop.example.com/orders/1?x=1", Some("curl/8".into()));
        assert_eq!(value(&server, "http.request.method"), Some("GET".into()));
        assert_eq!(value(&server, "url.path"), Some("/orders/1".into()));
        assert_eq!(value(&server, "url.scheme"), Some("https".into()));
        assert_eq!(value(&server, "server.address"), Some("shop.example.com".into()));
        assert_eq!(value(&server, "user_agent.original"), Some("curl/8".into()));
        let client = client_attributes("POST", "https://bot:token@api.example.com/v1/charges");
        assert_eq!(value(&client, "server.address"), Some("api.example.com".into()));
        assert_eq!(value(&client, "server.port"), Some(443u16.into()));
        assert_eq!(value(&client, "url.full"), Some("https://api.example.com/v1/charges".into()));
    }
}
