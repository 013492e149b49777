//! The gateway's clock (issue 15): `Gateway::now()` is read once per request at the edge
//! (a RADIUS packet, a web request, a periodic job) and the time is passed inward, so the
//! service, the engine and the store never read the wall clock themselves. Production runs
//! on the system clock; in-process tests move a [`ManualClock`] instead of sleeping; the
//! end-to-end tests shift a debug build's clock through a file (see [`from_env`]).

use crate::model::UnixTime;
pub use mfa_oidc::{Clock, ManualClock, SystemClock};
use std::sync::Arc;

/// The clock a gateway reads (shared with the OpenID Provider).
#[derive(Clone)]
pub struct GatewayClock(Arc<dyn Clock>);

impl GatewayClock {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self(clock)
    }

    pub fn system() -> Self {
        Self(Arc::new(SystemClock))
    }

    pub fn now(&self) -> UnixTime {
        self.0.now()
    }

    /// The same clock, for the OpenID Provider.
    pub fn shared(&self) -> Arc<dyn Clock> {
        self.0.clone()
    }
}

impl std::fmt::Debug for GatewayClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GatewayClock")
    }
}

/// The environment variable that, in a debug build only, names a file holding a number of
/// seconds added to the system clock (the end-to-end tests move a server's time forward
/// instead of sleeping for a fresh TOTP step). Release builds ignore it.
pub const TEST_CLOCK_FILE_ENV: &str = "MFA_TEST_CLOCK_FILE";

/// The system clock, or in a debug build with [`TEST_CLOCK_FILE_ENV`] set, the system clock
/// shifted by the file's number of seconds (read on every call; a missing or unreadable
/// file shifts nothing).
pub fn from_env() -> GatewayClock {
    #[cfg(debug_assertions)]
    if let Some(path) = std::env::var_os(TEST_CLOCK_FILE_ENV) {
        tracing::warn!(
            file = %std::path::Path::new(&path).display(),
            "test clock: the time is shifted by the file's seconds (debug build only)"
        );
        return GatewayClock(Arc::new(OffsetFileClock { path: path.into() }));
    }
    GatewayClock::system()
}

#[cfg(debug_assertions)]
struct OffsetFileClock {
    path: std::path::PathBuf,
}

#[cfg(debug_assertions)]
impl Clock for OffsetFileClock {
    fn now(&self) -> UnixTime {
        let shift = std::fs::read_to_string(&self.path)
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
            .unwrap_or(0);
        SystemClock.now().saturating_add(shift)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let manual = Arc::new(ManualClock::new(1_000));
        let clock = GatewayClock::new(manual.clone());
        assert_eq!(clock.now(), 1_000);
        manual.advance(30);
        assert_eq!(clock.now(), 1_030);
        assert_eq!(clock.shared().now(), 1_030);
    }

    #[cfg(debug_assertions)]
    #[test]
    fn the_test_clock_file_shifts_the_system_clock() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("clock");
        let clock = OffsetFileClock { path: path.clone() };
        let before = SystemClock.now();
        assert!((clock.now() - before).abs() <= 1, "no file: no shift");
        std::fs::write(&path, "90\n").expect("write");
        assert!((clock.now() - before - 90).abs() <= 1);
        std::fs::write(&path, "not a number").expect("write");
        assert!((clock.now() - before).abs() <= 1);
    }
}
