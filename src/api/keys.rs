//! API keys: their format (`oc_<id>_<secret>`), scopes, what is stored of
//! them (the SHA-256 of the secret, never the secret), the bodies that create
//! and rotate them, and the check of a presented key against its stored row.
//! The id is public (listed, used for revocation and rate limits); only the
//! secret authenticates, compared in constant time.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::params::time_ms;
use super::{ApiError, Scope};
use crate::alerting::fields::{field, invalid, object, optional_text, text, FieldError};
use crate::domain::ids::hex;
use crate::query::trace_view::rfc3339_ms;

/// Random bytes a new key needs: the id's, then the secret's.
pub const KEY_RANDOM_BYTES: usize = ID_BYTES + SECRET_BYTES;
const ID_BYTES: usize = 6;
const SECRET_BYTES: usize = 32;
const PREFIX: &str = "oc_";
/// Longest key name, bytes.
const MAX_NAME_BYTES: usize = 200;
/// How long a rotated key's previous secret keeps working unless the body says otherwise (1 h).
const DEFAULT_GRACE_SECONDS: f64 = 3600.0;
/// Longest grace period of a rotation (7 days).
const MAX_GRACE_SECONDS: f64 = 7.0 * 86_400.0;

/// What a key may do. `admin` includes the other two (as `API_TOKEN` does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyScope {
    /// The OTLP routes (`/v1/*`).
    Ingest,
    /// Every `GET` of the API and the Jaeger API, and SQL queries (`POST /api/query`).
    Read,
    /// Everything: reads, ingest, alert/SLO changes, incident acknowledgement, keys.
    Admin,
}

impl KeyScope {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyScope::Ingest => "ingest",
            KeyScope::Read => "read",
            KeyScope::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [KeyScope::Ingest, KeyScope::Read, KeyScope::Admin].into_iter().find(|s| s.as_str() == text)
    }

    /// Whether a route of `scope` is open to this key.
    pub fn grants(self, scope: Scope) -> bool {
        match scope {
            Scope::Public => true,
            Scope::Internal => false,
            Scope::Ingest => matches!(self, KeyScope::Ingest | KeyScope::Admin),
            Scope::Read => matches!(self, KeyScope::Read | KeyScope::Admin),
            Scope::Admin => self == KeyScope::Admin,
        }
    }
}

/// A presented `oc_<id>_<secret>`, split; `None` if it does not have the form.
pub fn parse_token(token: &str) -> Option<(&str, &str)> {
    let (id, secret) = token.strip_prefix(PREFIX)?.split_once('_')?;
    let hex_of = |s: &str, bytes: usize| s.len() == 2 * bytes && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hex_of(id, ID_BYTES) && hex_of(secret, SECRET_BYTES)).then_some((id, secret))
}

/// What is stored of a secret: its SHA-256, hex.
pub fn hash_secret(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// A new key from `KEY_RANDOM_BYTES` random bytes: its id, its full text
/// (shown once) and the hash to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewKey {
    pub id: String,
    pub token: String,
    pub secret_hash: String,
}

impl NewKey {
    pub fn from_random(random: &[u8; KEY_RANDOM_BYTES]) -> Self {
        let (id, secret) = random.split_at(ID_BYTES);
        Self::with_id(hex(id), secret)
    }

    /// A new secret for an existing key (rotation); the first bytes of `random` are unused.
    pub fn rotated(id: &str, random: &[u8; KEY_RANDOM_BYTES]) -> Self {
        Self::with_id(id.to_string(), random.get(ID_BYTES..).unwrap_or_default())
    }

    fn with_id(id: String, secret: &[u8]) -> Self {
        let secret = hex(secret);
        Self { token: format!("{PREFIX}{id}_{secret}"), secret_hash: hash_secret(&secret), id }
    }
}

/// A key's row (`api_keys`), times in unix ms.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredKey {
    pub id: String,
    pub name: String,
    pub scope: String,
    pub secret_hash: String,
    /// The secret before the last rotation, valid until `previous_valid_until_ms`.
    pub previous_hash: Option<String>,
    pub previous_valid_until_ms: Option<f64>,
    pub created_ms: f64,
    pub expires_ms: Option<f64>,
    pub revoked_ms: Option<f64>,
    pub rotated_ms: Option<f64>,
}

impl StoredKey {
    /// From a row of `api_keys` as column → value (read field by field: a derived
    /// `Deserialize` would add its own JSON reader to the wasm).
    pub fn from_row(row: &Map<String, Value>) -> Result<Self, FieldError> {
        let required = |name: &'static str| field::<String>(row, name)?.ok_or_else(|| invalid(name, "is missing"));
        Ok(Self {
            id: required("id")?,
            name: required("name")?,
            scope: required("scope")?,
            secret_hash: required("secret_hash")?,
            previous_hash: field(row, "previous_hash")?,
            previous_valid_until_ms: field(row, "previous_valid_until_ms")?,
            created_ms: field(row, "created_ms")?.ok_or_else(|| invalid("created_ms", "is missing"))?,
            expires_ms: field(row, "expires_ms")?,
            revoked_ms: field(row, "revoked_ms")?,
            rotated_ms: field(row, "rotated_ms")?,
        })
    }

    /// The key's scope if `secret` is its secret (or its previous one within
    /// the rotation's grace period) and it is neither revoked nor expired.
    /// Every refusal is the same 401: nothing tells which keys exist.
    pub fn check(&self, secret: &str, now_ms: f64) -> Result<KeyScope, ApiError> {
        let presented = hash_secret(secret);
        let current = constant_time_eq(presented.as_bytes(), self.secret_hash.as_bytes());
        let previous =
            self.previous_hash.as_deref().is_some_and(|h| constant_time_eq(presented.as_bytes(), h.as_bytes()))
                && self.previous_valid_until_ms.is_some_and(|until| now_ms < until);
        let live = self.revoked_ms.is_none() && self.expires_ms.is_none_or(|at| now_ms < at);
        match KeyScope::parse(&self.scope) {
            Some(scope) if (current || previous) && live => Ok(scope),
            _ => Err(invalid_token()),
        }
    }

    /// `active`, `expired` or `revoked`.
    pub fn status(&self, now_ms: f64) -> &'static str {
        match (self.revoked_ms, self.expires_ms) {
            (Some(_), _) => "revoked",
            (None, Some(at)) if at <= now_ms => "expired",
            _ => "active",
        }
    }

    pub fn view(&self, now_ms: f64) -> KeyView {
        KeyView {
            id: self.id.clone(),
            prefix: format!("{PREFIX}{}", self.id),
            name: self.name.clone(),
            scope: self.scope.clone(),
            status: self.status(now_ms),
            created_at: rfc3339_ms(self.created_ms),
            expires_at: self.expires_ms.map(rfc3339_ms),
            revoked_at: self.revoked_ms.map(rfc3339_ms),
            rotated_at: self.rotated_ms.map(rfc3339_ms),
            previous_valid_until: self.previous_valid_until_ms.filter(|until| now_ms < *until).map(rfc3339_ms),
            key: None,
        }
    }
}

/// A key as the API shows it: never its secret, nor its hash.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyView {
    pub id: String,
    /// What the key starts with, to recognise it.
    pub prefix: String,
    pub name: String,
    pub scope: String,
    pub status: &'static str,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
    pub rotated_at: Option<String>,
    /// Until when the secret before the last rotation still works.
    pub previous_valid_until: Option<String>,
    /// The full key: in the answer to a creation or rotation only, the one time it is shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// `POST /api/keys`: `{"name", "scope", "expiresAt"?}` (RFC 3339 or unix ms, in the future).
#[derive(Debug, Clone, PartialEq)]
pub struct KeyRequest {
    pub name: String,
    pub scope: KeyScope,
    pub expires_ms: Option<f64>,
}

impl KeyRequest {
    pub fn parse(body: &[u8], now_ms: f64) -> Result<Self, ApiError> {
        let body = object(body, &["name", "scope", "expiresAt"])?;
        let name = text(&body, "name", MAX_NAME_BYTES)?;
        let scope = KeyScope::parse(&text(&body, "scope", 16)?)
            .ok_or_else(|| invalid("scope", "must be one of ingest, read, admin"))?;
        let expires_ms = match optional_text(&body, "expiresAt", 64)? {
            Some(at) => Some(time_ms("expiresAt", &at)?)
                .filter(|ms| *ms > now_ms)
                .ok_or_else(|| invalid("expiresAt", "must be in the future"))
                .map(Some)?,
            None => None,
        };
        Ok(Self { name, scope, expires_ms })
    }
}

/// `POST /api/keys/:id/rotate`: `{"graceSeconds"?}` (empty body: the default hour).
pub fn parse_grace_seconds(body: &[u8]) -> Result<f64, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(DEFAULT_GRACE_SECONDS);
    }
    match field::<f64>(&object(body, &["graceSeconds"])?, "graceSeconds")?.unwrap_or(DEFAULT_GRACE_SECONDS) {
        s if (0.0..=MAX_GRACE_SECONDS).contains(&s) => Ok(s),
        _ => Err(invalid("graceSeconds", format!("must be 0 to {MAX_GRACE_SECONDS}")).into()),
    }
}

pub fn invalid_token() -> ApiError {
    ApiError::unauthorized("invalid bearer token")
}

/// Compares without an early exit on the first differing byte.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: f64 = 1_800_000_000_000.0;

    fn random(seed: u8) -> [u8; KEY_RANDOM_BYTES] {
        std::array::from_fn(|i| seed.wrapping_add(i as u8).wrapping_mul(31))
    }

    fn stored(key: &NewKey, scope: &str) -> StoredKey {
        StoredKey {
            id: key.id.clone(),
            name: "ci".into(),
            scope: scope.into(),
            secret_hash: key.secret_hash.clone(),
            previous_hash: None,
            previous_valid_until_ms: None,
            created_ms: NOW,
            expires_ms: None,
            revoked_ms: None,
            rotated_ms: None,
        }
    }

    #[test]
    fn a_new_key_parses_back_and_only_its_hash_is_kept() {
        let key = NewKey::from_random(&random(1));
        let (id, secret) = parse_token(&key.token).unwrap();
        assert_eq!(id, key.id);
        assert_eq!((id.len(), secret.len()), (12, 64));
        assert_eq!(key.secret_hash, hash_secret(secret));
        assert!(!key.secret_hash.contains(secret));
        assert_ne!(NewKey::from_random(&random(2)).token, key.token);
        for bad in ["", "oc_", "dev-api-token", &key.token[..key.token.len() - 1], &key.token.replace("oc_", "ok_")] {
            assert_eq!(parse_token(bad), None, "{bad}");
        }
        assert_eq!(parse_token(&format!("{}g", &key.token[..key.token.len() - 1])), None);
    }

    #[test]
    fn scopes_grant_their_routes_and_admin_all_of_them() {
        use Scope::*;
        let grants = |k: KeyScope| [Ingest, Read, Admin, Internal].map(|s| k.grants(s));
        assert_eq!(grants(KeyScope::Ingest), [true, false, false, false]);
        assert_eq!(grants(KeyScope::Read), [false, true, false, false]);
        assert_eq!(grants(KeyScope::Admin), [true, true, true, false]);
        assert!(KeyScope::Read.grants(Public));
    }

    #[test]
    fn a_key_is_refused_when_wrong_revoked_or_expired_all_alike() {
        let key = NewKey::from_random(&random(3));
        let (_, secret) = parse_token(&key.token).unwrap();
        let row = stored(&key, "read");
        assert_eq!(row.check(secret, NOW), Ok(KeyScope::Read));
        let other = NewKey::from_random(&random(4));
        let wrong = row.check(parse_token(&other.token).unwrap().1, NOW).unwrap_err();
        let revoked = StoredKey { revoked_ms: Some(NOW), ..row.clone() }.check(secret, NOW).unwrap_err();
        let expired = StoredKey { expires_ms: Some(NOW), ..row.clone() }.check(secret, NOW).unwrap_err();
        assert_eq!(wrong, revoked);
        assert_eq!(wrong, expired);
        assert_eq!((wrong.status, wrong.message.as_str()), (401, "invalid bearer token"));
        assert_eq!(StoredKey { expires_ms: Some(NOW + 1.0), ..row.clone() }.check(secret, NOW), Ok(KeyScope::Read));
        assert!(StoredKey { scope: "root".into(), ..row }.check(secret, NOW).is_err());
    }

    #[test]
    fn after_a_rotation_both_secrets_work_until_the_grace_period_ends() {
        let old = NewKey::from_random(&random(5));
        let new = NewKey::rotated(&old.id, &random(6));
        assert_eq!(new.id, old.id);
        let row = StoredKey {
            secret_hash: new.secret_hash.clone(),
            previous_hash: Some(old.secret_hash.clone()),
            previous_valid_until_ms: Some(NOW + 1000.0),
            ..stored(&old, "ingest")
        };
        let secret = |k: &NewKey| parse_token(&k.token).unwrap().1.to_string();
        assert_eq!(row.check(&secret(&old), NOW), Ok(KeyScope::Ingest));
        assert_eq!(row.check(&secret(&new), NOW), Ok(KeyScope::Ingest));
        assert!(row.check(&secret(&old), NOW + 1000.0).is_err());
        assert_eq!(row.check(&secret(&new), NOW + 1000.0), Ok(KeyScope::Ingest));
        assert_eq!(row.view(NOW).previous_valid_until.as_deref(), Some("2027-01-15T08:00:01.000Z"));
        assert_eq!(row.view(NOW + 1000.0).previous_valid_until, None);
    }

    #[test]
    fn the_listing_shows_the_prefix_and_status_never_the_hash() {
        let key = NewKey::from_random(&random(7));
        let row = StoredKey { expires_ms: Some(NOW - 1.0), ..stored(&key, "admin") };
        let listed = serde_json::to_string(&row.view(NOW)).unwrap();
        assert!(listed.contains(&format!("\"prefix\":\"oc_{}\"", key.id)));
        assert!(listed.contains("\"status\":\"expired\""));
        assert!(!listed.contains(&key.secret_hash));
        assert_eq!(StoredKey { revoked_ms: Some(NOW), ..row }.status(NOW), "revoked");
    }

    #[test]
    fn creation_and_rotation_bodies_are_checked() {
        let parsed = KeyRequest::parse(br#"{"name":" ci ","scope":"ingest","expiresAt":"2030-01-01T00:00:00Z"}"#, NOW);
        assert_eq!(
            parsed,
            Ok(KeyRequest { name: "ci".into(), scope: KeyScope::Ingest, expires_ms: Some(1_893_456_000_000.0) })
        );
        for (body, message) in [
            (r#"{"name":"","scope":"read"}"#, "name: is required"),
            (r#"{"name":"x","scope":"root"}"#, "scope: must be one of ingest, read, admin"),
            (r#"{"name":"x","scope":"read","expiresAt":"2020-01-01T00:00:00Z"}"#, "expiresAt: must be in the future"),
        ] {
            assert_eq!(KeyRequest::parse(body.as_bytes(), NOW).unwrap_err().message, message);
        }
        for body in [
            r#"{"name":"x","scope":"read","expiresAt":"tomorrow"}"#,
            r#"{"name":"x","scope":"read","admin":true}"#,
            "[",
        ] {
            assert_eq!(KeyRequest::parse(body.as_bytes(), NOW).unwrap_err().status, 400, "{body}");
        }
        assert_eq!(parse_grace_seconds(b""), Ok(3600.0));
        assert_eq!(parse_grace_seconds(br#"{"graceSeconds":0}"#), Ok(0.0));
        assert_eq!(parse_grace_seconds(br#"{"graceSeconds":-1}"#).unwrap_err().status, 400);
        assert_eq!(parse_grace_seconds(br#"{"graceSeconds":604801}"#).unwrap_err().status, 400);
        assert_eq!(parse_grace_seconds(br#"{"grace":1}"#).unwrap_err().status, 400);
    }
}
