//! The test harness: a stub backend, a settable clock, MemoryState, an in-memory key store, and
//! helpers that drive the router with `oneshot`.

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::DateTime;
use http_body_util::BodyExt;
use mfa_oidc::*;
use openidconnect::core::{CoreJsonWebKeySet, CoreJwsSigningAlgorithm};
use openidconnect::{ClientId, IdTokenVerifier, IssuerUrl, Nonce};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

pub(crate) const T0: i64 = 1_800_000_000;
pub(crate) const ISSUER: &str = "https://idp.example";
pub(crate) const PORTAL_SECRET: &str = "portal-secret-0123456789abcdef0123456789";
pub(crate) const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

#[derive(Default)]
pub(crate) struct Stub {
    pub(crate) events: Mutex<Vec<OidcEvent>>,
    pub(crate) users: Mutex<HashMap<String, UserClaims>>,
    pub(crate) ended: Mutex<Vec<Option<String>>>,
    /// The token of a session a logout would end (None: no session).
    pub(crate) session_token: Mutex<Option<String>>,
}

#[async_trait]
impl OidcBackend for Stub {
    fn login_url(&self, pending_id: &str) -> String {
        format!("/login?auth={pending_id}")
    }
    async fn current_user(&self, sub: &str) -> Option<UserClaims> {
        self.users.lock().unwrap().get(sub).cloned()
    }
    async fn record(&self, event: OidcEvent) {
        self.events.lock().unwrap().push(event);
    }
    async fn end_session(&self, sub: Option<&str>, _headers: &HeaderMap) -> HeaderMap {
        self.ended.lock().unwrap().push(sub.map(str::to_owned));
        let mut h = HeaderMap::new();
        h.insert(
            header::SET_COOKIE,
            HeaderValue::from_static("gw_session=; Max-Age=0; Path=/"),
        );
        h
    }
    async fn logout_confirmation(&self, _headers: &HeaderMap) -> Option<String> {
        self.session_token.lock().unwrap().clone()
    }
    async fn logout_confirmed(&self, _headers: &HeaderMap, token: &str) -> bool {
        self.session_token.lock().unwrap().as_deref() == Some(token)
    }
}

/// The provider's pages as plain text saying what they were asked to show (the gateway's
/// templates draw the real ones).
pub(crate) struct TestPages;

#[async_trait]
impl Pages for TestPages {
    async fn error(
        &self,
        _headers: &HeaderMap,
        client_id: Option<&str>,
        page: ErrorPage,
    ) -> axum::response::Html<String> {
        axum::response::Html(format!("error {page:?} for {client_id:?}"))
    }
    async fn confirm_logout(
        &self,
        _headers: &HeaderMap,
        client_id: Option<&str>,
        form: &LogoutConfirmation,
    ) -> axum::response::Html<String> {
        axum::response::Html(format!(
            "Sign out? for {client_id:?} to {} csrf={} {:?}",
            form.action, form.csrf, form.fields
        ))
    }
    async fn signed_out(
        &self,
        _headers: &HeaderMap,
        client_id: Option<&str>,
    ) -> axum::response::Html<String> {
        axum::response::Html(format!("You are signed out (for {client_id:?})"))
    }
}

pub(crate) struct Env {
    pub(crate) provider: Arc<Provider>,
    pub(crate) router: Router,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) backend: Arc<Stub>,
    pub(crate) keys: Arc<MemoryKeyStore>,
}

pub(crate) fn portal() -> ClientRegistration {
    let mut c = ClientRegistration::new("portal", "Staff portal", "https://portal.example/cb");
    c.secret_sha256 = Some(hash_client_secret(PORTAL_SECRET));
    c.post_logout_redirect_uris = vec!["https://portal.example/bye".into()];
    c.refresh_tokens = true;
    c
}

pub(crate) fn spa() -> ClientRegistration {
    ClientRegistration::new("spa", "Single-page app", "https://spa.example/cb")
}

pub(crate) fn guacamole() -> ClientRegistration {
    let mut c = ClientRegistration::new(
        "guacamole",
        "Remote desktops",
        "https://guac.example/guacamole/",
    );
    c.allow_code = false;
    c.allow_implicit_id_token = true;
    c
}

pub(crate) fn ann() -> AuthenticatedUser {
    AuthenticatedUser {
        sub: "8f14e45f-ann".into(),
        auth_time: T0,
        amr: vec!["pwd".into(), "otp".into()],
        acr: None,
        claims: ann_claims(),
        sid: None,
    }
}

pub(crate) fn ann_claims() -> UserClaims {
    UserClaims {
        name: Some("Ann Example".into()),
        email: Some("ann@example.org".into()),
        email_verified: false,
        preferred_username: Some("ann".into()),
        organisation: Some("Acme".into()),
    }
}

pub(crate) async fn env() -> Env {
    env_with(Settings::new(ISSUER), vec![portal(), spa(), guacamole()]).await
}

pub(crate) async fn env_with(settings: Settings, clients: Vec<ClientRegistration>) -> Env {
    let clock = Arc::new(ManualClock::new(T0));
    let backend = Arc::new(Stub::default());
    backend
        .users
        .lock()
        .unwrap()
        .insert(ann().sub, ann_claims());
    let keys = Arc::new(MemoryKeyStore::default());
    let provider = Provider::new(
        settings,
        clients,
        backend.clone(),
        Arc::new(MemoryState::default()),
        keys.clone(),
        clock.clone(),
        Arc::new(TestPages),
    )
    .await
    .unwrap();
    let router = provider.router();
    Env {
        provider,
        router,
        clock,
        backend,
        keys,
    }
}

pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub(crate) fn location(&self) -> String {
        self.headers[header::LOCATION].to_str().unwrap().to_owned()
    }
    /// Query (or fragment) parameters of the Location.
    pub(crate) fn redirect_params(&self) -> HashMap<String, String> {
        let url = url::Url::parse(&self.location()).unwrap();
        let source = url
            .fragment()
            .or(url.query())
            .unwrap_or_default()
            .to_owned();
        url::form_urlencoded::parse(source.as_bytes())
            .into_owned()
            .collect()
    }
}

impl Env {
    pub(crate) async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }

    pub(crate) async fn get(&self, uri: &str) -> Reply {
        self.send(Request::get(uri).body(Body::empty()).unwrap())
            .await
    }

    pub(crate) async fn post_form(&self, uri: &str, body: &str, headers: &[(&str, &str)]) -> Reply {
        let mut r =
            Request::post(uri).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        self.send(r.body(Body::from(body.to_owned())).unwrap())
            .await
    }

    /// GET /oauth2/authorize?{query}; asserts it went to the login page; returns the pending id.
    pub(crate) async fn start(&self, query: &str) -> String {
        let r = self.get(&format!("/oauth2/authorize?{query}")).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let location = r.location();
        location
            .strip_prefix("/login?auth=")
            .expect("login redirect")
            .to_owned()
    }

    /// The code flow up to the redirect with the code.
    pub(crate) async fn code_for(
        &self,
        client_id: &str,
        redirect_uri: &str,
        nonce: &str,
    ) -> String {
        let query = format!(
            "response_type=code&client_id={client_id}&redirect_uri={}&scope=openid%20profile%20email\
             &state=st-1&nonce={nonce}&code_challenge={}&code_challenge_method=S256",
            enc(redirect_uri),
            challenge(VERIFIER)
        );
        let id = self.start(&query).await;
        let r = self.provider.complete(&id, ann()).await.unwrap();
        let location = r.headers()[header::LOCATION].to_str().unwrap().to_owned();
        let url = url::Url::parse(&location).unwrap();
        let params: HashMap<String, String> = url.query_pairs().into_owned().collect();
        assert_eq!(params["state"], "st-1");
        params["code"].clone()
    }

    pub(crate) async fn token(&self, form: &str, basic: Option<(&str, &str)>) -> Reply {
        match basic {
            Some((id, secret)) => {
                let auth = format!(
                    "Basic {}",
                    STANDARD.encode(format!("{}:{}", enc(id), enc(secret)))
                );
                self.post_form("/oauth2/token", form, &[("authorization", &auth)])
                    .await
            }
            None => self.post_form("/oauth2/token", form, &[]).await,
        }
    }

    /// Exchanges a portal code with Basic auth and the standard verifier.
    pub(crate) async fn exchange(&self, code: &str) -> Reply {
        let form = format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
            enc("https://portal.example/cb")
        );
        self.token(&form, Some(("portal", PORTAL_SECRET))).await
    }

    pub(crate) async fn jwks(&self) -> CoreJsonWebKeySet {
        let r = self.get("/oauth2/jwks").await;
        assert_eq!(r.status, StatusCode::OK);
        serde_json::from_slice(&r.body).unwrap()
    }

    /// Verifies an ID token against the published JWKS; returns its claims.
    pub(crate) async fn verify(
        &self,
        jwt: &str,
        client_id: &str,
        nonce: Option<&str>,
    ) -> GatewayIdTokenClaims {
        let token: GatewayIdToken = jwt.parse().unwrap();
        let now = self.clock.now();
        let verifier = IdTokenVerifier::new_public_client(
            ClientId::new(client_id.into()),
            IssuerUrl::new(ISSUER.into()).unwrap(),
            self.jwks().await,
        )
        .set_allowed_algs([
            CoreJwsSigningAlgorithm::EdDsa,
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        ])
        .set_time_fn(move || DateTime::from_timestamp(now, 0).unwrap());
        match nonce {
            Some(n) => token
                .claims(&verifier, &Nonce::new(n.into()))
                .unwrap()
                .clone(),
            None => token
                .claims(&verifier, |_: Option<&Nonce>| Ok(()))
                .unwrap()
                .clone(),
        }
    }

    pub(crate) fn events(&self) -> Vec<OidcEvent> {
        self.backend.events.lock().unwrap().clone()
    }
}

pub(crate) fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub(crate) fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The `kid` in a JWT's header.
pub(crate) fn kid_of(jwt: &str) -> String {
    let header = jwt.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

/// kids in a JWKS.
pub(crate) fn kids(jwks: &CoreJsonWebKeySet) -> Vec<String> {
    use openidconnect::JsonWebKey;
    let mut v: Vec<String> = jwks
        .keys()
        .iter()
        .map(|k| k.key_id().unwrap().as_str().to_owned())
        .collect();
    v.sort();
    v
}
