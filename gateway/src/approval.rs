//! Out-of-band approval: a login that waits until the person approves it on a device of
//! theirs (Microsoft RD Gateway's RADIUS requests carry only the User-Name).
//!
//! The hub holds at most one pending approval per person; a new request for the same person
//! replaces the old one (which is answered `Replaced`). A waiting login holds a oneshot
//! receiver and a timer, never a thread; its prompt expires by the gateway clock
//! ([`Ticket::wait`]). Prompt bombing is bounded: at most `max_prompts`
//! prompts per person per `window`, then new requests are refused without a prompt. "This
//! was not me" denies and locks further approvals for that person for `not_me_lock`.
//! Number matching (approvals started from a web login): the login page shows a two-digit
//! number, the phone offers it among three; approving with another number denies.
//! Everything here is in process; the answers and prompts are audited by the service.

use crate::clock::GatewayClock;
use crate::model::{PersonId, UnixTime};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::{broadcast, oneshot};

/// How a pending approval ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Approved,
    Denied,
    /// Denied and reported as an attack.
    NotMe,
    /// A newer request for the same person took its place.
    Replaced,
}

impl Answer {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::NotMe => "not_me",
            Self::Replaced => "replaced",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "approve" | "approved" => Some(Self::Approved),
            "deny" | "denied" => Some(Self::Denied),
            "not_me" => Some(Self::NotMe),
            _ => None,
        }
    }
}

/// Why no prompt was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// More than `max_prompts` in the window (prompt bombing).
    TooManyPrompts,
    /// The person said "this was not me" recently.
    Locked,
    /// The hub is full.
    Full,
    /// The shared store (several instances) cannot be reached.
    Unavailable,
}

/// Limits of the hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HubSettings {
    pub timeout_seconds: u64,
    pub max_prompts: u32,
    pub window_seconds: u64,
    pub not_me_lock_seconds: u64,
    /// Most approvals pending at once (all people).
    pub max_pending: usize,
}

impl Default for HubSettings {
    fn default() -> Self {
        Self {
            timeout_seconds: 50,
            max_prompts: 3,
            window_seconds: 600,
            not_me_lock_seconds: 3600,
            max_pending: 100_000,
        }
    }
}

/// What a person is asked to approve.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Prompt {
    /// Random, unguessable (the approval page's id).
    pub id: String,
    pub person_id: PersonId,
    /// The client's display name (e.g. "Remote desktop").
    pub client: String,
    pub channel: String,
    pub source: Option<String>,
    pub created: UnixTime,
    pub expires: UnixTime,
    /// Number matching: the number the login page shows (10 to 99), if this prompt asks
    /// for one.
    pub number: Option<u8>,
    /// Number matching: what the phone offers, the right number among two others.
    pub choices: Vec<u8>,
}

/// Three distinct two-digit choices holding `number`, in random order.
fn choices_for(number: u8) -> Vec<u8> {
    let mut out = vec![number];
    let mut bytes = [0u8; 16];
    if crate::secret::random_bytes(16)
        .map(|b| bytes.copy_from_slice(&b))
        .is_err()
    {
        bytes = [7, 31, 53, 11, 79, 3, 97, 41, 23, 67, 5, 89, 13, 59, 29, 71];
    }
    for b in bytes {
        let candidate = 10 + b % 90;
        if !out.contains(&candidate) {
            out.push(candidate);
        }
        if out.len() == 3 {
            break;
        }
    }
    // Where the right one stands is random too.
    let at = usize::from(bytes[15] % 3).min(out.len() - 1);
    out.swap(0, at);
    out
}

/// A new prompt for `person_id` (a random id; None without randomness).
pub fn new_prompt(
    s: &HubSettings,
    person_id: PersonId,
    client: &str,
    channel: &str,
    source: Option<String>,
    number: Option<u8>,
    now: UnixTime,
) -> Option<Prompt> {
    let id = crate::secret::random_bytes(16)
        .map(|b| data_encoding::BASE64URL_NOPAD.encode(&b))
        .ok()?;
    Some(Prompt {
        id,
        person_id,
        client: client.to_owned(),
        channel: channel.to_owned(),
        source,
        created: now,
        expires: now + i64::try_from(s.timeout_seconds).unwrap_or(50),
        number,
        choices: number.map(choices_for).unwrap_or_default(),
    })
}

/// A random two-digit number for number matching (10 to 99).
pub fn random_number() -> u8 {
    crate::secret::random_bytes(1).map_or(42, |b| 10 + b[0] % 90)
}

#[derive(Debug)]
struct Pending {
    prompt: Prompt,
    tx: oneshot::Sender<Answer>,
}

#[derive(Debug, Default)]
struct Inner {
    pending: HashMap<PersonId, Pending>,
    prompts: HashMap<PersonId, VecDeque<UnixTime>>,
    locked: HashMap<PersonId, UnixTime>,
}

/// The pending approvals.
#[derive(Debug)]
pub struct ApprovalHub {
    settings: HubSettings,
    inner: Mutex<Inner>,
    /// Tells listeners (the portal's live page) that a person's pending approval changed.
    changed: broadcast::Sender<PersonId>,
}

/// A started approval: its prompt, and where the answer arrives.
#[derive(Debug)]
pub struct Ticket {
    pub prompt: Prompt,
    pub answer: oneshot::Receiver<Answer>,
}

/// How often a waiting login looks at the gateway clock for its approval's expiry. A clock
/// that tests move (a `ManualClock`, the end-to-end tests' clock file) wakes no timer, so the
/// wait re-checks it.
pub const EXPIRY_CHECK: Duration = Duration::from_millis(250);

/// How much longer than the approval's timeout, in real time, a login waits at most when
/// the gateway clock has not reached the expiry by then (a test clock that stands still, a
/// system clock set back): nothing is held for ever.
pub const REAL_TIME_SLACK: Duration = Duration::from_secs(5);

impl Ticket {
    /// Wait for the person's answer until the gateway `clock` reaches the prompt's expiry
    /// (`now` is the time the prompt was made by that clock). With the system clock that is
    /// the configured timeout in real seconds; a test moves its clock past the expiry instead
    /// of sleeping. In real time the wait is bounded by the timeout plus
    /// [`REAL_TIME_SLACK`]. None: no answer in time (or the hub let the approval go).
    pub async fn wait(self, clock: &GatewayClock, now: UnixTime) -> Option<Answer> {
        let timeout = Duration::from_secs(u64::try_from(self.prompt.expires - now).unwrap_or(0));
        self.wait_within(clock, timeout + REAL_TIME_SLACK).await
    }

    /// [`Ticket::wait`], at most `limit` in real time.
    async fn wait_within(self, clock: &GatewayClock, limit: Duration) -> Option<Answer> {
        let expires = self.prompt.expires;
        let limit = tokio::time::sleep(limit);
        tokio::pin!(limit);
        let mut check = tokio::time::interval(EXPIRY_CHECK);
        check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut answer = self.answer;
        loop {
            tokio::select! {
                // An answer that is there wins over an expiry seen at the same moment.
                biased;
                given = &mut answer => return given.ok(),
                () = &mut limit => return None,
                _ = check.tick() => {
                    if clock.now() >= expires {
                        return None;
                    }
                }
            }
        }
    }
}

impl ApprovalHub {
    pub fn new(settings: HubSettings) -> Self {
        let (changed, _) = broadcast::channel(1024);
        Self {
            settings,
            inner: Mutex::new(Inner::default()),
            changed,
        }
    }

    pub fn settings(&self) -> HubSettings {
        self.settings
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the maps half-changed in a way that
        // matters (each change is one insert or remove); go on with the data.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Start an approval for `person`, replacing a pending one. Refused (no prompt) when the
    /// person has had too many prompts in the window, or is locked after "not me".
    pub fn start(
        &self,
        person_id: PersonId,
        client: &str,
        channel: &str,
        source: Option<String>,
        now: UnixTime,
    ) -> Result<Ticket, Refused> {
        self.start_matched(person_id, client, channel, source, None, now)
    }

    /// As [`ApprovalHub::start`], with number matching when `number` is given.
    pub fn start_matched(
        &self,
        person_id: PersonId,
        client: &str,
        channel: &str,
        source: Option<String>,
        number: Option<u8>,
        now: UnixTime,
    ) -> Result<Ticket, Refused> {
        let s = self.settings;
        let prompt =
            new_prompt(&s, person_id, client, channel, source, number, now).ok_or(Refused::Full)?;
        let mut inner = self.lock();
        if inner
            .locked
            .get(&person_id)
            .is_some_and(|&until| until > now)
        {
            return Err(Refused::Locked);
        }
        let window = i64::try_from(s.window_seconds).unwrap_or(i64::MAX);
        let times = inner.prompts.entry(person_id).or_default();
        while times.front().is_some_and(|&t| t <= now - window) {
            times.pop_front();
        }
        if times.len() >= usize::try_from(s.max_prompts).unwrap_or(usize::MAX) {
            return Err(Refused::TooManyPrompts);
        }
        if inner.pending.len() >= s.max_pending && !inner.pending.contains_key(&person_id) {
            inner
                .pending
                .retain(|_, p| p.prompt.expires > now && !p.tx.is_closed());
            if inner.pending.len() >= s.max_pending {
                return Err(Refused::Full);
            }
        }
        inner.prompts.entry(person_id).or_default().push_back(now);
        let (tx, rx) = oneshot::channel();
        if let Some(old) = inner.pending.insert(
            person_id,
            Pending {
                prompt: prompt.clone(),
                tx,
            },
        ) {
            let _ = old.tx.send(Answer::Replaced);
        }
        drop(inner);
        let _ = self.changed.send(person_id);
        Ok(Ticket { prompt, answer: rx })
    }

    /// The person's live pending approval, if any.
    pub fn pending_for(&self, person_id: PersonId, now: UnixTime) -> Option<Prompt> {
        let inner = self.lock();
        inner
            .pending
            .get(&person_id)
            .filter(|p| p.prompt.expires > now && !p.tx.is_closed())
            .map(|p| p.prompt.clone())
    }

    /// Answer approval `id` of `person_id`. None: no such live approval (answered already,
    /// expired, replaced, or not theirs). "Not me" also locks further approvals.
    pub fn answer(
        &self,
        person_id: PersonId,
        id: &str,
        answer: Answer,
        now: UnixTime,
    ) -> Option<Prompt> {
        self.answer_with(person_id, id, answer, None, now)
            .map(|(prompt, _)| prompt)
    }

    /// As [`ApprovalHub::answer`], with the number the person chose. For a prompt with
    /// number matching, approving with any other number (or none) denies. Returns the
    /// prompt and the answer that was given to the waiting login.
    pub fn answer_with(
        &self,
        person_id: PersonId,
        id: &str,
        answer: Answer,
        chosen: Option<u8>,
        now: UnixTime,
    ) -> Option<(Prompt, Answer)> {
        let mut inner = self.lock();
        let live = inner.pending.get(&person_id).is_some_and(|p| {
            crate::secret::ct_eq(p.prompt.id.as_bytes(), id.as_bytes())
                && p.prompt.expires > now
                && !p.tx.is_closed()
        });
        if !live {
            return None;
        }
        let pending = inner.pending.remove(&person_id)?;
        let answer = match (answer, pending.prompt.number) {
            (Answer::Approved, Some(n)) if chosen != Some(n) => Answer::Denied,
            (a, _) => a,
        };
        if answer == Answer::NotMe {
            let lock = i64::try_from(self.settings.not_me_lock_seconds).unwrap_or(3600);
            inner.locked.insert(person_id, now + lock);
        }
        drop(inner);
        let _ = pending.tx.send(answer);
        let _ = self.changed.send(person_id);
        Some((pending.prompt, answer))
    }

    /// Forget a pending approval that ended on the waiting side (timed out, or the request
    /// went away), if it is still the one with `id`.
    pub fn finish(&self, person_id: PersonId, id: &str) {
        let mut inner = self.lock();
        if inner
            .pending
            .get(&person_id)
            .is_some_and(|p| p.prompt.id == id)
        {
            inner.pending.remove(&person_id);
            drop(inner);
            let _ = self.changed.send(person_id);
        }
    }

    /// End the person's pending approval, if any, as denied (the person was blocked).
    pub fn cancel_person(&self, person_id: PersonId) {
        let mut inner = self.lock();
        let Some(pending) = inner.pending.remove(&person_id) else {
            return;
        };
        drop(inner);
        let _ = pending.tx.send(Answer::Denied);
        let _ = self.changed.send(person_id);
    }

    /// Is `person_id` locked after "not me"?
    pub fn locked_until(&self, person_id: PersonId, now: UnixTime) -> Option<UnixTime> {
        self.lock()
            .locked
            .get(&person_id)
            .copied()
            .filter(|&t| t > now)
    }

    /// Changes to pending approvals, by person (for live pages).
    pub fn subscribe(&self) -> broadcast::Receiver<PersonId> {
        self.changed.subscribe()
    }

    /// Approvals pending now.
    pub fn len(&self) -> usize {
        self.lock().pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drop what is over: expired approvals, old prompt times, ended locks.
    pub fn housekeeping(&self, now: UnixTime) {
        let window = i64::try_from(self.settings.window_seconds).unwrap_or(i64::MAX);
        let mut inner = self.lock();
        inner
            .pending
            .retain(|_, p| p.prompt.expires > now && !p.tx.is_closed());
        inner.prompts.retain(|_, times| {
            while times.front().is_some_and(|&t| t <= now - window) {
                times.pop_front();
            }
            !times.is_empty()
        });
        inner.locked.retain(|_, &mut until| until > now);
    }
}

/// The pending approvals as the service sees them: in this process, or shared by every
/// instance (`crate::shared::approvals`).
#[derive(Debug)]
pub enum Hub {
    Local(ApprovalHub),
    Shared(Box<crate::shared::approvals::SharedHub>),
}

impl Hub {
    pub fn settings(&self) -> HubSettings {
        match self {
            Self::Local(h) => h.settings(),
            Self::Shared(h) => h.settings(),
        }
    }

    pub async fn start_matched(
        &self,
        person_id: PersonId,
        client: &str,
        channel: &str,
        source: Option<String>,
        number: Option<u8>,
        now: UnixTime,
    ) -> Result<Ticket, Refused> {
        match self {
            Self::Local(h) => h.start_matched(person_id, client, channel, source, number, now),
            Self::Shared(h) => {
                h.start_matched(person_id, client, channel, source, number, now)
                    .await
            }
        }
    }

    pub async fn pending_for(&self, person_id: PersonId, now: UnixTime) -> Option<Prompt> {
        match self {
            Self::Local(h) => h.pending_for(person_id, now),
            Self::Shared(h) => h.pending_for(person_id, now).await,
        }
    }

    pub async fn answer(
        &self,
        person_id: PersonId,
        id: &str,
        answer: Answer,
        now: UnixTime,
    ) -> Option<Prompt> {
        self.answer_with(person_id, id, answer, None, now)
            .await
            .map(|(prompt, _)| prompt)
    }

    pub async fn answer_with(
        &self,
        person_id: PersonId,
        id: &str,
        answer: Answer,
        chosen: Option<u8>,
        now: UnixTime,
    ) -> Option<(Prompt, Answer)> {
        match self {
            Self::Local(h) => h.answer_with(person_id, id, answer, chosen, now),
            Self::Shared(h) => h.answer_with(person_id, id, answer, chosen, now).await,
        }
    }

    pub async fn finish(&self, person_id: PersonId, id: &str) {
        match self {
            Self::Local(h) => h.finish(person_id, id),
            Self::Shared(h) => h.finish(person_id, id).await,
        }
    }

    pub async fn cancel_person(&self, person_id: PersonId) {
        match self {
            Self::Local(h) => h.cancel_person(person_id),
            Self::Shared(h) => h.cancel_person(person_id).await,
        }
    }

    pub async fn locked_until(&self, person_id: PersonId, now: UnixTime) -> Option<UnixTime> {
        match self {
            Self::Local(h) => h.locked_until(person_id, now),
            Self::Shared(h) => h.locked_until(person_id, now).await,
        }
    }

    /// Changes to pending approvals, by person (for live pages), from every instance.
    pub fn subscribe(&self) -> broadcast::Receiver<PersonId> {
        match self {
            Self::Local(h) => h.subscribe(),
            Self::Shared(h) => h.subscribe(),
        }
    }

    /// Logins held here waiting for an answer.
    pub fn len(&self) -> usize {
        match self {
            Self::Local(h) => h.len(),
            Self::Shared(h) => h.held(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn housekeeping(&self, now: UnixTime) {
        if let Self::Local(h) = self {
            h.housekeeping(now);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn hub() -> ApprovalHub {
        ApprovalHub::new(HubSettings::default())
    }

    #[tokio::test]
    async fn approve_reaches_the_waiting_login() {
        let h = hub();
        let t = h.start(1, "Remote desktop", "radius", None, 100).unwrap();
        assert_eq!(h.pending_for(1, 101).unwrap().id, t.prompt.id);
        assert!(
            h.answer(2, &t.prompt.id, Answer::Approved, 101).is_none(),
            "not theirs"
        );
        assert!(h.answer(1, "wrong", Answer::Approved, 101).is_none());
        assert!(h.answer(1, &t.prompt.id, Answer::Approved, 101).is_some());
        assert_eq!(t.answer.await.unwrap(), Answer::Approved);
        assert!(h.pending_for(1, 102).is_none());
        assert!(
            h.answer(1, &t.prompt.id, Answer::Denied, 102).is_none(),
            "once"
        );
    }

    #[tokio::test]
    async fn a_new_request_replaces_the_pending_one() {
        let h = hub();
        let first = h.start(1, "rd", "radius", None, 100).unwrap();
        let second = h.start(1, "rd", "radius", None, 101).unwrap();
        assert_eq!(first.answer.await.unwrap(), Answer::Replaced);
        assert_eq!(h.pending_for(1, 102).unwrap().id, second.prompt.id);
        assert_eq!(h.len(), 1);
    }

    #[test]
    fn prompt_bombing_is_bounded_and_not_me_locks() {
        let h = hub();
        for t in 0..3 {
            h.start(1, "rd", "radius", None, 100 + t).unwrap();
        }
        assert_eq!(
            h.start(1, "rd", "radius", None, 110).unwrap_err(),
            Refused::TooManyPrompts
        );
        // Another person is not affected; the window moves on.
        assert!(h.start(2, "rd", "radius", None, 110).is_ok());
        assert!(h.start(1, "rd", "radius", None, 100 + 600).is_ok());

        let t = h.start(3, "rd", "radius", None, 1000).unwrap();
        h.answer(3, &t.prompt.id, Answer::NotMe, 1001).unwrap();
        assert_eq!(
            h.start(3, "rd", "radius", None, 1002).unwrap_err(),
            Refused::Locked
        );
        assert!(h.locked_until(3, 1002).is_some());
        assert!(h.start(3, "rd", "radius", None, 1001 + 3600).is_ok());
    }

    #[test]
    fn expired_approvals_cannot_be_answered_and_are_swept() {
        let h = hub();
        let t = h.start(1, "rd", "radius", None, 100).unwrap();
        assert!(h.answer(1, &t.prompt.id, Answer::Approved, 150).is_none());
        h.housekeeping(150);
        assert!(h.is_empty());
    }

    /// A gateway clock a test moves, standing at `now`.
    fn manual(now: UnixTime) -> (std::sync::Arc<crate::clock::ManualClock>, GatewayClock) {
        let manual = std::sync::Arc::new(crate::clock::ManualClock::new(now));
        (manual.clone(), GatewayClock::new(manual))
    }

    #[tokio::test]
    async fn a_waiting_login_times_out_when_the_gateway_clock_passes_the_expiry() {
        let h = hub();
        let (manual, clock) = manual(100);
        let t = h.start(1, "rd", "radius", None, 100).unwrap();
        assert_eq!(t.prompt.expires, 150);
        let waiting = tokio::spawn(async move { t.wait(&clock, 100).await });
        // No real seconds pass for it: only the gateway clock ends the wait.
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert!(!waiting.is_finished(), "the clock has not moved");
        manual.advance(49);
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert!(!waiting.is_finished(), "a second of the timeout is left");
        manual.advance(1);
        let answer = tokio::time::timeout(Duration::from_secs(2), waiting)
            .await
            .expect("ended within a check of the clock")
            .unwrap();
        assert_eq!(answer, None, "timed out");
        assert!(h.pending_for(1, 150).is_none(), "expired in the hub too");
    }

    #[tokio::test]
    async fn an_answer_ends_the_wait_at_once_even_at_the_expiry() {
        let h = hub();
        let (manual, clock) = manual(100);
        let t = h.start(1, "rd", "radius", None, 100).unwrap();
        let id = t.prompt.id.clone();
        let waiting = tokio::spawn({
            let clock = clock.clone();
            async move { t.wait(&clock, 100).await }
        });
        assert!(h.answer(1, &id, Answer::Approved, 149).is_some());
        manual.advance(60);
        let answer = tokio::time::timeout(Duration::from_secs(2), waiting)
            .await
            .expect("at once")
            .unwrap();
        assert_eq!(answer, Some(Answer::Approved));
        // Replaced: the older login hears it while it waits.
        let first = h.start(2, "rd", "radius", None, 200).unwrap();
        let _second = h.start(2, "rd", "radius", None, 200).unwrap();
        assert_eq!(first.wait(&clock, 200).await, Some(Answer::Replaced));
    }

    #[tokio::test]
    async fn a_clock_that_stands_still_holds_a_login_no_longer_than_the_real_time_limit() {
        let h = hub();
        let (_manual, clock) = manual(100);
        let t = h.start(1, "rd", "radius", None, 100).unwrap();
        let started = std::time::Instant::now();
        let answer = t.wait_within(&clock, Duration::from_millis(300)).await;
        assert_eq!(answer, None);
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn number_matching_denies_a_wrong_choice() {
        let h = hub();
        let t = h
            .start_matched(1, "portal", "oidc", None, Some(42), 100)
            .unwrap();
        assert_eq!(t.prompt.number, Some(42));
        assert_eq!(t.prompt.choices.len(), 3);
        assert!(t.prompt.choices.contains(&42));
        let wrong = *t.prompt.choices.iter().find(|&&c| c != 42).unwrap();
        let (_, given) = h
            .answer_with(1, &t.prompt.id, Answer::Approved, Some(wrong), 101)
            .unwrap();
        assert_eq!(given, Answer::Denied);
        assert_eq!(t.answer.await.unwrap(), Answer::Denied);
        // The right number approves.
        let t = h
            .start_matched(2, "portal", "oidc", None, Some(17), 100)
            .unwrap();
        let (_, given) = h
            .answer_with(2, &t.prompt.id, Answer::Approved, Some(17), 101)
            .unwrap();
        assert_eq!(given, Answer::Approved);
        assert_eq!(t.answer.await.unwrap(), Answer::Approved);
        for n in 10..=99 {
            let c = choices_for(n);
            assert!(c.len() == 3 && c.contains(&n) && c.iter().all(|x| (10..=99).contains(x)));
        }
    }
}
