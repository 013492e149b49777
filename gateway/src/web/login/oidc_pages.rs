//! The sign-in provider's own pages (`/oauth2`): its error page, "Sign out?" and the
//! signed-out page, drawn with the gateway's templates for the provider crate
//! ([`mfa_oidc::Pages`]), which renders no HTML itself (issue 15). Nobody is known on these
//! pages, so their language is the client's default organisation's, else the browser's
//! (`Accept-Language`), else the configured default, as on the sign-in page
//! (`login::page_lang`).

use crate::audit::Channel;
use crate::service::Gateway;
use crate::web::templates::{Ctx, message, render};
use askama::Template;
use async_trait::async_trait;
use axum::http::HeaderMap;
use axum::response::Html;
use mfa_oidc::{ErrorPage, LogoutConfirmation, Pages};

/// The gateway's drawing of the provider's pages.
#[derive(Debug, Clone)]
pub struct OidcPages {
    gateway: Gateway,
}

impl OidcPages {
    pub fn new(gateway: Gateway) -> Self {
        Self { gateway }
    }

    /// The page's language (as every page before sign-in) and zone.
    async fn ctx(&self, headers: &HeaderMap, client_id: Option<&str>) -> Ctx {
        let lang =
            crate::web::lang_before_sign_in(&self.gateway, headers, Channel::Oidc, client_id).await;
        Ctx::of(&self.gateway, lang)
    }
}

/// "Sign out?": the request again as a form, with the session's token.
#[derive(Debug, Template)]
#[template(path = "oidc/confirm_logout.html")]
pub struct ConfirmLogoutPage<'a> {
    pub ctx: &'a Ctx,
    pub form: &'a LogoutConfirmation,
}

#[async_trait]
impl Pages for OidcPages {
    async fn error(
        &self,
        headers: &HeaderMap,
        client_id: Option<&str>,
        page: ErrorPage,
    ) -> Html<String> {
        let ctx = self.ctx(headers, client_id).await;
        match page {
            ErrorPage::InvalidRequest => message(
                &ctx,
                "oidc-invalid-request-title",
                "oidc-invalid-request-text",
            ),
            // A page the provider added later than this gateway: the general refusal.
            _ => message(
                &ctx,
                "oidc-invalid-request-title",
                "oidc-invalid-request-text",
            ),
        }
    }

    async fn confirm_logout(
        &self,
        headers: &HeaderMap,
        client_id: Option<&str>,
        form: &LogoutConfirmation,
    ) -> Html<String> {
        let ctx = self.ctx(headers, client_id).await;
        render(&ConfirmLogoutPage { ctx: &ctx, form })
    }

    async fn signed_out(&self, headers: &HeaderMap, client_id: Option<&str>) -> Html<String> {
        let ctx = self.ctx(headers, client_id).await;
        message(&ctx, "oidc-signed-out-title", "oidc-signed-out-text")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;
    use jiff::tz::TimeZone;

    #[test]
    fn the_confirmation_keeps_its_fields_escaped_in_either_language() {
        let form = LogoutConfirmation {
            action: "/oauth2/logout",
            csrf: "t\"k".into(),
            fields: vec![("confirm", "yes".into()), ("state", "<script>\"x\"".into())],
        };
        let en = render(&ConfirmLogoutPage {
            ctx: &Ctx::new(Lang::En, TimeZone::UTC),
            form: &form,
        })
        .0;
        assert!(
            en.contains(r#"<html lang="en">"#) && en.contains("<h1>Sign out?</h1>"),
            "{en}"
        );
        assert!(
            en.contains(r#"<form method="post" action="/oauth2/logout">"#),
            "{en}"
        );
        assert!(
            en.contains(r#"<input type="hidden" name="csrf" value="t&#34;k">"#),
            "{en}"
        );
        assert!(
            en.contains(r#"<input type="hidden" name="confirm" value="yes">"#),
            "{en}"
        );
        assert!(
            en.contains(
                r#"<input type="hidden" name="state" value="&#60;script&#62;&#34;x&#34;">"#
            ),
            "{en}"
        );
        assert!(!en.contains("<script>"), "{en}");
        assert!(
            en.contains(r#"<button type="submit" id="confirm-logout">Sign out</button>"#),
            "{en}"
        );
        let nl = render(&ConfirmLogoutPage {
            ctx: &Ctx::new(Lang::Nl, TimeZone::UTC),
            form: &form,
        })
        .0;
        assert!(
            nl.contains(r#"<html lang="nl">"#) && nl.contains("<h1>Uitloggen?</h1>"),
            "{nl}"
        );
        let out = message(
            &Ctx::new(Lang::Nl, TimeZone::UTC),
            "oidc-signed-out-title",
            "oidc-signed-out-text",
        )
        .0;
        assert!(out.contains("<h1>U bent uitgelogd</h1>"), "{out}");
    }
}
