//! What the agent's tasks share: the remote, the local store, breakers,
//! counters, and the fetches in flight.

use crate::breaker::Breaker;
use crate::{Kind, Remote, RemoteError};
use kiln_key::Digest;
use kiln_store::LocalStore;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{OnceCell, Semaphore};
use tokio::task::JoinSet;

#[derive(Debug, Default)]
pub(super) struct Counters {
    pub(super) requests: AtomicU64,
    pub(super) fetched: AtomicU64,
    pub(super) fetched_entries: AtomicU64,
    pub(super) absent: AtomicU64,
    pub(super) bytes_down: AtomicU64,
    pub(super) rejected: AtomicU64,
    pub(super) errors: AtomicU64,
    pub(super) prefetch_listed: AtomicU64,
    pub(super) prefetch_done: AtomicU64,
    pub(super) prefetch_bytes: AtomicU64,
    pub(super) prefetch_ms: AtomicU64,
    pub(super) uploads: AtomicU64,
    pub(super) bytes_up: AtomicU64,
    pub(super) upload_errors: AtomicU64,
}

pub(super) fn bump(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

pub(super) fn get(c: &AtomicU64) -> u64 {
    c.load(Ordering::Relaxed)
}

/// Result of one fetch, shared by everyone who asked for the object.
#[derive(Debug, Clone)]
pub(super) enum Fetch {
    Found(u64),
    Absent,
    Off,
    Failed(String),
}

pub(super) type Cell = Arc<OnceCell<Fetch>>;

pub(super) struct Shared {
    pub(super) remote: Remote,
    pub(super) local: LocalStore,
    /// Reads: given up, the build stops asking the store.
    pub(super) breaker: Breaker,
    /// Writes: given up (e.g. credentials that may only read), uploads stop
    /// and reads go on.
    pub(super) write_breaker: Breaker,
    /// Uploads in flight at once (each holds its object in memory).
    pub(super) upload_slots: Semaphore,
    pub(super) inflight: Mutex<HashMap<(Kind, Digest), Cell>>,
    pub(super) uploads: Mutex<JoinSet<()>>,
    pub(super) counters: Counters,
    pub(super) prefetched: Mutex<HashSet<Digest>>,
    /// Requests the prefetch may have in flight; widened at the build's
    /// first wrapper call.
    pub(super) prefetch_slots: Semaphore,
    pub(super) widened: std::sync::Once,
}

impl Shared {
    /// Writes go on while neither the store as a whole (reads) nor writes
    /// alone were given up.
    pub(super) fn writes_allowed(&self) -> bool {
        self.breaker.allows() && self.write_breaker.allows()
    }

    /// A failed upload stops writes only when writing alone is refused;
    /// anything else (unreachable, timed out) is the store as a whole.
    pub(super) fn upload_failed(&self, e: &RemoteError) {
        if e.only_writes() {
            self.write_breaker.failed(self.remote.url(), e);
        } else {
            self.breaker.failed(self.remote.url(), e);
        }
    }
}
