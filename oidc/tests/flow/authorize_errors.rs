//! Refusals at the authorization endpoint: an error page for an unknown client or redirect
//! URI, an error redirect for everything else.

use crate::support::*;
use axum::http::{StatusCode, header};

fn authorize_query(extra: &str) -> String {
    format!(
        "/oauth2/authorize?client_id=portal&redirect_uri={}&state=st{extra}",
        enc("https://portal.example/cb")
    )
}

async fn authorize_error(env: &Env, extra: &str) -> String {
    let r = env.get(&authorize_query(extra)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{extra}");
    let params = r.redirect_params();
    assert!(r.location().starts_with("https://portal.example/cb"));
    assert_eq!(params["state"], "st", "{extra}");
    assert!(params.contains_key("error_description"));
    params["error"].clone()
}

#[tokio::test]
async fn wrong_redirect_uri_gets_an_error_page_not_a_redirect() {
    let env = env().await;
    let c = challenge(VERIFIER);
    for uri in [
        "https://evil.example/cb",
        "https://portal.example/cb/",
        "https://portal.example/cb?x=1",
        "https://portal.example/CB",
    ] {
        let r = env
            .get(&format!(
                "/oauth2/authorize?response_type=code&client_id=portal&scope=openid&redirect_uri={}&code_challenge={c}&code_challenge_method=S256",
                enc(uri)
            ))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(!r.headers.contains_key(header::LOCATION));
        assert!(
            r.headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert!(!r.text().contains("evil"));
        // The gateway's page, told which (registered) client asked.
        assert_eq!(r.text(), r#"error InvalidRequest for Some("portal")"#);
    }
    // Missing redirect_uri, unknown client, missing client.
    for q in [
        "response_type=code&client_id=portal&scope=openid".to_owned(),
        format!(
            "response_type=code&client_id=nobody&scope=openid&redirect_uri={}",
            enc("https://portal.example/cb")
        ),
        format!(
            "response_type=code&scope=openid&redirect_uri={}",
            enc("https://portal.example/cb")
        ),
    ] {
        let r = env.get(&format!("/oauth2/authorize?{q}")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}");
        assert!(!r.headers.contains_key(header::LOCATION));
        // Only a registered client is named to the page (its organisation's language).
        let asked = if q.contains("client_id=portal") {
            r#"Some("portal")"#
        } else {
            "None"
        };
        assert_eq!(r.text(), format!("error InvalidRequest for {asked}"), "{q}");
    }
}

#[tokio::test]
async fn authorize_errors_go_back_to_the_client() {
    let env = env().await;
    let c = challenge(VERIFIER);
    let pkce = format!("&code_challenge={c}&code_challenge_method=S256");
    assert_eq!(
        authorize_error(&env, &format!("&response_type=token&scope=openid{pkce}")).await,
        "unsupported_response_type"
    );
    assert_eq!(
        authorize_error(&env, &format!("&scope=openid{pkce}")).await,
        "invalid_request"
    );
    assert_eq!(
        authorize_error(&env, &format!("&response_type=code&scope=profile{pkce}")).await,
        "invalid_scope"
    );
    assert_eq!(
        authorize_error(&env, "&response_type=code&scope=openid").await,
        "invalid_request"
    );
    assert_eq!(
        authorize_error(
            &env,
            &format!("&response_type=code&scope=openid&code_challenge={c}")
        )
        .await,
        "invalid_request",
        "method defaults to plain, which is refused"
    );
    assert_eq!(
        authorize_error(
            &env,
            &format!(
                "&response_type=code&scope=openid&code_challenge={c}&code_challenge_method=plain"
            )
        )
        .await,
        "invalid_request"
    );
    // prompt=none goes to the login URL like any request; without a single sign-on session
    // the backend answers login_required (`Provider::login_required`), no page shown.
    let id = env
        .start(
            authorize_query(&format!(
                "&response_type=code&scope=openid&prompt=none{pkce}"
            ))
            .trim_start_matches("/oauth2/authorize?"),
        )
        .await;
    let r = env.provider.login_required(&id).await.unwrap();
    let location = r.headers()[header::LOCATION].to_str().unwrap().to_owned();
    assert!(
        location.starts_with("https://portal.example/cb?error=login_required&"),
        "{location}"
    );
    assert!(location.contains("state=st"), "{location}");
    assert_eq!(
        authorize_error(
            &env,
            &format!("&response_type=code&scope=openid&request=eyJ{pkce}")
        )
        .await,
        "request_not_supported"
    );
    assert_eq!(
        authorize_error(
            &env,
            &format!("&response_type=code&scope=openid&max_age=soon{pkce}")
        )
        .await,
        "invalid_request"
    );
    assert_eq!(
        authorize_error(
            &env,
            &format!("&response_type=code&scope=openid&scope=email{pkce}")
        )
        .await,
        "invalid_request"
    );
}

#[tokio::test]
async fn implicit_requires_a_nonce() {
    let env = env().await;
    let r = env
        .get(&format!(
            "/oauth2/authorize?response_type=id_token&client_id=guacamole&scope=openid&redirect_uri={}",
            enc("https://guac.example/guacamole/")
        ))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        r.location().contains("#error=invalid_request"),
        "{}",
        r.location()
    );
    // And guacamole may not use the code flow.
    let r = env
        .get(&format!(
            "/oauth2/authorize?response_type=code&client_id=guacamole&scope=openid&redirect_uri={}&code_challenge={}&code_challenge_method=S256",
            enc("https://guac.example/guacamole/"),
            challenge(VERIFIER)
        ))
        .await;
    assert!(
        r.location().contains("?error=unauthorized_client"),
        "{}",
        r.location()
    );
}
