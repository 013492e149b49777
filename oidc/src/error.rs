//! The crate's error type, the protocol error codes, and how both become HTTP answers.
//!
//! [`OidcError`] is what goes wrong inside (configuration, state store, keys); it is logged and
//! never shown to a client. [`ErrorCode`] is what the protocol lets us tell a client.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

/// What can go wrong inside the provider.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The settings or a client registration are not usable.
    #[error("configuration: {0}")]
    Config(String),
    /// The pending authorization is unknown, already used or expired.
    #[error("unknown or expired authorization request")]
    UnknownPending,
    /// The protocol state store failed or is full.
    #[error("protocol state: {0}")]
    State(String),
    /// A signing key could not be loaded, generated or used.
    #[error("signing key: {0}")]
    Key(String),
    /// An ID token could not be built or signed.
    #[error("signing: {0}")]
    Signing(String),
    /// The operating system's random generator failed.
    #[error("random generator: {0}")]
    Random(String),
}

/// Result with [`OidcError`].
pub type Result<T, E = OidcError> = std::result::Result<T, E>;

/// The error codes of RFC 6749 (4.1.2.1, 5.2), RFC 6750 (3.1) and OIDC Core (3.1.2.6) that this
/// provider sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    InvalidScope,
    AccessDenied,
    ServerError,
    TemporarilyUnavailable,
    LoginRequired,
    RequestNotSupported,
    RequestUriNotSupported,
    InvalidToken,
}

impl ErrorCode {
    /// The code as sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::LoginRequired => "login_required",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
            Self::InvalidToken => "invalid_token",
        }
    }
}

/// `Cache-Control: no-store` and `Pragma: no-cache` (RFC 6749 5.1), for every answer that
/// carries a token, a code or an error about one.
pub(crate) fn no_store(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// A JSON answer that must not be cached.
pub(crate) fn json_no_store<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => {
            no_store((status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response())
        }
        Err(e) => {
            tracing::error!(error = %e, "serialising a JSON answer");
            no_store(StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
    }
}

#[derive(Serialize)]
struct ErrorBody {
    error: &'static str,
    error_description: &'static str,
}

/// An RFC 6749 5.2 error answer. `basic_auth`: the client tried HTTP Basic, so invalid_client
/// is a 401 with a challenge.
pub(crate) fn token_error(
    code: ErrorCode,
    description: &'static str,
    basic_auth: bool,
) -> Response {
    let status = match code {
        ErrorCode::InvalidClient if basic_auth => StatusCode::UNAUTHORIZED,
        ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    };
    let mut response = json_no_store(
        status,
        &ErrorBody {
            error: code.as_str(),
            error_description: description,
        },
    );
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"oauth2\""),
        );
    }
    response
}

/// A page the gateway drew ([`crate::Pages`]) with its status, never cached.
pub(crate) fn page(status: StatusCode, html: axum::response::Html<String>) -> Response {
    no_store((status, html).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_client_with_basic_is_a_401_challenge() {
        let r = token_error(ErrorCode::InvalidClient, "x", true);
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(r.headers().contains_key(header::WWW_AUTHENTICATE));
        let r = token_error(ErrorCode::InvalidClient, "x", false);
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
        assert_eq!(r.headers()[header::PRAGMA], "no-cache");
    }

    #[test]
    fn codes_serialise_as_on_the_wire() {
        for code in [
            ErrorCode::InvalidRequest,
            ErrorCode::UnsupportedGrantType,
            ErrorCode::RequestUriNotSupported,
        ] {
            assert_eq!(
                serde_json::to_value(code).unwrap(),
                serde_json::Value::String(code.as_str().to_owned())
            );
        }
    }
}
