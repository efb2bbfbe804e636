//! The hot path's clock: a coarse time read from one shared atomic.
//!
//! Reading the system clock costs about 25 ns here, most of the budget of a
//! small record. The age bound of unwrapped keys needs no such precision, so
//! the hot path reads `quanta`'s "recent" time instead, which a background
//! thread (`quanta::Upkeep`) advances every [`TICK`]. The bound is then
//! enforced to within one tick.

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

pub(crate) use quanta::Instant;

/// How often the coarse time advances.
pub(crate) const TICK: Duration = Duration::from_millis(5);

/// Starts the upkeep thread once per process and keeps it for the life of
/// the process: a stopped upkeep would freeze the coarse time, and with it
/// every age bound.
pub(crate) fn start() {
    static UPKEEP: OnceLock<Option<Mutex<quanta::Handle>>> = OnceLock::new();
    UPKEEP.get_or_init(|| match quanta::Upkeep::new(TICK).start() {
        Ok(handle) => Some(Mutex::new(handle)),
        Err(err) => {
            // Another upkeep thread (the application's own) is running.
            tracing::debug!(error = %err, "coarse clock upkeep not started here");
            None
        }
    });
}

/// The coarse time now.
pub(crate) fn now() -> Instant {
    Instant::recent()
}
