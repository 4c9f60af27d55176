//! Fetching an object once per build into the local store, whoever asks
//! first, and answering `STORE` requests.

use crate::{Kind, RemoteError, local};
use kiln_key::Digest;
use std::sync::Arc;

use super::state::*;
use super::upload::*;

/// Fetches an object once per build, whoever asks first (the prefetch or a
/// wrapper: the first one is credited with it).
pub(super) async fn fetch_once(
    shared: &Arc<Shared>,
    kind: Kind,
    key: Digest,
    by_prefetch: bool,
) -> Fetch {
    if !shared.breaker.allows() {
        return Fetch::Off;
    }
    let cell = {
        let Ok(mut map) = shared.inflight.lock() else {
            return Fetch::Off;
        };
        let cell = map.entry((kind, key)).or_default();
        // An earlier answer stands only while it still holds: a failure is
        // tried again, and a found entry that has since been removed (found
        // corrupt, evicted) is fetched again.
        let stale = match cell.get() {
            Some(Fetch::Failed(_)) => true,
            Some(Fetch::Found(_)) => {
                kind != Kind::Manifest && !local::path(&shared.local, kind, &key).is_file()
            }
            _ => false,
        };
        if stale {
            *cell = Cell::default();
        }
        Arc::clone(cell)
    };
    cell.get_or_init(|| fetch(Arc::clone(shared), kind, key, by_prefetch))
        .await
        .clone()
}

pub(super) async fn fetch(
    shared: Arc<Shared>,
    kind: Kind,
    key: Digest,
    by_prefetch: bool,
) -> Fetch {
    if !shared.breaker.allows() {
        return Fetch::Off;
    }
    let name = kind.name(&key);
    bump(&shared.counters.requests, 1);
    match shared.remote.get_object(&name).await {
        Ok(Some(object)) => {
            let n = object.wire_len();
            bump(&shared.counters.bytes_down, n);
            let local = shared.local.clone();
            let installed =
                tokio::task::spawn_blocking(move || local::install(&local, kind, &key, object))
                    .await;
            match installed {
                Ok(Ok(())) => {
                    credit(&shared, kind, key, n, by_prefetch);
                    Fetch::Found(n)
                }
                // A body that does not decompress or parse is a damaged
                // object: rejected like a bad checksum, not asked again.
                Ok(Err(kiln_store::StoreError::Corrupt { .. })) => {
                    bump(&shared.counters.rejected, 1);
                    Fetch::Absent
                }
                Ok(Err(e)) => Fetch::Failed(format!("cannot store the fetched object: {e}")),
                Err(e) => Fetch::Failed(e.to_string()),
            }
        }
        Ok(None) => {
            bump(&shared.counters.absent, 1);
            Fetch::Absent
        }
        Err(RemoteError::Rejected { .. }) => {
            // Not worth asking again during this build: it stays rejected.
            bump(&shared.counters.rejected, 1);
            Fetch::Absent
        }
        Err(e) => {
            bump(&shared.counters.errors, 1);
            shared.breaker.failed(shared.remote.url(), &e);
            Fetch::Failed(e.to_string())
        }
    }
}

/// Counts a found object for whoever fetched it.
pub(super) fn credit(shared: &Shared, kind: Kind, key: Digest, bytes: u64, by_prefetch: bool) {
    let c = &shared.counters;
    if by_prefetch {
        bump(&c.prefetch_bytes, bytes);
        if kind == Kind::Entry
            && let Ok(mut s) = shared.prefetched.lock()
        {
            s.insert(key);
        }
    } else {
        bump(&c.fetched, 1);
        if kind == Kind::Entry {
            bump(&c.fetched_entries, 1);
        }
    }
}

/// Queues the upload of a local object; it is read from the local store
/// when its turn comes.
pub(super) fn store(shared: &Arc<Shared>, kind: Kind, key: Digest) -> String {
    if shared.remote.read_only() || !shared.writes_allowed() {
        return "OFF".into();
    }
    let n = std::fs::metadata(local::path(&shared.local, kind, &key)).map_or(0, |m| m.len());
    let task_shared = Arc::clone(shared);
    let Ok(mut uploads) = shared.uploads.lock() else {
        return "OFF".into();
    };
    uploads.spawn(async move { upload(&task_shared, kind, &key).await });
    format!("QUEUED {n}")
}
