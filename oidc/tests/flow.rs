//! The provider end to end through its router (`oneshot`), with a stub backend, a settable
//! clock, MemoryState and an in-memory key store. One test binary: see the modules below.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "flow/authorize_errors.rs"]
mod authorize_errors;
#[path = "flow/backchannel.rs"]
mod backchannel;
#[path = "flow/keys_and_logout.rs"]
mod keys_and_logout;
#[path = "flow/negative.rs"]
mod negative;
#[path = "flow/robustness.rs"]
mod robustness;
#[path = "flow/support.rs"]
mod support;

use axum::http::{StatusCode, header};
use mfa_oidc::*;
use openidconnect::core::CoreJwsSigningAlgorithm;
use openidconnect::{AccessToken, AccessTokenHash, JsonWebKey};
use support::*;

#[tokio::test]
async fn discovery_document() {
    let env = env().await;
    let r = env.get("/.well-known/openid-configuration").await;
    assert_eq!(r.status, StatusCode::OK);
    let d = r.json();
    assert_eq!(d["issuer"], ISSUER);
    assert_eq!(
        d["authorization_endpoint"],
        "https://idp.example/oauth2/authorize"
    );
    assert_eq!(d["token_endpoint"], "https://idp.example/oauth2/token");
    assert_eq!(
        d["userinfo_endpoint"],
        "https://idp.example/oauth2/userinfo"
    );
    assert_eq!(d["jwks_uri"], "https://idp.example/oauth2/jwks");
    assert_eq!(
        d["end_session_endpoint"],
        "https://idp.example/oauth2/logout"
    );
    assert_eq!(
        d["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        d["token_endpoint_auth_methods_supported"],
        serde_json::json!(["client_secret_basic", "client_secret_post", "none"])
    );
    assert_eq!(
        d["response_types_supported"],
        serde_json::json!(["code", "id_token"])
    );
    assert_eq!(d["subject_types_supported"], serde_json::json!(["public"]));
    assert_eq!(
        d["id_token_signing_alg_values_supported"],
        serde_json::json!(["EdDSA"])
    );
    assert_eq!(
        d["scopes_supported"],
        serde_json::json!(["openid", "profile", "email"])
    );
    assert_eq!(
        d["grant_types_supported"],
        serde_json::json!(["authorization_code", "refresh_token", "implicit"])
    );
    for claim in [
        "sub",
        "name",
        "email",
        "preferred_username",
        "organisation",
        "amr",
    ] {
        assert!(
            d["claims_supported"]
                .as_array()
                .unwrap()
                .contains(&claim.into()),
            "{claim}"
        );
    }
    assert_eq!(d["authorization_response_iss_parameter_supported"], true);
    assert_eq!(d["backchannel_logout_supported"], true);
    assert_eq!(d["backchannel_logout_session_supported"], true);
}

#[tokio::test]
async fn jwks_publishes_only_public_keys() {
    let env = env().await;
    let r = env.get("/oauth2/jwks").await;
    let v = r.json();
    let keys = v["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kty"], "OKP");
    assert_eq!(keys[0]["crv"], "Ed25519");
    assert_eq!(keys[0]["alg"], "EdDSA");
    assert_eq!(keys[0]["use"], "sig");
    assert!(keys[0]["kid"].is_string());
    assert!(keys[0].get("d").is_none());
    // The first key was saved for the gateway to persist.
    assert_eq!(env.keys.load().await.unwrap().len(), 1);
}

#[tokio::test]
async fn code_flow_with_pkce_then_userinfo() {
    let env = env().await;
    let query = format!(
        "response_type=code&client_id=portal&redirect_uri={}&scope=openid+profile+email+unknown\
         &state=xyz&nonce=n-0S6_WzA2Mj&code_challenge={}&code_challenge_method=S256&login_hint=ann",
        enc("https://portal.example/cb"),
        challenge(VERIFIER)
    );
    let id = env.start(&query).await;
    let pending = env.provider.pending(&id).await.unwrap();
    assert_eq!(pending.client_name, "Staff portal");
    assert_eq!(pending.scope, vec!["openid", "profile", "email"]);
    assert_eq!(pending.login_hint.as_deref(), Some("ann"));
    assert_eq!(pending.response_type, ResponseType::Code);

    let r = env.provider.complete(&id, ann()).await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let location = r.headers()[header::LOCATION].to_str().unwrap();
    assert!(
        location.starts_with("https://portal.example/cb?code="),
        "{location}"
    );
    let params: std::collections::HashMap<String, String> = url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(params["state"], "xyz");
    assert_eq!(params["iss"], ISSUER);
    assert!(
        env.provider.pending(&id).await.is_none(),
        "pending is single use"
    );

    let r = env.exchange(&params["code"]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(r.headers[header::PRAGMA], "no-cache");
    let t = r.json();
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["expires_in"], 300);
    assert_eq!(t["scope"], "openid profile email");
    assert!(t["refresh_token"].is_string());
    let access = t["access_token"].as_str().unwrap();
    let jwt = t["id_token"].as_str().unwrap();

    let claims = env.verify(jwt, "portal", Some("n-0S6_WzA2Mj")).await;
    assert_eq!(claims.subject().as_str(), "8f14e45f-ann");
    assert_eq!(claims.issuer().as_str(), ISSUER);
    assert_eq!(claims.audiences().len(), 1);
    assert_eq!(claims.audiences()[0].as_str(), "portal");
    assert_eq!(claims.authorized_party().unwrap().as_str(), "portal");
    assert_eq!(claims.auth_time().unwrap().timestamp(), T0);
    assert_eq!(claims.issue_time().timestamp(), T0);
    assert_eq!(claims.expiration().timestamp(), T0 + 300);
    let amr: Vec<&str> = claims
        .auth_method_refs()
        .unwrap()
        .iter()
        .map(|a| a.as_str())
        .collect();
    assert_eq!(amr, ["pwd", "otp"]);
    assert_eq!(
        claims.name().unwrap().get(None).unwrap().as_str(),
        "Ann Example"
    );
    assert_eq!(claims.email().unwrap().as_str(), "ann@example.org");
    assert_eq!(claims.preferred_username().unwrap().as_str(), "ann");
    assert_eq!(
        claims.additional_claims().organisation.as_deref(),
        Some("Acme")
    );
    // at_hash: left half of SHA-512 (Ed25519) of the access token.
    let jwks = env.jwks().await;
    let key = jwks
        .keys()
        .iter()
        .find(|k| k.key_id().unwrap().as_str() == kid_of(jwt))
        .unwrap();
    let expected = AccessTokenHash::from_token(
        &AccessToken::new(access.into()),
        &CoreJwsSigningAlgorithm::EdDsa,
        key,
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected));

    let r = env
        .send(
            axum::http::Request::get("/oauth2/userinfo")
                .header(header::AUTHORIZATION, format!("Bearer {access}"))
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let u = r.json();
    assert_eq!(u["sub"], "8f14e45f-ann");
    assert_eq!(u["email"], "ann@example.org");
    assert_eq!(u["organisation"], "Acme");
    // Form body (RFC 6750 2.2).
    let r = env
        .post_form("/oauth2/userinfo", &format!("access_token={access}"), &[])
        .await;
    assert_eq!(r.json()["preferred_username"], "ann");

    assert!(env.events().contains(&OidcEvent::TokenIssued {
        client_id: "portal".into(),
        sub: "8f14e45f-ann".into(),
        grant: GrantKind::AuthorizationCode,
        sid: None,
    }));
}

#[tokio::test]
async fn public_client_with_pkce_and_narrow_scope() {
    let env = env().await;
    let query = format!(
        "response_type=code&client_id=spa&redirect_uri={}&scope=openid&code_challenge={}&code_challenge_method=S256",
        enc("https://spa.example/cb"),
        challenge(VERIFIER)
    );
    let id = env.start(&query).await;
    let r = env.provider.complete(&id, ann()).await.unwrap();
    let code = url::Url::parse(r.headers()[header::LOCATION].to_str().unwrap())
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let form = format!(
        "grant_type=authorization_code&client_id=spa&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
        enc("https://spa.example/cb")
    );
    let r = env.token(&form, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let t = r.json();
    assert!(t.get("refresh_token").is_none());
    let claims = env
        .verify(t["id_token"].as_str().unwrap(), "spa", None)
        .await;
    assert!(claims.nonce().is_none());
    assert!(claims.email().is_none(), "no email scope, no email claim");
    assert!(claims.additional_claims().organisation.is_none());
    let r = env
        .post_form(
            "/oauth2/userinfo",
            &format!("access_token={}", t["access_token"].as_str().unwrap()),
            &[],
        )
        .await;
    assert_eq!(r.json(), serde_json::json!({"sub": "8f14e45f-ann"}));
}

#[tokio::test]
async fn implicit_id_token_for_a_client_that_allows_it() {
    let env = env().await;
    let query = format!(
        "response_type=id_token&client_id=guacamole&redirect_uri={}&scope=openid%20profile&nonce=abc123&state=guac",
        enc("https://guac.example/guacamole/")
    );
    // POST works like GET.
    let r = env.post_form("/oauth2/authorize", &query, &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let id = r
        .location()
        .strip_prefix("/login?auth=")
        .unwrap()
        .to_owned();
    let r = env.provider.complete(&id, ann()).await.unwrap();
    let location = r.headers()[header::LOCATION].to_str().unwrap().to_owned();
    assert!(
        location.starts_with("https://guac.example/guacamole/#id_token="),
        "{location}"
    );
    let fragment = url::Url::parse(&location)
        .unwrap()
        .fragment()
        .unwrap()
        .to_owned();
    let params: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(fragment.as_bytes())
            .into_owned()
            .collect();
    assert_eq!(params["state"], "guac");
    let claims = env
        .verify(&params["id_token"], "guacamole", Some("abc123"))
        .await;
    assert!(claims.access_token_hash().is_none());
    assert_eq!(claims.preferred_username().unwrap().as_str(), "ann");
    assert!(env.events().iter().any(|e| matches!(
        e,
        OidcEvent::TokenIssued {
            grant: GrantKind::Implicit,
            ..
        }
    )));
}

#[tokio::test]
async fn implicit_refused_for_a_client_that_does_not_allow_it() {
    let env = env().await;
    let query = format!(
        "response_type=id_token&client_id=portal&redirect_uri={}&scope=openid&nonce=n&state=s1",
        enc("https://portal.example/cb")
    );
    let r = env.get(&format!("/oauth2/authorize?{query}")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        r.location()
            .starts_with("https://portal.example/cb#error=unauthorized_client")
    );
    assert_eq!(r.redirect_params()["state"], "s1");
}

#[tokio::test]
async fn rs256_clients_get_rs256_tokens() {
    let mut rsa = spa();
    rsa.client_id = "legacy".into();
    rsa.id_token_alg = SigningAlg::Rs256;
    let env = env_with(Settings::new(ISSUER), vec![rsa, spa()]).await;
    let d = env.get("/.well-known/openid-configuration").await.json();
    assert_eq!(
        d["id_token_signing_alg_values_supported"],
        serde_json::json!(["EdDSA", "RS256"])
    );
    assert_eq!(env.jwks().await.keys().len(), 2);
    let code = env.code_for("legacy", "https://spa.example/cb", "n1").await;
    let form = format!(
        "grant_type=authorization_code&client_id=legacy&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
        enc("https://spa.example/cb")
    );
    let r = env.token(&form, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let jwt = r.json()["id_token"].as_str().unwrap().to_owned();
    let token: GatewayIdToken = jwt.parse().unwrap();
    assert_eq!(
        token.signing_alg().unwrap(),
        &CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256
    );
    env.verify(&jwt, "legacy", Some("n1")).await;
}

#[tokio::test]
async fn deny_redirects_with_access_denied_and_uses_up_the_pending_id() {
    let env = env().await;
    let query = format!(
        "response_type=code&client_id=portal&redirect_uri={}&scope=openid&state=s9&code_challenge={}&code_challenge_method=S256",
        enc("https://portal.example/cb"),
        challenge(VERIFIER)
    );
    let id = env.start(&query).await;
    let r = env.provider.deny(&id).await.unwrap();
    let location = r.headers()[header::LOCATION].to_str().unwrap();
    assert!(
        location.starts_with("https://portal.example/cb?error=access_denied"),
        "{location}"
    );
    assert!(location.contains("state=s9"));
    assert!(matches!(
        env.provider.complete(&id, ann()).await,
        Err(OidcError::UnknownPending)
    ));
    // A pending login expires after pending_lifetime.
    let id = env.start(&query).await;
    env.clock.advance(601);
    assert!(matches!(
        env.provider.complete(&id, ann()).await,
        Err(OidcError::UnknownPending)
    ));
}
