//! Single sign-on sessions as relying parties see them: the `sid` of the login in ID tokens
//! (code flow and refresh) and in the token event, and back-channel logout tokens for the
//! clients that registered a `backchannel_logout_uri`.

use crate::support::*;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mfa_oidc::*;
use openidconnect::JsonWebKey as _;
use openidconnect::core::CoreJwsSigningAlgorithm;
use serde_json::Value;

fn part(jwt: &str, n: usize) -> Value {
    serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(jwt.split('.').nth(n).unwrap())
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn id_tokens_carry_the_sid_and_logout_tokens_verify_with_the_published_keys() {
    let mut portal = portal();
    portal.backchannel_logout_uri = Some("https://portal.example/bc".into());
    portal.backchannel_logout_session_required = true;
    let env = env_with(Settings::new(ISSUER), vec![portal, spa()]).await;

    // A login under a session: its sid in the ID token, the refreshed one and the event.
    let query = format!(
        "response_type=code&client_id=portal&redirect_uri={}&scope=openid&state=st-1&nonce=n\
         &code_challenge={}&code_challenge_method=S256",
        enc("https://portal.example/cb"),
        challenge(VERIFIER)
    );
    let id = env.start(&query).await;
    let mut user = ann();
    user.sid = Some("sid-1".into());
    let r = env.provider.complete(&id, user).await.unwrap();
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let code = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let tokens = env.exchange(&code).await.json();
    let claims = env
        .verify(tokens["id_token"].as_str().unwrap(), "portal", Some("n"))
        .await;
    assert_eq!(claims.additional_claims().sid.as_deref(), Some("sid-1"));
    assert!(env.events().iter().any(|e| matches!(
        e,
        OidcEvent::TokenIssued { sid: Some(s), .. } if s == "sid-1"
    )));
    let form = format!(
        "grant_type=refresh_token&refresh_token={}",
        tokens["refresh_token"].as_str().unwrap()
    );
    let refreshed = env
        .token(&form, Some(("portal", PORTAL_SECRET)))
        .await
        .json();
    assert_eq!(
        part(refreshed["id_token"].as_str().unwrap(), 1)["sid"],
        "sid-1"
    );
    // Without a session: no sid claim at all.
    let code = env
        .code_for("portal", "https://portal.example/cb", "n")
        .await;
    let plain = env.exchange(&code).await.json();
    assert!(
        part(plain["id_token"].as_str().unwrap(), 1)
            .get("sid")
            .is_none()
    );

    // The logout token for the registered client verifies with the JWKS.
    let logout = env
        .provider
        .backchannel_logout("portal", &ann().sub, "sid-1")
        .unwrap()
        .expect("portal registered a URI");
    assert_eq!(logout.uri, "https://portal.example/bc");
    assert!(!format!("{logout:?}").contains(&logout.logout_token));
    let (input, signature) = logout.logout_token.rsplit_once('.').unwrap();
    let header = part(&logout.logout_token, 0);
    assert_eq!(header["typ"], LOGOUT_TOKEN_TYPE);
    let jwks = env.jwks().await;
    let key = jwks
        .keys()
        .iter()
        .find(|k| k.key_id().map(|k| k.as_str()) == header["kid"].as_str())
        .unwrap();
    key.verify_signature(
        &CoreJwsSigningAlgorithm::EdDsa,
        input.as_bytes(),
        &URL_SAFE_NO_PAD.decode(signature).unwrap(),
    )
    .unwrap();
    let claims: LogoutClaims = serde_json::from_value(part(&logout.logout_token, 1)).unwrap();
    assert_eq!(
        (
            claims.iss.as_str(),
            claims.aud.as_str(),
            claims.sid.as_str()
        ),
        (ISSUER, "portal", "sid-1")
    );
    assert_eq!(claims.sub, ann().sub);
    assert_eq!(claims.iat, T0);
    assert_eq!(claims.exp, T0 + LOGOUT_TOKEN_LIFETIME);
    assert!(claims.events.contains_key(BACKCHANNEL_LOGOUT_EVENT));
    assert_eq!(logout.jti, claims.jti);
    // Two tokens never share a jti.
    let again = env
        .provider
        .backchannel_logout("portal", &ann().sub, "sid-1")
        .unwrap()
        .unwrap();
    assert_ne!(again.jti, logout.jti);
    // A client without a URI, an unknown one: nothing to send.
    assert!(
        env.provider
            .backchannel_logout("spa", "u", "s")
            .unwrap()
            .is_none()
    );
    assert!(
        env.provider
            .backchannel_logout("nope", "u", "s")
            .unwrap()
            .is_none()
    );
}
