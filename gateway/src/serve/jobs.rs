//! The periodic jobs of `serve` as one table ([`table`]) that one runner ([`start`]) drives:
//! housekeeping on a shared 10-second tick (rate limits, sessions, key rotation, the audit
//! checkpoint, leavers, daily retention), directory syncs on their own intervals, and the
//! SIGHUP reload of the RADIUS and OIDC clients.

use super::{Fronts, audit_config_loaded};
use crate::config::Config;
use crate::radius_front::RadiusPolicy;
use crate::service::{Actor, Gateway};
use futures_util::future::BoxFuture;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The housekeeping clock: jobs with [`When::Tick`] run on it, in table order, one after
/// the other.
const TICK: Duration = Duration::from_secs(10);
const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(86_400);

/// What the jobs work on.
pub(super) struct Context {
    pub(super) gateway: Gateway,
    pub(super) policy: Arc<RadiusPolicy>,
    pub(super) server: Arc<mfa_radius::ServerConfig>,
    pub(super) provider: Option<Arc<mfa_oidc::Provider>>,
    pub(super) limits: Arc<crate::limits::Limits>,
    pub(super) sessions: Arc<crate::web::session::Sessions>,
    pub(super) prometheus: metrics_exporter_prometheus::PrometheusHandle,
    pub(super) config_path: PathBuf,
}

/// When a job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum When {
    /// On the housekeeping tick, every `every` (a multiple of [`TICK`]), the first time
    /// `first` after start (the first tick is at start).
    Tick { every: Duration, first: Duration },
    /// In its own task, at start and then every so often (a late run delays the next).
    Interval(Duration),
    /// In its own task, on each SIGHUP.
    Hangup,
}

impl When {
    /// Whether a [`When::Tick`] job runs at tick number `ticks` (1 at start).
    fn due(self, ticks: u64) -> bool {
        let When::Tick { every, first } = self else {
            return false;
        };
        let period = (every.as_secs() / TICK.as_secs()).max(1);
        let offset = first.as_secs() / TICK.as_secs();
        (ticks - 1) % period == offset % period
    }
}

type Run = Box<dyn Fn(Arc<Context>) -> BoxFuture<'static, ()> + Send + Sync>;

/// A named job, when it runs and what it runs.
pub(super) struct Job {
    name: &'static str,
    when: When,
    run: Run,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("name", &self.name)
            .field("when", &self.when)
            .finish_non_exhaustive()
    }
}

fn job(
    name: &'static str,
    when: When,
    run: impl Fn(Arc<Context>) -> BoxFuture<'static, ()> + Send + Sync + 'static,
) -> Job {
    Job {
        name,
        when,
        run: Box::new(run),
    }
}

const fn tick(every: Duration, first: Duration) -> When {
    When::Tick { every, first }
}

/// Every job of `serve`, in the order they run on a tick.
pub(super) fn table(gateway: &Gateway) -> Vec<Job> {
    let mut jobs = vec![
        job("housekeeping", tick(TICK, Duration::ZERO), |c| {
            Box::pin(housekeeping(c))
        }),
        // Key rotation is checked every 10 minutes.
        job(
            "signing key rotation",
            tick(10 * MINUTE, Duration::ZERO),
            |c| Box::pin(rotate_keys(c)),
        ),
        // The audit chain's head is signed every hour (the first time an hour after start).
        job("audit checkpoint", tick(HOUR, HOUR - TICK), |c| {
            Box::pin(checkpoint(c))
        }),
        // Leavers whose end date has come are removed (every minute).
        job("due leavers", tick(MINUTE, Duration::ZERO), |c| {
            Box::pin(due_leavers(c))
        }),
        // The database's planner statistics, every minute (issue 17).
        job("planner statistics", tick(MINUTE, Duration::ZERO), |c| {
            Box::pin(refresh_statistics(c))
        }),
        // Retention: once a day (and soon after start).
        job("retention", tick(DAY, 2 * TICK), |c| Box::pin(retention(c))),
        job("metrics upkeep", tick(TICK, Duration::ZERO), |c| {
            Box::pin(async move { c.prometheus.run_upkeep() })
        }),
        // SIGHUP: the RADIUS and OIDC clients are read again from the file.
        job("reload", When::Hangup, |c| {
            Box::pin(async move {
                reload(
                    &c.config_path,
                    &c.server,
                    &c.policy,
                    c.provider.as_deref(),
                    &c.gateway,
                )
                .await;
            })
        }),
    ];
    // Directories with a sync interval: their people kept in step by this instance.
    for dir in gateway.directories().all() {
        let Some(every) = dir.settings().sync_interval else {
            continue;
        };
        let dir = dir.clone();
        jobs.push(job("directory sync", When::Interval(every), move |c| {
            Box::pin(directory_sync(c, dir.clone()))
        }));
    }
    jobs
}

/// Start the jobs: the [`When::Tick`] ones in one task among the fronts, the others each in
/// their own task; all stop with `stop`.
pub(super) fn start(
    jobs: Vec<Job>,
    context: Context,
    stop: &CancellationToken,
    tasks: &mut Fronts,
) -> anyhow::Result<()> {
    let context = Arc::new(context);
    let (ticked, own): (Vec<Job>, Vec<Job>) = jobs
        .into_iter()
        .partition(|j| matches!(j.when, When::Tick { .. }));
    for job in own {
        let (context, stop) = (context.clone(), stop.clone());
        match job.when {
            When::Interval(every) => {
                tokio::spawn(async move {
                    let mut tick = tokio::time::interval(every);
                    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    loop {
                        tokio::select! {
                            _ = tick.tick() => {}
                            () = stop.cancelled() => return,
                        }
                        (job.run)(context.clone()).await;
                    }
                });
            }
            #[cfg(unix)]
            When::Hangup => {
                use anyhow::Context as _;
                let mut hup =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
                        .context("listening for SIGHUP")?;
                tokio::spawn(async move {
                    loop {
                        tokio::select! {
                            _ = hup.recv() => {}
                            () = stop.cancelled() => return,
                        }
                        (job.run)(context.clone()).await;
                    }
                });
            }
            #[cfg(not(unix))]
            When::Hangup => {}
            When::Tick { .. } => unreachable!("partitioned above"),
        }
    }
    let stop = stop.clone();
    tasks.spawn(async move {
        let mut tick = tokio::time::interval(TICK);
        let mut ticks: u64 = 0;
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    ticks += 1;
                    for job in &ticked {
                        if job.when.due(ticks) {
                            (job.run)(context.clone()).await;
                        }
                    }
                }
                () = stop.cancelled() => return Ok(()),
            }
        }
    });
    Ok(())
}

/// Every tick: expired challenges, approvals, rate-limit windows and sessions; the store's
/// pool gauges.
async fn housekeeping(c: Arc<Context>) {
    let now = c.gateway.now();
    c.policy.housekeeping(now);
    c.gateway.approvals().housekeeping(now);
    c.limits.housekeeping();
    c.sessions.sweep(now).await;
    crate::ops::sample_pool(c.gateway.store().as_ref()).await;
    // What idle SQLite connections cache goes back to the system (their page caches hold
    // whatever they read last: after the retention job or a burst of logins some MiB that
    // would otherwise stay until the connection reads again; a cache is of little use
    // anyway when another connection commits, as WAL mode then drops it). PostgreSQL: none.
    if let Err(e) = c.gateway.store().release_memory().await {
        tracing::warn!(error = %e, "releasing idle database connections' memory failed");
    }
}

async fn rotate_keys(c: Arc<Context>) {
    if let Some(p) = &c.provider
        && let Err(e) = p.rotate_keys().await
    {
        tracing::error!(error = %e, "signing key rotation failed");
    }
}

async fn checkpoint(c: Arc<Context>) {
    let gw = &c.gateway;
    if let Err(e) =
        crate::audit_chain::checkpoint_now(gw.store().as_ref(), gw.master_key(), gw.now()).await
    {
        tracing::error!(error = %e, "audit checkpoint failed");
    }
}

async fn refresh_statistics(c: Arc<Context>) {
    if let Err(e) = c.gateway.store().refresh_statistics().await {
        tracing::warn!(error = %e, "refreshing the database's planner statistics failed");
    }
}

async fn due_leavers(c: Arc<Context>) {
    if let Err(e) = c.gateway.apply_due_removals(c.gateway.now()).await {
        tracing::error!(error = %e, "applying due leavers failed");
    }
}

async fn retention(c: Arc<Context>) {
    let gw = &c.gateway;
    let now = gw.now();
    // Before the audit purge: ending events are read from the trail.
    match gw.store().purge_remembered(now).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(ended = n, "ended remembered browsers deleted"),
        Err(e) => tracing::error!(error = %e, "deleting ended remembered browsers failed"),
    }
    let system = Actor::system("system", crate::audit::Channel::System, "retention");
    match gw.purge(&system, now).await {
        Ok(r) if r.total() > 0 || r.erased_people > 0 => tracing::info!(
            redacted = r.total(),
            erased_people = r.erased_people,
            "audit retention purge"
        ),
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "audit retention purge failed"),
    }
    match gw.end_expired_sso(now).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(ended = n, "expired single sign-on sessions deleted"),
        Err(e) => tracing::error!(error = %e, "deleting expired single sign-on sessions failed"),
    }
    match gw.erase_offboarded(now).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(erased = n, "offboarded organisations' people erased"),
        Err(e) => tracing::error!(error = %e, "erasing offboarded organisations failed"),
    }
}

async fn directory_sync(c: Arc<Context>, dir: Arc<crate::directory::Directory>) {
    let gw = &c.gateway;
    let Some(base) = gw.public_url().map(str::to_owned) else {
        tracing::error!(directory = %dir.name(), "directory sync: no public URL for activation links (http.public_url)");
        return;
    };
    match gw.directory_sync(&dir, false, false, &base, gw.now()).await {
        Ok(plan) => tracing::info!(
            directory = %dir.name(),
            listed = plan.listed,
            made = plan.create.len(),
            updated = plan.update.len(),
            retired = plan.retire.len(),
            not_changed = plan.failed.len(),
            "directory sync"
        ),
        Err(e) => {
            tracing::error!(directory = %dir.name(), error = %e, "directory sync failed; nothing was changed")
        }
    }
}

/// Read the configuration again (SIGHUP) and take its RADIUS clients (`[[radius.clients]]`)
/// and OIDC clients (`[[oidc.clients]]`); everything else needs a restart. A file that does
/// not load, or a client that needs a signing algorithm not in use, is refused and the old
/// clients are kept; both outcomes are audited (`config_reloaded`, success or failure).
async fn reload(
    path: &Path,
    server: &mfa_radius::ServerConfig,
    policy: &RadiusPolicy,
    provider: Option<&mfa_oidc::Provider>,
    gateway: &Gateway,
) {
    // A refusal: the whole message for the log (as at start-up), and for the audit trail
    // only where the problem is (a message may quote a value from the file).
    let outcome = match Config::load(path) {
        Err(e) => {
            let at = match &e {
                crate::config::ConfigError::Invalid { key, .. } => format!("key {key}"),
                crate::config::ConfigError::Parse { message, .. } => message
                    .split_once(':')
                    .map_or_else(|| "the file".to_owned(), |(line, _)| line.to_owned()),
                crate::config::ConfigError::Read { .. } => "the file cannot be read".to_owned(),
            };
            Err((e.to_string(), at))
        }
        Ok(new) => {
            let registrations = new
                .oidc
                .clients
                .iter()
                .map(crate::oidc_backend::registration)
                .collect();
            // The OIDC clients first: they may be refused, and then nothing changed.
            match provider.map(|p| p.replace_clients(registrations)) {
                Some(Err(e)) => Err((format!("oidc.clients: {e}"), "key oidc.clients".to_owned())),
                _ => {
                    server.table.replace(&new.radius.clients);
                    policy.reload(&new.radius);
                    gateway.set_client_orgs(&new);
                    Ok((new.radius.clients.len(), new.oidc.clients.len()))
                }
            }
        }
    };
    match outcome {
        Ok((radius, oidc)) => {
            tracing::info!(
                radius_clients = radius,
                oidc_clients = oidc,
                "configuration reloaded"
            );
            println!("config reloaded");
            if let Err(e) = audit_config_loaded(gateway, path, None).await {
                tracing::error!(error = %e, "auditing the reload failed");
            }
        }
        Err((problem, at)) => {
            tracing::error!(%problem, "configuration reload refused; the old clients stay");
            println!("config reload refused: {problem}");
            if let Err(e) = audit_config_loaded(gateway, path, Some(&at)).await {
                tracing::error!(error = %e, "auditing the refused reload failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The schedule the hand-written loop had: tick 1 is at start, one tick is 10 seconds.
    #[test]
    fn ticks_match_the_old_schedule() {
        let at = |w: When| {
            (1..=20_000u64)
                .filter(|&t| w.due(t))
                .take(3)
                .collect::<Vec<_>>()
        };
        assert_eq!(at(tick(TICK, Duration::ZERO)), [1, 2, 3]);
        assert_eq!(at(tick(10 * MINUTE, Duration::ZERO)), [1, 61, 121]);
        assert_eq!(at(tick(HOUR, HOUR - TICK)), [360, 720, 1080]);
        assert_eq!(at(tick(MINUTE, Duration::ZERO)), [1, 7, 13]);
        assert_eq!(at(tick(DAY, 2 * TICK)), [3, 8643, 17283]);
        assert!(!When::Hangup.due(1));
    }
}
