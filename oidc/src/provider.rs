//! The provider: settings, clients, keys and the gateway's traits, and what the gateway calls.

use crate::authorize::Target;
use crate::clients::{self, ClientRegistration, SigningAlg};
use crate::error::{ErrorCode, OidcError, Result};
use crate::events::{GrantKind, OidcEvent};
use crate::idtoken::{self, IdTokenInput};
use crate::keys::{KeySet, KeyStore};
use crate::model::{
    AuthenticatedUser, CodeGrant, OidcBackend, PendingAuthorization, ResponseType, released,
};
use crate::settings::{
    AUTHORIZE_PATH, DISCOVERY_PATH, JWKS_PATH, LOGOUT_PATH, Settings, TOKEN_PATH, USERINFO_PATH,
};
use crate::state::OidcState;
use crate::{
    Clock, Pages, authorize, discovery, later, logout, random_token, token, token_key, userinfo,
};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::Response;
use axum::routing::{get, post};
use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard};

/// Largest request body the endpoints read.
const BODY_LIMIT: usize = 64 * 1024;

/// The OpenID Provider.
pub struct Provider {
    pub(crate) settings: Settings,
    /// Replaceable while serving (a reload): a request under way keeps what it read.
    clients: std::sync::RwLock<Arc<HashMap<String, ClientRegistration>>>,
    pub(crate) backend: Arc<dyn OidcBackend>,
    pub(crate) state: Arc<dyn OidcState>,
    key_store: Arc<dyn KeyStore>,
    keys: RwLock<KeySet>,
    pub(crate) clock: Arc<dyn Clock>,
    /// Who draws the pages a browser sees.
    pub(crate) pages: Arc<dyn Pages>,
    /// The discovery document, serialised once.
    pub(crate) discovery: Vec<u8>,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let clients = self.clients_map();
        let mut ids: Vec<&String> = clients.keys().collect();
        ids.sort();
        f.debug_struct("Provider")
            .field("issuer", &self.settings.issuer)
            .field("clients", &ids)
            .field("keys", &*self.keys())
            .finish_non_exhaustive()
    }
}

impl Provider {
    /// Checks settings and clients, loads the keys, and generates (and saves) a first EdDSA key,
    /// and an RS256 one if a client uses it, when there is none. `pages` draws what a browser
    /// sees here (the gateway's templates).
    pub async fn new(
        settings: Settings,
        clients: Vec<ClientRegistration>,
        backend: Arc<dyn OidcBackend>,
        state: Arc<dyn OidcState>,
        keys: Arc<dyn KeyStore>,
        clock: Arc<dyn Clock>,
        pages: Arc<dyn Pages>,
    ) -> Result<Arc<Self>> {
        settings.validate()?;
        let clients = clients::index(clients)?;
        let algs = clients::algs_in_use(clients.values());
        let max_lifetime = clients
            .values()
            .map(|c| c.id_token_lifetime)
            .max()
            .unwrap_or(300);
        let now = clock.now();
        let mut set = KeySet::new(keys.load().await?, max_lifetime)?;
        let mut to_save = Vec::new();
        for alg in &algs {
            to_save.extend(set.ensure(*alg, now)?);
        }
        to_save.extend(set.rotate(now, &settings)?);
        let dead = set.prune(now);
        for key in &to_save {
            keys.save(key).await?;
        }
        for kid in &dead {
            keys.delete(kid).await?;
        }
        let discovery = discovery::document(&settings, &algs)?;
        Ok(Arc::new(Self {
            settings,
            clients: std::sync::RwLock::new(Arc::new(clients)),
            backend,
            state,
            key_store: keys,
            keys: RwLock::new(set),
            clock,
            pages,
            discovery,
        }))
    }

    /// The endpoints, to merge into the gateway's router.
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route(DISCOVERY_PATH, get(discovery::metadata))
            .route(JWKS_PATH, get(discovery::jwks))
            .route(AUTHORIZE_PATH, get(authorize::get).post(authorize::post))
            .route(TOKEN_PATH, post(token::post))
            .route(USERINFO_PATH, get(userinfo::get).post(userinfo::post))
            .route(LOGOUT_PATH, get(logout::get).post(logout::post))
            .layer(DefaultBodyLimit::max(BODY_LIMIT))
            .with_state(self.clone())
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Every registered client, as a map read at once.
    pub(crate) fn clients_map(&self) -> Arc<HashMap<String, ClientRegistration>> {
        self.clients
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The registered client `id`.
    pub(crate) fn client(&self, id: &str) -> Option<ClientRegistration> {
        self.clients_map().get(id).cloned()
    }

    /// Replace the registered clients (a configuration reload). Refused, changing nothing,
    /// when a registration is invalid or needs a signing algorithm not in use (that needs a
    /// restart: keys and the discovery document are made at start).
    pub fn replace_clients(&self, clients: Vec<ClientRegistration>) -> Result<()> {
        let clients = clients::index(clients)?;
        let mut wanted = clients::algs_in_use(clients.values());
        let mut have = self.signing_algs();
        wanted.sort_by_key(|a| format!("{a:?}"));
        have.sort_by_key(|a| format!("{a:?}"));
        if wanted.iter().any(|a| !have.contains(a)) {
            return Err(OidcError::Config(
                "a client needs a signing algorithm not in use: restart to add it".into(),
            ));
        }
        *self
            .clients
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(clients);
        Ok(())
    }

    /// The registered clients.
    pub fn clients(&self) -> Vec<ClientRegistration> {
        let mut v: Vec<_> = self.clients_map().values().cloned().collect();
        v.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        v
    }

    /// A pending authorization (for the login page), without using it up.
    pub async fn pending(&self, id: &str) -> Option<PendingAuthorization> {
        let now = self.clock.now();
        match self.state.get_pending(id, now).await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "reading a pending authorization");
                None
            }
        }
    }

    pub(crate) fn keys(&self) -> RwLockReadGuard<'_, KeySet> {
        self.keys.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Signs an ID token with the client's algorithm and the key in force.
    pub(crate) fn sign_id_token(&self, input: &IdTokenInput<'_>) -> Result<String> {
        let keys = self.keys();
        let alg = input.client.id_token_alg;
        let key = keys
            .signing_key(alg, input.now)
            .ok_or_else(|| OidcError::Key(format!("no {} key signs now", alg.as_str())))?;
        idtoken::sign(input, key)
    }

    /// Takes the pending authorization (single use) and where its answer goes.
    async fn take(&self, pending_id: &str) -> Result<(PendingAuthorization, ClientRegistration)> {
        let now = self.clock.now();
        let pending = self
            .state
            .take_pending(pending_id, now)
            .await?
            .ok_or(OidcError::UnknownPending)?;
        let client = self
            .client(&pending.client_id)
            .ok_or(OidcError::UnknownPending)?;
        Ok((pending, client))
    }

    fn target<'a>(&'a self, p: &'a PendingAuthorization) -> Target<'a> {
        Target {
            redirect_uri: &p.redirect_uri,
            response_type: p.response_type,
            state: p.state.as_deref(),
            issuer: &self.settings.issuer,
        }
    }

    /// The person logged in: issues the code (code flow) or the ID token (implicit) and returns
    /// the 303 to the redirect_uri. The pending id is used up. Err only when the pending id is
    /// unknown, used or expired (or the state store fails reading it); later failures become an
    /// error redirect (server_error) to the client.
    pub async fn complete(&self, pending_id: &str, user: AuthenticatedUser) -> Result<Response> {
        let (p, client) = self.take(pending_id).await?;
        let now = self.clock.now();
        let target = self.target(&p);
        if p.max_age
            .is_some_and(|age| later(user.auth_time, age) < now)
        {
            return Ok(target.error(ErrorCode::LoginRequired, "the login is older than max_age"));
        }
        let result = match p.response_type {
            ResponseType::Code => self.issue_code(&p, user, now).await,
            ResponseType::IdToken => self.issue_implicit(&p, &client, &user, now).await,
        };
        Ok(match result {
            Ok(response) => response,
            Err(e) => {
                tracing::error!(error = %e, client_id = %p.client_id, "completing an authorization");
                target.error(ErrorCode::ServerError, "internal error")
            }
        })
    }

    async fn issue_code(
        &self,
        p: &PendingAuthorization,
        user: AuthenticatedUser,
        now: i64,
    ) -> Result<Response> {
        let code = random_token(32)?;
        let grant = CodeGrant {
            client_id: p.client_id.clone(),
            redirect_uri: p.redirect_uri.clone(),
            code_challenge: p.code_challenge.clone(),
            scope: p.scope.clone(),
            nonce: p.nonce.clone(),
            user,
            family: random_token(16)?,
            expires: later(now, self.settings.code_lifetime),
        };
        self.state.put_code(&token_key(&code), &grant, now).await?;
        tracing::info!(client_id = %p.client_id, "authorization code issued");
        Ok(self.target(p).redirect(&[("code", &code)]))
    }

    async fn issue_implicit(
        &self,
        p: &PendingAuthorization,
        client: &ClientRegistration,
        user: &AuthenticatedUser,
        now: i64,
    ) -> Result<Response> {
        let claims = released(&p.scope, &user.claims);
        let id_token = self.sign_id_token(&IdTokenInput {
            issuer: &self.settings.issuer,
            client,
            sub: &user.sub,
            auth_time: user.auth_time,
            amr: &user.amr,
            acr: user.acr.as_deref(),
            nonce: p.nonce.as_deref(),
            claims: &claims,
            access_token: None,
            sid: user.sid.as_deref(),
            now,
        })?;
        self.backend
            .record(OidcEvent::TokenIssued {
                client_id: client.client_id.clone(),
                sub: user.sub.clone(),
                grant: GrantKind::Implicit,
                sid: user.sid.clone(),
            })
            .await;
        tracing::info!(client_id = %p.client_id, "ID token issued (implicit)");
        Ok(self.target(p).redirect(&[("id_token", &id_token)]))
    }

    /// `prompt=none` and no single sign-on session: error=login_required to the client (OIDC
    /// Core 3.1.2.6), no page shown.
    pub async fn login_required(&self, pending_id: &str) -> Result<Response> {
        let (p, _) = self.take(pending_id).await?;
        Ok(self
            .target(&p)
            .error(ErrorCode::LoginRequired, "the person must log in"))
    }

    /// The person gave up or was refused: error=access_denied to the client (RFC 6749 4.1.2.1).
    pub async fn deny(&self, pending_id: &str) -> Result<Response> {
        let (p, _) = self.take(pending_id).await?;
        Ok(self
            .target(&p)
            .error(ErrorCode::AccessDenied, "the login was not completed"))
    }

    /// Reloads keys (another instance may have rotated), rotates when due, saves new and changed
    /// keys and deletes dead ones. Call it periodically, well within `key_publish_ahead` (e.g.
    /// hourly), on every instance.
    pub async fn rotate_keys(&self) -> Result<()> {
        let stored = self.key_store.load().await?;
        let now = self.clock.now();
        let (changed, dead) = {
            let mut keys = self.keys.write().unwrap_or_else(|e| e.into_inner());
            keys.merge(stored)?;
            let changed = keys.rotate(now, &self.settings)?;
            (changed, keys.prune(now))
        };
        for key in &changed {
            tracing::info!(kid = %key.kid, alg = key.alg.as_str(), sign_from = key.sign_from, "signing key saved");
            self.key_store.save(key).await?;
        }
        for kid in &dead {
            tracing::info!(%kid, "signing key retired for good");
            self.key_store.delete(kid).await?;
        }
        Ok(())
    }

    /// The algorithms the provider signs with.
    pub fn signing_algs(&self) -> Vec<SigningAlg> {
        clients::algs_in_use(self.clients_map().values())
    }
}
