//! Discovery (OpenID Connect Discovery 1.0, 3) and the JWKS.

use crate::clients::SigningAlg;
use crate::error::{OidcError, Result};
use crate::provider::Provider;
use crate::settings::{
    AUTHORIZE_PATH, JWKS_PATH, LOGOUT_PATH, Settings, TOKEN_PATH, USERINFO_PATH,
};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClientAuthMethod, CoreGrantType,
    CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm,
    CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AdditionalProviderMetadata, AuthUrl, EndSessionUrl, IssuerUrl, JsonWebKeySetUrl,
    LogoutProviderMetadata, ProviderMetadata, ResponseTypes, Scope, TokenUrl, UserInfoUrl,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// How long relying parties may cache discovery and JWKS answers. New keys are published a day
/// ahead (by default), so five minutes is plenty.
const CACHE: &str = "public, max-age=300";

/// Metadata `openidconnect` has no field for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ExtraMetadata {
    code_challenge_methods_supported: Vec<String>,
    /// RFC 9207: authorization responses carry `iss`.
    authorization_response_iss_parameter_supported: bool,
    /// Back-Channel Logout 1.0: clients may register a `backchannel_logout_uri`.
    backchannel_logout_supported: bool,
    /// Logout tokens (and ID tokens of a single sign-on session) carry `sid`.
    backchannel_logout_session_supported: bool,
}

impl AdditionalProviderMetadata for ExtraMetadata {}

type Metadata = ProviderMetadata<
    LogoutProviderMetadata<ExtraMetadata>,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// Claims our ID tokens and userinfo answers can carry.
const CLAIMS: [&str; 17] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "amr",
    "acr",
    "azp",
    "at_hash",
    "name",
    "preferred_username",
    "email",
    "email_verified",
    "organisation",
    "sid",
];

/// The discovery document, serialised once at start.
pub(crate) fn document(settings: &Settings, algs: &[SigningAlg]) -> Result<Vec<u8>> {
    let bad = |e: openidconnect::url::ParseError| OidcError::Config(format!("issuer: {e}"));
    let u = |path: &str| settings.url(path);
    let logout = LogoutProviderMetadata {
        end_session_endpoint: Some(EndSessionUrl::new(u(LOGOUT_PATH)).map_err(bad)?),
        additional_metadata: ExtraMetadata {
            code_challenge_methods_supported: vec!["S256".into()],
            authorization_response_iss_parameter_supported: true,
            backchannel_logout_supported: true,
            backchannel_logout_session_supported: true,
        },
    };
    let metadata = Metadata::new(
        IssuerUrl::new(settings.issuer.clone()).map_err(bad)?,
        AuthUrl::new(u(AUTHORIZE_PATH)).map_err(bad)?,
        JsonWebKeySetUrl::new(u(JWKS_PATH)).map_err(bad)?,
        vec![
            ResponseTypes::new(vec![CoreResponseType::Code]),
            ResponseTypes::new(vec![CoreResponseType::IdToken]),
        ],
        vec![CoreSubjectIdentifierType::Public],
        algs.iter().map(|a| a.jose()).collect(),
        logout,
    )
    .set_token_endpoint(Some(TokenUrl::new(u(TOKEN_PATH)).map_err(bad)?))
    .set_userinfo_endpoint(Some(UserInfoUrl::new(u(USERINFO_PATH)).map_err(bad)?))
    .set_scopes_supported(Some(
        ["openid", "profile", "email"]
            .map(|s| Scope::new(s.into()))
            .to_vec(),
    ))
    .set_response_modes_supported(Some(vec![
        CoreResponseMode::Query,
        CoreResponseMode::Fragment,
    ]))
    .set_grant_types_supported(Some(vec![
        CoreGrantType::AuthorizationCode,
        CoreGrantType::RefreshToken,
        CoreGrantType::Implicit,
    ]))
    .set_token_endpoint_auth_methods_supported(Some(vec![
        CoreClientAuthMethod::ClientSecretBasic,
        CoreClientAuthMethod::ClientSecretPost,
        CoreClientAuthMethod::None,
    ]))
    .set_claims_supported(Some(CLAIMS.map(|c| CoreClaimName::new(c.into())).to_vec()))
    .set_claims_parameter_supported(Some(false))
    .set_request_parameter_supported(Some(false))
    .set_request_uri_parameter_supported(Some(false))
    .set_acr_values_supported((!settings.acr_values_supported.is_empty()).then(|| {
        settings
            .acr_values_supported
            .iter()
            .map(|a| openidconnect::AuthenticationContextClass::new(a.clone()))
            .collect()
    }));
    serde_json::to_vec(&metadata).map_err(|e| OidcError::Config(format!("discovery document: {e}")))
}

pub(crate) async fn metadata(State(p): State<Arc<Provider>>) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, CACHE),
        ],
        p.discovery.clone(),
    )
        .into_response()
}

pub(crate) async fn jwks(State(p): State<Arc<Provider>>) -> Response {
    let now = p.clock.now();
    let keys: Vec<serde_json::Value> = p
        .keys()
        .published(now)
        .filter_map(|k| {
            let mut jwk = serde_json::to_value(k.public_jwk()).ok()?;
            // openidconnect's JWK type cannot carry `alg`; relying parties that pick keys by
            // algorithm want it.
            jwk.as_object_mut()?
                .insert("alg".into(), k.alg().as_str().into());
            Some(jwk)
        })
        .collect();
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, CACHE),
        ],
        serde_json::json!({ "keys": keys }).to_string(),
    )
        .into_response()
}
