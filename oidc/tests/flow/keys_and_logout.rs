//! Key rotation as relying parties see it, and RP-initiated logout.

use crate::support::*;
use axum::http::{StatusCode, header};
use mfa_oidc::*;

const DAY: i64 = 86_400;

async fn id_token(env: &Env) -> String {
    let code = env
        .code_for("portal", "https://portal.example/cb", "n")
        .await;
    let r = env.exchange(&code).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()["id_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn key_rotation_publishes_ahead_and_keeps_old_keys_until_their_tokens_expire() {
    let mut settings = Settings::new(ISSUER);
    settings.key_rotation_days = 30;
    settings.key_publish_ahead = DAY as u64;
    let env = env_with(settings, vec![portal()]).await;
    let old = kids(&env.jwks().await);
    assert_eq!(old.len(), 1);
    let old = old[0].clone();

    // Not due yet.
    env.clock.advance(28 * DAY);
    env.provider.rotate_keys().await.unwrap();
    assert_eq!(kids(&env.jwks().await), vec![old.clone()]);

    // Due: the new key appears in the JWKS a day before it signs.
    env.clock.advance(DAY);
    env.provider.rotate_keys().await.unwrap();
    let both = kids(&env.jwks().await);
    assert_eq!(both.len(), 2);
    let new = both.iter().find(|k| **k != old).unwrap().clone();
    let before = id_token(&env).await;
    assert_eq!(kid_of(&before), old);
    env.verify(&before, "portal", Some("n")).await;
    let saved = env.keys.load().await.unwrap();
    assert_eq!(
        saved.len(),
        2,
        "the new key and the old key's retire_at were saved"
    );
    assert_eq!(
        saved.iter().find(|k| k.kid == old).unwrap().retire_at,
        Some(T0 + 30 * DAY)
    );

    // After the switch the new key signs; the old one is still published.
    env.clock.advance(DAY);
    env.provider.rotate_keys().await.unwrap();
    let after = id_token(&env).await;
    assert_eq!(kid_of(&after), new);
    env.verify(&after, "portal", Some("n")).await;
    assert_eq!(kids(&env.jwks().await).len(), 2);

    // Once every token the old key signed has expired (300 s + 60 s skew), it goes.
    env.clock.advance(359);
    assert_eq!(kids(&env.jwks().await).len(), 2);
    env.clock.advance(1);
    assert_eq!(kids(&env.jwks().await), vec![new.clone()]);
    env.provider.rotate_keys().await.unwrap();
    let saved: Vec<String> = env
        .keys
        .load()
        .await
        .unwrap()
        .iter()
        .map(|k| k.kid.clone())
        .collect();
    assert_eq!(saved, vec![new]);
}

#[tokio::test]
async fn a_restarted_provider_keeps_its_keys() {
    let env = env().await;
    let jwt = id_token(&env).await;
    let again = Provider::new(
        Settings::new(ISSUER),
        vec![portal()],
        env.backend.clone(),
        std::sync::Arc::new(MemoryState::default()),
        env.keys.clone(),
        env.clock.clone(),
        std::sync::Arc::new(TestPages),
    )
    .await
    .unwrap();
    let kids_before = kids(&env.jwks().await);
    let r = again.router();
    let other = Env {
        provider: again,
        router: r,
        clock: env.clock.clone(),
        backend: env.backend.clone(),
        keys: env.keys.clone(),
    };
    assert_eq!(kids(&other.jwks().await), kids_before);
    other.verify(&jwt, "portal", Some("n")).await;
}

#[tokio::test]
async fn logout_with_a_registered_post_logout_redirect_uri() {
    let env = env().await;
    let jwt = id_token(&env).await;
    // The hint may have expired.
    env.clock.advance(3600);
    let r = env
        .get(&format!(
            "/oauth2/logout?id_token_hint={jwt}&post_logout_redirect_uri={}&state=bye-1",
            enc("https://portal.example/bye")
        ))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(r.location(), "https://portal.example/bye?state=bye-1");
    assert_eq!(
        r.headers[header::SET_COOKIE],
        "gw_session=; Max-Age=0; Path=/"
    );
    assert_eq!(
        env.backend.ended.lock().unwrap().clone(),
        vec![Some(ann().sub)]
    );
    assert!(env.events().contains(&OidcEvent::LoggedOut {
        client_id: Some("portal".into()),
        sub: Some(ann().sub),
    }));
    // client_id alone identifies the client too (POST form).
    let body = format!(
        "client_id=portal&post_logout_redirect_uri={}",
        enc("https://portal.example/bye")
    );
    let r = env.post_form("/oauth2/logout", &body, &[]).await;
    assert_eq!(r.location(), "https://portal.example/bye");
}

#[tokio::test]
async fn logout_without_a_registered_post_logout_redirect_uri() {
    let env = env().await;
    let jwt = id_token(&env).await;
    for query in [
        format!(
            "id_token_hint={jwt}&post_logout_redirect_uri={}",
            enc("https://evil.example/")
        ),
        format!(
            "post_logout_redirect_uri={}",
            enc("https://portal.example/bye")
        ),
        format!(
            "id_token_hint={jwt}&client_id=spa&post_logout_redirect_uri={}",
            enc("https://portal.example/bye")
        ),
        format!(
            "id_token_hint=not.a.token&post_logout_redirect_uri={}",
            enc("https://portal.example/bye")
        ),
        String::new(),
    ] {
        let r = env.get(&format!("/oauth2/logout?{query}")).await;
        assert_eq!(r.status, StatusCode::OK, "{query}");
        assert!(!r.headers.contains_key(header::LOCATION));
        assert!(r.text().contains("You are signed out"));
        assert_eq!(
            r.headers[header::SET_COOKIE],
            "gw_session=; Max-Age=0; Path=/"
        );
    }
    let ended = env.backend.ended.lock().unwrap().clone();
    assert_eq!(ended.len(), 5);
    assert_eq!(ended[0], Some(ann().sub));
    assert_eq!(ended[1], None);
    assert_eq!(ended[3], None, "a bad hint names nobody");
}

#[tokio::test]
async fn a_logout_without_a_hint_asks_the_gateways_page_to_confirm() {
    let env = env().await;
    *env.backend.session_token.lock().unwrap() = Some("tok".into());
    let query = format!(
        "client_id=portal&state=s%3C1&post_logout_redirect_uri={}",
        enc("https://portal.example/bye")
    );
    let r = env.get(&format!("/oauth2/logout?{query}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers[header::CACHE_CONTROL], "no-store");
    assert!(
        r.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let text = r.text();
    assert!(
        text.starts_with(r#"Sign out? for Some("portal") to /oauth2/logout csrf=tok"#),
        "{text}"
    );
    assert!(
        text.contains(r#"("confirm", "yes"), ("client_id", "portal"), ("post_logout_redirect_uri", "https://portal.example/bye"), ("state", "s<1")"#),
        "{text}"
    );
    assert!(env.backend.ended.lock().unwrap().is_empty());
    // Confirmed with the token: ended, and back to the client.
    let r = env
        .post_form(
            "/oauth2/logout",
            &format!("{query}&confirm=yes&csrf=tok"),
            &[],
        )
        .await;
    assert_eq!(r.location(), "https://portal.example/bye?state=s%3C1");
    assert_eq!(env.backend.ended.lock().unwrap().len(), 1);
    // No registered way back: the gateway's signed-out page, told the client.
    let r = env
        .post_form("/oauth2/logout", "client_id=spa&confirm=yes&csrf=tok", &[])
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.text(), r#"You are signed out (for Some("spa"))"#);
}
