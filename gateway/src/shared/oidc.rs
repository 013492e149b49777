//! The OpenID Provider's protocol state in Redis (`mfa_oidc::OidcState`): a code issued by
//! one instance is redeemed at another, a refresh token rotates and a reused one revokes its
//! family everywhere.
//!
//! Codes and tokens are keyed by their hash (the provider's `token_key`), pending
//! authorizations by an HMAC of their id; every value is sealed (they hold personal claims).
//! Codes, access and refresh tokens are hashes `{v: sealed, f: family, u: used}` so the
//! single-use take and the family check are one script each.

use super::RedisShared;
use mfa_oidc::{
    AccessGrant, CodeGrant, OidcError, OidcState, PendingAuthorization, RefreshGrant, Taken,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

type UnixTime = i64;

const PUT: &str = r"
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'f', ARGV[2], 'u', '0')
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
";

/// Take once: `F` + value the first time, `R` + value after (until the memory runs out),
/// nothing when unknown, expired or its family revoked (ARGV[2]: the revoked keys' prefix,
/// or empty for no check).
const TAKE: &str = r"
local h = redis.call('HMGET', KEYS[1], 'v', 'f', 'u')
if not h[1] then return false end
if ARGV[2] ~= '' and h[2] and redis.call('EXISTS', ARGV[2] .. h[2]) == 1 then return false end
if h[3] == '1' then return {'R', h[1]} end
redis.call('HSET', KEYS[1], 'u', '1')
local ttl = redis.call('PTTL', KEYS[1])
if tonumber(ARGV[1]) > ttl then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {'F', h[1]}
";

const GET_LIVE: &str = r"
local h = redis.call('HMGET', KEYS[1], 'v', 'f')
if not h[1] then return false end
if h[2] and redis.call('EXISTS', ARGV[1] .. h[2]) == 1 then return false end
return h[1]
";

/// `OidcState` in Redis.
#[derive(Debug, Clone)]
pub struct RedisOidcState {
    redis: RedisShared,
}

fn state_err(e: impl std::fmt::Display) -> OidcError {
    OidcError::State(e.to_string())
}

fn ttl_ms(expires: UnixTime, now: UnixTime) -> u64 {
    u64::try_from(expires - now).unwrap_or(0).max(1) * 1000
}

impl RedisOidcState {
    pub fn new(redis: RedisShared) -> Self {
        Self { redis }
    }

    fn seal<T: Serialize>(&self, key: &str, value: &T) -> mfa_oidc::Result<Vec<u8>> {
        let json = serde_json::to_vec(value).map_err(state_err)?;
        self.redis.seal(key, &json).map_err(state_err)
    }

    fn open<T: DeserializeOwned>(&self, key: &str, sealed: &[u8]) -> mfa_oidc::Result<T> {
        let json = self.redis.open(key, sealed).map_err(state_err)?;
        serde_json::from_slice(&json).map_err(state_err)
    }

    fn revoked_prefix(&self) -> String {
        self.redis.key("o:r:")
    }

    async fn put_grant<T: Serialize>(
        &self,
        kind: &str,
        key: &str,
        value: &T,
        family: &str,
        expires: UnixTime,
        now: UnixTime,
    ) -> mfa_oidc::Result<()> {
        let full = self.redis.key(&format!("o:{kind}:{key}"));
        let sealed = self.seal(&full, value)?;
        let script = redis::Script::new(PUT);
        let mut inv = script.prepare_invoke();
        inv.key(&full)
            .arg(sealed)
            .arg(family)
            .arg(ttl_ms(expires, now));
        let r: redis::RedisResult<i64> = inv.invoke_async(&mut self.redis.conn()).await;
        self.redis.seen(r).map(|_| ()).map_err(state_err)
    }

    async fn take_grant<T: DeserializeOwned>(
        &self,
        kind: &str,
        key: &str,
        now: UnixTime,
        remember_until: UnixTime,
        check_family: bool,
    ) -> mfa_oidc::Result<Taken<T>> {
        let full = self.redis.key(&format!("o:{kind}:{key}"));
        let script = redis::Script::new(TAKE);
        let mut inv = script.prepare_invoke();
        inv.key(&full)
            .arg(ttl_ms(remember_until, now))
            .arg(if check_family {
                self.revoked_prefix()
            } else {
                String::new()
            });
        let r: redis::RedisResult<Option<(String, Vec<u8>)>> =
            inv.invoke_async(&mut self.redis.conn()).await;
        Ok(match self.redis.seen(r).map_err(state_err)? {
            None => Taken::Missing,
            Some((flag, sealed)) => {
                let value = self.open(&full, &sealed)?;
                if flag == "F" {
                    Taken::Fresh(value)
                } else {
                    Taken::Replayed(value)
                }
            }
        })
    }
}

#[async_trait::async_trait]
impl OidcState for RedisOidcState {
    async fn put_pending(
        &self,
        pending: &PendingAuthorization,
        now: UnixTime,
    ) -> mfa_oidc::Result<()> {
        let key = format!("o:p:{}", self.redis.hide(&pending.id));
        let full = self.redis.key(&key);
        let sealed = self.seal(&full, pending)?;
        self.redis
            .put(
                &key,
                &sealed,
                std::time::Duration::from_millis(ttl_ms(pending.expires, now)),
            )
            .await
            .map_err(state_err)
    }

    async fn get_pending(
        &self,
        id: &str,
        now: UnixTime,
    ) -> mfa_oidc::Result<Option<PendingAuthorization>> {
        let key = format!("o:p:{}", self.redis.hide(id));
        let full = self.redis.key(&key);
        match self.redis.get(&key).await.map_err(state_err)? {
            Some(sealed) => {
                let p: PendingAuthorization = self.open(&full, &sealed)?;
                Ok((p.expires > now).then_some(p))
            }
            None => Ok(None),
        }
    }

    async fn take_pending(
        &self,
        id: &str,
        now: UnixTime,
    ) -> mfa_oidc::Result<Option<PendingAuthorization>> {
        let key = format!("o:p:{}", self.redis.hide(id));
        let full = self.redis.key(&key);
        match self.redis.take(&key).await.map_err(state_err)? {
            Some(sealed) => {
                let p: PendingAuthorization = self.open(&full, &sealed)?;
                Ok((p.expires > now).then_some(p))
            }
            None => Ok(None),
        }
    }

    async fn put_code(&self, key: &str, grant: &CodeGrant, now: UnixTime) -> mfa_oidc::Result<()> {
        self.put_grant("c", key, grant, &grant.family, grant.expires, now)
            .await
    }

    async fn take_code(
        &self,
        key: &str,
        now: UnixTime,
        remember_until: UnixTime,
    ) -> mfa_oidc::Result<Taken<CodeGrant>> {
        self.take_grant("c", key, now, remember_until, false).await
    }

    async fn put_access(
        &self,
        key: &str,
        grant: &AccessGrant,
        now: UnixTime,
    ) -> mfa_oidc::Result<()> {
        self.put_grant("a", key, grant, &grant.family, grant.expires, now)
            .await
    }

    async fn get_access(&self, key: &str, now: UnixTime) -> mfa_oidc::Result<Option<AccessGrant>> {
        let full = self.redis.key(&format!("o:a:{key}"));
        let script = redis::Script::new(GET_LIVE);
        let mut inv = script.prepare_invoke();
        inv.key(&full).arg(self.revoked_prefix());
        let r: redis::RedisResult<Option<Vec<u8>>> = inv.invoke_async(&mut self.redis.conn()).await;
        match self.redis.seen(r).map_err(state_err)? {
            Some(sealed) => {
                let g: AccessGrant = self.open(&full, &sealed)?;
                Ok((g.expires > now).then_some(g))
            }
            None => Ok(None),
        }
    }

    async fn put_refresh(
        &self,
        key: &str,
        grant: &RefreshGrant,
        now: UnixTime,
    ) -> mfa_oidc::Result<()> {
        self.put_grant("f", key, grant, &grant.family, grant.expires, now)
            .await
    }

    async fn take_refresh(
        &self,
        key: &str,
        now: UnixTime,
        remember_until: UnixTime,
    ) -> mfa_oidc::Result<Taken<RefreshGrant>> {
        self.take_grant("f", key, now, remember_until, true).await
    }

    async fn revoke_family(
        &self,
        family: &str,
        until: UnixTime,
        now: UnixTime,
    ) -> mfa_oidc::Result<()> {
        self.redis
            .put(
                &format!("o:r:{family}"),
                b"1",
                std::time::Duration::from_millis(ttl_ms(until, now)),
            )
            .await
            .map_err(state_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shared::test_support::{shared, shared_with, url};
    use mfa_oidc::{AuthenticatedUser, ResponseType, UserClaims};

    fn code(family: &str, expires: UnixTime) -> CodeGrant {
        CodeGrant {
            client_id: "app".into(),
            redirect_uri: "https://app.example/cb".into(),
            code_challenge: None,
            scope: vec!["openid".into()],
            nonce: None,
            user: AuthenticatedUser {
                sub: "u1".into(),
                auth_time: 0,
                amr: vec!["pwd".into()],
                acr: None,
                claims: UserClaims {
                    name: Some("Ann de Vries".into()),
                    ..UserClaims::default()
                },
                sid: None,
            },
            family: family.into(),
            expires,
        }
    }

    fn refresh(family: &str, expires: UnixTime) -> RefreshGrant {
        RefreshGrant {
            sub: "u1".into(),
            client_id: "app".into(),
            scope: vec!["openid".into()],
            auth_time: 0,
            amr: vec![],
            acr: None,
            sid: None,
            family: family.into(),
            expires,
        }
    }

    #[tokio::test]
    async fn codes_and_tokens_work_across_instances() {
        let a = shared().await;
        let b = shared_with(&url(), &a.key("")).await;
        let c = shared_with(&url(), &a.key("")).await;
        let (sa, sb, sc) = (
            RedisOidcState::new(a.clone()),
            RedisOidcState::new(b),
            RedisOidcState::new(c),
        );
        let now = crate::model::now();
        // A pending authorization made on A is read on B and taken once on C.
        let pending = PendingAuthorization {
            id: "pending-1".into(),
            client_id: "app".into(),
            client_name: "App".into(),
            redirect_uri: "https://app.example/cb".into(),
            response_type: ResponseType::Code,
            scope: vec!["openid".into()],
            state: None,
            nonce: None,
            code_challenge: None,
            prompt: None,
            max_age: None,
            login_hint: None,
            acr_values: Vec::new(),
            expires: now + 60,
        };
        sa.put_pending(&pending, now).await.expect("put");
        assert!(
            sb.get_pending("pending-1", now)
                .await
                .expect("get")
                .is_some()
        );
        assert!(
            sc.take_pending("pending-1", now)
                .await
                .expect("take")
                .is_some()
        );
        assert!(
            sa.take_pending("pending-1", now)
                .await
                .expect("take")
                .is_none()
        );
        // A code issued on A: fresh once (on B), replayed after (on C).
        sa.put_code("codehash", &code("fam1", now + 60), now)
            .await
            .expect("put");
        let mut tasks = tokio::task::JoinSet::new();
        for s in [sb.clone(), sc.clone(), sa.clone(), sb.clone()] {
            tasks.spawn(async move { s.take_code("codehash", now, now + 600).await });
        }
        let mut fresh = 0;
        let mut replayed = 0;
        while let Some(r) = tasks.join_next().await {
            match r.expect("task").expect("take") {
                Taken::Fresh(g) => {
                    assert_eq!(g.user.claims.name.as_deref(), Some("Ann de Vries"));
                    fresh += 1;
                }
                Taken::Replayed(_) => replayed += 1,
                Taken::Missing => panic!("missing"),
            }
        }
        assert_eq!((fresh, replayed), (1, 3));
        // Refresh rotation: taken once; reuse is a replay; a revoked family is gone.
        sb.put_refresh("r1", &refresh("fam2", now + 600), now)
            .await
            .expect("put");
        sb.put_access(
            "a1",
            &AccessGrant {
                sub: "u1".into(),
                client_id: "app".into(),
                scope: vec!["openid".into()],
                family: "fam2".into(),
                expires: now + 600,
            },
            now,
        )
        .await
        .expect("put");
        assert!(matches!(
            sc.take_refresh("r1", now, now + 600).await.expect("t"),
            Taken::Fresh(_)
        ));
        assert!(matches!(
            sa.take_refresh("r1", now, now + 600).await.expect("t"),
            Taken::Replayed(_)
        ));
        assert!(sa.get_access("a1", now).await.expect("get").is_some());
        sa.revoke_family("fam2", now + 600, now)
            .await
            .expect("revoke");
        assert!(
            sb.get_access("a1", now).await.expect("get").is_none(),
            "revoked everywhere"
        );
        assert!(matches!(
            sc.take_refresh("r1", now, now + 600).await.expect("t"),
            Taken::Missing
        ));
        // Nothing personal in clear: the claims are sealed.
        let mut conn = a.conn();
        let raw: Vec<u8> = redis::cmd("HGET")
            .arg(a.key("o:c:codehash"))
            .arg("v")
            .query_async(&mut conn)
            .await
            .expect("raw");
        assert!(!String::from_utf8_lossy(&raw).contains("Ann"));
    }
}
