//! In-process tests of /audit for an organisation's auditor (role `org_auditor`, issue 16):
//! their organisation's events only, in every view; anything of another organisation is
//! the 404 of something that does not exist, audited as `access_denied`.

use crate::audit::{AuditEvent, EventKind};
use crate::model::{PersonId, Role, now};
use crate::secret::SecretString;
use crate::store::EventFilter;
use crate::web::router_tests::{App, app, request, send, sign_in_as};
use axum::http::{Method, StatusCode};

/// A person of organisation `org` (made if new) with a password and a phone; the phone's
/// seed and the person's id.
async fn person_in(app: &App, org: &str, username: &str, roles: Vec<Role>) -> (Vec<u8>, PersonId) {
    crate::web::router_tests::person_and_id_in(app, org, username, roles).await
}

/// A login with a wrong password (an event of the person's organisation, or of none for
/// an unknown username).
async fn wrong_password(app: &App, username: &str) {
    let d = app
        .state
        .gateway
        .login(
            crate::service::cli_attempt(
                username,
                crate::engine::Credentials::PasswordAndCode {
                    password: SecretString::new("wrong"),
                    code: SecretString::new("000000"),
                },
            ),
            now(),
        )
        .await
        .expect("login");
    assert!(matches!(d.verdict, crate::engine::Verdict::Reject(_)));
}

async fn get(app: &App, path: &str, sid: &str) -> (StatusCode, String) {
    let (status, _, body) = send(
        &app.router,
        request(
            Method::GET,
            path,
            "192.0.2.40",
            &[("mfa_session", sid)],
            None,
        ),
    )
    .await;
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_org_auditor_sees_their_organisation_only() {
    let app = app("").await;
    let gw = app.state.gateway.clone();
    let (olive_seed, olive) = person_in(
        &app,
        "Practice A",
        "olive",
        vec![Role::Person, Role::OrgAuditor],
    )
    .await;
    let (_, ann) = person_in(&app, "Practice A", "ann", vec![Role::Person]).await;
    let (_, bob) = person_in(&app, "Practice B", "bob", vec![Role::Person]).await;
    let (aud_seed, _) = person_in(
        &app,
        "Practice B",
        "audrey",
        vec![Role::Person, Role::Auditor],
    )
    .await;
    let org_a = gw.org("Practice A").await.expect("A").id;
    for user in ["ann", "ann", "bob", "nobody"] {
        wrong_password(&app, user).await;
    }
    // An event about ann without an organisation: in A's view through the person.
    let mut orphan = AuditEvent::admin(now(), EventKind::DeviceRenamed, "person:0");
    orphan.person_id = Some(ann);
    orphan.username = Some("ann".into());
    orphan.device_label = Some("ann's renamed phone".into());
    gw.store().append_event(&orphan).await.expect("event");

    let sid = sign_in_as(&app, "olive", "192.0.2.40", &olive_seed).await;
    let (status, page) = get(&app, "/audit", &sid).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains(r#"id="scope""#), "the scope is said");
    assert!(
        page.contains(r#"id="f-org" value="Practice A" readonly"#),
        "the organisation field is fixed"
    );
    assert!(page.contains("ann&#39;s renamed phone") || page.contains("ann's renamed phone"));
    assert!(page.contains(">ann<"), "{page}");
    for other in [">bob<", "nobody", "audrey"] {
        assert!(!page.contains(other), "{other} in {page}");
    }
    // Their own organisation by name or id is allowed; a person of theirs too.
    for path in [
        "/audit?org=Practice+A".to_owned(),
        format!("/audit?org={org_a}"),
        "/audit?person=ann".to_owned(),
        format!("/audit/person/{ann}"),
        format!("/audit/subject/{ann}"),
    ] {
        let (status, page) = get(&app, &path, &sid).await;
        assert_eq!(status, StatusCode::OK, "{path}: {page}");
        assert!(
            !page.contains(">bob<") && !page.contains("nobody"),
            "{path}"
        );
    }
    // Subject access as JSON: ann's events of A's view (the one without an organisation
    // included); the export: A's events only.
    let (status, json) = get(&app, &format!("/audit/subject/{ann}/json"), &sid).await;
    assert_eq!(status, StatusCode::OK);
    let doc: serde_json::Value = serde_json::from_str(&json).expect("json");
    let events = doc["events"].as_array().expect("events");
    assert!(
        events.iter().any(|e| e["kind"] == "device_renamed"),
        "{json}"
    );
    let (status, csv) = get(&app, "/audit/export.csv", &sid).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        csv.contains(",ann,") && !csv.contains(",bob,") && !csv.contains("nobody"),
        "{csv}"
    );

    // Another organisation's person or organisation, or a username that is none of
    // theirs: the 404 of one that does not exist.
    let (_, missing) = get(&app, "/audit/person/999999", &sid).await;
    let refused = [
        format!("/audit/person/{bob}"),
        format!("/audit/subject/{bob}"),
        format!("/audit/subject/{bob}/json"),
        "/audit?person=bob".to_owned(),
        "/audit?org=Practice+B".to_owned(),
        "/audit/export.csv?org=Practice+B".to_owned(),
        "/audit/export.jsonl?person=bob".to_owned(),
    ];
    for path in &refused {
        let (status, page) = get(&app, path, &sid).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {page}");
        if path.starts_with("/audit/person") || path.starts_with("/audit/subject") {
            assert_eq!(
                page, missing,
                "{path}: the page of a person that does not exist"
            );
        }
    }
    let (status, _) = get(&app, "/audit?person=nobody", &sid).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "no events without an organisation"
    );

    // Each refusal audited with what was asked and the scope; each view with the scope.
    let of_kind = |kind: &str| {
        let gw = gw.clone();
        let kind = kind.to_owned();
        async move {
            gw.store()
                .events(&EventFilter {
                    kind: Some(kind),
                    ..EventFilter::default()
                })
                .await
                .expect("events")
        }
    };
    let denied = of_kind("access_denied").await;
    assert_eq!(denied.len(), refused.len() + 1, "{denied:?}");
    let scope = format!("org:{org_a}");
    for e in &denied {
        assert_eq!(e.event.actor, format!("person:{olive}"));
        assert_eq!(e.event.reason.as_deref(), Some("scope"));
        assert_eq!(e.event.org_id, Some(org_a));
        let detail = e.event.detail.as_ref().expect("detail");
        assert_eq!(detail["scope"], scope.as_str());
        assert!(detail["what"].as_str().is_some_and(|w| !w.is_empty()));
    }
    assert!(
        denied
            .iter()
            .any(|e| e.event.detail.as_ref().expect("detail")["what"] == format!("person {bob}"))
    );
    for kind in [
        "audit_searched",
        "audit_exported",
        "subject_access_exported",
    ] {
        let views = of_kind(kind).await;
        assert!(!views.is_empty(), "{kind}");
        assert!(
            views
                .iter()
                .all(|e| e.event.detail.as_ref().expect("detail")["scope"] == scope.as_str()),
            "{kind}: {views:?}"
        );
    }

    // The provider's auditor keeps the global view.
    let sid = sign_in_as(&app, "audrey", "192.0.2.41", &aud_seed).await;
    let (status, page) = get(&app, "/audit", &sid).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(">bob<") && page.contains("nobody") && !page.contains(r#"id="scope""#));
    let (status, _) = get(&app, &format!("/audit/subject/{bob}"), &sid).await;
    assert_eq!(status, StatusCode::OK);
    let views = of_kind("subject_access_exported").await;
    assert!(
        views
            .iter()
            .any(|e| e.event.detail.as_ref().expect("detail")["scope"] == "all")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn org_auditor_is_a_role_like_the_others() {
    use crate::model::{Role, roles_from_text, roles_to_text};
    assert_eq!(Role::parse("org_auditor"), Some(Role::OrgAuditor));
    assert_eq!(Role::parse("org-auditor"), Some(Role::OrgAuditor));
    let roles = vec![Role::Person, Role::OrgAuditor];
    assert_eq!(roles_from_text(&roles_to_text(&roles)), roles);
    assert!(Role::names().ends_with("auditor, org_auditor"));
    // A person with neither auditor role still gets 403.
    let app = app("").await;
    let (seed, _) = person_in(&app, "Practice A", "pat", vec![Role::Person]).await;
    let sid = sign_in_as(&app, "pat", "192.0.2.42", &seed).await;
    let (status, _) = get(&app, "/audit", &sid).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
