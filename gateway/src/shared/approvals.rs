//! Pending approvals in Redis, so a RADIUS request held on instance A is released when the
//! person answers on instance B's page, and a retransmit on B finds A's prompt.
//!
//! - `ap:<person>`: the pending prompt, a hash `{i: hmac(prompt id), n: number, p: sealed
//!   prompt}`, expiring with the prompt; a new one replaces it (the old holder hears
//!   `replaced`).
//! - `apn:<person>`: prompt times in the window (a sorted set): prompt bombing across
//!   instances. `apl:<person>`: the "not me" lock.
//! - Answers are published (`ch:appr:ans` "hmac-id answer") to the instance that holds the
//!   login, and kept a minute (`apa:<hmac-id>`) for a holder that missed the message;
//!   `ch:appr:chg` tells every instance's live pages that a person's approval changed.
//!
//! Starting, answering and ending are one script each.

use super::RedisShared;
use crate::approval::{Answer, HubSettings, Prompt, Refused, Ticket};
use crate::model::{PersonId, UnixTime};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{broadcast, oneshot};

const START: &str = r"
if redis.call('EXISTS', KEYS[2]) == 1 then return 'locked' end
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - tonumber(ARGV[2]))
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[3]) then return 'many' end
redis.call('ZADD', KEYS[3], now, ARGV[4])
redis.call('EXPIRE', KEYS[3], ARGV[2])
local old = redis.call('HGET', KEYS[1], 'i')
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'i', ARGV[4], 'n', ARGV[5], 'p', ARGV[6])
redis.call('PEXPIRE', KEYS[1], ARGV[7])
if old then
  redis.call('SET', KEYS[4] .. old, 'replaced', 'EX', 60)
  redis.call('PUBLISH', ARGV[8], old .. ' replaced')
end
redis.call('PUBLISH', ARGV[9], ARGV[10])
return 'ok'
";

/// Answer: KEYS[1] pending, KEYS[2] lock, KEYS[3] answers prefix. ARGV: hidden id, answer,
/// chosen number (or ''), lock seconds, answer channel, change channel, person.
const ANSWER: &str = r"
local h = redis.call('HMGET', KEYS[1], 'i', 'n', 'p')
if not h[1] or h[1] ~= ARGV[1] then return false end
redis.call('DEL', KEYS[1])
local answer = ARGV[2]
if answer == 'approved' and h[2] and h[2] ~= '' and h[2] ~= ARGV[3] then answer = 'denied' end
if answer == 'not_me' then redis.call('SET', KEYS[2], '1', 'EX', ARGV[4]) end
redis.call('SET', KEYS[3] .. ARGV[1], answer, 'EX', 60)
redis.call('PUBLISH', ARGV[5], ARGV[1] .. ' ' .. answer)
redis.call('PUBLISH', ARGV[6], ARGV[7])
return {answer, h[3]}
";

/// End a pending approval if it is still `ARGV[1]` (or any, when `ARGV[1]` is empty),
/// answering its holder with `ARGV[2]` (empty: no answer, the holder gave up).
const END: &str = r"
local i = redis.call('HGET', KEYS[1], 'i')
if not i then return 0 end
if ARGV[1] ~= '' and i ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
if ARGV[2] ~= '' then
  redis.call('SET', KEYS[2] .. i, ARGV[2], 'EX', 60)
  redis.call('PUBLISH', ARGV[3], i .. ' ' .. ARGV[2])
end
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
";

fn answer_of(s: &str) -> Option<Answer> {
    match s {
        "approved" => Some(Answer::Approved),
        "denied" => Some(Answer::Denied),
        "not_me" => Some(Answer::NotMe),
        "replaced" => Some(Answer::Replaced),
        _ => None,
    }
}

/// The pending approvals of every instance.
#[derive(Debug, Clone)]
pub struct SharedHub {
    redis: RedisShared,
    settings: HubSettings,
    /// Logins held here, by hidden prompt id.
    waiters: Arc<Mutex<HashMap<String, oneshot::Sender<Answer>>>>,
    changed: broadcast::Sender<PersonId>,
}

impl SharedHub {
    pub fn new(redis: RedisShared, settings: HubSettings) -> Self {
        let (changed, _) = broadcast::channel(1024);
        let hub = Self {
            redis,
            settings,
            waiters: Arc::default(),
            changed,
        };
        hub.spawn_dispatcher();
        hub
    }

    /// Routes published answers to the logins held here, and changes to live pages.
    fn spawn_dispatcher(&self) {
        let (mut rx, waiters, changed) = (
            self.redis.messages(),
            self.waiters.clone(),
            self.changed.clone(),
        );
        tokio::spawn(async move {
            loop {
                match rx.recv().await {
                    Ok((channel, payload)) if channel == "appr:ans" => {
                        let Some((id, answer)) = payload.split_once(' ') else {
                            continue;
                        };
                        let waiter = waiters
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .remove(id);
                        if let (Some(tx), Some(answer)) = (waiter, answer_of(answer)) {
                            let _ = tx.send(answer);
                        }
                    }
                    Ok((channel, payload)) if channel == "appr:chg" => {
                        if let Ok(person) = payload.parse() {
                            let _ = changed.send(person);
                        }
                    }
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
    }

    fn keys(&self, person: PersonId) -> (String, String, String) {
        (
            self.redis.key(&format!("ap:{person}")),
            self.redis.key(&format!("apl:{person}")),
            self.redis.key(&format!("apn:{person}")),
        )
    }

    pub fn settings(&self) -> HubSettings {
        self.settings
    }

    /// Start an approval (replacing a pending one of the person's, on any instance).
    pub async fn start_matched(
        &self,
        person_id: PersonId,
        client: &str,
        channel: &str,
        source: Option<String>,
        number: Option<u8>,
        now: UnixTime,
    ) -> Result<Ticket, Refused> {
        let prompt = crate::approval::new_prompt(
            &self.settings,
            person_id,
            client,
            channel,
            source,
            number,
            now,
        )
        .ok_or(Refused::Full)?;
        let hid = self.redis.hide(&prompt.id);
        let (pending, lock, counts) = self.keys(person_id);
        let sealed = serde_json::to_vec(&prompt)
            .ok()
            .and_then(|json| self.redis.seal(&pending, &json).ok())
            .ok_or(Refused::Full)?;
        // The waiter first: an answer may come before the script returns.
        let (tx, rx) = oneshot::channel();
        self.lock_waiters().insert(hid.clone(), tx);
        let script = redis::Script::new(START);
        let mut inv = script.prepare_invoke();
        inv.key(&pending)
            .key(&lock)
            .key(&counts)
            .key(self.redis.key("apa:"))
            .arg(now)
            .arg(self.settings.window_seconds)
            .arg(self.settings.max_prompts)
            .arg(&hid)
            .arg(number.map(|n| n.to_string()).unwrap_or_default())
            .arg(sealed)
            .arg((prompt.expires - now).max(1) * 1000)
            .arg(self.redis.key("ch:appr:ans"))
            .arg(self.redis.key("ch:appr:chg"))
            .arg(person_id);
        let r: redis::RedisResult<String> = inv.invoke_async(&mut self.redis.conn()).await;
        let outcome = self.redis.seen(r);
        match outcome.as_deref() {
            Ok("ok") => {
                let timeout = u64::try_from(prompt.expires - now).unwrap_or(0);
                self.spawn_poll(hid, std::time::Duration::from_secs(timeout));
                Ok(Ticket { prompt, answer: rx })
            }
            other => {
                self.lock_waiters().remove(&hid);
                Err(match other {
                    Ok("locked") => Refused::Locked,
                    Ok("many") => Refused::TooManyPrompts,
                    _ => Refused::Unavailable,
                })
            }
        }
    }

    fn lock_waiters(&self) -> std::sync::MutexGuard<'_, HashMap<String, oneshot::Sender<Answer>>> {
        self.waiters
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A holder that missed the published answer (Redis reconnecting) finds it stored.
    /// The poll ends with the wait: when the login was answered, gave up at the expiry by
    /// the gateway clock (`finish`, see [`Ticket::wait`]) or went away (its receiver
    /// dropped); at the latest after the wait's own real-time bound, `timeout` plus
    /// [`crate::approval::REAL_TIME_SLACK`].
    fn spawn_poll(&self, hid: String, timeout: std::time::Duration) {
        let hub = self.clone();
        let limit = tokio::time::Instant::now() + timeout + crate::approval::REAL_TIME_SLACK;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_secs(3)).await;
                {
                    let mut waiters = hub.lock_waiters();
                    match waiters.get(&hid) {
                        None => return,
                        Some(tx) if tx.is_closed() || tokio::time::Instant::now() >= limit => {
                            waiters.remove(&hid);
                            return;
                        }
                        Some(_) => {}
                    }
                }
                if let Ok(Some(answer)) = hub.redis.get(&format!("apa:{hid}")).await
                    && let Some(answer) = std::str::from_utf8(&answer).ok().and_then(answer_of)
                {
                    if let Some(tx) = hub.lock_waiters().remove(&hid) {
                        let _ = tx.send(answer);
                    }
                    return;
                }
            }
        });
    }

    /// The person's live pending approval, if any (from any instance).
    pub async fn pending_for(&self, person_id: PersonId, now: UnixTime) -> Option<Prompt> {
        let (pending, _, _) = self.keys(person_id);
        let r: redis::RedisResult<Option<Vec<u8>>> = redis::cmd("HGET")
            .arg(&pending)
            .arg("p")
            .query_async(&mut self.redis.conn())
            .await;
        let sealed = self.redis.seen(r).ok().flatten()?;
        let json = self.redis.open(&pending, &sealed).ok()?;
        serde_json::from_slice::<Prompt>(&json)
            .ok()
            .filter(|p| p.expires > now)
    }

    /// Answer approval `id` of `person_id` (held on any instance).
    pub async fn answer_with(
        &self,
        person_id: PersonId,
        id: &str,
        answer: Answer,
        chosen: Option<u8>,
        _now: UnixTime,
    ) -> Option<(Prompt, Answer)> {
        let (pending, lock, _) = self.keys(person_id);
        let script = redis::Script::new(ANSWER);
        let mut inv = script.prepare_invoke();
        inv.key(&pending)
            .key(&lock)
            .key(self.redis.key("apa:"))
            .arg(self.redis.hide(id))
            .arg(answer.as_str())
            .arg(chosen.map(|n| n.to_string()).unwrap_or_default())
            .arg(self.settings.not_me_lock_seconds)
            .arg(self.redis.key("ch:appr:ans"))
            .arg(self.redis.key("ch:appr:chg"))
            .arg(person_id);
        let r: redis::RedisResult<Option<(String, Vec<u8>)>> =
            inv.invoke_async(&mut self.redis.conn()).await;
        let (given, sealed) = self.redis.seen(r).ok().flatten()?;
        let json = self.redis.open(&pending, &sealed).ok()?;
        let prompt = serde_json::from_slice::<Prompt>(&json).ok()?;
        Some((prompt, answer_of(&given)?))
    }

    async fn end(&self, person_id: PersonId, id: Option<&str>, answer: Option<Answer>) {
        let (pending, _, _) = self.keys(person_id);
        let script = redis::Script::new(END);
        let mut inv = script.prepare_invoke();
        inv.key(&pending)
            .key(self.redis.key("apa:"))
            .arg(id.map(|i| self.redis.hide(i)).unwrap_or_default())
            .arg(answer.map(Answer::as_str).unwrap_or(""))
            .arg(self.redis.key("ch:appr:ans"))
            .arg(self.redis.key("ch:appr:chg"))
            .arg(person_id);
        let r: redis::RedisResult<i64> = inv.invoke_async(&mut self.redis.conn()).await;
        let _ = self.redis.seen(r);
    }

    /// Forget a pending approval the holder gave up on (timed out), if still `id`.
    pub async fn finish(&self, person_id: PersonId, id: &str) {
        self.lock_waiters().remove(&self.redis.hide(id));
        self.end(person_id, Some(id), None).await;
    }

    /// End the person's pending approval as denied (blocked), on any instance.
    pub async fn cancel_person(&self, person_id: PersonId) {
        self.end(person_id, None, Some(Answer::Denied)).await;
    }

    /// Until when "not me" locks the person's approvals.
    pub async fn locked_until(&self, person_id: PersonId, now: UnixTime) -> Option<UnixTime> {
        let (_, lock, _) = self.keys(person_id);
        let r: redis::RedisResult<i64> = redis::cmd("PTTL")
            .arg(&lock)
            .query_async(&mut self.redis.conn())
            .await;
        let ttl = self.redis.seen(r).ok()?;
        (ttl > 0).then(|| now + ttl / 1000)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<PersonId> {
        self.changed.subscribe()
    }

    /// Logins held here waiting for an answer.
    pub fn held(&self) -> usize {
        self.lock_waiters().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shared::test_support::{shared, shared_with, url};

    fn settings() -> HubSettings {
        HubSettings {
            timeout_seconds: 20,
            max_prompts: 3,
            window_seconds: 600,
            not_me_lock_seconds: 60,
            max_pending: 1000,
        }
    }

    #[tokio::test]
    async fn held_on_one_instance_answered_on_another() {
        let a = SharedHub::new(shared().await, settings());
        let b = SharedHub::new(shared_with(&url(), &a.redis.key("")).await, settings());
        // Let both subscriptions come up.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let now = crate::model::now();
        let mut changed = b.subscribe();
        let ticket = a
            .start_matched(
                7,
                "Remote desktop",
                "radius",
                Some("192.0.2.7".into()),
                None,
                now,
            )
            .await
            .expect("started");
        // B's live page hears of it, and shows the same prompt.
        let who = tokio::time::timeout(std::time::Duration::from_secs(5), changed.recv())
            .await
            .expect("in time")
            .expect("changed");
        assert_eq!(who, 7);
        let seen = b.pending_for(7, now).await.expect("pending on B");
        assert_eq!(seen.id, ticket.prompt.id);
        assert!(
            b.answer_with(8, &seen.id, Answer::Approved, None, now)
                .await
                .is_none(),
            "not theirs"
        );
        assert!(
            b.answer_with(7, "forged", Answer::Approved, None, now)
                .await
                .is_none()
        );
        let (_, given) = b
            .answer_with(7, &seen.id, Answer::Approved, None, now)
            .await
            .expect("answered");
        assert_eq!(given, Answer::Approved);
        let answer = tokio::time::timeout(std::time::Duration::from_secs(5), ticket.answer)
            .await
            .expect("A hears it in time")
            .expect("answer");
        assert_eq!(answer, Answer::Approved);
        assert!(a.pending_for(7, now).await.is_none());

        // A retransmit's new prompt on B replaces A's: A hears `replaced`, one prompt stays.
        let first = a
            .start_matched(7, "rd", "radius", None, None, now)
            .await
            .expect("1");
        let second = b
            .start_matched(7, "rd", "radius", None, None, now)
            .await
            .expect("2");
        let answer = tokio::time::timeout(std::time::Duration::from_secs(5), first.answer)
            .await
            .expect("in time")
            .expect("answer");
        assert_eq!(answer, Answer::Replaced);
        assert_eq!(
            a.pending_for(7, now).await.expect("one").id,
            second.prompt.id
        );
        // Prompt bombing counts across instances: 3 prompts in the window, the 4th refused.
        assert_eq!(
            a.start_matched(7, "rd", "radius", None, None, now)
                .await
                .err(),
            Some(Refused::TooManyPrompts)
        );
        // "Not me" on B locks A's new prompts for person 9.
        let t9 = a
            .start_matched(9, "rd", "radius", None, None, now)
            .await
            .expect("9");
        b.answer_with(9, &t9.prompt.id, Answer::NotMe, None, now)
            .await
            .expect("answered");
        assert_eq!(
            a.start_matched(9, "rd", "radius", None, None, now)
                .await
                .err(),
            Some(Refused::Locked)
        );
        assert!(a.locked_until(9, now).await.is_some());
        // Number matching: a wrong number denies.
        let t5 = a
            .start_matched(5, "web", "oidc", None, Some(42), now)
            .await
            .expect("5");
        let (_, given) = b
            .answer_with(5, &t5.prompt.id, Answer::Approved, Some(41), now)
            .await
            .expect("answered");
        assert_eq!(given, Answer::Denied);
        // Blocking on B ends A's held login as denied.
        let t6 = a
            .start_matched(6, "rd", "radius", None, None, now)
            .await
            .expect("6");
        b.cancel_person(6).await;
        let answer = tokio::time::timeout(std::time::Duration::from_secs(5), t6.answer)
            .await
            .expect("in time")
            .expect("answer");
        assert_eq!(answer, Answer::Denied);
    }
}
