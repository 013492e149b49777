//! The password-hashing pool: a fixed set of threads that run the argon2id work (a login's
//! engine run, a new password's hash), each reusing its own argon2 memory blocks, with a
//! bounded wait queue.
//!
//! Why: argon2id at the OWASP parameters needs 19 MiB per verify. Allocated afresh per call
//! on tokio's blocking pool (whose threads come and go), that was ~4,900 page faults per
//! login (a few ms of kernel time, 1.18-1.25x the CPU of the hash itself) and a server RSS
//! that grew to 1 GB. Here each of `threads` threads keeps one block buffer, sized on first
//! use (so an idle server holds none) and reused by every later hash on that thread: the
//! memory is `threads x m_cost` at most, touched once, and flat after that. A thread idle
//! for [`IDLE_RELEASE`] gives its buffer back, so the memory returns near idle after a load
//! (the next hash on that thread allocates it again, once).
//!
//! Bounded: at most `queue` jobs wait for a thread. A job offered to a full queue is refused
//! at once ([`PoolError::Full`]); the login maps that to `Reject(overloaded)`. The pool's
//! threads end when the last handle is dropped.

use std::cell::{Cell, RefCell};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Jobs that may wait per hashing thread (the wait queue is this times the threads).
pub const QUEUE_PER_THREAD: usize = 8;
/// A hashing thread idle this long frees its argon2 memory.
pub const IDLE_RELEASE: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    #[error("the password-hashing queue is full")]
    Full,
    #[error("the password-hashing pool has stopped")]
    Closed,
    #[error("a password-hashing job panicked")]
    Panicked,
}

type Job = Box<dyn FnOnce() + Send + 'static>;

#[derive(Debug)]
struct Counters {
    queued: AtomicUsize,
    running: AtomicUsize,
    /// Block buffers allocated (or grown) by the pool's threads, ever: flat under load.
    allocations: AtomicUsize,
    /// Block buffers freed by idle threads, ever.
    releases: AtomicUsize,
}

/// A handle to the pool (cheap to clone).
#[derive(Clone)]
pub struct HashingPool {
    sender: flume::Sender<Job>,
    counters: Arc<Counters>,
    threads: usize,
    capacity: usize,
}

impl std::fmt::Debug for HashingPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashingPool")
            .field("threads", &self.threads)
            .field("capacity", &self.capacity)
            .field("queued", &self.queued())
            .field("running", &self.running())
            .finish()
    }
}

thread_local! {
    /// Set on the pool's threads: only they keep a block buffer between hashes.
    static POOL_THREAD: Cell<Option<Arc<Counters>>> = const { Cell::new(None) };
    /// This thread's argon2 memory, reused by every hash on it.
    static BLOCKS: RefCell<Vec<argon2::Block>> = const { RefCell::new(Vec::new()) };
}

impl HashingPool {
    /// Start `threads` hashing threads (at least 1) with a wait queue of `queue` jobs (at
    /// least 1).
    pub fn new(threads: usize, queue: usize) -> std::io::Result<Self> {
        Self::with_idle_release(threads, queue, IDLE_RELEASE)
    }

    /// As `new`, with threads that free their memory after `idle` without a job.
    pub fn with_idle_release(
        threads: usize,
        queue: usize,
        idle: Duration,
    ) -> std::io::Result<Self> {
        let threads = threads.max(1);
        let capacity = queue.max(1);
        let (sender, receiver) = flume::bounded::<Job>(capacity);
        let counters = Arc::new(Counters {
            queued: AtomicUsize::new(0),
            running: AtomicUsize::new(0),
            allocations: AtomicUsize::new(0),
            releases: AtomicUsize::new(0),
        });
        for i in 0..threads {
            let (receiver, counters) = (receiver.clone(), counters.clone());
            std::thread::Builder::new()
                .name(format!("mfa-hash-{i}"))
                .spawn(move || worker(&receiver, counters, idle))?;
        }
        Ok(Self {
            sender,
            counters,
            threads,
            capacity,
        })
    }

    /// Run `job` on a hashing thread and wait for its result; refused at once when the wait
    /// queue is full.
    pub async fn run<F, T>(&self, job: F) -> Result<T, PoolError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let counters = self.counters.clone();
        let boxed: Job = Box::new(move || {
            counters.queued.fetch_sub(1, Ordering::Relaxed);
            counters.running.fetch_add(1, Ordering::Relaxed);
            let result = std::panic::catch_unwind(AssertUnwindSafe(job));
            counters.running.fetch_sub(1, Ordering::Relaxed);
            let _ = tx.send(result.map_err(|_| PoolError::Panicked));
        });
        self.counters.queued.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = self.sender.try_send(boxed) {
            self.counters.queued.fetch_sub(1, Ordering::Relaxed);
            return Err(match e {
                flume::TrySendError::Full(_) => PoolError::Full,
                flume::TrySendError::Disconnected(_) => PoolError::Closed,
            });
        }
        rx.await.map_err(|_| PoolError::Closed)?
    }

    /// Jobs waiting for a thread.
    pub fn queued(&self) -> usize {
        self.counters.queued.load(Ordering::Relaxed)
    }

    /// Jobs running.
    pub fn running(&self) -> usize {
        self.counters.running.load(Ordering::Relaxed)
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The most jobs that may wait.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Block buffers the threads allocated so far (at most one per thread once warm, more
    /// only when the argon2 memory parameter grows).
    pub fn allocations(&self) -> usize {
        self.counters.allocations.load(Ordering::Relaxed)
    }

    /// Block buffers freed by idle threads so far.
    pub fn releases(&self) -> usize {
        self.counters.releases.load(Ordering::Relaxed)
    }
}

fn worker(receiver: &flume::Receiver<Job>, counters: Arc<Counters>, idle: Duration) {
    POOL_THREAD.with(|c| c.set(Some(counters.clone())));
    loop {
        match receiver.recv_timeout(idle) {
            Ok(job) => job(),
            Err(flume::RecvTimeoutError::Timeout) => {
                let freed = BLOCKS.with(|cell| {
                    let mut blocks = cell.borrow_mut();
                    let had = !blocks.is_empty();
                    *blocks = Vec::new();
                    had
                });
                if freed {
                    counters.releases.fetch_add(1, Ordering::Relaxed);
                }
            }
            Err(flume::RecvTimeoutError::Disconnected) => return, // every handle dropped
        }
    }
}

/// Run argon2 with memory blocks that stay with the thread when it is one of the pool's
/// (allocated once, reused by every later call); elsewhere (tests, a one-off CLI hash) with
/// a buffer that is freed afterwards.
pub fn with_blocks<T>(count: usize, f: impl FnOnce(&mut [argon2::Block]) -> T) -> T {
    let pool = POOL_THREAD.with(|c| {
        let v = c.take();
        c.set(v.clone());
        v
    });
    let Some(counters) = pool else {
        let mut blocks = new_blocks(count);
        return f(&mut blocks);
    };
    BLOCKS.with(|cell| {
        let mut blocks = cell.borrow_mut();
        if blocks.len() < count {
            counters.allocations.fetch_add(1, Ordering::Relaxed);
            *blocks = Vec::new();
            *blocks = new_blocks(count);
        }
        f(&mut blocks[..count])
    })
}

/// Blocks reserved above 32 MiB (only `count` are touched): glibc's malloc (the library's
/// users; the gateway binary runs on jemalloc, see `main.rs`) serves an allocation that big
/// with an mmap of its own and unmaps it when it is freed, while smaller ones come from
/// per-thread arenas that keep freed memory (and a freed 19 MiB chunk raises the threshold
/// under which they are used). jemalloc gives an allocation this big extents of its own,
/// purged after its decay time. So an idle thread's release really returns the memory. The
/// reserve beyond `count` is address space only, never resident.
fn new_blocks(count: usize) -> Vec<argon2::Block> {
    const UNMAPPED_ON_FREE: usize = (32 << 20) / argon2::Block::SIZE + 1;
    let mut blocks = Vec::with_capacity(count.max(UNMAPPED_ON_FREE));
    blocks.resize(count, argon2::Block::new());
    blocks
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::sync::Mutex;

    #[tokio::test]
    async fn runs_jobs_and_returns_their_results() {
        let pool = HashingPool::new(2, 4).unwrap();
        let name = pool
            .run(|| std::thread::current().name().map(str::to_owned))
            .await
            .unwrap();
        assert!(name.unwrap().starts_with("mfa-hash-"));
        assert_eq!(pool.run(|| 6 * 7).await, Ok(42));
        assert_eq!((pool.queued(), pool.running()), (0, 0));
    }

    /// One thread, a queue of 2: with the thread busy and 2 waiting, the next job is
    /// refused at once; once the thread is free again, jobs run.
    #[tokio::test]
    async fn a_full_queue_refuses_at_once() {
        let pool = HashingPool::new(1, 2).unwrap();
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let gate = Arc::new(Mutex::new(gate));
        let (started_tx, started) = tokio::sync::oneshot::channel();
        let busy = {
            let (pool, gate) = (pool.clone(), gate.clone());
            tokio::spawn(async move {
                pool.run(move || {
                    let _ = started_tx.send(());
                    let _ = gate.lock().unwrap().recv();
                })
                .await
            })
        };
        started.await.unwrap();
        let waiting: Vec<_> = (0..2)
            .map(|i| {
                let pool = pool.clone();
                tokio::spawn(async move { pool.run(move || i).await })
            })
            .collect();
        // The two waiting jobs are in the queue once `queued` says so.
        while pool.queued() < 2 {
            tokio::task::yield_now().await;
        }
        assert_eq!(pool.running(), 1);
        assert_eq!(pool.run(|| 99).await, Err(PoolError::Full));
        release.send(()).unwrap();
        busy.await.unwrap().unwrap();
        for (i, w) in waiting.into_iter().enumerate() {
            assert_eq!(w.await.unwrap(), Ok(i));
        }
        assert_eq!(pool.run(|| 7).await, Ok(7));
    }

    #[tokio::test]
    async fn a_panicking_job_is_an_error_and_the_thread_lives_on() {
        let pool = HashingPool::new(1, 1).unwrap();
        let r: Result<(), _> = pool.run(|| panic!("boom")).await;
        assert_eq!(r, Err(PoolError::Panicked));
        assert_eq!(pool.run(|| 1).await, Ok(1));
    }

    /// The block buffer is allocated once per thread and reused: many hashes, one
    /// allocation; a smaller request reuses it, a bigger one grows it once.
    #[tokio::test]
    async fn blocks_are_reused_by_the_pool_threads() {
        let pool = HashingPool::new(1, 16).unwrap();
        let mut jobs = Vec::new();
        for _ in 0..12 {
            let pool = pool.clone();
            jobs.push(tokio::spawn(async move {
                pool.run(|| with_blocks(64, |b| b.len())).await
            }));
        }
        for j in jobs {
            assert_eq!(j.await.unwrap(), Ok(64));
        }
        assert_eq!(pool.allocations(), 1);
        assert_eq!(pool.run(|| with_blocks(8, |b| b.len())).await, Ok(8));
        assert_eq!(pool.allocations(), 1);
        assert_eq!(pool.run(|| with_blocks(128, |b| b.len())).await, Ok(128));
        assert_eq!(pool.allocations(), 2);
        // Outside the pool: a buffer of its own each time, nothing counted.
        assert_eq!(with_blocks(8, |b| b.len()), 8);
        assert_eq!(pool.allocations(), 2);
    }

    /// A thread idle for the release time frees its memory; the next hash allocates again.
    #[tokio::test]
    async fn idle_threads_free_their_memory() {
        let pool = HashingPool::with_idle_release(1, 4, Duration::from_millis(30)).unwrap();
        assert_eq!(pool.run(|| with_blocks(64, |b| b.len())).await, Ok(64));
        assert_eq!((pool.allocations(), pool.releases()), (1, 0));
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while pool.releases() == 0 {
            assert!(std::time::Instant::now() < deadline, "not released");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(pool.run(|| with_blocks(64, |b| b.len())).await, Ok(64));
        assert_eq!((pool.allocations(), pool.releases()), (2, 1));
    }
}
