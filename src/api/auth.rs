//! Bearer-token auth: the ingest token for OTLP routes, the API token for
//! reads and administration, the internal token for the collector's calls to
//! itself. A route whose token is not configured is closed; a client token
//! presented on an internal route is refused with 403.

use super::{ApiError, Scope};

/// The configured secrets (`INGEST_TOKEN`, `API_TOKEN`, `INTERNAL_TOKEN`).
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    pub ingest: Option<String>,
    pub api: Option<String>,
    /// Known to the worker only (`npm run deploy` generates it): its hand-overs to itself.
    pub internal: Option<String>,
}

/// Checks the `Authorization` header against the token of the route's scope.
/// The API token is accepted on ingest routes too (one token for a small setup).
pub fn authorize(scope: Scope, authorization: Option<&str>, tokens: &Tokens) -> Result<(), ApiError> {
    // What clients hold: the ingest and the API token.
    let client_tokens = || [tokens.ingest.as_deref(), tokens.api.as_deref()].into_iter().flatten();
    let accepted: Vec<&str> = match scope {
        Scope::Public => return Ok(()),
        Scope::Ingest => client_tokens().collect(),
        Scope::Api => tokens.api.as_deref().into_iter().collect(),
        Scope::Internal => tokens.internal.as_deref().into_iter().collect(),
    };
    if accepted.is_empty() {
        return Err(ApiError::unauthorized(match scope {
            Scope::Ingest => "no INGEST_TOKEN or API_TOKEN secret is configured",
            Scope::Internal => "no INTERNAL_TOKEN secret is configured",
            _ => "no API_TOKEN secret is configured",
        }));
    }
    let presented = authorization
        .and_then(|h| h.trim().strip_prefix("Bearer ").or_else(|| h.trim().strip_prefix("bearer ")))
        .map(str::trim)
        .ok_or_else(|| ApiError::unauthorized("missing Authorization: Bearer <token> header"))?;
    let presents = |token: &str| constant_time_eq(token.as_bytes(), presented.as_bytes());
    if accepted.iter().any(|t| presents(t)) {
        Ok(())
    } else if scope == Scope::Internal && client_tokens().any(presents) {
        Err(ApiError::forbidden("this route is the collector's own: client tokens are not accepted"))
    } else {
        Err(ApiError::unauthorized("invalid bearer token"))
    }
}

/// Compares without an early exit on the first differing byte.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> Tokens {
        Tokens { ingest: Some("in".into()), api: Some("api".into()), internal: Some("self".into()) }
    }

    #[test]
    fn the_internal_route_takes_the_internal_token_only() {
        assert!(authorize(Scope::Internal, Some("Bearer self"), &tokens()).is_ok());
        assert_eq!(authorize(Scope::Internal, Some("Bearer in"), &tokens()).unwrap_err().status, 403);
        assert_eq!(authorize(Scope::Internal, Some("Bearer api"), &tokens()).unwrap_err().status, 403);
        assert_eq!(authorize(Scope::Internal, Some("Bearer nope"), &tokens()).unwrap_err().status, 401);
        assert_eq!(authorize(Scope::Internal, None, &tokens()).unwrap_err().status, 401);
        assert_eq!(authorize(Scope::Ingest, Some("Bearer self"), &tokens()).unwrap_err().status, 401);
        assert_eq!(authorize(Scope::Api, Some("Bearer self"), &tokens()).unwrap_err().status, 401);
        let unset = Tokens { internal: None, ..tokens() };
        assert_eq!(
            authorize(Scope::Internal, Some("Bearer in"), &unset).unwrap_err().message,
            "no INTERNAL_TOKEN secret is configured"
        );
    }

    #[test]
    fn each_scope_takes_its_own_token() {
        assert!(authorize(Scope::Ingest, Some("Bearer in"), &tokens()).is_ok());
        assert!(authorize(Scope::Ingest, Some("Bearer api"), &tokens()).is_ok());
        assert!(authorize(Scope::Api, Some("Bearer api"), &tokens()).is_ok());
        assert_eq!(authorize(Scope::Api, Some("Bearer in"), &tokens()).unwrap_err().status, 401);
        assert!(authorize(Scope::Public, None, &Tokens::default()).is_ok());
    }

    #[test]
    fn missing_wrong_and_unconfigured_tokens_are_401() {
        assert_eq!(
            authorize(Scope::Api, None, &tokens()).unwrap_err().message,
            "missing Authorization: Bearer <token> header"
        );
        assert_eq!(authorize(Scope::Api, Some("Basic abc"), &tokens()).unwrap_err().status, 401);
        assert_eq!(
            authorize(Scope::Ingest, Some("Bearer nope"), &tokens()).unwrap_err().message,
            "invalid bearer token"
        );
        let err = authorize(Scope::Api, Some("Bearer api"), &Tokens::default()).unwrap_err();
        assert_eq!(err.message, "no API_TOKEN secret is configured");
    }
}
