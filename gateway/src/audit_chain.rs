//! Tamper evidence for the audit trail: a hash chain over `audit_events` and signed
//! checkpoints of its head.
//!
//! # The chain
//! Every event row holds two hashes, written by the store in the same transaction as the
//! event (`insert_event` in `store/sql.rs`; writers are serialised: `BEGIN IMMEDIATE` on
//! SQLite, a transaction-level advisory lock on PostgreSQL):
//! - `content_hash = SHA-256(encode(id, content))`, with [`encode`] below;
//! - `chain_hash = SHA-256(previous row's chain_hash || content_hash)`, the first row
//!   chained onto 32 zero bytes ([`GENESIS`]).
//!
//! The encoding is length-prefixed, fields in a fixed order: the tag `mfa-audit-event-v1`,
//! then `id, time, kind, actor, person_id, username, org_id, channel, client, source,
//! device_id, device_label, outcome, reason, request_id, detail`, each as one of
//! `0x00` (absent), `0x01` + 8 bytes big-endian (an integer), or `0x02` + 8 bytes big-endian
//! length + UTF-8 bytes (a text). Texts are taken as stored: kind, channel and outcome as
//! their snake_case names, `detail` as the JSON text in the column. The id is covered, so a
//! row moved to another id no longer fits its hash.
//!
//! `audit verify` walks the rows in id order and names the first that does not fit. Deleting
//! or rewriting the tail cannot be seen from the chain alone; signed checkpoints of the head
//! (`audit_checkpoints`, Ed25519, the key sealed with the gateway's master key) catch it.
//!
//! # Purge (GDPR retention)
//! A purge (`audit purge`, `person erase`) does, in one transaction, replace a row's personal fields (username, source,
//! device label, detail...) with keyed pseudonyms, set `purged = true`, and leave
//! `content_hash` and `chain_hash` as they were. [`ChainWalk`] does not recompute the content
//! hash of a purged row: it takes the stored `content_hash` and checks that the chain
//! follows from it, so the chain, and every checkpoint, still verify after a purge. The
//! purge also writes an `audit_purged` event naming the ids it purged (`detail.purged`: a
//! list of `[first, last]` id ranges); verify requires every purged row to be named by such
//! a later event, so setting the flag by hand to hide an edit is itself detected.

use crate::audit::AuditEvent;
use crate::crypto::MasterKey;
use crate::model::UnixTime;
use crate::store::{Store, StoreError};
use ed25519_dalek::{Signer as _, Verifier as _};
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::fmt;

/// What the first row chains onto.
pub const GENESIS: [u8; 32] = [0; 32];
/// The checkpoint key's id (table `audit_keys`).
pub const CHECKPOINT_KID: &str = "audit-checkpoint";
const ENCODING_TAG: &[u8] = b"mfa-audit-event-v1";
const CHECKPOINT_TAG: &[u8] = b"mfa-gateway audit checkpoint v1\0";
/// Rows read per page while walking the chain.
const PAGE: u32 = 5000;

#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("audit checkpoint key: {0}")]
    Key(String),
}

/// An event's content as it is stored (what the content hash covers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventContent {
    pub time: UnixTime,
    pub kind: String,
    pub actor: String,
    pub person_id: Option<i64>,
    pub username: Option<String>,
    pub org_id: Option<i64>,
    pub channel: String,
    pub client: Option<String>,
    pub source: Option<String>,
    pub device_id: Option<i64>,
    pub device_label: Option<String>,
    pub outcome: String,
    pub reason: Option<String>,
    pub request_id: Option<String>,
    /// The JSON text as stored.
    pub detail: Option<String>,
}

impl EventContent {
    /// What the store writes for `e`.
    pub fn from_event(e: &AuditEvent) -> Self {
        Self {
            time: e.time,
            kind: e.kind.as_str().to_owned(),
            actor: e.actor.clone(),
            person_id: e.person_id,
            username: e.username.clone(),
            org_id: e.org_id,
            channel: e.channel.as_str().to_owned(),
            client: e.client.clone(),
            source: e.source.clone(),
            device_id: e.device_id,
            device_label: e.device_label.clone(),
            outcome: e.outcome.as_str().to_owned(),
            reason: e.reason.clone(),
            request_id: e.request_id.clone(),
            detail: e.detail.as_ref().map(|d| d.to_string()),
        }
    }
}

/// The canonical encoding of an event (see the module documentation).
pub fn encode(id: i64, c: &EventContent) -> Vec<u8> {
    fn int(out: &mut Vec<u8>, v: Option<i64>) {
        match v {
            None => out.push(0),
            Some(v) => {
                out.push(1);
                out.extend_from_slice(&v.to_be_bytes());
            }
        }
    }
    fn text(out: &mut Vec<u8>, v: Option<&str>) {
        match v {
            None => out.push(0),
            Some(v) => {
                out.push(2);
                out.extend_from_slice(&(v.len() as u64).to_be_bytes());
                out.extend_from_slice(v.as_bytes());
            }
        }
    }
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(ENCODING_TAG);
    int(&mut out, Some(id));
    int(&mut out, Some(c.time));
    text(&mut out, Some(&c.kind));
    text(&mut out, Some(&c.actor));
    int(&mut out, c.person_id);
    text(&mut out, c.username.as_deref());
    int(&mut out, c.org_id);
    text(&mut out, Some(&c.channel));
    text(&mut out, c.client.as_deref());
    text(&mut out, c.source.as_deref());
    int(&mut out, c.device_id);
    text(&mut out, c.device_label.as_deref());
    text(&mut out, Some(&c.outcome));
    text(&mut out, c.reason.as_deref());
    text(&mut out, c.request_id.as_deref());
    text(&mut out, c.detail.as_deref());
    out
}

pub fn content_hash(id: i64, c: &EventContent) -> [u8; 32] {
    Sha256::digest(encode(id, c)).into()
}

pub fn chain_hash(previous: &[u8; 32], content_hash: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(previous);
    h.update(content_hash);
    h.finalize().into()
}

/// One row as the chain sees it.
#[derive(Debug, Clone)]
pub struct ChainRow {
    pub id: i64,
    pub content: EventContent,
    /// Missing only on rows written before the chain existed and not yet backfilled.
    pub content_hash: Option<Vec<u8>>,
    pub chain_hash: Option<Vec<u8>>,
    pub purged: bool,
}

/// A signed record of the chain's head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Set by the store.
    pub id: i64,
    /// The last event covered (0: the chain was empty).
    pub last_event_id: i64,
    pub chain_hash: Vec<u8>,
    pub time: UnixTime,
    pub signature: Vec<u8>,
    pub public_key: Vec<u8>,
}

/// The checkpoint signing key, sealed with the master key (associated data: the kid).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedAuditKey {
    pub kid: String,
    pub sealed_key: Vec<u8>,
    pub public_key: Vec<u8>,
    pub created_at: UnixTime,
}

/// What a checkpoint signs.
pub fn checkpoint_message(last_event_id: i64, chain_hash: &[u8], time: UnixTime) -> Vec<u8> {
    let mut m = Vec::with_capacity(CHECKPOINT_TAG.len() + 48);
    m.extend_from_slice(CHECKPOINT_TAG);
    m.extend_from_slice(&last_event_id.to_be_bytes());
    m.extend_from_slice(chain_hash);
    m.extend_from_slice(&time.to_be_bytes());
    m
}

/// The first thing that does not fit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The row's content (or its id) is not what was hashed: edited, or moved to another id.
    ContentChanged { event_id: i64 },
    /// The row's chain hash does not follow from the row before it: a row before it was
    /// deleted, or this row was inserted or moved (reordered).
    ChainBroken {
        event_id: i64,
        previous_id: Option<i64>,
    },
    /// The row has no hashes: written around the chain.
    Unhashed { event_id: i64 },
    /// A checkpoint's signature does not verify.
    BadSignature { checkpoint_id: i64 },
    /// A checkpoint is signed by a key that is not the gateway's checkpoint key.
    UnknownKey { checkpoint_id: i64 },
    /// The chain at a checkpoint's event has another hash than the checkpoint recorded:
    /// the chain up to there was rewritten.
    CheckpointMismatch { checkpoint_id: i64, event_id: i64 },
    /// A row is marked purged but no `audit_purged` event names it: the flag was set by
    /// hand (perhaps to hide an edit).
    PurgeUnexplained { event_id: i64 },
    /// A checkpoint's event is gone: the chain was cut back (rows deleted at the tail).
    Truncated {
        checkpoint_id: i64,
        event_id: i64,
        last_id: Option<i64>,
    },
}

impl Problem {
    /// The event named, if any.
    pub fn event_id(&self) -> Option<i64> {
        match *self {
            Self::ContentChanged { event_id }
            | Self::ChainBroken { event_id, .. }
            | Self::Unhashed { event_id }
            | Self::PurgeUnexplained { event_id }
            | Self::CheckpointMismatch { event_id, .. }
            | Self::Truncated { event_id, .. } => Some(event_id),
            Self::BadSignature { .. } | Self::UnknownKey { .. } => None,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ContentChanged { event_id } => write!(
                f,
                "event {event_id}: content changed (it no longer matches its hash: the row was edited, or moved to another id)"
            ),
            Self::ChainBroken {
                event_id,
                previous_id,
            } => {
                let before = previous_id.map_or_else(
                    || "the start of the chain".to_owned(),
                    |p| format!("event {p}"),
                );
                write!(
                    f,
                    "event {event_id}: chain broken (it does not follow {before}: a row was deleted before it, or it was inserted or reordered)"
                )
            }
            Self::Unhashed { event_id } => {
                write!(
                    f,
                    "event {event_id}: no chain hash (written around the chain)"
                )
            }
            Self::PurgeUnexplained { event_id } => write!(
                f,
                "event {event_id}: marked purged, but no audit_purged event names it (the flag was set by hand)"
            ),
            Self::BadSignature { checkpoint_id } => {
                write!(
                    f,
                    "checkpoint {checkpoint_id}: the signature does not verify"
                )
            }
            Self::UnknownKey { checkpoint_id } => write!(
                f,
                "checkpoint {checkpoint_id}: signed by a key that is not this gateway's checkpoint key"
            ),
            Self::CheckpointMismatch {
                checkpoint_id,
                event_id,
            } => write!(
                f,
                "event {event_id}: chain hash differs from checkpoint {checkpoint_id} (the chain up to it was rewritten)"
            ),
            Self::Truncated {
                checkpoint_id,
                event_id,
                last_id,
            } => {
                let last = last_id.map_or_else(|| "none".to_owned(), |l| l.to_string());
                write!(
                    f,
                    "event {event_id}: missing, but checkpoint {checkpoint_id} covers it (rows deleted; the last event now is {last})"
                )
            }
        }
    }
}

/// Walks rows in id order. Pure: the rows come from the caller.
#[derive(Debug)]
pub struct ChainWalk {
    previous: [u8; 32],
    previous_id: Option<i64>,
    count: u64,
    /// Event ids named by checkpoints, with the chain hash found there.
    watched: BTreeMap<i64, Option<[u8; 32]>>,
    /// Purged rows seen, as id ranges.
    purged: Vec<(i64, i64)>,
    /// Id ranges named by `audit_purged` events.
    explained: Vec<(i64, i64)>,
}

impl ChainWalk {
    /// A walk that remembers the chain hash at each of `watch` (checkpointed events).
    pub fn new(watch: impl IntoIterator<Item = i64>) -> Self {
        Self {
            previous: GENESIS,
            previous_id: None,
            count: 0,
            watched: watch.into_iter().map(|id| (id, None)).collect(),
            purged: Vec::new(),
            explained: Vec::new(),
        }
    }

    /// A walk that goes on after `from_id`, whose chain hash is `from_hash` (a checkpoint's
    /// event, trusted because the checkpoint's signature verifies): what `verify_since`
    /// does instead of walking the whole table.
    pub fn resume(from_id: i64, from_hash: [u8; 32], watch: impl IntoIterator<Item = i64>) -> Self {
        let mut w = Self::new(watch);
        w.previous = from_hash;
        w.previous_id = Some(from_id);
        w.watched.insert(from_id, Some(from_hash));
        w
    }

    /// Check the next row.
    pub fn step(&mut self, row: &ChainRow) -> Result<(), Problem> {
        let event_id = row.id;
        let (Some(stored_content), Some(stored_chain)) = (
            row.content_hash.as_deref().and_then(to32),
            row.chain_hash.as_deref().and_then(to32),
        ) else {
            return Err(Problem::Unhashed { event_id });
        };
        let content = if row.purged {
            stored_content
        } else {
            let computed = content_hash(row.id, &row.content);
            if computed != stored_content {
                return Err(Problem::ContentChanged { event_id });
            }
            computed
        };
        if chain_hash(&self.previous, &content) != stored_chain {
            return Err(Problem::ChainBroken {
                event_id,
                previous_id: self.previous_id,
            });
        }
        if let Some(slot) = self.watched.get_mut(&row.id) {
            *slot = Some(stored_chain);
        }
        if row.purged {
            match self.purged.last_mut() {
                Some((_, last)) if *last + 1 == row.id => *last = row.id,
                _ => self.purged.push((row.id, row.id)),
            }
        } else if row.content.kind == "audit_purged" {
            self.explained
                .extend(purge_ranges(row.content.detail.as_deref(), row.id));
        }
        self.previous = stored_chain;
        self.previous_id = Some(row.id);
        self.count += 1;
        Ok(())
    }

    /// Check the checkpoints against what the walk saw. `trusted`: the gateway's checkpoint
    /// public key (None: there is no key, so no checkpoint can be trusted).
    pub fn check_checkpoints(
        &self,
        checkpoints: &[Checkpoint],
        trusted: Option<&[u8; 32]>,
    ) -> Result<(), Problem> {
        for cp in checkpoints {
            let checkpoint_id = cp.id;
            if trusted.is_none_or(|t| t.as_slice() != cp.public_key.as_slice()) {
                return Err(Problem::UnknownKey { checkpoint_id });
            }
            let key =
                to32(&cp.public_key).and_then(|k| ed25519_dalek::VerifyingKey::from_bytes(&k).ok());
            let sig = ed25519_dalek::Signature::from_slice(&cp.signature).ok();
            let (Some(key), Some(sig)) = (key, sig) else {
                return Err(Problem::BadSignature { checkpoint_id });
            };
            let message = checkpoint_message(cp.last_event_id, &cp.chain_hash, cp.time);
            if key.verify(&message, &sig).is_err() {
                return Err(Problem::BadSignature { checkpoint_id });
            }
            let event_id = cp.last_event_id;
            let found = if event_id == 0 {
                Some(GENESIS)
            } else {
                self.watched.get(&event_id).copied().flatten()
            };
            match found {
                Some(h) if h.as_slice() == cp.chain_hash.as_slice() => {}
                Some(_) => {
                    return Err(Problem::CheckpointMismatch {
                        checkpoint_id,
                        event_id,
                    });
                }
                None => {
                    return Err(Problem::Truncated {
                        checkpoint_id,
                        event_id,
                        last_id: self.previous_id,
                    });
                }
            }
        }
        Ok(())
    }

    /// Every purged row seen is named by a later `audit_purged` event.
    pub fn check_purges(&self) -> Result<(), Problem> {
        let mut explained = self.explained.clone();
        explained.sort_unstable();
        for &(first, last) in &self.purged {
            let mut id = first;
            while id <= last {
                // The explained range that starts at or before `id` and reaches furthest.
                let reach = explained
                    .iter()
                    .take_while(|(a, _)| *a <= id)
                    .filter(|(_, b)| *b >= id)
                    .map(|(_, b)| *b)
                    .max();
                match reach {
                    Some(b) => id = b.saturating_add(1),
                    None => return Err(Problem::PurgeUnexplained { event_id: id }),
                }
            }
        }
        Ok(())
    }

    /// Rows checked so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The last row checked and its chain hash.
    pub fn head(&self) -> Option<(i64, [u8; 32])> {
        self.previous_id.map(|id| (id, self.previous))
    }
}

/// The id ranges an `audit_purged` event (id `at`) names; only ranges before it count.
fn purge_ranges(detail: Option<&str>, at: i64) -> Vec<(i64, i64)> {
    let Some(value) = detail.and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok()) else {
        return Vec::new();
    };
    value["purged"]
        .as_array()
        .map(|ranges| {
            ranges
                .iter()
                .filter_map(|r| Some((r.get(0)?.as_i64()?, r.get(1)?.as_i64()?)))
                .filter(|(a, b)| a <= b && *b < at)
                .collect()
        })
        .unwrap_or_default()
}

/// Ids as `[first, last]` ranges (for an `audit_purged` event's detail).
pub fn id_ranges(ids: &[i64]) -> Vec<[i64; 2]> {
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out: Vec<[i64; 2]> = Vec::new();
    for id in sorted {
        match out.last_mut() {
            Some(r) if r[1] + 1 == id => r[1] = id,
            _ => out.push([id, id]),
        }
    }
    out
}

fn to32(b: &[u8]) -> Option<[u8; 32]> {
    b.try_into().ok()
}

/// What `verify` found.
#[derive(Debug, Clone)]
pub struct VerifyReport {
    pub events: u64,
    pub head: Option<(i64, [u8; 32])>,
    pub checkpoints: usize,
    /// None: everything fits.
    pub problem: Option<Problem>,
}

/// Walk the whole chain in id order, then check every checkpoint (signature by `trusted`,
/// and the chain still has the recorded hash at the recorded event).
pub async fn verify(store: &dyn Store, trusted: Option<&[u8; 32]>) -> Result<VerifyReport> {
    let checkpoints = store.checkpoints().await?;
    let mut walk = ChainWalk::new(checkpoints.iter().map(|c| c.last_event_id));
    let mut after = 0;
    let mut problem = None;
    'pages: loop {
        let rows = store.chain_rows(after, PAGE).await?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        for row in &rows {
            if let Err(p) = walk.step(row) {
                problem = Some(p);
                break 'pages;
            }
        }
    }
    if problem.is_none() {
        problem = walk.check_purges().err();
    }
    if problem.is_none() {
        problem = walk.check_checkpoints(&checkpoints, trusted).err();
    }
    Ok(VerifyReport {
        events: walk.count(),
        head: walk.head(),
        checkpoints: checkpoints.len(),
        problem,
    })
}

/// Verify from the newest checkpoint on (`audit verify --from-checkpoint`): its signature,
/// the row it names (still there, its content unchanged, its chain hash the one signed),
/// then every row after it and every later checkpoint, as `verify` does. Seconds, not the
/// whole table: what the last full verify established up to the checkpoint is taken as
/// it was signed. With no checkpoint, a full verify.
pub async fn verify_since_checkpoint(
    store: &dyn Store,
    trusted: Option<&[u8; 32]>,
) -> Result<(VerifyReport, Option<Checkpoint>)> {
    let checkpoints = store.checkpoints().await?;
    let Some(start) = checkpoints
        .iter()
        .filter(|c| c.last_event_id > 0)
        .max_by_key(|c| (c.last_event_id, c.id))
        .cloned()
    else {
        return Ok((verify(store, trusted).await?, None));
    };
    let later: Vec<Checkpoint> = checkpoints
        .iter()
        .filter(|c| c.last_event_id >= start.last_event_id)
        .cloned()
        .collect();
    let report = |events, head, problem| VerifyReport {
        events,
        head,
        checkpoints: later.len(),
        problem,
    };
    // The checkpoint's own signature first: nothing is trusted from a forged one.
    let probe = ChainWalk::resume(
        start.last_event_id,
        to32(&start.chain_hash).unwrap_or(GENESIS),
        [],
    );
    if let Err(p) = probe.check_checkpoints(std::slice::from_ref(&start), trusted) {
        return Ok((report(0, None, Some(p)), Some(start)));
    }
    // The row it names: there, unchanged, with the signed chain hash.
    let anchor = store
        .chain_rows(start.last_event_id - 1, 1)
        .await?
        .into_iter()
        .find(|r| r.id == start.last_event_id);
    let Some(anchor) = anchor else {
        let last = store.chain_head().await?.map(|(id, _)| id);
        let problem = Problem::Truncated {
            checkpoint_id: start.id,
            event_id: start.last_event_id,
            last_id: last,
        };
        return Ok((report(0, None, Some(problem)), Some(start)));
    };
    if !anchor.purged
        && anchor.content_hash.as_deref()
            != Some(content_hash(anchor.id, &anchor.content).as_slice())
    {
        let problem = Problem::ContentChanged {
            event_id: anchor.id,
        };
        return Ok((report(0, None, Some(problem)), Some(start)));
    }
    if anchor.chain_hash.as_deref() != Some(start.chain_hash.as_slice()) {
        let problem = Problem::CheckpointMismatch {
            checkpoint_id: start.id,
            event_id: anchor.id,
        };
        return Ok((report(0, None, Some(problem)), Some(start)));
    }
    let Some(anchor_hash) = to32(&start.chain_hash) else {
        let problem = Problem::BadSignature {
            checkpoint_id: start.id,
        };
        return Ok((report(0, None, Some(problem)), Some(start)));
    };
    let mut walk = ChainWalk::resume(
        anchor.id,
        anchor_hash,
        later.iter().map(|c| c.last_event_id),
    );
    let mut after = anchor.id;
    let mut problem = None;
    'pages: loop {
        let rows = store.chain_rows(after, PAGE).await?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        for row in &rows {
            if let Err(p) = walk.step(row) {
                problem = Some(p);
                break 'pages;
            }
        }
    }
    if problem.is_none() {
        problem = walk.check_purges().err();
    }
    if problem.is_none() {
        problem = walk.check_checkpoints(&later, trusted).err();
    }
    Ok((report(walk.count(), walk.head(), problem), Some(start)))
}

pub type Result<T, E = ChainError> = std::result::Result<T, E>;

fn key_aad(kid: &str) -> Vec<u8> {
    format!("audit-checkpoint-key:{kid}").into_bytes()
}

/// The checkpoint key, if one was made.
pub async fn load_key(
    store: &dyn Store,
    master: &MasterKey,
) -> Result<Option<ed25519_dalek::SigningKey>> {
    let Some(row) = store.audit_key(CHECKPOINT_KID).await? else {
        return Ok(None);
    };
    let seed = master
        .open(&row.sealed_key, &key_aad(&row.kid))
        .map_err(|e| ChainError::Key(e.to_string()))?;
    let seed: [u8; 32] = seed
        .expose()
        .try_into()
        .map_err(|_| ChainError::Key("sealed key has the wrong length".into()))?;
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    if key.verifying_key().as_bytes().as_slice() != row.public_key.as_slice() {
        return Err(ChainError::Key("stored public key does not match".into()));
    }
    Ok(Some(key))
}

/// The checkpoint key, made and stored (sealed, audited) on first use.
pub async fn key(
    store: &dyn Store,
    master: &MasterKey,
    now: UnixTime,
) -> Result<ed25519_dalek::SigningKey> {
    if let Some(k) = load_key(store, master).await? {
        return Ok(k);
    }
    let seed = zeroize::Zeroizing::new(
        crate::secret::random_bytes(32).map_err(|e| ChainError::Key(e.to_string()))?,
    );
    let seed: [u8; 32] = seed
        .as_slice()
        .try_into()
        .map_err(|_| ChainError::Key("random seed".into()))?;
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    let row = SealedAuditKey {
        kid: CHECKPOINT_KID.to_owned(),
        sealed_key: master
            .seal(&seed, &key_aad(CHECKPOINT_KID))
            .map_err(|e| ChainError::Key(e.to_string()))?,
        public_key: key.verifying_key().as_bytes().to_vec(),
        created_at: now,
    };
    let mut event = AuditEvent::admin(now, crate::audit::EventKind::SigningKeyChanged, "system");
    event.channel = crate::audit::Channel::System;
    event.detail = Some(serde_json::json!({
        "kid": CHECKPOINT_KID, "alg": "Ed25519-audit",
        "public_key": hex::encode(&row.public_key),
    }));
    // Two processes may race to make it: the first one stored wins, both use that one.
    store.add_audit_key(&row, event).await?;
    load_key(store, master)
        .await?
        .ok_or_else(|| ChainError::Key("the key was not stored".into()))
}

/// Sign and store the current head of the chain (on demand, or periodically by the server).
pub async fn checkpoint(
    store: &dyn Store,
    key: &ed25519_dalek::SigningKey,
    now: UnixTime,
) -> Result<Checkpoint> {
    let (last_event_id, chain_hash) = store.chain_head().await?.unwrap_or((0, GENESIS));
    let message = checkpoint_message(last_event_id, &chain_hash, now);
    let mut cp = Checkpoint {
        id: 0,
        last_event_id,
        chain_hash: chain_hash.to_vec(),
        time: now,
        signature: key.sign(&message).to_bytes().to_vec(),
        public_key: key.verifying_key().as_bytes().to_vec(),
    };
    cp.id = store.add_checkpoint(&cp).await?;
    Ok(cp)
}

/// Checkpoint the head with the gateway's key (made on first use): what `audit checkpoint`
/// does, and what the server can call periodically.
pub async fn checkpoint_now(
    store: &dyn Store,
    master: &MasterKey,
    now: UnixTime,
) -> Result<Checkpoint> {
    let key = key(store, master, now).await?;
    checkpoint(store, &key, now).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::audit::{Channel, EventKind, Outcome};

    fn row(id: i64, previous: &[u8; 32], actor: &str) -> ChainRow {
        let mut e = AuditEvent::admin(1_700_000_000 + id, EventKind::LoginAttempt, actor);
        e.channel = Channel::Radius;
        e.outcome = Outcome::Reject;
        e.detail = Some(serde_json::json!({"b": 1, "a": [2]}));
        let content = EventContent::from_event(&e);
        let ch = content_hash(id, &content);
        ChainRow {
            id,
            content,
            content_hash: Some(ch.to_vec()),
            chain_hash: Some(chain_hash(previous, &ch).to_vec()),
            purged: false,
        }
    }

    fn chain(n: i64) -> Vec<ChainRow> {
        let mut prev = GENESIS;
        (1..=n)
            .map(|id| {
                let r = row(id, &prev, "cli");
                prev = to32(r.chain_hash.as_deref().unwrap()).unwrap();
                r
            })
            .collect()
    }

    fn walk(rows: &[ChainRow]) -> Result<(), Problem> {
        let mut w = ChainWalk::new([]);
        rows.iter().try_for_each(|r| w.step(r))
    }

    #[test]
    fn encoding_is_unambiguous() {
        let mut a = EventContent::from_event(&AuditEvent::admin(1, EventKind::OrgCreated, "ab"));
        let mut b = a.clone();
        a.username = Some("c".into());
        b.actor = "abc".into();
        assert_ne!(encode(1, &a), encode(1, &b));
        b.actor = "ab".into();
        b.client = Some("c".into());
        assert_ne!(encode(1, &a), encode(1, &b), "field position counts");
        assert_ne!(encode(1, &a), encode(2, &a), "the id counts");
    }

    #[test]
    fn intact_chain_verifies_and_each_tamper_is_named() {
        let rows = chain(5);
        assert_eq!(walk(&rows), Ok(()));

        let mut edited = rows.clone();
        edited[2].content.actor = "mallory".into();
        assert_eq!(walk(&edited), Err(Problem::ContentChanged { event_id: 3 }));

        let mut deleted = rows.clone();
        deleted.remove(1);
        assert_eq!(
            walk(&deleted),
            Err(Problem::ChainBroken {
                event_id: 3,
                previous_id: Some(1)
            })
        );

        let mut swapped = rows.clone();
        swapped.swap(1, 2);
        (swapped[1].id, swapped[2].id) = (2, 3);
        assert_eq!(walk(&swapped), Err(Problem::ContentChanged { event_id: 2 }));

        let mut purged = rows.clone();
        purged[3].content.username = Some("pseudonym-1f3a".into());
        purged[3].purged = true;
        assert_eq!(walk(&purged), Ok(()), "a purged row keeps its hashes");
    }

    /// Purged rows must be named by a later `audit_purged` event; the event naming them is
    /// itself chained, so the whole still verifies after a purge.
    #[test]
    fn purged_rows_need_a_purge_event() {
        let check = |rows: &[ChainRow]| {
            let mut w = ChainWalk::new([]);
            rows.iter().try_for_each(|r| w.step(r))?;
            w.check_purges()
        };
        let mut rows = chain(5);
        for r in &mut rows[1..3] {
            r.content.source = None;
            r.purged = true;
        }
        assert_eq!(check(&rows), Err(Problem::PurgeUnexplained { event_id: 2 }));

        // Append the audit_purged event that names ids 2..3.
        let prev = to32(rows[4].chain_hash.as_deref().unwrap()).unwrap();
        let mut e = AuditEvent::admin(1_700_000_100, EventKind::AuditPurged, "system");
        e.detail = Some(serde_json::json!({ "purged": id_ranges(&[3, 2]) }));
        let content = EventContent::from_event(&e);
        let ch = content_hash(6, &content);
        let mut with_event = rows.clone();
        with_event.push(ChainRow {
            id: 6,
            content,
            content_hash: Some(ch.to_vec()),
            chain_hash: Some(chain_hash(&prev, &ch).to_vec()),
            purged: false,
        });
        assert_eq!(check(&with_event), Ok(()));

        // A flag set by hand on another row is still caught.
        with_event[3].purged = true;
        assert_eq!(
            check(&with_event),
            Err(Problem::PurgeUnexplained { event_id: 4 })
        );
        assert_eq!(id_ranges(&[5, 1, 2, 3, 9, 2]), vec![[1, 3], [5, 5], [9, 9]]);
    }

    #[test]
    fn checkpoints_catch_truncation_and_foreign_keys() {
        let rows = chain(4);
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let public = *key.verifying_key().as_bytes();
        let hash = rows[3].chain_hash.clone().unwrap();
        let cp = Checkpoint {
            id: 1,
            last_event_id: 4,
            chain_hash: hash.clone(),
            time: 9,
            signature: key
                .sign(&checkpoint_message(4, &hash, 9))
                .to_bytes()
                .to_vec(),
            public_key: public.to_vec(),
        };
        let mut w = ChainWalk::new([4]);
        rows.iter().for_each(|r| w.step(r).unwrap());
        assert_eq!(
            w.check_checkpoints(std::slice::from_ref(&cp), Some(&public)),
            Ok(())
        );
        assert_eq!(
            w.check_checkpoints(std::slice::from_ref(&cp), Some(&[1; 32])),
            Err(Problem::UnknownKey { checkpoint_id: 1 })
        );
        let mut forged = cp.clone();
        forged.time = 10;
        assert_eq!(
            w.check_checkpoints(&[forged], Some(&public)),
            Err(Problem::BadSignature { checkpoint_id: 1 })
        );
        let mut cut = ChainWalk::new([4]);
        rows[..3].iter().for_each(|r| cut.step(r).unwrap());
        assert_eq!(
            cut.check_checkpoints(&[cp], Some(&public)),
            Err(Problem::Truncated {
                checkpoint_id: 1,
                event_id: 4,
                last_id: Some(3)
            })
        );
    }
}
