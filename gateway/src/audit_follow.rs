//! Following the committed audit trail: the tasks that act on what happened (the RADIUS
//! disconnect on block, the end of single sign-on sessions with their back-channel logouts)
//! read the events written after they started, in id order, every half second, whichever
//! path wrote them (CLI, admin pages, the life-cycle API, periodic tasks, another instance).

use crate::audit::AuditEvent;
use crate::store::Store;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Events read per look at the audit trail.
const BATCH: u32 = 500;
/// How often the trail is read.
const EVERY: Duration = Duration::from_millis(500);

/// Call `on` for every event committed after now, in id order, until `stop`. `what` names
/// the follower in the log. A failed read is logged and tried again at the next look; when
/// the trail's end cannot be read at the start, nothing is followed (logged as an error).
pub async fn follow<F, Fut>(
    store: &dyn Store,
    what: &'static str,
    stop: CancellationToken,
    mut on: F,
) where
    F: FnMut(AuditEvent) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut after = match store.last_event_id().await {
        Ok(id) => id,
        Err(e) => {
            tracing::error!(error = %e, what, "cannot read the audit trail; not following it");
            return;
        }
    };
    let mut tick = tokio::time::interval(EVERY);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = stop.cancelled() => return,
        }
        let events = match store.events_after(after, BATCH).await {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(error = %e, what, "reading the audit trail failed");
                continue;
            }
        };
        for stored in events {
            after = after.max(stored.id);
            on(stored.event).await;
        }
    }
}
