//! Single flight: one process runs an action nobody has stored yet while
//! the others with the same key wait (bounded) and then look it up again.

use std::time::Duration;

use kiln_key::Digest;
use kiln_store::LocalStore;
use kiln_store::lock::{Locked, lock_key};
use kiln_types::UnitRecord;

use crate::log::{micros, warn};

/// How long a call waits for another process compiling the same unit.
const SINGLE_FLIGHT_BOUND: Duration = Duration::from_secs(20 * 60);

/// The right to run an action nobody has stored yet, held until dropped.
pub(crate) struct Flight {
    _lock: Option<kiln_store::lock::KeyLock>,
    /// Another process held it first: look the action up again.
    pub waited: bool,
}

/// Waits (bounded) while another process runs the same action, so that one
/// run serves all. Trouble with locks never stops the action.
pub(crate) fn single_flight(store: &LocalStore, inv_key: &Digest, rec: &mut UnitRecord) -> Flight {
    match lock_key(&store.lock_dir(), inv_key, SINGLE_FLIGHT_BOUND) {
        Ok(Locked::Free(l)) => Flight {
            _lock: Some(l),
            waited: false,
        },
        Ok(Locked::AfterWait(l, waited)) => {
            rec.timings.wait_us = micros(waited);
            Flight {
                _lock: Some(l),
                waited: true,
            }
        }
        Ok(Locked::TimedOut(waited)) => {
            rec.timings.wait_us = micros(waited);
            Flight {
                _lock: None,
                waited: false,
            }
        }
        Err(e) => {
            warn(&format!(
                "cannot lock `{}`: {e}; running without waiting for others",
                store.lock_dir().display()
            ));
            Flight {
                _lock: None,
                waited: false,
            }
        }
    }
}
