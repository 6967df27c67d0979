//! Bearer-token auth. Clients present an API key (`oc_<id>_<secret>`, see
//! `keys`) or one of the two bootstrap secrets: `INGEST_TOKEN` (scope
//! `ingest`) and `API_TOKEN` (scope `admin`). The internal token is the
//! collector's own, for its calls to itself; a client token presented on the
//! internal route is refused with 403. 401 for a missing or unknown token,
//! 403 for a known one whose scope does not cover the route.

use super::keys::{constant_time_eq, invalid_token, parse_token, KeyScope};
use super::{ApiError, Scope};

/// The configured secrets (`INGEST_TOKEN`, `API_TOKEN`, `INTERNAL_TOKEN`).
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    pub ingest: Option<String>,
    pub api: Option<String>,
    /// Known to the worker only (`npm run deploy` generates it): its hand-overs to itself.
    pub internal: Option<String>,
}

/// Who may go on, as far as the header alone tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorized<'a> {
    /// Allowed. `caller` names whom rate limits count (none on public and internal routes).
    Granted { caller: Option<&'static str> },
    /// An API key: allowed once its stored row accepts `secret` and its scope covers the route.
    Key { id: &'a str, secret: &'a str },
}

/// Checks the `Authorization` header for a route of `scope`.
pub fn authorize<'a>(
    scope: Scope,
    authorization: Option<&'a str>,
    tokens: &Tokens,
) -> Result<Authorized<'a>, ApiError> {
    if scope == Scope::Public {
        return Ok(Authorized::Granted { caller: None });
    }
    let presented = authorization
        .and_then(|h| h.trim().strip_prefix("Bearer ").or_else(|| h.trim().strip_prefix("bearer ")))
        .map(str::trim);
    let presents = |token: &Option<String>| {
        token.as_deref().zip(presented).is_some_and(|(t, p)| constant_time_eq(t.as_bytes(), p.as_bytes()))
    };
    // The admin token first: a deployment may set both secrets to one value.
    let bootstrap =
        [(&tokens.api, KeyScope::Admin, "bootstrap-admin"), (&tokens.ingest, KeyScope::Ingest, "bootstrap-ingest")]
            .into_iter()
            .find(|(token, _, _)| presents(token));
    if scope == Scope::Internal {
        return match () {
            _ if tokens.internal.is_none() => Err(ApiError::unauthorized("no INTERNAL_TOKEN secret is configured")),
            _ if presents(&tokens.internal) => Ok(Authorized::Granted { caller: None }),
            _ if bootstrap.is_some() || presented.and_then(parse_token).is_some() => {
                Err(ApiError::forbidden("this route is the collector's own: client tokens are not accepted"))
            }
            _ => Err(presented.map_or_else(missing, |_| invalid_token())),
        };
    }
    let presented = presented.ok_or_else(missing)?;
    if let Some((_, key_scope, caller)) = bootstrap {
        require(key_scope, scope)?;
        return Ok(Authorized::Granted { caller: Some(caller) });
    }
    if let Some((id, secret)) = parse_token(presented) {
        return Ok(Authorized::Key { id, secret });
    }
    Err(invalid_token())
}

/// 403 unless a key of `key_scope` may use a route of `scope`.
pub fn require(key_scope: KeyScope, scope: Scope) -> Result<(), ApiError> {
    if key_scope.grants(scope) {
        return Ok(());
    }
    let needed = match scope {
        Scope::Ingest => "ingest or admin",
        Scope::Read => "read or admin",
        _ => "admin",
    };
    Err(ApiError::forbidden(format!(
        "this key's scope ({}) does not cover this route (needs {needed})",
        key_scope.as_str()
    )))
}

fn missing() -> ApiError {
    ApiError::unauthorized("missing Authorization: Bearer <token> header")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> Tokens {
        Tokens { ingest: Some("in".into()), api: Some("api".into()), internal: Some("self".into()) }
    }

    const KEY: &str = "oc_0123456789ab_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn status(scope: Scope, header: Option<&str>, tokens: &Tokens) -> u16 {
        authorize(scope, header, tokens).map_or_else(|e| e.status, |_| 200)
    }

    #[test]
    fn the_internal_route_takes_the_internal_token_only() {
        assert_eq!(
            authorize(Scope::Internal, Some("Bearer self"), &tokens()),
            Ok(Authorized::Granted { caller: None })
        );
        for (header, expected) in
            [("Bearer in", 403), ("Bearer api", 403), (&*format!("Bearer {KEY}"), 403), ("Bearer nope", 401)]
        {
            assert_eq!(status(Scope::Internal, Some(header), &tokens()), expected, "{header}");
        }
        assert_eq!(status(Scope::Internal, None, &tokens()), 401);
        assert_eq!(status(Scope::Ingest, Some("Bearer self"), &tokens()), 401);
        assert_eq!(status(Scope::Read, Some("Bearer self"), &tokens()), 401);
        let unset = Tokens { internal: None, ..tokens() };
        assert_eq!(
            authorize(Scope::Internal, Some("Bearer in"), &unset).unwrap_err().message,
            "no INTERNAL_TOKEN secret is configured"
        );
    }

    #[test]
    fn bootstrap_tokens_are_an_ingest_and_an_admin_key() {
        let granted = |caller| Ok(Authorized::Granted { caller: Some(caller) });
        assert_eq!(authorize(Scope::Ingest, Some("Bearer in"), &tokens()), granted("bootstrap-ingest"));
        assert_eq!(authorize(Scope::Ingest, Some("bearer api"), &tokens()), granted("bootstrap-admin"));
        assert_eq!(authorize(Scope::Read, Some("Bearer api"), &tokens()), granted("bootstrap-admin"));
        assert_eq!(authorize(Scope::Admin, Some("Bearer api"), &tokens()), granted("bootstrap-admin"));
        let refused = authorize(Scope::Read, Some("Bearer in"), &tokens()).unwrap_err();
        assert_eq!(
            (refused.status, refused.message.as_str()),
            (403, "this key's scope (ingest) does not cover this route (needs read or admin)")
        );
        assert_eq!(authorize(Scope::Public, None, &Tokens::default()), Ok(Authorized::Granted { caller: None }));
        let one_secret = Tokens { ingest: Some("same".into()), api: Some("same".into()), internal: None };
        assert_eq!(authorize(Scope::Admin, Some("Bearer same"), &one_secret), granted("bootstrap-admin"));
    }

    #[test]
    fn a_key_is_left_to_its_stored_row_and_anything_else_is_401() {
        assert_eq!(
            authorize(Scope::Admin, Some(&format!("Bearer {KEY}")), &Tokens::default()),
            Ok(Authorized::Key { id: "0123456789ab", secret: &KEY[16..] })
        );
        assert_eq!(
            authorize(Scope::Read, None, &tokens()).unwrap_err().message,
            "missing Authorization: Bearer <token> header"
        );
        assert_eq!(status(Scope::Read, Some("Basic abc"), &tokens()), 401);
        assert_eq!(
            authorize(Scope::Ingest, Some("Bearer nope"), &tokens()).unwrap_err().message,
            "invalid bearer token"
        );
        assert_eq!(status(Scope::Read, Some("Bearer api"), &Tokens::default()), 401);
    }

    #[test]
    fn scopes_are_named_in_the_403() {
        assert!(require(KeyScope::Admin, Scope::Admin).is_ok());
        assert_eq!(
            require(KeyScope::Read, Scope::Admin).unwrap_err().message,
            "this key's scope (read) does not cover this route (needs admin)"
        );
        assert_eq!(require(KeyScope::Read, Scope::Ingest).unwrap_err().status, 403);
    }
}
