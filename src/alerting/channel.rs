//! Notification channels: a generic JSON webhook (optionally signed with
//! HMAC-SHA256) or a Slack incoming webhook.

use serde::{Deserialize, Serialize};

use super::fields::{field, invalid, object, text, FieldError};
use crate::query::trace_view::rfc3339_ms;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    Webhook,
    Slack,
}

/// A channel as created or replaced through the API.
#[derive(Debug, Clone, PartialEq)]
pub struct Channel {
    pub name: String,
    pub kind: ChannelKind,
    pub url: String,
    /// HMAC-SHA256 key of the signature header (webhooks only).
    pub secret: Secret,
    pub enabled: bool,
}

/// The `secret` of a body. Responses never show the secret, so a replace
/// that leaves it out keeps the stored one; `null` or `""` removes it.
#[derive(Debug, Clone, PartialEq)]
pub enum Secret {
    Keep,
    Clear,
    Set(String),
}

impl Secret {
    /// The secret a new channel gets.
    pub fn for_new(&self) -> Option<&str> {
        match self {
            Secret::Set(s) => Some(s),
            Secret::Keep | Secret::Clear => None,
        }
    }
}

const FIELDS: &[&str] = &["name", "kind", "url", "secret", "enabled"];

/// `http(s)://host[...]` with a host and no whitespace.
fn valid_url(url: &str, https_only: bool) -> bool {
    let rest = url.strip_prefix("https://").or_else(|| if https_only { None } else { url.strip_prefix("http://") });
    rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or("");
        !host.is_empty() && !host.starts_with(':') && !url.chars().any(char::is_whitespace)
    })
}

impl Channel {
    pub fn parse(json: &[u8]) -> Result<Self, FieldError> {
        let body = object(json, FIELDS)?;
        let name = text(&body, "name", 200)?;
        let kind: ChannelKind =
            field(&body, "kind")?.ok_or_else(|| invalid("kind", "is required (webhook or slack)"))?;
        let url = text(&body, "url", 2048)?;
        if !valid_url(&url, kind == ChannelKind::Slack) {
            return Err(invalid(
                "url",
                match kind {
                    ChannelKind::Slack => "must be an https:// Slack incoming webhook URL",
                    ChannelKind::Webhook => "must be an http:// or https:// URL",
                },
            ));
        }
        // Used byte for byte (not trimmed): the receiver verifies with the same key.
        let secret = match body.get("secret") {
            None => Secret::Keep,
            Some(_) => match field::<String>(&body, "secret")? {
                None => Secret::Clear,
                Some(s) if s.is_empty() => Secret::Clear,
                Some(s) if s.len() > 256 => return Err(invalid("secret", "must be at most 256 bytes")),
                Some(s) => Secret::Set(s),
            },
        };
        if matches!(secret, Secret::Set(_)) && kind == ChannelKind::Slack {
            return Err(invalid("secret", "Slack incoming webhooks are not signed; leave secret out"));
        }
        Ok(Channel { name, kind, url, secret, enabled: field(&body, "enabled")?.unwrap_or(true) })
    }
}

/// A row of `notification_channels`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StoredChannel {
    pub id: String,
    pub name: String,
    pub kind: ChannelKind,
    pub url: String,
    pub secret: Option<String>,
    /// SQLite boolean.
    pub enabled: f64,
    pub created_ms: f64,
    pub updated_ms: f64,
}

/// A Slack incoming-webhook URL is itself a credential: shown as its host only.
fn shown_url(kind: ChannelKind, url: String) -> String {
    match kind {
        ChannelKind::Webhook => url,
        ChannelKind::Slack => {
            let host_end = url.find("://").map_or(0, |i| i + 3);
            let path = url[host_end..].find('/').map_or(url.len(), |i| host_end + i);
            format!("{}/…", &url[..path])
        }
    }
}

/// A channel as the API shows it: the secret (and a Slack URL's path) never leave the store.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelView {
    pub id: String,
    pub name: String,
    pub kind: ChannelKind,
    pub url: String,
    pub has_secret: bool,
    pub enabled: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl From<StoredChannel> for ChannelView {
    fn from(c: StoredChannel) -> Self {
        ChannelView {
            id: c.id,
            name: c.name,
            kind: c.kind,
            url: shown_url(c.kind, c.url),
            has_secret: c.secret.is_some(),
            enabled: c.enabled != 0.0,
            created_at: rfc3339_ms(c.created_ms),
            updated_at: rfc3339_ms(c.updated_ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_and_slack_channels_parse_with_defaults() {
        let hook = Channel::parse(br#"{"name":"ops","kind":"webhook","url":"http://127.0.0.1:9/hook","secret":"s3"}"#)
            .unwrap();
        assert_eq!(
            (hook.kind, hook.secret.clone(), hook.enabled),
            (ChannelKind::Webhook, Secret::Set("s3".into()), true)
        );
        let spaced = Channel::parse(br#"{"name":"ops","kind":"webhook","url":"http://h/","secret":" k "}"#).unwrap();
        assert_eq!(spaced.secret, Secret::Set(" k ".into()), "secrets are used as given");
        let keep = Channel::parse(br#"{"name":"ops","kind":"webhook","url":"http://h/"}"#).unwrap();
        assert_eq!((keep.secret.clone(), keep.secret.for_new()), (Secret::Keep, None));
        let clear = Channel::parse(br#"{"name":"ops","kind":"webhook","url":"http://h/","secret":null}"#).unwrap();
        assert_eq!(clear.secret, Secret::Clear);
        let slack = Channel::parse(
            br#"{"name":"s","kind":"slack","url":"https://hooks.slack.com/services/T/B/X","enabled":false}"#,
        )
        .unwrap();
        assert_eq!((slack.kind, slack.enabled), (ChannelKind::Slack, false));
    }

    #[test]
    fn validation_errors_name_the_field() {
        for (body, field) in [
            (&br#"{"kind":"webhook","url":"http://h/"}"#[..], "name"),
            (br#"{"name":"n","url":"http://h/"}"#, "kind"),
            (br#"{"name":"n","kind":"email","url":"http://h/"}"#, "kind"),
            (br#"{"name":"n","kind":"webhook"}"#, "url"),
            (br#"{"name":"n","kind":"webhook","url":"ftp://h/"}"#, "url"),
            (br#"{"name":"n","kind":"webhook","url":"http:///path"}"#, "url"),
            (br#"{"name":"n","kind":"slack","url":"http://hooks.slack.com/x"}"#, "url"),
            (br#"{"name":"n","kind":"slack","url":"https://hooks.slack.com/x","secret":"s"}"#, "secret"),
            (br#"{"name":"n","kind":"webhook","url":"http://h/","extra":1}"#, "body"),
        ] {
            assert_eq!(Channel::parse(body).unwrap_err().field, field, "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn the_view_hides_the_secret() {
        let stored = StoredChannel {
            id: "c1".into(),
            name: "ops".into(),
            kind: ChannelKind::Webhook,
            url: "http://h/".into(),
            secret: Some("s3".into()),
            enabled: 1.0,
            created_ms: 0.0,
            updated_ms: 0.0,
        };
        let json = serde_json::to_string(&ChannelView::from(stored.clone())).unwrap();
        assert!(json.contains(r#""hasSecret":true"#) && !json.contains("s3"), "{json}");
        let slack = StoredChannel {
            kind: ChannelKind::Slack,
            url: "https://hooks.slack.com/services/T0/B0/XYZ".into(),
            secret: None,
            ..stored
        };
        assert_eq!(ChannelView::from(slack).url, "https://hooks.slack.com/…");
    }
}
