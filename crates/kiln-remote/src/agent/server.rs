//! The agent's lifecycle: start (socket, runtime, prefetch), finish (wait
//! for uploads within the bound) and its report. What it does while it
//! runs is in `protocol`, `fetch`, `upload` and `prefetch`.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kiln_config::RemoteConfig;
use kiln_key::Digest;
use kiln_store::LocalStore;
use tokio::net::UnixListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::breaker::Breaker;
use crate::index::Index;
use crate::object::{index_name, run_name};
use crate::{Remote, RemoteError};

use super::prefetch::*;
use super::protocol::*;
use super::state::*;
use super::upload::*;

/// Parallel requests of the prefetch once cargo compiles.
pub(super) const PREFETCH_PARALLELISM: usize = 16;
/// Parallel requests of the prefetch while cargo is still starting (before
/// the first wrapper call): cargo's start is one busy thread, and a prefetch
/// taking every core would only delay it.
pub(super) const PREFETCH_PARALLELISM_AT_START: usize = 2;
/// Parallel uploads.
pub(super) const UPLOAD_PARALLELISM: usize = 8;

/// What the agent should do besides serving.
#[derive(Debug, Clone, Default)]
pub struct AgentOptions {
    /// Scope whose index to prefetch (`None`: no prefetch).
    pub prefetch_scope: Option<String>,
    /// Show a progress line for the prefetch (stderr is a terminal).
    pub progress: bool,
}

/// What the agent did during one build: the format is `kiln-types`'s, read
/// back by `kiln stats`.
pub use kiln_types::AgentReport;

/// A running agent. Dropping it stops it without waiting for uploads; call
/// [`Agent::finish`] to wait.
pub struct Agent {
    runtime: tokio::runtime::Runtime,
    shared: Arc<Shared>,
    socket: PathBuf,
    _socket_dir: tempfile::TempDir,
    prefetch: Option<tokio::task::JoinHandle<()>>,
}

impl Agent {
    /// Starts the agent for `cfg`, writing fetched objects into `local`.
    pub fn start(
        cfg: &RemoteConfig,
        local: LocalStore,
        options: AgentOptions,
    ) -> Result<Self, RemoteError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("kiln-agent")
            .enable_all()
            .build()
            .map_err(|e| RemoteError::Setup(format!("cannot start the agent: {e}")))?;
        let remote = {
            let _guard = runtime.enter();
            Remote::new(cfg)?
        };
        let socket_dir = tempfile::Builder::new()
            .prefix("kiln-agent-")
            .tempdir()
            .map_err(|e| RemoteError::Setup(format!("cannot create the agent socket: {e}")))?;
        let socket = socket_dir.path().join("agent.sock");
        let listener = {
            let _guard = runtime.enter();
            UnixListener::bind(&socket)
                .map_err(|e| RemoteError::Setup(format!("cannot create the agent socket: {e}")))?
        };
        let shared = Arc::new(Shared {
            remote,
            local,
            breaker: Breaker::default(),
            write_breaker: Breaker::for_writes(),
            upload_slots: Semaphore::new(UPLOAD_PARALLELISM),
            inflight: Mutex::new(HashMap::new()),
            uploads: Mutex::new(JoinSet::new()),
            counters: Counters::default(),
            prefetched: Mutex::new(HashSet::new()),
            prefetch_slots: Semaphore::new(PREFETCH_PARALLELISM_AT_START),
            widened: std::sync::Once::new(),
        });
        runtime.spawn(accept(listener, Arc::clone(&shared)));
        let progress = options.progress;
        let prefetch = options
            .prefetch_scope
            .map(|scope| runtime.spawn(prefetch(Arc::clone(&shared), scope, progress)));
        Ok(Self {
            runtime,
            shared,
            socket,
            _socket_dir: socket_dir,
            prefetch,
        })
    }

    /// The socket path for `KILN_AGENT`.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Waits up to `wait` for pending uploads, then stores the build's
    /// prefetch index and records (when given and the store is writable),
    /// and stops.
    pub fn finish(
        self,
        wait: Duration,
        index: Option<(&str, &Index)>,
        records: Option<(&str, &[u8])>,
    ) -> AgentReport {
        if let Some(p) = &self.prefetch {
            p.abort();
        }
        let shared = Arc::clone(&self.shared);
        let deadline = Instant::now() + wait;
        let abandoned = self.runtime.block_on(async {
            let mut set = match shared.uploads.lock() {
                Ok(mut s) => std::mem::take(&mut *s),
                Err(_) => JoinSet::new(),
            };
            let drained =
                tokio::time::timeout(wait, async { while set.join_next().await.is_some() {} })
                    .await;
            if drained.is_err() {
                let left = set.len() as u64;
                set.abort_all();
                return left;
            }
            let writable = !shared.remote.read_only() && shared.writes_allowed();
            let left = deadline.saturating_duration_since(Instant::now());
            if writable && !left.is_zero() {
                let _ = tokio::time::timeout(left, async {
                    if let Some((scope, index)) = index {
                        put_counted(&shared, &index_name(scope), &index.to_bytes()).await;
                    }
                    if let Some((run, bytes)) = records {
                        put_counted(&shared, &run_name(run), bytes).await;
                    }
                })
                .await;
            }
            0
        });
        if abandoned > 0 {
            kiln_diag::warn(&format!(
                "{abandoned} uploads to `{}` did not finish within {}s; they are skipped (hint: raise `KILN_UPLOAD_WAIT`)",
                self.shared.remote.url(),
                wait.as_secs()
            ));
        }
        let report = self.report(abandoned);
        self.runtime.shutdown_timeout(Duration::from_millis(200));
        report
    }

    fn report(&self, abandoned: u64) -> AgentReport {
        let c = &self.shared.counters;
        let mut prefetched_keys: Vec<String> = self
            .shared
            .prefetched
            .lock()
            .map(|s| s.iter().map(Digest::to_hex).collect())
            .unwrap_or_default();
        prefetched_keys.sort();
        AgentReport {
            url: self.shared.remote.url().to_owned(),
            requests: get(&c.requests),
            fetched: get(&c.fetched),
            fetched_entries: get(&c.fetched_entries),
            absent: get(&c.absent),
            bytes_down: get(&c.bytes_down),
            rejected: get(&c.rejected),
            errors: get(&c.errors),
            prefetch_listed: get(&c.prefetch_listed),
            prefetched_entries: prefetched_keys.len() as u64,
            prefetched_hits: 0,
            prefetch_bytes: get(&c.prefetch_bytes),
            prefetch_ms: get(&c.prefetch_ms),
            uploads: get(&c.uploads),
            bytes_up: get(&c.bytes_up),
            upload_errors: get(&c.upload_errors),
            uploads_abandoned: abandoned,
            gave_up: self
                .shared
                .breaker
                .cause()
                .or(self.shared.write_breaker.cause()),
            prefetched_keys,
        }
    }
}
