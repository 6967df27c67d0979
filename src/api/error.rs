//! One error type for every response that is not a success, and the one
//! place that decides its status code and JSON body
//! (`{"error":{"code":"bad_request","message":"..."}}`).

use serde::Serialize;

use crate::alerting::FieldError;
use crate::otlp::DecodeError;

/// An error answered to the client. `retry_after` (seconds) marks retryable ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub retry_after: Option<u32>,
    /// The methods a 405 route does accept (the `Allow` header).
    pub allow: Option<&'static str>,
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        ApiError::bad_request(e.to_string())
    }
}

/// How long exporters should wait before retrying after a storage failure.
pub const RETRY_AFTER_SECONDS: u32 = 5;

impl ApiError {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), retry_after: None, allow: None }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "bad_request", message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(401, "unauthorized", message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, "forbidden", message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, "not_found", message)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(409, "conflict", message)
    }
    pub fn method_not_allowed(allow: &'static str, message: impl Into<String>) -> Self {
        Self { allow: Some(allow), ..Self::new(405, "method_not_allowed", message) }
    }
    pub fn payload_too_large(message: impl Into<String>) -> Self {
        Self::new(413, "payload_too_large", message)
    }
    pub fn unsupported_media_type(message: impl Into<String>) -> Self {
        Self::new(415, "unsupported_media_type", message)
    }
    /// Storage is unreachable or failed: retryable, with `Retry-After`.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self { retry_after: Some(RETRY_AFTER_SECONDS), ..Self::new(503, "unavailable", message) }
    }
    /// An upstream service failed or refused us.
    pub fn bad_gateway(message: impl Into<String>) -> Self {
        Self::new(502, "bad_gateway", message)
    }
    /// An upstream service did not answer in time.
    pub fn gateway_timeout(message: impl Into<String>) -> Self {
        Self::new(504, "gateway_timeout", message)
    }
    /// An upstream service asks us to slow down: retryable after `retry_after` seconds.
    pub fn too_many_requests(message: impl Into<String>, retry_after: u32) -> Self {
        Self { retry_after: Some(retry_after), ..Self::new(429, "too_many_requests", message) }
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "internal", message)
    }

    /// The JSON body.
    pub fn body(&self) -> String {
        #[derive(Serialize)]
        struct Body<'a> {
            error: Inner<'a>,
        }
        #[derive(Serialize)]
        struct Inner<'a> {
            code: &'a str,
            message: &'a str,
        }
        serde_json::to_string(&Body { error: Inner { code: self.code, message: &self.message } })
            .unwrap_or_else(|_| String::from("{\"error\":{\"code\":\"internal\",\"message\":\"\"}}"))
    }
}

impl From<DecodeError> for ApiError {
    fn from(e: DecodeError) -> Self {
        match e {
            DecodeError::UnsupportedMediaType(_) | DecodeError::UnsupportedEncoding(_) => {
                ApiError::unsupported_media_type(e.to_string())
            }
            DecodeError::TooLarge { .. } => ApiError::payload_too_large(e.to_string()),
            DecodeError::Malformed(_) => ApiError::bad_request(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_errors_map_to_the_otlp_status_codes() {
        assert_eq!(ApiError::from(DecodeError::Malformed("x".into())).status, 400);
        assert_eq!(ApiError::from(DecodeError::TooLarge { limit: 1, after: "" }).status, 413);
        assert_eq!(ApiError::from(DecodeError::UnsupportedMediaType("text/plain".into())).status, 415);
        assert_eq!(ApiError::from(DecodeError::UnsupportedEncoding("br".into())).status, 415);
    }

    #[test]
    fn errors_have_a_json_body_and_only_storage_failures_are_retryable() {
        let e = ApiError::bad_request("limit must be a positive integer");
        assert_eq!(e.body(), r#"{"error":{"code":"bad_request","message":"limit must be a positive integer"}}"#);
        assert_eq!(e.retry_after, None);
        assert_eq!(ApiError::unavailable("D1").retry_after, Some(RETRY_AFTER_SECONDS));
    }
}
