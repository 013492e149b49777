//! Web sessions in Redis, so any instance serves any request of a signed-in browser.
//!
//! - `s:<hmac(id)>`: the session, sealed (it can hold a phone's new seed or a security key
//!   ceremony), expiring with the session. The id itself is never stored.
//! - `ss:<hmac(source)>`: the source's live sessions (a sorted set scored by expiry), so the
//!   per-source cap holds across instances (checked and added in one script).
//! - `sp:<person>`, `su:<hmac(username)>`: the sessions of a person (logged in, half-way), so
//!   "block now" ends them on every instance.
//!
//! A change (`modify`) is a compare-and-set script on the sealed value, retried.

use super::{RedisShared, SharedError};
use crate::model::{PersonId, UnixTime};
use crate::web::session::{LoginState, Refused, Session, SessionBackend, belongs_to};
use std::time::Duration;

const INSERT: &str = r"
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[3])
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[2], ARGV[6], ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if ARGV[7] == '1' then
  redis.call('SADD', KEYS[3], ARGV[5])
  redis.call('PEXPIRE', KEYS[3], ARGV[2])
end
return 1
";

const SWAP: &str = r"
local cur = redis.call('GET', KEYS[1])
if not cur then return -1 end
if cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
if ARGV[4] == '1' then
  redis.call('SADD', KEYS[2], ARGV[3])
  redis.call('PEXPIRE', KEYS[2], ARGV[5])
end
return 1
";

/// Sessions in Redis.
#[derive(Debug, Clone)]
pub struct RedisSessions {
    redis: RedisShared,
    /// The session lifetime (for the person indexes' expiry).
    ttl: Duration,
}

impl RedisSessions {
    pub fn new(redis: RedisShared, ttl_seconds: i64) -> Self {
        Self {
            redis,
            ttl: Duration::from_secs(u64::try_from(ttl_seconds).unwrap_or(1800)),
        }
    }

    fn session_key(&self, member: &str) -> String {
        self.redis.key(&format!("s:{member}"))
    }

    /// The person index a login state belongs in, if any.
    fn index_key(&self, login: &LoginState) -> Option<String> {
        match login {
            LoginState::LoggedIn { person_id, .. } => {
                Some(self.redis.key(&format!("sp:{person_id}")))
            }
            LoginState::PasswordOk { username, .. } => Some(self.redis.key(&format!(
                "su:{}",
                self.redis.hide(&crate::store::normalise_username(username))
            ))),
            LoginState::Fresh => None,
        }
    }

    fn seal(&self, key: &str, session: &Session) -> Result<Vec<u8>, SharedError> {
        let json = serde_json::to_vec(session).map_err(|e| SharedError(e.to_string()))?;
        self.redis.seal(key, &json)
    }

    fn unseal(&self, key: &str, sealed: &[u8]) -> Option<Session> {
        let json = self.redis.open(key, sealed).ok()?;
        serde_json::from_slice(&json).ok()
    }

    async fn raw(&self, key: &str) -> Result<Option<Vec<u8>>, SharedError> {
        let r: redis::RedisResult<Option<Vec<u8>>> = redis::cmd("GET")
            .arg(key)
            .query_async(&mut self.redis.conn())
            .await;
        self.redis.seen(r)
    }

    async fn members(&self, key: &str) -> Result<Vec<String>, SharedError> {
        let r: redis::RedisResult<Vec<String>> = redis::cmd("SMEMBERS")
            .arg(key)
            .query_async(&mut self.redis.conn())
            .await;
        self.redis.seen(r)
    }
}

#[async_trait::async_trait]
impl SessionBackend for RedisSessions {
    async fn get(&self, id: &str, now: UnixTime) -> Option<Session> {
        let key = self.session_key(&self.redis.hide(id));
        match self.raw(&key).await {
            Ok(Some(sealed)) => self.unseal(&key, &sealed).filter(|s| s.expires > now),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(error = %e, "session store unavailable");
                None
            }
        }
    }

    async fn insert(
        &self,
        id: &str,
        session: &Session,
        per_source: usize,
        now: UnixTime,
    ) -> Result<(), Refused> {
        let member = self.redis.hide(id);
        let key = self.session_key(&member);
        let sealed = self.seal(&key, session).map_err(|_| Refused::Unavailable)?;
        let ttl_ms = u64::try_from(session.expires - now).unwrap_or(1).max(1) * 1000;
        let index = self.index_key(&session.login);
        let source = self
            .redis
            .key(&format!("ss:{}", self.redis.hide(&session.source)));
        let script = redis::Script::new(INSERT);
        let mut inv = script.prepare_invoke();
        inv.key(&key)
            .key(&source)
            .key(index.as_deref().unwrap_or(&key))
            .arg(sealed)
            .arg(ttl_ms)
            .arg(now)
            .arg(per_source)
            .arg(&member)
            .arg(session.expires)
            .arg(if index.is_some() { "1" } else { "0" });
        let r: redis::RedisResult<i64> = inv.invoke_async(&mut self.redis.conn()).await;
        match self.redis.seen(r) {
            Ok(1) => Ok(()),
            Ok(_) => Err(Refused::SourceFull),
            Err(_) => Err(Refused::Unavailable),
        }
    }

    async fn modify(
        &self,
        id: &str,
        now: UnixTime,
        f: &mut (dyn for<'x> FnMut(&'x mut LoginState) + Send),
    ) -> bool {
        let member = self.redis.hide(id);
        let key = self.session_key(&member);
        for attempt in 0..32u64 {
            if attempt > 0 {
                // Another request changed it meanwhile: back off a little, then redo.
                tokio::time::sleep(std::time::Duration::from_millis(attempt.min(10))).await;
            }
            let Ok(Some(old)) = self.raw(&key).await else {
                return false;
            };
            let Some(mut session) = self.unseal(&key, &old).filter(|s| s.expires > now) else {
                return false;
            };
            f(&mut session.login);
            let Ok(new) = self.seal(&key, &session) else {
                return false;
            };
            let index = self.index_key(&session.login);
            let script = redis::Script::new(SWAP);
            let mut inv = script.prepare_invoke();
            inv.key(&key)
                .key(index.as_deref().unwrap_or(&key))
                .arg(old)
                .arg(new)
                .arg(&member)
                .arg(if index.is_some() { "1" } else { "0" })
                .arg(self.ttl.as_millis() as u64);
            let r: redis::RedisResult<i64> = inv.invoke_async(&mut self.redis.conn()).await;
            match self.redis.seen(r) {
                Ok(1) => return true,
                // Changed by another request meanwhile: read again and redo.
                Ok(0) => continue,
                _ => return false,
            }
        }
        false
    }

    async fn remove(&self, id: &str) {
        let member = self.redis.hide(id);
        let key = self.session_key(&member);
        let source = match self.raw(&key).await {
            Ok(Some(sealed)) => self.unseal(&key, &sealed).map(|s| s.source),
            _ => None,
        };
        let mut pipe = redis::pipe();
        pipe.cmd("DEL").arg(&key).ignore();
        if let Some(source) = source {
            pipe.cmd("ZREM")
                .arg(self.redis.key(&format!("ss:{}", self.redis.hide(&source))))
                .arg(&member)
                .ignore();
        }
        let r: redis::RedisResult<()> = pipe.query_async(&mut self.redis.conn()).await;
        let _ = self.redis.seen(r);
    }

    async fn end_person(&self, person: PersonId, username: &str) -> usize {
        let indexes = [
            self.redis.key(&format!("sp:{person}")),
            self.redis.key(&format!(
                "su:{}",
                self.redis.hide(&crate::store::normalise_username(username))
            )),
        ];
        let mut ended = 0;
        for index in &indexes {
            let Ok(members) = self.members(index).await else {
                continue;
            };
            for member in members {
                let key = self.session_key(&member);
                // Only sessions still the person's (an index may hold ended ones).
                let theirs = match self.raw(&key).await {
                    Ok(Some(sealed)) => self
                        .unseal(&key, &sealed)
                        .is_some_and(|s| belongs_to(&s.login, person, username)),
                    _ => false,
                };
                if theirs {
                    let _ = self.redis.del(&format!("s:{member}")).await;
                    ended += 1;
                }
            }
            let r: redis::RedisResult<i64> = redis::cmd("DEL")
                .arg(index)
                .query_async(&mut self.redis.conn())
                .await;
            let _ = self.redis.seen(r);
        }
        ended
    }

    async fn count(&self) -> usize {
        let pattern = self.redis.key("s:*");
        let mut cursor: u64 = 0;
        let mut n = 0;
        loop {
            let r: redis::RedisResult<(u64, Vec<String>)> = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut self.redis.conn())
                .await;
            let Ok((next, keys)) = self.redis.seen(r) else {
                return n;
            };
            n += keys.len();
            if next == 0 {
                return n;
            }
            cursor = next;
        }
    }

    async fn sweep(&self, _now: UnixTime) {
        // Keys expire by themselves.
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shared::test_support::{shared, shared_with, url};
    use crate::web::session::{LoginFor, Sessions};

    fn on(redis: RedisShared) -> Sessions {
        Sessions::with_backend(
            std::sync::Arc::new(RedisSessions::new(redis, 1800)),
            1800,
            3,
        )
    }

    fn logged_in(person: PersonId) -> LoginState {
        LoginState::LoggedIn {
            person_id: person,
            username: "ann".into(),
            auth_time: 0,
            enrolment: None,
            key: None,
            factor_at: 0,
        }
    }

    #[tokio::test]
    async fn a_session_made_on_one_instance_is_served_by_another() {
        let a = shared().await;
        let b = shared_with(&url(), &a.key("")).await;
        let (sa, sb) = (on(a.clone()), on(b));
        let now = crate::model::now();
        let (id, made) = sa
            .create(logged_in(7), "192.0.2.1", now)
            .await
            .expect("made");
        let seen = sb.get(&id, now).await.expect("seen on B");
        assert_eq!(seen.csrf, made.csrf);
        // Nothing in Redis names the id, and the value is sealed.
        let mut conn = a.conn();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(a.key("*"))
            .query_async(&mut conn)
            .await
            .expect("keys");
        assert!(keys.iter().all(|k| !k.contains(&id)), "{keys:?}");
        // Changes on one instance are seen on the other; concurrent ones are not lost.
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..10 {
            let (s, id) = (if i % 2 == 0 { sa.clone() } else { sb.clone() }, id.clone());
            tasks.spawn(async move {
                s.modify(&id, now, |l| {
                    if let LoginState::LoggedIn { factor_at, .. } = l {
                        *factor_at += 1;
                    }
                })
                .await
            });
        }
        while tasks.join_next().await.is_some() {}
        let LoginState::LoggedIn { factor_at, .. } = sa.get(&id, now).await.expect("s").login
        else {
            panic!("state");
        };
        assert_eq!(factor_at, 10, "every change counted once");
        // The per-source cap holds across instances (3 here).
        assert!(sb.create(LoginState::Fresh, "192.0.2.1", now).await.is_ok());
        assert!(sa.create(LoginState::Fresh, "192.0.2.1", now).await.is_ok());
        assert_eq!(
            sb.create(LoginState::Fresh, "192.0.2.1", now).await.err(),
            Some(Refused::SourceFull)
        );
        // Blocking the person on B ends the session made on A.
        let half = LoginState::PasswordOk {
            username: "Ann".into(),
            purpose: LoginFor::Portal,
            since: now,
            failures: 0,
            key: None,
            approval: None,
        };
        let (half_id, _) = sa.create(half, "192.0.2.9", now).await.expect("made");
        assert_eq!(sb.end_person(7, "ann").await, 2);
        assert!(sa.get(&id, now).await.is_none());
        assert!(sa.get(&half_id, now).await.is_none());
        sa.remove(&id).await;
    }
}
