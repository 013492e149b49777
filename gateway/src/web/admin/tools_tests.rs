//! In-process tests of the org admin's tools on /admin (issue 16): the HOTP resync form
//! (the right pair moves the counter, a wrong pair keeps the form and what was typed, another
//! organisation's admin and a missing CSRF token are refused) and the person's page with
//! devices, last use, recent logins and lockout state.

use crate::model::Role;
use crate::service::admin_tools::{RFC4226, give_rfc4226_token};
use crate::web::router_tests::{
    app, csrf_of, person, person_in, portal_csrf, request, send, sign_in_as,
};
use axum::http::{Method, StatusCode};

const PEER: &str = "192.0.2.9";

/// The pages in English (the texts asserted here).
const EN: &str = "[i18n]\ndefault_language = \"en\"\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_org_admin_resyncs_a_token_of_their_organisation_only() {
    let app = app(EN).await;
    let olga_seed = person(&app, "olga", vec![Role::Person, Role::OrgAdmin]).await;
    person(&app, "ann", vec![Role::Person]).await;
    let otto_seed = person_in(
        &app,
        "Elsewhere",
        "otto",
        vec![Role::Person, Role::OrgAdmin],
    )
    .await;
    let gw = &app.state.gateway;
    let ann = gw.person("ann").await.expect("ann");
    let token = give_rfc4226_token(gw, ann.org_id, "ann", "RFC-1").await;
    let counter = || async {
        gw.store()
            .device_by_id(token)
            .await
            .expect("read")
            .expect("device")
            .counter
    };
    let sid = sign_in_as(&app, "olga", PEER, &olga_seed).await;
    let cookies = [("mfa_session", sid.as_str())];
    let page = format!("/admin/people/{}", ann.id);
    let action = format!("/admin/people/{}/devices/{token}/resync", ann.id);

    // The page: the token with its serial, never used, a resync form; no sign-ins yet.
    let (status, _, html) = send(
        &app.router,
        request(Method::GET, &page, PEER, &cookies, None),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains(&format!(r#"id="resync-{token}""#)), "{html}");
    assert!(html.contains(r#"<td class="serial">RFC-1</td>"#), "{html}");
    assert!(
        html.contains(r#"<td class="last-used">never</td>"#),
        "{html}"
    );
    assert!(html.contains("No sign-in attempts yet."), "{html}");
    assert!(
        html.contains(r#"<li id="lockout-locked">Not locked</li>"#),
        "{html}"
    );
    let csrf = csrf_of(&html);

    // Without the CSRF token: refused, nothing changed.
    let (status, _, _) = send(
        &app.router,
        request(
            Method::POST,
            &action,
            PEER,
            &cookies,
            Some(&[("first", RFC4226[3]), ("second", RFC4226[4])]),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(counter().await, 0);

    // A wrong pair: the same page, the error on that form, what was typed kept.
    let (status, _, html) = send(
        &app.router,
        request(
            Method::POST,
            &action,
            PEER,
            &cookies,
            Some(&[("csrf", &csrf), ("first", RFC4226[4]), ("second", "123456")]),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains(&format!(r#"id="resync-error-{token}""#)),
        "{html}"
    );
    assert!(
        html.contains(&format!(r#"value="{}""#, RFC4226[4])),
        "{html}"
    );
    assert!(html.contains(r#"value="123456""#), "{html}");
    assert_eq!(counter().await, 0);

    // Ann's phone has no counter: refused, said at the top of the page.
    let phone = gw
        .store()
        .devices_of(ann.id)
        .await
        .expect("devices")
        .into_iter()
        .find(|d| d.id != token)
        .expect("phone");
    let (status, _, html) = send(
        &app.router,
        request(
            Method::POST,
            &format!("/admin/people/{}/devices/{}/resync", ann.id, phone.id),
            PEER,
            &cookies,
            Some(&[
                ("csrf", &csrf),
                ("first", RFC4226[3]),
                ("second", RFC4226[4]),
            ]),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Only an active HOTP token"), "{html}");
    assert_eq!(counter().await, 0);

    // Another organisation's admin: not found, as for any id, and nothing changed.
    let otto = sign_in_as(&app, "otto", "192.0.2.10", &otto_seed).await;
    let otto_csrf = portal_csrf(&app, "192.0.2.10", &otto).await;
    let (status, _, _) = send(
        &app.router,
        request(
            Method::POST,
            &action,
            "192.0.2.10",
            &[("mfa_session", &otto)],
            Some(&[
                ("csrf", &otto_csrf),
                ("first", RFC4226[3]),
                ("second", RFC4226[4]),
            ]),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = send(
        &app.router,
        request(
            Method::GET,
            &page,
            "192.0.2.10",
            &[("mfa_session", &otto)],
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(counter().await, 0);

    // The right pair (counters 3 and 4): back to the page, next counter 5.
    let (status, headers, _) = send(
        &app.router,
        request(
            Method::POST,
            &action,
            PEER,
            &cookies,
            Some(&[
                ("csrf", &csrf),
                ("first", RFC4226[3]),
                ("second", RFC4226[4]),
            ]),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{headers:?}");
    assert_eq!(counter().await, 5);
    let (status, _, html) = send(
        &app.router,
        request(
            Method::GET,
            &format!("{page}?resynced={token}"),
            PEER,
            &cookies,
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains(&format!(r#"id="resync-done-{token}""#)),
        "{html}"
    );

    // Audited: one done and one failed resync by olga, two refusals, the page views.
    let events = |kind: &'static str| async move {
        gw.store()
            .events(&crate::store::EventFilter {
                kind: Some(kind.into()),
                ..Default::default()
            })
            .await
            .expect("events")
    };
    let olga = gw.person("olga").await.expect("olga");
    let resyncs = events("device_resynced").await;
    assert_eq!(resyncs.len(), 2);
    assert!(
        resyncs
            .iter()
            .all(|e| e.event.actor == format!("person:{}", olga.id)
                && e.event.channel == crate::audit::Channel::Portal
                && e.event.source.as_deref() == Some(PEER))
    );
    assert_eq!(events("access_denied").await.len(), 2);
    // Ann hears of it (no relay here: the notice is audited as not sent).
    let mut mails = Vec::new();
    for _ in 0..100 {
        mails = events("mail_sent").await;
        if !mails.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].event.person_id, Some(ann.id));
    assert_eq!(mails[0].event.actor, format!("person:{}", olga.id));
    let views = events("audit_searched").await;
    assert!(views.len() >= 3, "each page view is audited");
    assert!(views.iter().all(|e| e.event.person_id == Some(ann.id)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_person_page_shows_recent_logins_and_lockout() {
    let app = app(EN).await;
    let olga_seed = person(&app, "olga", vec![Role::Person, Role::OrgAdmin]).await;
    let ann_seed = person(&app, "ann", vec![Role::Person]).await;
    let gw = &app.state.gateway;
    let ann = gw.person("ann").await.expect("ann");
    // Ann signs in to the portal (a login attempt accepted, her phone used), then three
    // wrong codes through the CLI channel.
    sign_in_as(&app, "ann", "192.0.2.20", &ann_seed).await;
    for _ in 0..3 {
        let d = gw
            .login(
                crate::service::cli_attempt(
                    "ann",
                    crate::engine::Credentials::PasswordAndCode {
                        password: crate::secret::SecretString::new("correct horse battery"),
                        code: crate::secret::SecretString::new("000000"),
                    },
                ),
                crate::model::now(),
            )
            .await
            .expect("login");
        assert!(matches!(d.verdict, crate::engine::Verdict::Reject(_)));
    }
    let sid = sign_in_as(&app, "olga", PEER, &olga_seed).await;
    let (status, _, html) = send(
        &app.router,
        request(
            Method::GET,
            &format!("/admin/people/{}", ann.id),
            PEER,
            &[("mfa_session", &sid)],
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains(r#"<table id="recent-logins">"#), "{html}");
    assert!(
        html.contains("192.0.2.20"),
        "the portal login's source: {html}"
    );
    assert!(
        html.contains("wrong_code") || html.contains("bad_code"),
        "{html}"
    );
    assert!(
        html.contains(r#"<li id="lockout-failures">Wrong codes since the last sign-in: 3</li>"#),
        "{html}"
    );
    assert!(
        !html.contains(r#"<td class="last-used">never</td>"#),
        "the phone was used: {html}"
    );
}

/// Issue 16: an org admin sees which RADIUS and OIDC clients serve their organisation: the
/// ones bound to it and the unbound ones, not those bound to others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_org_admin_sees_the_clients_that_serve_their_organisation() {
    let app = app(&format!(
        "{EN}[[radius.clients]]\nname = \"vpn-practice\"\naddress = \"10.0.0.1/32\"\nsecret = \"a-long-enough-secret-0123\"\norgs = [\"Practice\"]\n\
         [[radius.clients]]\nname = \"vpn-elsewhere\"\naddress = \"10.0.0.2/32\"\nsecret = \"a-long-enough-secret-0123\"\norgs = [\"Elsewhere\"]\n\
         [[radius.clients]]\nname = \"vpn-all\"\naddress = \"10.0.0.3/32\"\nsecret = \"a-long-enough-secret-0123\"\n",
    ))
    .await;
    let olga_seed = person(&app, "olga", vec![Role::Person, Role::OrgAdmin]).await;
    let org = app.state.gateway.person("olga").await.expect("olga").org_id;
    let sid = sign_in_as(&app, "olga", PEER, &olga_seed).await;
    let (status, _, html) = send(
        &app.router,
        request(
            Method::GET,
            &format!("/admin/orgs/{org}"),
            PEER,
            &[("mfa_session", sid.as_str())],
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let clients = &html[html.find(r#"id="clients""#).expect("the clients table")..];
    assert!(
        clients.contains("vpn-practice") && clients.contains("vpn-all"),
        "{clients}"
    );
    assert!(!clients.contains("vpn-elsewhere"), "{clients}");
}

/// The import form may send megabytes: without a signed-in admin its body is never read (a
/// body that fails when read would turn into a 400; the refusal comes first).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_import_body_is_not_read_before_the_sign_in_check() {
    let app = app(EN).await;
    let (get_status, _, _) = send(
        &app.router,
        request(Method::GET, "/admin/orgs/1/import", PEER, &[], None),
    )
    .await;
    let failing = futures_util::stream::once(async {
        Err::<axum::body::Bytes, std::io::Error>(std::io::Error::other("read"))
    });
    let mut req = request(Method::POST, "/admin/orgs/1/import", PEER, &[], None);
    req.headers_mut().insert(
        "content-type",
        axum::http::HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    *req.body_mut() = axum::body::Body::from_stream(failing);
    let (status, _, body) = send(&app.router, req).await;
    assert_ne!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(status, get_status, "the same refusal as the page itself");
}
