//! The prefetch: the previous build's keys fetched ahead of cargo, with a
//! progress line on a terminal.

use crate::index::Index;
use crate::object::index_name;
use crate::{Kind, RemoteError, local};
use kiln_key::Digest;
use std::collections::HashSet;
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

use super::fetch::*;
use super::state::*;

/// Fetches everything the index of `scope` lists that is not local yet.
pub(super) async fn prefetch(shared: Arc<Shared>, scope: String, progress: bool) {
    let started = Instant::now();
    prefetch_index(&shared, &scope, progress).await;
    let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    shared.counters.prefetch_ms.store(ms, Ordering::Relaxed);
}

pub(super) async fn prefetch_index(shared: &Arc<Shared>, scope: &str, progress: bool) {
    bump(&shared.counters.requests, 1);
    let index = match shared.remote.get(&index_name(scope)).await {
        Ok(Some(bytes)) => Index::parse(&bytes),
        Ok(None) => return,
        Err(e) => {
            if !matches!(e, RemoteError::Rejected { .. }) {
                bump(&shared.counters.errors, 1);
                shared.breaker.failed(shared.remote.url(), &e);
            }
            return;
        }
    };
    let (manifests, entries) = index.keys();
    // The lists the index carries answer their manifests without a request;
    // the others (an older index) are fetched, as are entries not local yet.
    let candidates = index.candidates();
    let local_store = shared.local.clone();
    let installed: HashSet<Digest> =
        tokio::task::spawn_blocking(move || local::install_candidates(&local_store, &candidates))
            .await
            .map(|keys| keys.into_iter().collect())
            .unwrap_or_default();
    let wanted: Vec<(Kind, Digest)> = manifests
        .into_iter()
        .filter(|k| !installed.contains(k))
        .map(|k| (Kind::Manifest, k))
        .chain(
            entries
                .into_iter()
                .filter(|k| !local::path(&shared.local, Kind::Entry, k).is_file())
                .map(|k| (Kind::Entry, k)),
        )
        .collect();
    let total = wanted.len() as u64;
    bump(&shared.counters.prefetch_listed, total);
    // Dropped when the prefetch ends or is cancelled (the build finished
    // first): either way the line stops and is cleared.
    let _ticker =
        progress.then(|| ProgressLine(tokio::spawn(show_progress(Arc::clone(shared), total))));
    let mut tasks = JoinSet::new();
    for (kind, key) in wanted {
        let shared = Arc::clone(shared);
        tasks.spawn(async move {
            let Ok(_permit) = shared.prefetch_slots.acquire().await else {
                return;
            };
            fetch_once(&shared, kind, key, true).await;
            bump(&shared.counters.prefetch_done, 1);
        });
    }
    while tasks.join_next().await.is_some() {}
}

/// The task drawing the prefetch progress line; dropping it stops the task
/// and clears the line.
pub(super) struct ProgressLine(tokio::task::JoinHandle<()>);

impl Drop for ProgressLine {
    fn drop(&mut self) {
        self.0.abort();
        let _ = write!(std::io::stderr(), "\r\x1b[K");
    }
}

pub(super) async fn show_progress(shared: Arc<Shared>, total: u64) {
    if !std::io::stderr().is_terminal() {
        return;
    }
    loop {
        let done = get(&shared.counters.prefetch_done);
        let mib = get(&shared.counters.bytes_down) as f64 / (1024.0 * 1024.0);
        let _ = write!(
            std::io::stderr(),
            "\r\x1b[K    kiln: prefetching {done}/{total} objects ({mib:.1} MiB)"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
