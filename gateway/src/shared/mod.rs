//! Ephemeral state several instances share: one seam, two implementations. Without
//! `[shared] url` everything stays in this process (one instance, the embedded default);
//! with it, Redis holds rate-limit counters, RADIUS challenges, web sessions, OIDC pending
//! logins, codes and tokens, pending approvals with their prompt counts and "not me" locks,
//! and the audit throttle.
//!
//! Rules (DESIGN.md, "One seam for ephemeral state"):
//! - every operation that must be atomic across instances is one round trip: a Lua script or
//!   one command with NX/PX; no read-modify-write from Rust (sessions' `modify` is a
//!   compare-and-set script, retried);
//! - every key has the configured prefix and a TTL equal to the thing's lifetime;
//! - bearer values (session ids, challenge States, codes, tokens) are only ever keys, as an
//!   HMAC under a key derived from the master key; values that must be read back and could
//!   help someone log in (sessions: enrolment seeds, ceremony state) are sealed;
//! - Redis unreachable: the call fails fast (the configured timeout), the caller refuses with
//!   `shared_state_unavailable`, `/readyz` turns unready, and the connection manager
//!   reconnects in the background.

pub mod approvals;
pub mod oidc;
pub mod sessions;

use crate::crypto::MasterKey;
use redis::aio::ConnectionManager;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::broadcast;

/// The shared store could not be reached (or answered nonsense).
#[derive(Debug, Clone, thiserror::Error)]
#[error("shared state unavailable: {0}")]
pub struct SharedError(pub String);

impl From<redis::RedisError> for SharedError {
    fn from(e: redis::RedisError) -> Self {
        Self(e.to_string())
    }
}

pub type Result<T, E = SharedError> = std::result::Result<T, E>;

/// `[shared]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedSettings {
    /// `redis://` or `rediss://`.
    pub url: String,
    /// For `rediss://`: the CA that signed the server's certificate (PEM).
    pub ca_file: Option<std::path::PathBuf>,
    /// The Redis password, read from this environment variable.
    pub password_env: Option<String>,
    pub key_prefix: String,
    /// How long one call may take before it counts as a failure.
    pub timeout: Duration,
}

/// A connection to the shared Redis, and what every concern needs from it.
#[derive(Clone)]
pub struct RedisShared {
    conn: ConnectionManager,
    client: redis::Client,
    prefix: Arc<str>,
    key: MasterKey,
    /// Keys bearer values are turned into (HMAC), derived from the master key.
    id_key: Arc<zeroize::Zeroizing<[u8; 32]>>,
    /// This instance, in values that say who holds something.
    instance: Arc<str>,
    up: Arc<AtomicBool>,
    /// Every message on the instance's pattern subscription: (channel without the prefix,
    /// payload). Waiters filter.
    messages: broadcast::Sender<(String, String)>,
}

impl std::fmt::Debug for RedisShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisShared")
            .field("prefix", &self.prefix)
            .field("instance", &self.instance)
            .finish_non_exhaustive()
    }
}

impl RedisShared {
    /// Connect (lazily: start-up never waits for Redis) and start the subscription task.
    pub fn connect(settings: &SharedSettings, key: &MasterKey) -> Result<Self> {
        let mut info = redis::IntoConnectionInfo::into_connection_info(settings.url.as_str())?;
        if let Some(env) = &settings.password_env {
            let password = std::env::var(env)
                .map_err(|_| SharedError(format!("shared.password_env: ${env} is not set")))?;
            let settings = info.redis_settings().clone().set_password(password);
            info = info.set_redis_settings(settings);
        }
        let client = match &settings.ca_file {
            Some(ca) => {
                let pem = std::fs::read(ca)
                    .map_err(|e| SharedError(format!("shared.ca_file {}: {e}", ca.display())))?;
                redis::Client::build_with_tls(
                    info,
                    redis::TlsCertificates {
                        client_tls: None,
                        root_cert: Some(pem),
                    },
                )?
            }
            None => redis::Client::open(info)?,
        };
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500))
            .set_connection_timeout(Some(settings.timeout))
            .set_response_timeout(Some(settings.timeout));
        let conn = ConnectionManager::new_lazy_with_config(client.clone(), config)?;
        let instance = crate::secret::random_bytes(6)
            .map(hex::encode)
            .map_err(|_| SharedError("no randomness".into()))?;
        let (messages, _) = broadcast::channel(4096);
        let shared = Self {
            conn,
            client,
            prefix: settings.key_prefix.clone().into(),
            id_key: Arc::new(key.derive("shared-state-ids")),
            key: key.clone(),
            instance: instance.into(),
            up: Arc::new(AtomicBool::new(true)),
            messages,
        };
        shared.spawn_subscriber();
        Ok(shared)
    }

    /// A key under the prefix.
    pub fn key(&self, parts: &str) -> String {
        format!("{}{parts}", self.prefix)
    }

    /// The key part for a bearer value (session id, State, pending id): an HMAC of it.
    pub fn hide(&self, value: &str) -> String {
        use hmac::Mac as _;
        let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(self.id_key.as_slice()) else {
            return String::new();
        };
        mac.update(value.as_bytes());
        data_encoding::BASE64URL_NOPAD.encode(&mac.finalize().into_bytes())
    }

    /// Seal a value for `key` (the key is bound in, so a value moved to another key does
    /// not open).
    pub fn seal(&self, key: &str, value: &[u8]) -> Result<Vec<u8>> {
        self.key
            .seal(value, key.as_bytes())
            .map_err(|e| SharedError(e.to_string()))
    }

    pub fn open(&self, key: &str, sealed: &[u8]) -> Result<Vec<u8>> {
        self.key
            .open(sealed, key.as_bytes())
            .map(|s| s.expose().to_vec())
            .map_err(|e| SharedError(e.to_string()))
    }

    /// This instance's id.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// A connection for one call (cheap: the manager multiplexes).
    pub fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// Note the outcome of a call: failures turn `/readyz` unready until a call succeeds.
    pub fn seen<T>(&self, r: redis::RedisResult<T>) -> Result<T> {
        match r {
            Ok(v) => {
                self.up.store(true, Ordering::Relaxed);
                Ok(v)
            }
            Err(e) => {
                if self.up.swap(false, Ordering::Relaxed) {
                    tracing::error!(error = %e, "shared state (Redis) unavailable");
                }
                metrics::counter!(crate::telemetry::SHARED_ERRORS).increment(1);
                Err(e.into())
            }
        }
    }

    /// Is Redis answering?
    pub async fn ping(&self) -> Result<()> {
        let r: redis::RedisResult<String> = redis::cmd("PING").query_async(&mut self.conn()).await;
        self.seen(r).map(|_| ())
    }

    /// Publish `payload` on `channel` (under the prefix) to every instance.
    pub async fn publish(&self, channel: &str, payload: &str) -> Result<()> {
        let r: redis::RedisResult<i64> = redis::cmd("PUBLISH")
            .arg(self.key(&format!("ch:{channel}")))
            .arg(payload)
            .query_async(&mut self.conn())
            .await;
        self.seen(r).map(|_| ())
    }

    /// Messages from every instance: (channel, payload).
    pub fn messages(&self) -> broadcast::Receiver<(String, String)> {
        self.messages.subscribe()
    }

    /// One pattern subscription per instance, reconnected in the background; messages go to
    /// `messages`.
    fn spawn_subscriber(&self) {
        let (client, tx) = (self.client.clone(), self.messages.clone());
        let pattern = self.key("ch:*");
        let strip = self.key("ch:");
        tokio::spawn(async move {
            use futures_util::StreamExt as _;
            loop {
                match client.get_async_pubsub().await {
                    Ok(mut pubsub) => {
                        if pubsub.psubscribe(&pattern).await.is_ok() {
                            let mut stream = pubsub.on_message();
                            while let Some(msg) = stream.next().await {
                                let channel = msg.get_channel_name().to_owned();
                                let payload: String = msg.get_payload().unwrap_or_default();
                                if let Some(name) = channel.strip_prefix(&strip) {
                                    let _ = tx.send((name.to_owned(), payload));
                                }
                            }
                        }
                    }
                    Err(e) => tracing::debug!(error = %e, "shared state subscription failed"),
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
    }
}

/// Rate limiting in Redis: GCRA over up to three keys in one script, checked in order and
/// stopping at the first refusal (a refused attempt takes nothing from the wider buckets).
/// Returns 0 when allowed, else the (1-based) index of the key that refused. Time is the
/// server's (`TIME`), the same for every instance.
pub const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i - 1])
  local burst = tonumber(ARGV[2 * i])
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  local new_tat = tat + interval
  if new_tat - now > burst * interval then
    return i
  end
  redis.call('SET', key, new_tat, 'PX', math.max(1, math.ceil(new_tat - now)))
end
return 0
";

/// One limiter quota for the script: milliseconds per token and the burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub interval_ms: u64,
    pub burst: u64,
}

impl Quota {
    /// `n` per minute (burst `n`), like governor's `Quota::per_minute`.
    pub fn per_minute(n: u32) -> Option<Self> {
        (n > 0).then(|| Self {
            interval_ms: (60_000 / u64::from(n)).max(1),
            burst: u64::from(n),
        })
    }

    pub fn per_second(n: u32) -> Option<Self> {
        (n > 0).then(|| Self {
            interval_ms: (1_000 / u64::from(n)).max(1),
            burst: u64::from(n),
        })
    }
}

impl RedisShared {
    /// Check `checks` (key part, quota) in order with the GCRA script: true when all allow.
    pub async fn allow(&self, checks: &[(String, Quota)]) -> Result<bool> {
        if checks.is_empty() {
            return Ok(true);
        }
        let script = redis::Script::new(GCRA);
        let mut inv = script.prepare_invoke();
        for (key, q) in checks {
            inv.key(self.key(&format!("rl:{key}")));
            inv.arg(q.interval_ms).arg(q.burst);
        }
        let r: redis::RedisResult<i64> = inv.invoke_async(&mut self.conn()).await;
        self.seen(r).map(|refused| refused == 0)
    }

    /// Store `value` under `key` for `ttl` (replacing).
    pub async fn put(&self, key: &str, value: &[u8], ttl: Duration) -> Result<()> {
        let r: redis::RedisResult<()> = redis::cmd("SET")
            .arg(self.key(key))
            .arg(value)
            .arg("PX")
            .arg(ttl.as_millis().max(1) as u64)
            .query_async(&mut self.conn())
            .await;
        self.seen(r)
    }

    /// Take (read and delete, single use) the value under `key`.
    pub async fn take(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let r: redis::RedisResult<Option<Vec<u8>>> = redis::cmd("GETDEL")
            .arg(self.key(key))
            .query_async(&mut self.conn())
            .await;
        self.seen(r)
    }

    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let r: redis::RedisResult<Option<Vec<u8>>> = redis::cmd("GET")
            .arg(self.key(key))
            .query_async(&mut self.conn())
            .await;
        self.seen(r)
    }

    pub async fn del(&self, key: &str) -> Result<()> {
        let r: redis::RedisResult<i64> = redis::cmd("DEL")
            .arg(self.key(key))
            .query_async(&mut self.conn())
            .await;
        self.seen(r).map(|_| ())
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    /// The Redis the tests use: $MFA_TEST_REDIS_URL, default the one on this machine.
    pub(crate) fn url() -> String {
        std::env::var("MFA_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
    }

    /// A connection under a fresh key prefix (tests never see each other's keys); panics with
    /// a hint when Redis is not there.
    pub(crate) async fn shared() -> RedisShared {
        let prefix = format!(
            "t{}:",
            hex::encode(crate::secret::random_bytes(6).expect("random"))
        );
        shared_with(&url(), &prefix).await
    }

    pub(crate) async fn shared_with(url: &str, prefix: &str) -> RedisShared {
        let settings = SharedSettings {
            url: url.to_owned(),
            ca_file: None,
            password_env: None,
            key_prefix: prefix.to_owned(),
            timeout: Duration::from_millis(1000),
        };
        let key = MasterKey::from_bytes(&[5; 32]).expect("key");
        let s = RedisShared::connect(&settings, &key).expect("client");
        s.ping().await.unwrap_or_else(|e| {
            panic!(
                "Redis is not reachable at {url} ({e}). Run the README test command \
                 (scripts/test.sh uses the Redis on 127.0.0.1:6379 or starts one: \
                 apt-get install redis-server), or set MFA_TEST_REDIS_URL."
            )
        });
        s
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

    #[tokio::test]
    async fn one_budget_for_every_instance_and_a_refusal_takes_nothing_wider() {
        let a = shared().await;
        // Instance B: the same Redis and prefix, its own connection.
        let b = shared_with(&url(), &a.prefix).await;
        let q = Quota::per_minute(5).expect("quota");
        let wide = Quota::per_minute(1000).expect("quota");
        let mut allowed = 0;
        for i in 0..20 {
            let who = if i % 2 == 0 { &a } else { &b };
            if who
                .allow(&[("s:ip".into(), q), ("c:nas".into(), wide)])
                .await
                .expect("redis")
            {
                allowed += 1;
            }
        }
        assert_eq!(allowed, 5, "one budget across instances");
        // The 15 refused took nothing from the client's bucket.
        let r: i64 = redis::cmd("GET")
            .arg(a.key("rl:c:nas"))
            .query_async(&mut a.conn())
            .await
            .expect("get");
        assert!(r > 0);
        let q2 = Quota::per_minute(6).expect("quota");
        let mut n = 0;
        for _ in 0..10 {
            if a.allow(&[("c:nas".into(), q2)]).await.expect("redis") {
                n += 1;
            }
        }
        assert!(n <= 6);
    }

    #[tokio::test]
    async fn a_value_is_taken_once_on_any_instance_and_secrets_are_only_keys() {
        let a = shared().await;
        let b = shared_with(&url(), &a.prefix).await;
        let key = format!("rc:{}", a.hide("a-state"));
        assert_eq!(
            key,
            format!("rc:{}", b.hide("a-state")),
            "same key on every instance"
        );
        assert!(!key.contains("a-state"));
        a.put(&key, b"ann\0rdgw", Duration::from_secs(60))
            .await
            .expect("put");
        assert_eq!(
            b.take(&key).await.expect("take").as_deref(),
            Some(&b"ann\0rdgw"[..])
        );
        assert_eq!(a.take(&key).await.expect("take"), None, "single use");
        // Sealed values open only under their key.
        let sealed = a.seal("k1", b"secret").expect("seal");
        assert_eq!(b.open("k1", &sealed).expect("open"), b"secret");
        assert!(b.open("k2", &sealed).is_err());
    }

    #[tokio::test]
    async fn redis_down_fails_fast_and_says_so() {
        let settings = SharedSettings {
            url: "redis://127.0.0.1:1".into(),
            ca_file: None,
            password_env: None,
            key_prefix: "x:".into(),
            timeout: Duration::from_millis(200),
        };
        let key = MasterKey::from_bytes(&[5; 32]).expect("key");
        let s = RedisShared::connect(&settings, &key).expect("lazy client");
        let started = std::time::Instant::now();
        assert!(s.ping().await.is_err());
        let q = Quota::per_minute(5).expect("quota");
        assert!(s.allow(&[("s:x".into(), q)]).await.is_err());
        assert!(started.elapsed() < Duration::from_secs(5), "fails fast");
    }
}
