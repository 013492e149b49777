//! The pages the provider shows a browser: the error page of `/oauth2/authorize`, the
//! "Sign out?" confirmation and the signed-out page. The gateway draws them through
//! [`Pages`] (passed in like the [`crate::Clock`]), so this crate renders no HTML and the
//! pages come in the reader's language (issue 15). The provider adds the status code and
//! `Cache-Control: no-store`.

use async_trait::async_trait;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Html;

/// Which error page a browser gets instead of a redirect to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorPage {
    /// The application made a request this server cannot accept (unknown client, a
    /// redirect_uri that is not registered, a POST that is not a form).
    InvalidRequest,
}

impl ErrorPage {
    /// The status code the page goes with.
    pub fn status(self) -> StatusCode {
        match self {
            Self::InvalidRequest => StatusCode::BAD_REQUEST,
        }
    }
}

/// The "Sign out?" form: a POST to `action` with every field hidden; the button's id is
/// `confirm-logout`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutConfirmation {
    /// Where the form posts (the end_session_endpoint's path).
    pub action: &'static str,
    /// The session's token, sent as the field `csrf`.
    pub csrf: String,
    /// The other hidden fields, name and value: `confirm=yes`, and `client_id`,
    /// `post_logout_redirect_uri` and `state` when the request had them. Request input: the
    /// page must escape it.
    pub fields: Vec<(&'static str, String)>,
}

/// Who draws the provider's pages. `client_id` is a registered client's id (its default
/// organisation may choose the language), None when the request names none or an unknown
/// one; `headers` are the request's (its `Accept-Language`).
#[async_trait]
pub trait Pages: Send + Sync + 'static {
    /// An error page (its status is [`ErrorPage::status`]).
    async fn error(
        &self,
        headers: &HeaderMap,
        client_id: Option<&str>,
        page: ErrorPage,
    ) -> Html<String>;

    /// "Sign out?": an application asked to sign the person out without proving it may.
    async fn confirm_logout(
        &self,
        headers: &HeaderMap,
        client_id: Option<&str>,
        form: &LogoutConfirmation,
    ) -> Html<String>;

    /// The person is signed out and goes back to no client.
    async fn signed_out(&self, headers: &HeaderMap, client_id: Option<&str>) -> Html<String>;
}

/// Empty pages, for a program that never shows them to a person (a benchmark): the status
/// codes and headers stay right, the body is empty.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPages;

#[async_trait]
impl Pages for NoPages {
    async fn error(&self, _: &HeaderMap, _: Option<&str>, _: ErrorPage) -> Html<String> {
        Html(String::new())
    }

    async fn confirm_logout(
        &self,
        _: &HeaderMap,
        _: Option<&str>,
        _: &LogoutConfirmation,
    ) -> Html<String> {
        Html(String::new())
    }

    async fn signed_out(&self, _: &HeaderMap, _: Option<&str>) -> Html<String> {
        Html(String::new())
    }
}
