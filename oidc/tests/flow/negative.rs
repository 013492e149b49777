//! Refusals at the token and userinfo endpoints, each its own test.

use crate::support::*;
use axum::http::{StatusCode, header};
use mfa_oidc::*;

fn assert_invalid_grant(r: &Reply) {
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert_eq!(r.json()["error"], "invalid_grant");
    assert_eq!(r.headers[header::CACHE_CONTROL], "no-store");
}

#[tokio::test]
async fn reused_code_fails_and_revokes_what_it_gave() {
    let env = env().await;
    let code = env
        .code_for("portal", "https://portal.example/cb", "n")
        .await;
    let first = env.exchange(&code).await;
    assert_eq!(first.status, StatusCode::OK);
    let t = first.json();
    assert_invalid_grant(&env.exchange(&code).await);
    let r = env
        .post_form(
            "/oauth2/userinfo",
            &format!("access_token={}", t["access_token"].as_str().unwrap()),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(
        r.headers[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    let form = format!(
        "grant_type=refresh_token&refresh_token={}",
        t["refresh_token"].as_str().unwrap()
    );
    assert_invalid_grant(&env.token(&form, Some(("portal", PORTAL_SECRET))).await);
    let events = env.events();
    assert!(events.contains(&OidcEvent::TokensRevoked {
        client_id: "portal".into(),
        sub: ann().sub,
        cause: RevocationCause::CodeReused,
    }));
    assert!(events.iter().any(|e| matches!(
        e,
        OidcEvent::TokenRefused {
            reason: RefusalReason::CodeReused,
            ..
        }
    )));
}

#[tokio::test]
async fn missing_pkce_verifier() {
    let env = env().await;
    let code = env
        .code_for("portal", "https://portal.example/cb", "n")
        .await;
    let form = format!(
        "grant_type=authorization_code&code={code}&redirect_uri={}",
        enc("https://portal.example/cb")
    );
    assert_invalid_grant(&env.token(&form, Some(("portal", PORTAL_SECRET))).await);
}

#[tokio::test]
async fn wrong_pkce_verifier() {
    let env = env().await;
    let code = env
        .code_for("portal", "https://portal.example/cb", "n")
        .await;
    let form = format!(
        "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={}",
        enc("https://portal.example/cb"),
        "x".repeat(43)
    );
    assert_invalid_grant(&env.token(&form, Some(("portal", PORTAL_SECRET))).await);
    assert!(env.events().iter().any(|e| matches!(
        e,
        OidcEvent::TokenRefused {
            reason: RefusalReason::PkceMismatch,
            ..
        }
    )));
}

#[tokio::test]
async fn expired_code() {
    let env = env().await;
    let code = env
        .code_for("portal", "https://portal.example/cb", "n")
        .await;
    env.clock.advance(61);
    assert_invalid_grant(&env.exchange(&code).await);
}

#[tokio::test]
async fn code_used_by_another_client() {
    let env = env().await;
    let code = env
        .code_for("portal", "https://portal.example/cb", "n")
        .await;
    let form = format!(
        "grant_type=authorization_code&client_id=spa&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
        enc("https://portal.example/cb")
    );
    assert_invalid_grant(&env.token(&form, None).await);
    assert!(env.events().iter().any(|e| matches!(
        e,
        OidcEvent::TokenRefused {
            reason: RefusalReason::ClientMismatch,
            ..
        }
    )));
}

#[tokio::test]
async fn redirect_uri_must_match_at_the_token_endpoint() {
    let env = env().await;
    let code = env
        .code_for("portal", "https://portal.example/cb", "n")
        .await;
    let form = format!(
        "grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fportal.example%2Fother&code_verifier={VERIFIER}"
    );
    assert_invalid_grant(&env.token(&form, Some(("portal", PORTAL_SECRET))).await);
}

#[tokio::test]
async fn wrong_client_secret_basic() {
    let env = env().await;
    let code = env
        .code_for("portal", "https://portal.example/cb", "n")
        .await;
    let form = format!(
        "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
        enc("https://portal.example/cb")
    );
    let r = env.token(&form, Some(("portal", "not-the-secret"))).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(
        r.headers[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    assert_eq!(r.json()["error"], "invalid_client");
    assert!(env.events().contains(&OidcEvent::TokenRefused {
        client_id: Some("portal".into()),
        error: ErrorCode::InvalidClient,
        reason: RefusalReason::BadClientSecret,
    }));
    // The code was not consumed by the failed attempt.
    assert_eq!(env.exchange(&code).await.status, StatusCode::OK);
}

#[tokio::test]
async fn wrong_client_secret_post() {
    let env = env().await;
    let code = env
        .code_for("portal", "https://portal.example/cb", "n")
        .await;
    let base = format!(
        "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
        enc("https://portal.example/cb")
    );
    let r = env
        .token(
            &format!("{base}&client_id=portal&client_secret=wrong"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["error"], "invalid_client");
    assert!(!r.headers.contains_key(header::WWW_AUTHENTICATE));
    // No secret at all from a confidential client.
    let r = env.token(&format!("{base}&client_id=portal"), None).await;
    assert_eq!(r.json()["error"], "invalid_client");
    // The right secret by post works.
    let r = env
        .token(
            &format!(
                "{base}&client_id=portal&client_secret={}",
                enc(PORTAL_SECRET)
            ),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

#[tokio::test]
async fn refresh_rotation_and_reuse_revokes_the_family() {
    let env = env().await;
    let code = env
        .code_for("portal", "https://portal.example/cb", "n")
        .await;
    let t1 = env.exchange(&code).await.json();
    let r1 = t1["refresh_token"].as_str().unwrap().to_owned();
    let refresh = |token: &str| format!("grant_type=refresh_token&refresh_token={token}");

    env.clock.advance(100);
    let r = env
        .token(&refresh(&r1), Some(("portal", PORTAL_SECRET)))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let t2 = r.json();
    let r2 = t2["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2);
    let claims = env
        .verify(t2["id_token"].as_str().unwrap(), "portal", None)
        .await;
    assert_eq!(
        claims.auth_time().unwrap().timestamp(),
        T0,
        "auth_time is the original login"
    );
    assert_eq!(claims.issue_time().timestamp(), T0 + 100);

    // The old one is refused after use, and its reuse revokes the whole family.
    assert_invalid_grant(
        &env.token(&refresh(&r1), Some(("portal", PORTAL_SECRET)))
            .await,
    );
    assert_invalid_grant(
        &env.token(&refresh(&r2), Some(("portal", PORTAL_SECRET)))
            .await,
    );
    let r = env
        .post_form(
            "/oauth2/userinfo",
            &format!("access_token={}", t2["access_token"].as_str().unwrap()),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(env.events().iter().any(|e| matches!(
        e,
        OidcEvent::TokensRevoked {
            cause: RevocationCause::RefreshTokenReused,
            ..
        }
    )));
    // Scope may narrow but not widen; another client cannot refresh.
    let t3 = env
        .exchange(
            &env.code_for("portal", "https://portal.example/cb", "n")
                .await,
        )
        .await
        .json();
    let r3 = t3["refresh_token"].as_str().unwrap();
    let r = env
        .token(
            &format!("{}&scope=openid+phone", refresh(r3)),
            Some(("portal", PORTAL_SECRET)),
        )
        .await;
    assert_eq!(r.json()["error"], "invalid_scope");
}

#[tokio::test]
async fn refresh_fails_for_an_inactive_account() {
    let env = env().await;
    let code = env
        .code_for("portal", "https://portal.example/cb", "n")
        .await;
    let t = env.exchange(&code).await.json();
    env.backend.users.lock().unwrap().clear();
    let form = format!(
        "grant_type=refresh_token&refresh_token={}",
        t["refresh_token"].as_str().unwrap()
    );
    assert_invalid_grant(&env.token(&form, Some(("portal", PORTAL_SECRET))).await);
    let r = env
        .post_form(
            "/oauth2/userinfo",
            &format!("access_token={}", t["access_token"].as_str().unwrap()),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn token_endpoint_request_errors() {
    let env = env().await;
    let auth = Some(("portal", PORTAL_SECRET));
    assert_eq!(
        env.token("grant_type=password&username=a&password=b", auth)
            .await
            .json()["error"],
        "unsupported_grant_type"
    );
    assert_eq!(
        env.token("code=x", auth).await.json()["error"],
        "invalid_request"
    );
    assert_eq!(
        env.token("grant_type=authorization_code", auth)
            .await
            .json()["error"],
        "invalid_request"
    );
    assert_eq!(
        env.token(
            "grant_type=refresh_token&refresh_token=x",
            Some(("spa", ""))
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        env.token(
            "grant_type=refresh_token&refresh_token=x&client_id=spa",
            None
        )
        .await
        .json()["error"],
        "unauthorized_client"
    );
    assert_eq!(
        env.token(
            "grant_type=authorization_code&grant_type=refresh_token",
            auth
        )
        .await
        .json()["error"],
        "invalid_request"
    );
    // Userinfo without a token: a bare challenge.
    let r = env.get("/oauth2/userinfo").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers[header::WWW_AUTHENTICATE], "Bearer");
}
