//! What a handler needs from a request, checked before it runs (axum extractors), so that a
//! handler reads like `async fn rename(me: Action<RenameForm>, Path(id): Path<i64>)`:
//!
//! - [`ClientInfo`]: the client's address, the request id the gateway gave it, and the time
//!   by the gateway's clock, read once per request.
//! - A *guard* ([`Guard`]): who the request is from, checked. [`SignedIn`] (a signed-in person;
//!   a page without one goes to the sign-in page), [`RequireRole`] (one of a set of roles;
//!   the refusal is a 403 audited as `access_denied` here, in one place), and the areas' own
//!   guards built on them (the administration's `Admin`, the auditor's `Auditor`, the sign-in's
//!   second step). A guard is itself the extractor of a page (GET).
//! - [`Action<F, G>`]: a posted form `F` and the caller checked by guard `G` with the form's
//!   CSRF token: a wrong or missing token, or a body that is not the form, is a 400 and the
//!   handler does not run.

use crate::model::{Role, UnixTime};
use crate::web::WebState;
use crate::web::login::request_id;
use crate::web::portal::{SignedIn, signed_in};
use crate::web::templates::{Ctx, message_response};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::marker::PhantomData;
use std::net::{IpAddr, SocketAddr};

/// Where a request comes from and when.
#[derive(Debug, Clone)]
pub(crate) struct ClientInfo {
    /// The client: the peer, or behind a trusted proxy the address it forwarded for.
    pub ip: IpAddr,
    /// The id the gateway gave this request (`x-request-id`; a client's own is never kept).
    pub request_id: Option<String>,
    /// The time of the request by the gateway's clock, read once.
    pub now: UnixTime,
}

impl ClientInfo {
    fn of(state: &WebState, extensions: &axum::http::Extensions, headers: &HeaderMap) -> Self {
        // The TCP peer (0.0.0.0:0 when served without connect info, as in router tests).
        let peer = extensions
            .get::<ConnectInfo<crate::web::tls::PeerAddr>>()
            .map_or(SocketAddr::from(([0, 0, 0, 0], 0)), |c| c.0.0);
        Self {
            ip: state.client_ip(peer, headers),
            request_id: request_id(headers),
            now: state.gateway.now(),
        }
    }
}

impl FromRequestParts<WebState> for ClientInfo {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self::of(state, &parts.extensions, &parts.headers))
    }
}

/// What a guard looks at: the client, the request's headers (the session cookie, the
/// browser's language) and its path (named when a refusal is audited).
#[derive(Debug)]
pub(crate) struct Caller {
    pub client: ClientInfo,
    pub headers: HeaderMap,
    pub path: String,
}

impl FromRequestParts<WebState> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self::of(state, parts))
    }
}

impl Caller {
    fn of(state: &WebState, parts: &Parts) -> Self {
        Self {
            client: ClientInfo::of(state, &parts.extensions, &parts.headers),
            headers: parts.headers.clone(),
            path: parts.uri.path().to_owned(),
        }
    }
}

/// Who a request is from, checked. `csrf` is the posted form's token for an action, None for
/// a page; the error is the answer to give instead (the sign-in page, a 400, a 403).
pub(crate) trait Guard: Sized + Send {
    fn check(
        state: &WebState,
        caller: &Caller,
        csrf: Option<&str>,
    ) -> impl Future<Output = Result<Self, Response>> + Send;
}

/// A form posted with the session's CSRF token.
pub(crate) trait CsrfForm {
    fn csrf(&self) -> &str;
}

/// `CsrfForm` for forms whose token is their `csrf` field.
macro_rules! csrf_form {
    ($($t:ty),* $(,)?) => {$(
        impl crate::web::extract::CsrfForm for $t {
            fn csrf(&self) -> &str {
                &self.csrf
            }
        }
    )*};
}
pub(crate) use csrf_form;

/// A guard is the extractor of a page: `async fn page(me: SignedIn)`.
macro_rules! page_extractor {
    ($($t:ty),* $(,)?) => {$(
        impl axum::extract::FromRequestParts<crate::web::WebState> for $t {
            type Rejection = axum::response::Response;

            async fn from_request_parts(
                parts: &mut axum::http::request::Parts,
                state: &crate::web::WebState,
            ) -> Result<Self, Self::Rejection> {
                let caller = crate::web::extract::Caller::of_parts(state, parts);
                <$t as crate::web::extract::Guard>::check(state, &caller, None).await
            }
        }
    )*};
}
pub(crate) use page_extractor;

impl Caller {
    /// For `page_extractor!` in the area modules.
    pub(crate) fn of_parts(state: &WebState, parts: &Parts) -> Self {
        Self::of(state, parts)
    }
}

/// A posted form `F` from a caller checked by `G` with the form's CSRF token.
#[derive(Debug)]
pub(crate) struct Action<F, G = SignedIn> {
    pub(crate) me: G,
    pub(crate) form: F,
}

impl<F, G> FromRequest<WebState> for Action<F, G>
where
    F: DeserializeOwned + CsrfForm + Send,
    G: Guard,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &WebState) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let caller = Caller::of(state, &parts);
        let req = Request::from_parts(parts, body);
        let form = match axum::Form::<F>::from_request(req, state).await {
            Ok(axum::Form(form)) => form,
            Err(_) => return Err(crate::web::refused("error-bad-form")),
        };
        let me = G::check(state, &caller, Some(form.csrf())).await?;
        Ok(Self { me, form })
    }
}

/// A form with nothing but its CSRF token (a button).
#[derive(Debug, serde::Deserialize)]
pub(crate) struct Button {
    #[serde(default)]
    pub csrf: String,
}

impl CsrfForm for Button {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

impl Guard for SignedIn {
    async fn check(
        state: &WebState,
        caller: &Caller,
        csrf: Option<&str>,
    ) -> Result<Self, Response> {
        signed_in(state, caller, csrf).await
    }
}

page_extractor!(SignedIn);

/// A set of roles that may use an area, and the words of its refusal.
pub(crate) trait Roles: Send + Sync + 'static {
    const ROLES: &'static [Role];
    /// The area, as the audit event's client (`admin`, `audit`).
    const AREA: &'static str;
    /// Catalogue keys of the 403 page's title and text.
    const REFUSAL: (&'static str, &'static str);
}

/// The administration: operators (every organisation) and organisation administrators.
#[derive(Debug)]
pub(crate) struct Administrators;

impl Roles for Administrators {
    const ROLES: &'static [Role] = &[Role::Operator, Role::OrgAdmin];
    const AREA: &'static str = "admin";
    const REFUSAL: (&'static str, &'static str) = ("admin-forbidden-title", "admin-forbidden-text");
}

/// The audit trail: auditors (every organisation) and organisation auditors.
#[derive(Debug)]
pub(crate) struct Auditors;

impl Roles for Auditors {
    const ROLES: &'static [Role] = &[Role::Auditor, Role::OrgAuditor];
    const AREA: &'static str = "audit";
    const REFUSAL: (&'static str, &'static str) = ("audit-forbidden-title", "audit-forbidden-text");
}

/// A person's audit page: auditors, organisation auditors, and operators (who look a person
/// up when helping them).
#[derive(Debug)]
pub(crate) struct PersonAuditors;

impl Roles for PersonAuditors {
    const ROLES: &'static [Role] = &[Role::Auditor, Role::OrgAuditor, Role::Operator];
    const AREA: &'static str = "audit";
    const REFUSAL: (&'static str, &'static str) = ("audit-forbidden-title", "audit-forbidden-text");
}

/// A signed-in person holding one of `R`'s roles. Without one: a 403 in the person's
/// language, audited as `access_denied` (reason `missing_role`, the path asked for).
#[derive(Debug)]
pub(crate) struct RequireRole<R> {
    pub(crate) me: SignedIn,
    /// The person's pages' language and time zone.
    pub(crate) page: Ctx,
    roles: PhantomData<R>,
}

impl<R: Roles> Guard for RequireRole<R> {
    async fn check(
        state: &WebState,
        caller: &Caller,
        csrf: Option<&str>,
    ) -> Result<Self, Response> {
        let me = SignedIn::check(state, caller, csrf).await?;
        let page = me.page(state).await;
        let person = &me.person;
        if person.roles.iter().any(|r| R::ROLES.contains(r)) {
            return Ok(Self {
                me,
                page,
                roles: PhantomData,
            });
        }
        state
            .gateway
            .audit_missing_role(
                person,
                R::AREA,
                &caller.path,
                Some(caller.client.ip),
                caller.client.request_id.clone(),
                caller.client.now,
            )
            .await;
        Err(message_response(
            StatusCode::FORBIDDEN,
            &page,
            R::REFUSAL.0,
            R::REFUSAL.1,
        ))
    }
}

impl<R: Roles> FromRequestParts<WebState> for RequireRole<R> {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> Result<Self, Self::Rejection> {
        let caller = Caller::of(state, parts);
        Self::check(state, &caller, None).await
    }
}
