//! The OpenID Provider end to end: the real `mfa-gateway serve` with HTTPS on an ephemeral
//! port, a relying party built on the `openidconnect` crate (discovery, PKCE S256, nonce,
//! state, client_secret_basic, ID token checked against the JWKS, userinfo), and a user agent
//! that walks the login pages: reqwest with a cookie jar (redirects followed by hand, so each
//! step is seen), and headless Chromium with real clicks and screenshots. Then what must be
//! refused: foreign redirect URIs, reused, expired or stolen codes, PKCE mistakes, wrong
//! client secrets, tampered ID tokens, posts without CSRF token or session.

use std::time::Duration;

use mfa_e2e::browser::Browser;
use mfa_e2e::{
    Instance, Phone, Serving, StubResponse, http_stub, https_client_with, https_instance, jwt_part,
    seed_of, serve, sha256_hex, uri_in,
};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreErrorResponseType, CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreProviderMetadata,
    CoreTokenResponse,
};
use openidconnect::url::Url;
use openidconnect::{
    AccessToken, AdditionalClaims, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, IdToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope, SubjectIdentifier,
    TokenResponse, UserInfoClaims,
};
use reqwest::StatusCode;
use reqwest::blocking::Client as Http;
use serde::{Deserialize, Serialize};
use serde_json::Value;

const PW: &str = "correct horse battery";
const ORG: &str = "Practice Noord";
const USER: &str = "ann";
const SECRET: &str = "rp-secret-0123456789abcdef-XYZ";
const READY: Duration = Duration::from_secs(30);
/// `oidc.code_lifetime_seconds` where a code is to expire during the test.
const SHORT_CODE_LIFETIME: i64 = 2;

// ---- the provider ----

/// A relying party to register: `[[oidc.clients]]`.
struct Rp {
    id: &'static str,
    secret: Option<&'static str>,
    redirect: String,
    alg: &'static str,
}

impl Rp {
    /// A confidential client with [`SECRET`], EdDSA ID tokens, PKCE required.
    fn confidential(id: &'static str, redirect: impl Into<String>) -> Self {
        Self {
            id,
            secret: Some(SECRET),
            redirect: redirect.into(),
            alg: "EdDSA",
        }
    }

    fn toml(&self) -> String {
        let secret = self.secret.map_or(String::new(), |s| {
            format!("secret_sha256 = \"{}\"\n", sha256_hex(s))
        });
        let base = self.redirect.rsplit_once('/').map_or("", |(b, _)| b);
        format!(
            "\n[[oidc.clients]]\nclient_id = \"{id}\"\nname = \"Test RP {id}\"\n{secret}\
             redirect_uris = [\"{redirect}\"]\npost_logout_redirect_uris = [\"{base}/bye\"]\n\
             flows = [\"code\"]\nrequire_pkce = true\nrefresh_tokens = false\n\
             id_token_alg = \"{alg}\"\n",
            id = self.id,
            redirect = self.redirect,
            alg = self.alg,
        )
    }
}

/// A running gateway with HTTPS, the given clients and one person, `ann`, with a phone.
struct Op {
    g: Instance,
    s: Serving,
    issuer: String,
    /// Ann's phone (a step is accepted once per device).
    phone: Phone,
}

/// `extra_oidc`: more `key = value` lines for `[oidc]`.
fn provider(clients: &[Rp], extra_oidc: &str) -> Op {
    let mut extra = format!("[oidc]\n{extra_oidc}\n");
    for c in clients {
        extra.push_str(&c.toml());
    }
    let g = https_instance(&[], &extra);
    g.ok(&["org", "add", ORG], None);
    mfa_e2e::add_person(&g, USER, ORG, "Ann de Vries", Some("ann@example.org"), PW);
    let seed = seed_of(&uri_in(&g.ok(&["device", "add-totp", USER], None)));
    let s = serve(&g, READY);
    let issuer = s.listener("http");
    assert!(
        issuer.starts_with("https://127.0.0.1:"),
        "the issuer printed: {issuer}"
    );
    Op {
        g,
        s,
        issuer,
        phone: Phone::new(seed),
    }
}

impl Op {
    /// A fresh TOTP code of ann's phone: a later time step than any handed out before
    /// (the gateway's clock moves on rather than the test waiting).
    fn code(&self) -> String {
        self.phone.code(&self.g)
    }

    fn url(&self, path: &str) -> Url {
        Url::parse(&self.issuer).unwrap().join(path).unwrap()
    }

    /// What the server logged, for failure messages.
    fn log(&self) -> String {
        self.s.log()
    }
}

// ---- HTTP clients ----

fn http(op: &Op, cookies: bool) -> Http {
    https_client_with(&op.g, cookies)
}

/// An HTTP answer, read whole.
#[derive(Debug)]
struct Answer {
    url: Url,
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Answer {
    fn read(r: reqwest::blocking::Response) -> Self {
        Self {
            url: r.url().clone(),
            status: r.status(),
            headers: r.headers().clone(),
            body: r.text().unwrap_or_default(),
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The redirect target, resolved against the request URL; panics unless a 303.
    fn see_other(&self) -> Url {
        assert_eq!(
            self.status,
            StatusCode::SEE_OTHER,
            "expected a 303: {self:?}"
        );
        let location = self.header("location").expect("a Location header");
        self.url.join(location).unwrap()
    }

    fn form(&self, pick: Pick<'_>) -> Form {
        let form = forms(&self.body, &self.url)
            .into_iter()
            .find(|f| match pick {
                Pick::Id(id) => f.id.as_deref() == Some(id),
                Pick::Button(id) => f.buttons.iter().any(|b| b == id),
            });
        form.unwrap_or_else(|| {
            panic!(
                "no form {pick:?} on {} ({}):\n{}",
                self.url, self.status, self.body
            )
        })
    }
}

/// A browser-like user agent: a cookie jar, redirects followed one by one.
struct Agent {
    http: Http,
}

impl Agent {
    fn new(op: &Op) -> Self {
        Self {
            http: http(op, true),
        }
    }

    fn get(&self, url: &Url) -> Answer {
        Answer::read(self.http.get(url.clone()).send().unwrap())
    }

    /// Posts `form` with its hidden fields plus `fields`.
    fn submit(&self, form: &Form, fields: &[(&str, &str)]) -> Answer {
        let mut all: Vec<(&str, &str)> = form
            .hidden
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        all.extend_from_slice(fields);
        self.post(&form.action, &all)
    }

    fn post(&self, url: &Url, fields: &[(&str, &str)]) -> Answer {
        Answer::read(self.http.post(url.clone()).form(fields).send().unwrap())
    }

    /// Authorization URL -> 303 to the login page -> the login page.
    fn open_login(&self, op: &Op, auth_url: &Url) -> Answer {
        let to_login = self.get(auth_url);
        let login = to_login.see_other();
        assert!(
            login.as_str().starts_with(op.url("/login?auth=").as_str()),
            "authorize sent us to {login}"
        );
        let page = self.get(&login);
        assert_eq!(page.status, StatusCode::OK, "{page:?}");
        page
    }

    /// Login page -> password -> the code page.
    fn password(&self, login_page: &Answer, password: &str) -> Answer {
        let form = login_page.form(Pick::Id("login-form"));
        let mut page = self.submit(&form, &[("username", USER), ("password", password)]);
        if page.status == StatusCode::SEE_OTHER {
            page = self.get(&page.see_other());
        }
        page
    }

    /// The whole login: returns where the gateway sends the browser back to.
    fn login(&self, op: &Op, auth_url: &Url) -> Url {
        let login_page = self.open_login(op, auth_url);
        let code_page = self.password(&login_page, PW);
        let form = code_page.form(Pick::Id("code-form"));
        self.submit(&form, &[("code", &op.code())]).see_other()
    }
}

// ---- pages ----

#[derive(Debug, Clone, Copy)]
enum Pick<'a> {
    /// The form with this id.
    Id(&'a str),
    /// The form holding the button with this id.
    Button(&'a str),
}

/// A `<form>` as a browser would post it.
#[derive(Debug)]
struct Form {
    id: Option<String>,
    action: Url,
    hidden: Vec<(String, String)>,
    buttons: Vec<String>,
}

/// Every form of an HTML page.
fn forms(html: &str, base: &Url) -> Vec<Form> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<form") {
        let after = &rest[start..];
        let end = after.find("</form>").unwrap_or(after.len());
        let body = &after[..end];
        let attrs = tag_attrs(body);
        let action = attr(&attrs, "action").unwrap_or_default();
        let mut hidden = Vec::new();
        let mut buttons = Vec::new();
        for tag in body.split('<').skip(1) {
            let a = tag_attrs(&format!("<{tag}"));
            if tag.starts_with("input") && attr(&a, "type").as_deref() == Some("hidden") {
                hidden.push((
                    attr(&a, "name").unwrap_or_default(),
                    attr(&a, "value").unwrap_or_default(),
                ));
            } else if tag.starts_with("button") {
                buttons.extend(attr(&a, "id"));
            }
        }
        out.push(Form {
            id: attr(&attrs, "id"),
            action: base.join(&action).unwrap(),
            hidden,
            buttons,
        });
        rest = &after[end..];
    }
    out
}

fn attr(attrs: &[(String, String)], name: &str) -> Option<String> {
    attrs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

/// The attributes of the tag at the start of `s` (`<name a="x" b='y' c=z d>`), unescaped.
fn tag_attrs(s: &str) -> Vec<(String, String)> {
    let end = s.find('>').unwrap_or(s.len());
    let inner = &s[1..end];
    let mut chars = inner.char_indices().peekable();
    // Skip the tag name.
    while chars.next_if(|(_, c)| !c.is_whitespace()).is_some() {}
    let mut out = Vec::new();
    loop {
        while chars
            .next_if(|(_, c)| c.is_whitespace() || *c == '/')
            .is_some()
        {}
        let Some(&(start, _)) = chars.peek() else {
            break;
        };
        let mut name_end = inner.len();
        while let Some(&(i, c)) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                name_end = i;
                break;
            }
            chars.next();
        }
        let name = inner[start..name_end].to_ascii_lowercase();
        let mut value = String::new();
        if chars.next_if(|(_, c)| *c == '=').is_some() {
            match chars.peek().map(|&(_, c)| c) {
                Some(q @ ('"' | '\'')) => {
                    chars.next();
                    for (_, c) in chars.by_ref() {
                        if c == q {
                            break;
                        }
                        value.push(c);
                    }
                }
                _ => {
                    while let Some((_, c)) = chars.next_if(|(_, c)| !c.is_whitespace()) {
                        value.push(c);
                    }
                }
            }
        }
        out.push((name, unescape(&value)));
    }
    out
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(semi) = rest.find(';').filter(|&j| j < 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..semi];
        let c = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            e => e
                .strip_prefix("#x")
                .or_else(|| e.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| e.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match c {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

// ---- the relying party ----

type RpClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The custom claim.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct OrgClaims {
    organisation: Option<String>,
}
impl AdditionalClaims for OrgClaims {}

type OrgIdToken =
    IdToken<OrgClaims, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>;

/// A relying party back end: its own HTTP client (no cookies) and the client from discovery.
struct RelyingParty {
    http: Http,
    client: RpClient,
}

/// One authorization request, and what the RP keeps to finish it.
struct Request {
    url: Url,
    state: CsrfToken,
    nonce: Nonce,
    verifier: PkceCodeVerifier,
}

type TokenError = RequestTokenError<
    openidconnect::HttpClientError<reqwest::Error>,
    openidconnect::StandardErrorResponse<CoreErrorResponseType>,
>;

impl RelyingParty {
    /// Discovery (and JWKS) from the issuer, then a client `rp`.
    fn discover(op: &Op, rp: &Rp) -> Self {
        let http = http(op, false);
        let issuer = IssuerUrl::new(op.issuer.clone()).unwrap();
        let meta = CoreProviderMetadata::discover(&issuer, &http)
            .unwrap_or_else(|e| panic!("discovery at {}: {e:?}\n{}", op.issuer, op.log()));
        let client = CoreClient::from_provider_metadata(
            meta,
            ClientId::new(rp.id.into()),
            rp.secret.map(|s| ClientSecret::new(s.into())),
        )
        .set_redirect_uri(RedirectUrl::new(rp.redirect.clone()).unwrap());
        Self { http, client }
    }

    /// An authorization URL with PKCE S256, nonce and state, for openid profile email.
    fn request(&self) -> Request {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = self
            .client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("profile".into()))
            .add_scope(Scope::new("email".into()))
            .set_pkce_challenge(challenge)
            .url();
        Request {
            url,
            state,
            nonce,
            verifier,
        }
    }

    fn exchange(
        &self,
        code: &str,
        verifier: Option<&str>,
    ) -> Result<CoreTokenResponse, TokenError> {
        let mut req = self
            .client
            .exchange_code(AuthorizationCode::new(code.into()))
            .unwrap();
        if let Some(v) = verifier {
            req = req.set_pkce_verifier(PkceCodeVerifier::new(v.into()));
        }
        req.request(&self.http)
    }

    /// Verifies an ID token (signature against the JWKS, issuer, audience, expiry, nonce).
    fn verify(
        &self,
        id_token: &str,
        nonce: &Nonce,
    ) -> Result<openidconnect::IdTokenClaims<OrgClaims, CoreGenderClaim>, String> {
        let token: OrgIdToken = id_token.parse().map_err(|e| format!("parse: {e:?}"))?;
        token
            .claims(&self.client.id_token_verifier(), nonce)
            .cloned()
            .map_err(|e| format!("{e:?}"))
    }

    fn userinfo(
        &self,
        access: &AccessToken,
        sub: &SubjectIdentifier,
    ) -> UserInfoClaims<OrgClaims, CoreGenderClaim> {
        self.client
            .user_info(access.clone(), Some(sub.clone()))
            .unwrap()
            .request(&self.http)
            .unwrap()
    }
}

/// The `code` of a redirect back to the RP, after checking where it goes and its `state`.
fn code_in(callback: &Url, rp: &Rp, request: &Request) -> String {
    assert!(
        callback.as_str().starts_with(&format!("{}?", rp.redirect)),
        "sent back to {callback}"
    );
    let q = |k: &str| {
        callback
            .query_pairs()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(q("state").as_deref(), Some(request.state.secret().as_str()));
    q("code").unwrap_or_else(|| panic!("no code in {callback}"))
}

fn oauth_error(e: &TokenError) -> String {
    match e {
        RequestTokenError::ServerResponse(r) => r.error().to_string(),
        other => panic!("expected an OAuth error answer, got {other:?}"),
    }
}

/// A redirect URI on loopback where nothing need listen (the agent does not follow it).
fn callback() -> String {
    "http://127.0.0.1:9/callback".into()
}

/// A gateway with client `rp`, its RP, and a finished login: (op, rp, rp config, request,
/// code).
fn logged_in(extra_oidc: &str) -> (Op, RelyingParty, Rp, Request, String) {
    let rp = Rp::confidential("rp", callback());
    let op = provider(std::slice::from_ref(&rp), extra_oidc);
    let party = RelyingParty::discover(&op, &rp);
    let request = party.request();
    let back = Agent::new(&op).login(&op, &request.url);
    let code = code_in(&back, &rp, &request);
    (op, party, rp, request, code)
}

// ---- the flow ----

#[test]
fn relying_party_code_pkce_flow() {
    let started = mfa_gateway::model::now();
    let (op, party, _rp, request, code) = logged_in("");
    let tokens = party
        .exchange(&code, Some(request.verifier.secret()))
        .unwrap_or_else(|e| panic!("token exchange: {e:?}\n{}", op.log()));
    let id_token = tokens.id_token().expect("an ID token").to_string();
    assert_eq!(
        jwt_part(&id_token, 0)["alg"],
        "EdDSA",
        "the configured algorithm"
    );
    let claims = party
        .verify(&id_token, &request.nonce)
        .unwrap_or_else(|e| panic!("the ID token does not verify: {e}"));

    assert_eq!(claims.issuer().as_str(), op.issuer);
    assert!(claims.audiences().iter().any(|a| a.as_str() == "rp"));
    let sub = claims.subject().clone();
    assert!(
        !sub.is_empty() && sub.as_str() != USER,
        "sub {sub:?} must not be the username"
    );
    assert_eq!(claims.preferred_username().map(|u| u.as_str()), Some(USER));
    assert_eq!(claims.email().map(|e| e.as_str()), Some("ann@example.org"));
    assert_eq!(
        claims.name().and_then(|n| n.get(None)).map(|n| n.as_str()),
        Some("Ann de Vries")
    );
    assert_eq!(
        claims.additional_claims().organisation.as_deref(),
        Some(ORG)
    );
    let amr: Vec<String> = claims
        .auth_method_refs()
        .map(|v| v.iter().map(|m| m.to_string()).collect())
        .unwrap_or_default();
    for m in ["pwd", "otp", "swk"] {
        assert!(amr.iter().any(|a| a == m), "amr {amr:?} lacks {m}");
    }
    assert!(claims.auth_context_ref().is_some(), "an acr");
    let auth_time = claims.auth_time().expect("auth_time").timestamp();
    let now = mfa_gateway::model::now();
    assert!(
        (started - 5..=now + 5).contains(&auth_time),
        "auth_time {auth_time} not between {started} and {now}"
    );

    let info = party.userinfo(tokens.access_token(), &sub);
    assert_eq!(info.subject(), &sub);
    assert_eq!(info.preferred_username().map(|u| u.as_str()), Some(USER));
    assert_eq!(info.email().map(|e| e.as_str()), Some("ann@example.org"));
    assert_eq!(info.additional_claims().organisation.as_deref(), Some(ORG));
}

#[test]
fn rs256_id_tokens_verify_against_the_published_key() {
    let rp = Rp {
        alg: "RS256",
        ..Rp::confidential("rp-rsa", callback())
    };
    let op = provider(std::slice::from_ref(&rp), "");
    let party = RelyingParty::discover(&op, &rp);
    let request = party.request();
    let code = code_in(&Agent::new(&op).login(&op, &request.url), &rp, &request);
    let tokens = party
        .exchange(&code, Some(request.verifier.secret()))
        .unwrap_or_else(|e| panic!("token exchange: {e:?}\n{}", op.log()));
    let id_token = tokens.id_token().expect("an ID token").to_string();
    assert_eq!(jwt_part(&id_token, 0)["alg"], "RS256");
    party.verify(&id_token, &request.nonce).unwrap();
}

#[test]
fn cancel_on_the_code_page_returns_access_denied() {
    let rp = Rp::confidential("rp", callback());
    let op = provider(std::slice::from_ref(&rp), "");
    let party = RelyingParty::discover(&op, &rp);
    let request = party.request();
    let agent = Agent::new(&op);
    let code_page = agent.password(&agent.open_login(&op, &request.url), PW);
    let back = agent
        .submit(&code_page.form(Pick::Button("cancel")), &[])
        .see_other();
    assert!(
        back.as_str().starts_with(&format!("{}?", rp.redirect)),
        "{back}"
    );
    let q: Vec<(String, String)> = back.query_pairs().into_owned().collect();
    assert!(
        q.contains(&("error".into(), "access_denied".into())),
        "{back}"
    );
    assert!(
        q.contains(&("state".into(), request.state.secret().clone())),
        "{back}"
    );
    assert!(!q.iter().any(|(k, _)| k == "code"), "{back}");
}

// ---- what must be refused ----

#[test]
fn authorize_refuses_an_unregistered_redirect_uri() {
    let rp = Rp::confidential("rp", callback());
    let op = provider(std::slice::from_ref(&rp), "");
    let mut party = RelyingParty::discover(&op, &rp);
    let evil = "http://127.0.0.1:9/evil";
    party.client = party
        .client
        .set_redirect_uri(RedirectUrl::new(evil.into()).unwrap());
    let request = party.request();
    let answer = Agent::new(&op).get(&request.url);
    assert!(
        answer.status.is_client_error(),
        "an error page, not {answer:?}"
    );
    assert!(
        answer.header("location").is_none(),
        "no redirect anywhere: {answer:?}"
    );
    assert!(!answer.body.contains("/login?auth="), "{}", answer.body);
}

#[test]
fn a_code_is_exchanged_only_once() {
    let (op, party, _rp, request, code) = logged_in("");
    let verifier = request.verifier.secret();
    let tokens = party
        .exchange(&code, Some(verifier))
        .unwrap_or_else(|e| panic!("first exchange: {e:?}\n{}", op.log()));
    let again = party.exchange(&code, Some(verifier)).unwrap_err();
    assert_eq!(oauth_error(&again), "invalid_grant");
    // RFC 6749 4.1.2: the tokens issued for a replayed code are revoked.
    let userinfo = Answer::read(
        http(&op, false)
            .get(op.url("/oauth2/userinfo"))
            .bearer_auth(tokens.access_token().secret())
            .send()
            .unwrap(),
    );
    assert_eq!(userinfo.status, StatusCode::UNAUTHORIZED, "{userinfo:?}");
}

#[test]
fn authorize_without_pkce_s256_sends_invalid_request_back() {
    let rp = Rp::confidential("rp", callback());
    let op = provider(std::slice::from_ref(&rp), "");
    let party = RelyingParty::discover(&op, &rp);
    for (what, change) in [
        ("no code_challenge", None),
        ("code_challenge_method=plain", Some("plain")),
    ] {
        let request = party.request();
        let mut url = request.url.clone();
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .into_owned()
            .filter_map(|(k, v)| match (k.as_str(), change) {
                ("code_challenge" | "code_challenge_method", None) => None,
                ("code_challenge_method", Some(m)) => Some((k, m.to_owned())),
                _ => Some((k, v)),
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
        let back = Agent::new(&op).get(&url).see_other();
        assert!(
            back.as_str().starts_with(&format!("{}?", rp.redirect)),
            "{what}: {back}"
        );
        let q: Vec<(String, String)> = back.query_pairs().into_owned().collect();
        assert!(
            q.contains(&("error".into(), "invalid_request".into())),
            "{what}: {back}"
        );
        assert!(
            q.contains(&("state".into(), request.state.secret().clone())),
            "{what}: {back}"
        );
        assert!(!q.iter().any(|(k, _)| k == "code"), "{what}: {back}");
    }
}

#[test]
fn a_code_needs_its_pkce_verifier() {
    let (_op, party, _rp, _request, code) = logged_in("");
    let missing = party.exchange(&code, None).unwrap_err();
    assert!(
        ["invalid_grant", "invalid_request"].contains(&oauth_error(&missing).as_str()),
        "{missing:?}"
    );
}

#[test]
fn a_code_with_a_wrong_pkce_verifier_is_refused() {
    let (_op, party, _rp, request, code) = logged_in("");
    let (_, other) = PkceCodeChallenge::new_random_sha256();
    assert_ne!(other.secret(), request.verifier.secret());
    let wrong = party.exchange(&code, Some(other.secret())).unwrap_err();
    assert_eq!(oauth_error(&wrong), "invalid_grant");
}

#[test]
fn an_expired_code_is_refused() {
    let (op, party, _rp, request, code) =
        logged_in(&format!("code_lifetime_seconds = {SHORT_CODE_LIFETIME}"));
    // The provider reads the gateway's clock: moved on, nobody waits.
    op.g.advance_clock(SHORT_CODE_LIFETIME + 1);
    let late = party
        .exchange(&code, Some(request.verifier.secret()))
        .unwrap_err();
    assert_eq!(oauth_error(&late), "invalid_grant", "{}", op.log());
}

#[test]
fn a_code_is_bound_to_its_client() {
    let clients = [
        Rp::confidential("rp", callback()),
        Rp::confidential("rp2", "http://127.0.0.1:9/other/callback"),
    ];
    let op = provider(&clients, "");
    let party = RelyingParty::discover(&op, &clients[0]);
    let thief = RelyingParty::discover(&op, &clients[1]);
    let request = party.request();
    let code = code_in(
        &Agent::new(&op).login(&op, &request.url),
        &clients[0],
        &request,
    );
    let stolen = thief
        .exchange(&code, Some(request.verifier.secret()))
        .unwrap_err();
    assert_eq!(oauth_error(&stolen), "invalid_grant");
}

#[test]
fn a_wrong_client_secret_is_refused_with_401() {
    let (op, party, rp, request, code) = logged_in("");
    let token_url = party
        .client
        .token_uri()
        .expect("a token endpoint")
        .url()
        .clone();
    let answer = Answer::read(
        http(&op, false)
            .post(token_url)
            .basic_auth(rp.id, Some("not-the-secret"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", rp.redirect.as_str()),
                ("code_verifier", request.verifier.secret().as_str()),
            ])
            .send()
            .unwrap(),
    );
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{answer:?}");
    let body: Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(body["error"], "invalid_client", "{answer:?}");
    assert!(body.get("access_token").is_none());
}

#[test]
fn a_tampered_id_token_fails_verification() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let (op, party, _rp, request, code) = logged_in("");
    let tokens = party
        .exchange(&code, Some(request.verifier.secret()))
        .unwrap_or_else(|e| panic!("token exchange: {e:?}\n{}", op.log()));
    let id_token = tokens.id_token().unwrap().to_string();
    party.verify(&id_token, &request.nonce).unwrap();
    let parts: Vec<&str> = id_token.split('.').collect();

    // Another subject in the payload, signature kept.
    let mut payload = jwt_part(&id_token, 1);
    payload["sub"] = "someone-else".into();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64.encode(payload.to_string()),
        parts[2]
    );
    assert!(
        party.verify(&forged, &request.nonce).is_err(),
        "a changed payload verified"
    );

    // One bit of the signature flipped.
    let mut sig = b64.decode(parts[2]).unwrap();
    sig[0] ^= 1;
    let flipped = format!("{}.{}.{}", parts[0], parts[1], b64.encode(sig));
    assert!(
        party.verify(&flipped, &request.nonce).is_err(),
        "a changed signature verified"
    );

    // The right token with another nonce.
    assert!(
        party.verify(&id_token, &Nonce::new_random()).is_err(),
        "nonce not checked"
    );
}

// ---- the login pages' protections ----

#[test]
fn login_page_sends_csp_and_a_strict_session_cookie() {
    let rp = Rp::confidential("rp", callback());
    let op = provider(std::slice::from_ref(&rp), "");
    let party = RelyingParty::discover(&op, &rp);
    let request = party.request();
    let agent = Agent::new(&op);
    let to_login = agent.get(&request.url);
    let page = agent.get(&to_login.see_other());
    assert_eq!(page.status, StatusCode::OK);
    let csp = page
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("no Content-Security-Policy on the login page: {page:?}"));
    assert!(!csp.trim().is_empty());
    let cookies: Vec<&str> = [&to_login, &page]
        .iter()
        .flat_map(|a| a.headers.get_all("set-cookie"))
        .filter_map(|v| v.to_str().ok())
        // No session before a right password: the page sets the pre-login cookie.
        .filter(|c| c.starts_with("mfa_session=") || c.starts_with("mfa_pre="))
        .collect();
    assert!(
        !cookies.is_empty(),
        "no mfa_pre cookie: {to_login:?} {page:?}"
    );
    for c in cookies {
        let attrs: Vec<String> = c
            .split(';')
            .skip(1)
            .map(|a| a.trim().to_ascii_lowercase())
            .collect();
        for want in ["httponly", "secure", "samesite=lax"] {
            assert!(attrs.iter().any(|a| a == want), "{c} lacks {want}");
        }
    }
}

#[test]
fn login_post_without_csrf_token_is_refused() {
    let rp = Rp::confidential("rp", callback());
    let op = provider(std::slice::from_ref(&rp), "");
    let party = RelyingParty::discover(&op, &rp);
    let request = party.request();
    let agent = Agent::new(&op);
    let page = agent.open_login(&op, &request.url);
    let form = page.form(Pick::Id("login-form"));
    let auth = form
        .hidden
        .iter()
        .find(|(k, _)| k == "auth")
        .map(|(_, v)| v.as_str())
        .expect("a hidden auth field");
    let answer = agent.post(
        &form.action,
        &[("auth", auth), ("username", USER), ("password", PW)],
    );
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{answer:?}");
    assert!(!answer.body.contains("code-form"), "{}", answer.body);
    // With a wrong token, neither.
    let answer = agent.post(
        &form.action,
        &[
            ("auth", auth),
            ("csrf", "forged"),
            ("username", USER),
            ("password", PW),
        ],
    );
    assert!(!answer.body.contains("code-form"), "{answer:?}");
    assert!(answer.header("location").is_none(), "{answer:?}");
}

#[test]
fn code_post_without_a_session_is_refused_and_spends_nothing() {
    let rp = Rp::confidential("rp", callback());
    let op = provider(std::slice::from_ref(&rp), "");
    let party = RelyingParty::discover(&op, &rp);
    let request = party.request();

    // A fresh agent (no cookie) posts a valid code straight to /login/code.
    let code = op.code();
    let stranger = Agent::new(&op);
    let answer = stranger.post(
        &op.url("/login/code"),
        &[("csrf", "anything"), ("code", code.as_str())],
    );
    assert!(
        answer.status.is_client_error(),
        "an error page, not {answer:?}"
    );
    assert!(answer.header("location").is_none(), "{answer:?}");

    // The code was not spent: the real login with that same code goes through.
    let agent = Agent::new(&op);
    let code_page = agent.password(&agent.open_login(&op, &request.url), PW);
    let back = agent
        .submit(&code_page.form(Pick::Id("code-form")), &[("code", &code)])
        .see_other();
    code_in(&back, &rp, &request);
}

// ---- a real browser ----

#[test]
fn chromium_logs_in_through_the_login_page() {
    let site = http_stub(|r| {
        if r.target.starts_with("/callback") {
            StubResponse::html("<!doctype html><title>RP</title><p id=\"done\">signed in</p>")
        } else {
            StubResponse::not_found()
        }
    });
    let rp = Rp::confidential("rp", site.url("/callback"));
    let op = provider(std::slice::from_ref(&rp), "");
    let party = RelyingParty::discover(&op, &rp);
    let request = party.request();

    // Without the gateway's key pinned, its dev certificate is refused.
    let untrusting = Browser::launch();
    let refused = untrusting.new_page().try_goto(&op.issuer);
    assert!(
        refused.as_ref().is_err_and(|e| e.contains("CERT")),
        "{refused:?}"
    );
    drop(untrusting);

    let server_cert = op.g.dir.path().join("certs/server.pem");
    let browser = Browser::launch_trusting(&[&server_cert]);
    let page = browser.new_page();
    page.goto(request.url.as_str());
    page.wait_for("form#login-form", Duration::from_secs(10));
    assert!(
        page.url().starts_with(op.url("/login?auth=").as_str()),
        "{}",
        page.url()
    );
    page.screenshot("login");

    page.fill("input[name=username]", USER);
    page.fill("input[name=password]", "not the password");
    page.click("button#submit");
    page.wait_for("p.error", Duration::from_secs(10));
    assert!(page.exists("form#login-form"));
    page.screenshot("wrong-password");

    page.fill("input[name=username]", USER);
    page.fill("input[name=password]", PW);
    page.click("button#submit");
    page.wait_for("form#code-form", Duration::from_secs(10));
    assert!(page.exists("button#cancel"));
    page.screenshot("code");

    page.fill("input[name=code]", &op.code());
    page.click("button#submit");
    let back = Url::parse(&page.url()).unwrap();
    assert_eq!(page.text("#done"), "signed in", "at {back}");
    page.screenshot("signed-in");

    let code = code_in(&back, &rp, &request);
    let tokens = party
        .exchange(&code, Some(request.verifier.secret()))
        .unwrap_or_else(|e| panic!("token exchange: {e:?}\n{}", op.log()));
    let claims = party
        .verify(&tokens.id_token().unwrap().to_string(), &request.nonce)
        .unwrap();
    assert_eq!(claims.preferred_username().map(|u| u.as_str()), Some(USER));
    let requests = site.requests.lock().unwrap().clone();
    let callbacks = requests
        .iter()
        .filter(|r| r.target.starts_with("/callback"));
    assert_eq!(callbacks.count(), 1, "the RP's callback was called once");
}
