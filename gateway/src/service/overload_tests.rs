//! The hashing pool's bound as a login sees it: with every hashing thread busy and the wait
//! queue full, a login is answered Reject `overloaded` at once, audited, with no password
//! check; once the pool drains, logins are decided again.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::engine::Credentials;
use std::sync::Mutex;

async fn gateway() -> (Gateway, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::parse(
        "[password]\nargon2_memory_kib = 64\nargon2_iterations = 1\nhashing_threads = 1\n",
        dir.path(),
    )
    .unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = crate::store::open(&url, 2).await.unwrap();
    let key = MasterKey::from_bytes(&[7; 32]).unwrap();
    (Gateway::new(&config, store, key).unwrap(), dir)
}

fn attempt() -> Attempt {
    cli_attempt(
        "nobody",
        Credentials::PasswordAndCode {
            password: SecretString::new("wrong password"),
            code: SecretString::new("123456"),
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_hashing_queue_rejects_logins_as_overloaded() {
    let (gw, _dir) = gateway().await;
    let pool = gw.hashing_pool().clone();
    assert_eq!((pool.threads(), pool.capacity()), (1, 8));
    // The one thread busy, and the queue full behind it.
    let (release, gate) = std::sync::mpsc::channel::<()>();
    let gate = Arc::new(Mutex::new(gate));
    let mut held = Vec::new();
    let hold = |pool: crate::hashing::HashingPool,
                gate: Arc<Mutex<std::sync::mpsc::Receiver<()>>>| {
        tokio::spawn(async move {
            pool.run(move || {
                let _ = gate.lock().unwrap().recv();
            })
            .await
        })
    };
    // First the running job (so the queue is free again), then the queue: one at a time,
    // each in place before the next, so none is refused on a busy machine.
    held.push(hold(pool.clone(), gate.clone()));
    while pool.running() < 1 {
        tokio::task::yield_now().await;
    }
    for n in 1..=pool.capacity() {
        held.push(hold(pool.clone(), gate.clone()));
        while pool.queued() < n {
            tokio::task::yield_now().await;
        }
    }
    let d = gw.login(attempt(), 1_000).await.unwrap();
    assert_eq!(d.verdict, Verdict::Reject(Reason::Overloaded));
    assert_eq!(d.event.reason.as_deref(), Some("overloaded"));
    let events = gw
        .store()
        .events(&crate::store::EventFilter {
            reason: Some("overloaded".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(events.len(), 1, "audited");
    // Drained: decided again (an unknown user, checked against the dummy hash).
    for _ in 0..held.len() {
        release.send(()).unwrap();
    }
    for h in held {
        h.await.unwrap().unwrap();
    }
    let d = gw.login(attempt(), 1_001).await.unwrap();
    assert_eq!(d.verdict, Verdict::Reject(Reason::UnknownUser));
}
