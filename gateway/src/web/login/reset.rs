//! "Forgot password?": the pages of the self-service reset (`service/reset.rs`).
//!
//! - `GET /reset`, `POST /reset`: a username or e-mail address; the answer is always the
//!   same page, given at once (the work runs on its own task). Limited per source and per
//!   name and source (`Limits::allow`, client `password-reset`) and by the state a source
//!   may make (`Limits::allow_state`); the service limits links per person.
//! - `GET /reset/<id>.<secret>`: the link from the mail, at its step: a code, then the new
//!   password (`POST /reset/<token>/code`, `POST /reset/<token>/password`). On success the
//!   person's web sessions end.
//!
//! No session before or during a reset: every form carries the stateless pre-login token
//! (as the sign-in and activation forms). The link is never put in a log line: routes are
//! logged by their template.

use crate::audit::Channel;
use crate::model::UnixTime;
use crate::secret::SecretString;
use crate::service::ServiceError;
use crate::service::reset::{RESET_CLIENT, ResetOrigin, ResetStep};
use crate::web::WebState;
use crate::web::extract::ClientInfo;
use crate::web::login::templates::{
    ResetCodePage, ResetDonePage, ResetError, ResetPasswordPage, ResetRequestPage, ResetSentPage,
};
use crate::web::login::{page, page_lang, pre_login, server_error, with_pre_cookie};
use crate::web::templates::{Ctx, message_response, render};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/reset", get(show_request).post(submit_request))
        .route("/reset/{token}", get(show_link))
        .route("/reset/{token}/code", post(submit_code))
        .route("/reset/{token}/password", post(submit_password))
}

#[derive(Debug, Deserialize)]
pub struct RequestForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    identifier: String,
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
}

impl std::fmt::Debug for CodeForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeForm { .. }")
    }
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_again: String,
}

impl std::fmt::Debug for PasswordForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordForm { .. }")
    }
}

/// A page before anyone is known (the request, a refused link or form): the language of
/// whoever asks, never that of a person named.
async fn not_known(state: &WebState, headers: &HeaderMap) -> Ctx {
    Ctx::of(
        &state.gateway,
        page_lang(state, headers, Channel::Portal, None).await,
    )
}

/// The request form: what was typed is kept.
fn request_page(
    ctx: &Ctx,
    csrf: &str,
    identifier: &str,
    error: Option<ResetError>,
) -> Html<String> {
    render(&ResetRequestPage {
        ctx,
        csrf,
        identifier,
        error: error.map(|e| e.text(ctx)),
    })
}

/// The link does not open (used, replaced, expired, mistyped: the service does not say).
async fn refused(state: &WebState, headers: &HeaderMap) -> Response {
    message_response(
        StatusCode::NOT_FOUND,
        &not_known(state, headers).await,
        "reset-link-invalid-title",
        "reset-link-invalid",
    )
}

async fn too_many(state: &WebState, headers: &HeaderMap) -> Response {
    message_response(
        StatusCode::TOO_MANY_REQUESTS,
        &not_known(state, headers).await,
        "reset-too-many-title",
        "reset-too-many",
    )
}

/// `html` as a page answering a form that was refused.
fn unprocessable(state: &WebState, html: Html<String>) -> Response {
    let mut res = page(state, html, None, "");
    *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    res
}

fn origin(client: &ClientInfo) -> ResetOrigin {
    ResetOrigin {
        source: Some(client.ip),
        request_id: client.request_id.clone(),
    }
}

/// The 400 page when the form's pre-login token does not check out.
async fn forged(state: &WebState, headers: &HeaderMap, csrf: &str) -> Option<Response> {
    match crate::web::session::pre_nonce(headers) {
        Some(nonce) if state.pre.check(&nonce, csrf) => None,
        _ => Some(message_response(
            StatusCode::BAD_REQUEST,
            &not_known(state, headers).await,
            "reset-refused-title",
            "reset-error-forged",
        )),
    }
}

async fn show_request(State(state): State<WebState>, headers: HeaderMap) -> Response {
    let Some((nonce, fresh)) = pre_login(&headers) else {
        return server_error(&"random generator");
    };
    let ctx = not_known(&state, &headers).await;
    let html = request_page(&ctx, &state.pre.token(&nonce), "", None);
    with_pre_cookie(
        &state,
        page(&state, html, None, ""),
        fresh.then_some(nonce.as_str()),
    )
}

async fn submit_request(
    State(state): State<WebState>,
    client: ClientInfo,
    headers: HeaderMap,
    Form(form): Form<RequestForm>,
) -> Response {
    if let Some(res) = forged(&state, &headers, &form.csrf).await {
        return res;
    }
    let ctx = not_known(&state, &headers).await;
    let identifier = form.identifier.trim();
    if identifier.is_empty() {
        let html = request_page(&ctx, &form.csrf, "", Some(ResetError::NoIdentifier));
        return unprocessable(&state, html);
    }
    let ip = client.ip;
    let within = match state.limits.allow(ip, identifier, RESET_CLIENT).await {
        Ok(true) => state.limits.allow_state(ip).await.unwrap_or(false),
        _ => false,
    };
    if !within {
        return too_many(&state, &headers).await;
    }
    // The configured public URL, never the request's Host: a link to elsewhere would hand
    // the secret to whoever sent the request.
    let base = state.provider.settings().issuer.clone();
    state
        .gateway
        .request_password_reset(identifier, &base, origin(&client), client.now);
    page(&state, render(&ResetSentPage { ctx: &ctx }), None, "")
}

/// The page of the step the link is at (`error` on it), in the language of the person the
/// link names.
async fn step_page(
    state: &WebState,
    headers: &HeaderMap,
    token: &str,
    csrf: &str,
    error: Option<&crate::service::Refusal>,
    t: UnixTime,
) -> Result<Html<String>, Response> {
    let min = state.gateway.engine().hasher().policy().min_length;
    let (person, code_step) = match state.gateway.open_reset(token, t).await {
        Ok(ResetStep::Code(person)) => (person, true),
        Ok(ResetStep::Password(person)) => (person, false),
        Err(ServiceError::Refused(_)) => return Err(refused(state, headers).await),
        Err(e) => return Err(server_error(&e)),
    };
    let ctx = Ctx::of(&state.gateway, state.gateway.lang_of(&person).await);
    let error = error.map(|text| ResetError::of_service(text, min).text(&ctx));
    Ok(if code_step {
        render(&ResetCodePage {
            ctx: &ctx,
            token,
            csrf,
            username: &person.username,
            error,
        })
    } else {
        render(&ResetPasswordPage {
            ctx: &ctx,
            token,
            csrf,
            username: &person.username,
            min,
            error,
        })
    })
}

async fn show_link(
    State(state): State<WebState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    let Some((nonce, fresh)) = pre_login(&headers) else {
        return server_error(&"random generator");
    };
    match step_page(
        &state,
        &headers,
        &token,
        &state.pre.token(&nonce),
        None,
        state.gateway.now(),
    )
    .await
    {
        Ok(html) => with_pre_cookie(
            &state,
            page(&state, html, None, ""),
            fresh.then_some(nonce.as_str()),
        ),
        Err(res) => res,
    }
}

async fn submit_code(
    State(state): State<WebState>,
    client: ClientInfo,
    headers: HeaderMap,
    Path(token): Path<String>,
    Form(form): Form<CodeForm>,
) -> Response {
    if let Some(res) = forged(&state, &headers, &form.csrf).await {
        return res;
    }
    let ip = client.ip;
    let link = token.split('.').next().unwrap_or_default();
    if !matches!(
        state
            .limits
            .allow(ip, &format!("reset:{link}"), RESET_CLIENT)
            .await,
        Ok(true)
    ) {
        return too_many(&state, &headers).await;
    }
    let origin = origin(&client);
    let t = client.now;
    match state
        .gateway
        .reset_check_code(&token, &form.code, &origin, t)
        .await
    {
        Ok(_) => match step_page(&state, &headers, &token, &form.csrf, None, t).await {
            Ok(html) => page(&state, html, None, ""),
            Err(res) => res,
        },
        Err(ServiceError::Refused(text)) => {
            match step_page(&state, &headers, &token, &form.csrf, Some(&text), t).await {
                Ok(html) => unprocessable(&state, html),
                Err(res) => res,
            }
        }
        Err(e) => server_error(&e),
    }
}

async fn submit_password(
    State(state): State<WebState>,
    client: ClientInfo,
    headers: HeaderMap,
    Path(token): Path<String>,
    Form(form): Form<PasswordForm>,
) -> Response {
    if let Some(res) = forged(&state, &headers, &form.csrf).await {
        return res;
    }
    let origin = origin(&client);
    let t = client.now;
    match state
        .gateway
        .reset_set_password(
            &token,
            SecretString::new(form.password.as_str()),
            SecretString::new(form.password_again.as_str()),
            &origin,
            t,
        )
        .await
    {
        Ok(person) => {
            state.sessions.end_person(person.id, &person.username).await;
            let ctx = Ctx::of(&state.gateway, state.gateway.lang_of(&person).await);
            let html = render(&ResetDonePage {
                ctx: &ctx,
                username: &person.username,
            });
            page(&state, html, None, "")
        }
        // A refused password (or a code step that lapsed: `RESET_CODE_FIRST`) shows the
        // page of the step the link is at, with why.
        Err(ServiceError::Refused(text)) => {
            match step_page(&state, &headers, &token, &form.csrf, Some(&text), t).await {
                Ok(html) => unprocessable(&state, html),
                Err(res) => res,
            }
        }
        Err(e) => server_error(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{EventKind, StoredEvent};
    use crate::model::{NewPerson, Person, Role, now};
    use crate::service::Actor;
    use crate::service::reset::{RESET_LINK_INVALID, ResetRequestOutcome};
    use crate::store::EventFilter;
    use crate::web::router_tests::{App, app, cookie, csrf_of, person, request, send, sign_in};
    use axum::http::Method;

    const BASE: &str = "https://mfa.test";
    const PEER: &str = "192.0.2.7";

    async fn events_of(app: &App, kind: EventKind) -> Vec<StoredEvent> {
        app.state
            .gateway
            .store()
            .events(&EventFilter {
                kind: Some(kind.as_str().into()),
                oldest_first: true,
                ..Default::default()
            })
            .await
            .expect("events")
    }

    async fn ann(app: &App) -> Person {
        app.state
            .gateway
            .store()
            .person_by_username("ann")
            .await
            .expect("store")
            .expect("ann")
    }

    /// GET `path` (a form page): its pre-login cookie and CSRF token.
    async fn form(app: &App, path: &str) -> (StatusCode, String, String, String) {
        let (status, cookies, html) =
            send(&app.router, request(Method::GET, path, PEER, &[], None)).await;
        let pre = cookie(&cookies, "mfa_pre").unwrap_or_default().to_owned();
        let csrf = if status == StatusCode::OK {
            csrf_of(&html)
        } else {
            String::new()
        };
        (status, pre, csrf, html)
    }

    async fn post(
        app: &App,
        path: &str,
        pre: &str,
        fields: &[(&str, &str)],
    ) -> (StatusCode, String) {
        let (status, _, html) = send(
            &app.router,
            request(Method::POST, path, PEER, &[("mfa_pre", pre)], Some(fields)),
        )
        .await;
        (status, html)
    }

    /// A known and an unknown name get the same answer (given before the work is done);
    /// only the known one gets a link, and both are audited.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_answer_never_tells_whether_the_name_is_known() {
        let app = app("").await;
        person(&app, "ann", vec![Role::Person]).await;
        let (_, _, _, login) = form(&app, "/portal/login").await;
        assert!(
            login.contains(r#"href="/reset""#),
            "Forgot password? on the sign-in page"
        );
        let mut answers = Vec::new();
        for name in ["ann", "nobody@example.org"] {
            let (status, pre, csrf, _) = form(&app, "/reset").await;
            assert_eq!(status, StatusCode::OK);
            answers.push(
                post(
                    &app,
                    "/reset",
                    &pre,
                    &[("csrf", &csrf), ("identifier", name)],
                )
                .await,
            );
        }
        assert_eq!(answers[0].0, StatusCode::OK);
        assert_eq!(answers[0], answers[1], "the same page");
        // In the language of whoever asks (the default here), never the named person's.
        assert!(
            answers[0]
                .1
                .contains("Als de gebruikersnaam of het adres hier bekend is"),
            "{}",
            answers[0].1
        );
        let mut english = request(Method::GET, "/reset", PEER, &[], None);
        english
            .headers_mut()
            .insert("accept-language", "en-GB,en;q=0.8".parse().unwrap());
        let (_, _, html) = send(&app.router, english).await;
        assert!(
            html.contains(r#"<html lang="en">"#) && html.contains("Forgot your password?"),
            "{html}"
        );
        let (_, pre, _, _) = form(&app, "/reset").await;
        let (status, _) = post(
            &app,
            "/reset",
            &pre,
            &[("csrf", "forged"), ("identifier", "ann")],
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        // The work is done on tasks of their own: wait for both answers' events.
        let mut waited = 0;
        while (events_of(&app, EventKind::PasswordResetRefused)
            .await
            .is_empty()
            || events_of(&app, EventKind::PasswordResetRequested)
                .await
                .is_empty())
            && waited < 400
        {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            waited += 1;
        }
        let refused = events_of(&app, EventKind::PasswordResetRefused).await;
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].event.reason.as_deref(), Some("unknown_user"));
        assert_eq!(refused[0].event.source.as_deref(), Some(PEER));
        let requested = events_of(&app, EventKind::PasswordResetRequested).await;
        assert_eq!(requested.len(), 1);
        assert_eq!(requested[0].event.person_id, Some(ann(&app).await.id));
    }

    /// The link's steps in order: a code (a wrong one counted), then the password (the
    /// policy applies, the link keeps working), once; the person's sessions end.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_link_a_code_then_a_password_once() {
        let dir = tempfile::tempdir().unwrap();
        let list = dir.path().join("breached.txt");
        std::fs::write(&list, "Winter2026!!\n").unwrap();
        let app = app(&format!(
            "blocklist_file = {:?}\n",
            list.display().to_string()
        ))
        .await;
        let seed = person(&app, "ann", vec![Role::Person]).await;
        let session = sign_in(&app, "192.0.2.9", &seed).await;
        let gw = &app.state.gateway;
        let t = now();
        let (url, _, _) = gw
            .issue_reset_link(&ann(&app).await, BASE, &ResetOrigin::default(), t)
            .await
            .unwrap();
        let path = url.expose().strip_prefix(BASE).unwrap().to_owned();
        let (status, pre, csrf, html) = form(&app, &path).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("reset-code-form"), "{html}");
        let pw_path = format!("{path}/password");
        let code_path = format!("{path}/code");
        let new = "a fresh new password";
        let set = |pw: &'static str, again: &'static str| {
            let (app, pw_path, pre, csrf) = (&app, pw_path.clone(), pre.clone(), csrf.clone());
            async move {
                let fields = [
                    ("csrf", csrf.as_str()),
                    ("password", pw),
                    ("password_again", again),
                ];
                post(app, &pw_path, &pre, &fields).await
            }
        };
        // No password before the code.
        let (status, html) = set(new, new).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            html.contains("reset-code-form") && html.contains("Bevestig eerst met een code"),
            "{html}"
        );
        // A wrong code is counted like any.
        let (status, html) = post(
            &app,
            &code_path,
            &pre,
            &[("csrf", &csrf), ("code", "000000")],
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(html.contains("Die code klopt niet"), "{html}");
        assert_eq!(ann(&app).await.failed_logins, 1);
        let code = crate::otp::totp(&seed, now() + 30, 30, crate::otp::OtpHash::Sha1, 6);
        let (status, html) =
            post(&app, &code_path, &pre, &[("csrf", &csrf), ("code", &code)]).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("reset-password-form"), "{html}");
        // The policy: listed, short, different; the link keeps working.
        for (pw, again, why) in [
            ("Winter2026!!", "Winter2026!!", "gelekte wachtwoorden"),
            ("short", "short", "te kort"),
            (new, "another one entirely", "verschillen"),
        ] {
            let (status, html) = set(pw, again).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{pw}");
            assert!(
                html.contains(why) && html.contains("reset-password-form"),
                "{html}"
            );
            assert!(
                !html.contains(&format!("\"{pw}\"")),
                "a password is never sent back"
            );
        }
        let (status, html) = set(new, new).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("reset-done"));
        let hash = gw.store().password_hash(ann(&app).await.id).await.unwrap();
        assert!(
            gw.engine()
                .hasher()
                .verify(&SecretString::new(new), hash.as_deref())
        );
        // Once; the sessions of the person are over.
        let (status, _, _, _) = form(&app, &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _, _) = send(
            &app.router,
            request(
                Method::GET,
                "/portal",
                "192.0.2.9",
                &[("mfa_session", &session)],
                None,
            ),
        )
        .await;
        assert_ne!(status, StatusCode::OK, "signed out");
        // Audited: the code step names what it confirms; no secret anywhere.
        let refused: Vec<_> = events_of(&app, EventKind::PasswordResetRefused)
            .await
            .into_iter()
            .filter_map(|e| e.event.reason)
            .collect();
        assert_eq!(
            refused,
            [
                "breached_password",
                "password_too_short",
                "passwords_differ"
            ]
        );
        assert_eq!(
            events_of(&app, EventKind::PasswordResetCompleted)
                .await
                .len(),
            1
        );
        let steps: Vec<_> = events_of(&app, EventKind::LoginAttempt)
            .await
            .into_iter()
            .filter(|e| e.event.client.as_deref() == Some(RESET_CLIENT))
            .collect();
        assert_eq!(steps.len(), 2);
        assert!(steps.iter().all(|e| {
            e.event
                .detail
                .as_ref()
                .is_some_and(|d| d["confirms"] == "password_reset")
        }));
        let all = gw.store().events(&EventFilter::default()).await.unwrap();
        let trail = serde_json::to_string(&all).unwrap();
        let secret = path.rsplit('.').next().unwrap();
        for never in [secret, new, "Winter2026!!", code.as_str()] {
            assert!(!trail.contains(never), "{never:?} in the audit trail");
        }
    }

    /// Links per person per hour; a newer link voids the older; an hour; the code step
    /// lapses; no link for a password kept elsewhere, for a blocked person, without address.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn links_are_capped_replaced_and_only_for_local_passwords() {
        let app = app("").await;
        let seed = person(&app, "ann", vec![Role::Person]).await;
        let gw = &app.state.gateway;
        let t = now();
        let o = ResetOrigin::default();
        let mut outcomes = Vec::new();
        for name in ["ANN@Example.org", "ann", " Ann ", "ann"] {
            outcomes.extend(
                gw.request_password_reset_wait(name, BASE, &o, t)
                    .await
                    .unwrap(),
            );
        }
        use ResetRequestOutcome::*;
        assert_eq!(
            outcomes,
            [LinkSent, LinkSent, LinkSent, Refused("too_many_requests")]
        );
        let a = ann(&app).await;
        let (first, _, _) = gw.issue_reset_link(&a, BASE, &o, t).await.unwrap();
        let (second, _, _) = gw.issue_reset_link(&a, BASE, &o, t).await.unwrap();
        let token = |url: &SecretString| url.expose().rsplit('/').next().unwrap().to_owned();
        let invalid = |r: crate::service::Result<_>| matches!(r, Err(ServiceError::Refused(r)) if r.key() == RESET_LINK_INVALID);
        assert!(invalid(gw.open_reset(&token(&first), t).await), "replaced");
        assert!(matches!(
            gw.open_reset(&token(&second), t).await,
            Ok(ResetStep::Code(_))
        ));
        assert!(
            invalid(gw.open_reset(&token(&second), t + 3600).await),
            "an hour"
        );
        let forged = format!("{}x", token(&second));
        assert!(invalid(gw.open_reset(&forged, t).await));
        let code = crate::otp::totp(&seed, t, 30, crate::otp::OtpHash::Sha1, 6);
        gw.reset_check_code(&token(&second), &code, &o, t)
            .await
            .unwrap();
        assert!(matches!(
            gw.open_reset(&token(&second), t + 600).await,
            Ok(ResetStep::Password(_))
        ));
        assert!(
            matches!(
                gw.open_reset(&token(&second), t + 601).await,
                Ok(ResetStep::Code(_))
            ),
            "lapsed"
        );
        // No local password, blocked, no address: nothing is sent.
        let org = gw.org("Practice").await.unwrap();
        let new = |name: &str, email: Option<String>| NewPerson {
            username: name.into(),
            full_name: name.into(),
            email,
            employee_number: None,
            org_id: org.id,
            roles: vec![Role::Person],
        };
        gw.create_person(
            new("dirk", Some("dirk@example.org".into())),
            None,
            &Actor::cli(),
            t,
        )
        .await
        .unwrap();
        let pw = Some(SecretString::new("correct horse battery"));
        gw.create_person(new("bea", None), pw.clone(), &Actor::cli(), t)
            .await
            .unwrap();
        gw.create_person(
            new("cor", Some("cor@example.org".into())),
            pw,
            &Actor::cli(),
            t,
        )
        .await
        .unwrap();
        gw.set_blocked("cor", true, &Actor::cli(), t).await.unwrap();
        for (name, outcome) in [
            ("dirk", NotLocal),
            ("dirk", NotLocal),
            ("dirk", NotLocal),
            ("dirk", Refused("too_many_requests")),
            ("bea", Refused("no_email")),
            ("cor", Refused("not_active")),
            ("nobody", Refused("unknown_user")),
            ("", Refused("unknown_user")),
        ] {
            let got = gw
                .request_password_reset_wait(name, BASE, &o, t)
                .await
                .unwrap();
            assert!(
                got == [outcome] || (name.is_empty() && got.is_empty()),
                "{name}: {got:?}"
            );
        }
    }
}
