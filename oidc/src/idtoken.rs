//! ID tokens: built with `openidconnect`'s issuer-side types, signed with our keys, and
//! verified again when they come back as `id_token_hint`.

use crate::clients::ClientRegistration;
use crate::error::{OidcError, Result};
use crate::keys::{Signer, SigningKey};
use crate::model::UserClaims;
use crate::{UnixTime, later};
use chrono::{DateTime, Utc};
use openidconnect::core::{
    CoreGenderClaim, CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
};
use openidconnect::{
    AccessToken, AdditionalClaims, Audience, AuthenticationContextClass,
    AuthenticationMethodReference, ClientId, EndUserEmail, EndUserName, EndUserUsername, IdToken,
    IdTokenClaims, IdTokenVerifier, IssuerUrl, LocalizedClaim, Nonce, StandardClaims,
    SubjectIdentifier,
};
use serde::{Deserialize, Serialize};

/// Claims of ours beyond the standard ones.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayClaims {
    /// The person's organisation (released with the `profile` scope).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<String>,
    /// The single sign-on session (Back-Channel Logout 1.0 `sid`), when the login had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

impl AdditionalClaims for GatewayClaims {}

/// The claims of our ID tokens.
pub type GatewayIdTokenClaims = IdTokenClaims<GatewayClaims, CoreGenderClaim>;

/// Our ID tokens (relying parties and tests parse and verify them with this type).
pub type GatewayIdToken = IdToken<
    GatewayClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

/// Longest `id_token_hint` we look at.
const MAX_HINT: usize = 16 * 1024;

/// What goes into one ID token.
#[derive(Debug)]
pub(crate) struct IdTokenInput<'a> {
    pub(crate) issuer: &'a str,
    pub(crate) client: &'a ClientRegistration,
    pub(crate) sub: &'a str,
    pub(crate) auth_time: UnixTime,
    pub(crate) amr: &'a [String],
    pub(crate) acr: Option<&'a str>,
    pub(crate) nonce: Option<&'a str>,
    /// Already filtered by scope.
    pub(crate) claims: &'a UserClaims,
    /// Code flow: the access token issued with it (for at_hash).
    pub(crate) access_token: Option<&'a str>,
    /// The single sign-on session's public id.
    pub(crate) sid: Option<&'a str>,
    pub(crate) now: UnixTime,
}

fn time(t: UnixTime) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp(t, 0)
        .ok_or_else(|| OidcError::Signing(format!("time {t} out of range")))
}

/// Builds and signs an ID token; returns the compact JWS.
pub(crate) fn sign(input: &IdTokenInput<'_>, key: &SigningKey) -> Result<String> {
    let issuer =
        IssuerUrl::new(input.issuer.to_owned()).map_err(|e| OidcError::Signing(e.to_string()))?;
    let client_id = &input.client.client_id;
    let mut claims = GatewayIdTokenClaims::new(
        issuer,
        vec![Audience::new(client_id.clone())],
        time(later(input.now, input.client.id_token_lifetime))?,
        time(input.now)?,
        StandardClaims::new(SubjectIdentifier::new(input.sub.to_owned())),
        GatewayClaims {
            organisation: input.claims.organisation.clone(),
            sid: input.sid.map(str::to_owned),
        },
    )
    .set_auth_time(Some(time(input.auth_time)?))
    .set_nonce(input.nonce.map(|n| Nonce::new(n.to_owned())))
    .set_authorized_party(Some(ClientId::new(client_id.clone())))
    .set_auth_context_ref(
        input
            .acr
            .map(|a| AuthenticationContextClass::new(a.to_owned())),
    )
    .set_name(
        input
            .claims
            .name
            .clone()
            .map(|n| LocalizedClaim::from(EndUserName::new(n))),
    )
    .set_preferred_username(
        input
            .claims
            .preferred_username
            .clone()
            .map(EndUserUsername::new),
    )
    .set_email(input.claims.email.clone().map(EndUserEmail::new))
    .set_email_verified(
        input
            .claims
            .email
            .as_ref()
            .map(|_| input.claims.email_verified),
    );
    if !input.amr.is_empty() {
        claims = claims.set_auth_method_refs(Some(
            input
                .amr
                .iter()
                .map(|a| AuthenticationMethodReference::new(a.clone()))
                .collect(),
        ));
    }
    let at = input.access_token.map(|t| AccessToken::new(t.to_owned()));
    let alg = key.alg().jose();
    let token = match &key.signer {
        Signer::Ed(k) => GatewayIdToken::new(claims, k, alg, at.as_ref(), None),
        Signer::Rsa(k) => GatewayIdToken::new(claims, k, alg, at.as_ref(), None),
    }
    .map_err(|e| OidcError::Signing(e.to_string()))?;
    match serde_json::to_value(&token) {
        Ok(serde_json::Value::String(s)) => Ok(s),
        _ => Err(OidcError::Signing(
            "ID token did not serialise to a string".into(),
        )),
    }
}

/// Checks an `id_token_hint`: our issuer, a signature by one of our published keys. Expiry is
/// ignored (an expired token is fine as a hint). Returns (sub, client_id).
pub(crate) fn verify_hint(
    hint: &str,
    issuer: &str,
    jwks: CoreJsonWebKeySet,
) -> Option<(String, String)> {
    if hint.len() > MAX_HINT {
        return None;
    }
    let token: GatewayIdToken =
        serde_json::from_value(serde_json::Value::String(hint.to_owned())).ok()?;
    let issuer = IssuerUrl::new(issuer.to_owned()).ok()?;
    let verifier = IdTokenVerifier::new_public_client(ClientId::new(String::new()), issuer, jwks)
        .require_audience_match(false)
        .set_allowed_algs([
            CoreJwsSigningAlgorithm::EdDsa,
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        ])
        .set_time_fn(|| DateTime::UNIX_EPOCH);
    let claims = token.claims(&verifier, |_: Option<&Nonce>| Ok(())).ok()?;
    let [aud] = claims.audiences().as_slice() else {
        return None;
    };
    Some((claims.subject().to_string(), aud.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::SigningAlg;
    use crate::keys::KeySet;

    const NOW: UnixTime = 1_800_000_000;

    fn signed(set: &KeySet, client: &ClientRegistration, at: Option<&str>) -> String {
        let claims = UserClaims {
            name: Some("Ann Example".into()),
            organisation: Some("Acme".into()),
            ..UserClaims::default()
        };
        let amr = vec!["pwd".to_owned(), "otp".to_owned()];
        let input = IdTokenInput {
            issuer: "https://idp.example",
            client,
            sub: "u-1",
            auth_time: NOW - 5,
            amr: &amr,
            acr: None,
            nonce: Some("n-0S6"),
            claims: &claims,
            access_token: at,
            sid: Some("s-1"),
            now: NOW,
        };
        sign(&input, set.signing_key(client.id_token_alg, NOW).unwrap()).unwrap()
    }

    #[test]
    fn signed_tokens_verify_and_carry_our_claims() {
        let mut set = KeySet::new(Vec::new(), 300).unwrap();
        set.ensure(SigningAlg::EdDsa, NOW).unwrap();
        let client = ClientRegistration::new("app", "App", "https://app.example/cb");
        let jwt = signed(&set, &client, Some("access-token"));
        let token: GatewayIdToken = jwt.parse().unwrap();
        let verifier = IdTokenVerifier::new_public_client(
            ClientId::new("app".into()),
            IssuerUrl::new("https://idp.example".into()).unwrap(),
            set.jwks(NOW),
        )
        .set_allowed_algs([CoreJwsSigningAlgorithm::EdDsa])
        .set_time_fn(|| DateTime::from_timestamp(NOW + 1, 0).unwrap());
        let claims = token
            .claims(&verifier, &Nonce::new("n-0S6".into()))
            .unwrap();
        assert_eq!(claims.subject().as_str(), "u-1");
        assert_eq!(
            claims.additional_claims().organisation.as_deref(),
            Some("Acme")
        );
        assert_eq!(claims.additional_claims().sid.as_deref(), Some("s-1"));
        assert_eq!(claims.expiration().timestamp(), NOW + 300);
        assert!(claims.access_token_hash().is_some());
        assert_eq!(claims.auth_method_refs().unwrap().len(), 2);

        assert_eq!(
            verify_hint(&jwt, "https://idp.example", set.jwks(NOW)),
            Some(("u-1".into(), "app".into()))
        );
        // Wrong issuer, other keys, tampering, garbage: no hint.
        assert!(verify_hint(&jwt, "https://other.example", set.jwks(NOW)).is_none());
        let other = KeySet::new(
            vec![KeySet::generate(SigningAlg::EdDsa, NOW, NOW).unwrap()],
            300,
        )
        .unwrap();
        assert!(verify_hint(&jwt, "https://idp.example", other.jwks(NOW)).is_none());
        let mut parts: Vec<&str> = jwt.split('.').collect();
        let forged = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            br#"{"iss":"https://idp.example","aud":"app","sub":"admin","exp":1,"iat":1}"#,
        );
        parts[1] = &forged;
        assert!(verify_hint(&parts.join("."), "https://idp.example", set.jwks(NOW)).is_none());
        for junk in ["", ".", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", "\u{0}"] {
            assert!(verify_hint(junk, "https://idp.example", set.jwks(NOW)).is_none());
        }
    }
}
