//! The agent's server: accepts wrapper connections, fetches and uploads
//! through one [`Remote`], prefetches the previous build's keys.

use std::collections::{HashMap, HashSet};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kiln_config::RemoteConfig;
use kiln_key::Digest;
use kiln_store::LocalStore;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{OnceCell, Semaphore};
use tokio::task::JoinSet;

use crate::breaker::Breaker;
use crate::index::Index;
use crate::object::{index_name, run_name};
use crate::{Kind, Remote, RemoteError, local};

/// Parallel requests of the prefetch once cargo compiles.
const PREFETCH_PARALLELISM: usize = 16;
/// Parallel requests of the prefetch while cargo is still starting (before
/// the first wrapper call): cargo's start is one busy thread, and a prefetch
/// taking every core would only delay it.
const PREFETCH_PARALLELISM_AT_START: usize = 2;
/// Parallel uploads.
const UPLOAD_PARALLELISM: usize = 8;

/// What the agent should do besides serving.
#[derive(Debug, Clone, Default)]
pub struct AgentOptions {
    /// Scope whose index to prefetch (`None`: no prefetch).
    pub prefetch_scope: Option<String>,
    /// Show a progress line for the prefetch (stderr is a terminal).
    pub progress: bool,
}

/// What the agent did during one build (`records/<run>.remote.json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentReport {
    /// The store.
    pub url: String,
    /// Requests sent to the store.
    pub requests: u64,
    /// Objects found on demand (wrapper asked).
    pub fetched: u64,
    /// Entries found on demand.
    pub fetched_entries: u64,
    /// Objects the store did not have.
    pub absent: u64,
    /// Bytes downloaded (on demand and prefetch).
    pub bytes_down: u64,
    /// Objects rejected by their checksum or signature.
    pub rejected: u64,
    /// Failed requests.
    pub errors: u64,
    /// Keys listed in the prefetch index.
    pub prefetch_listed: u64,
    /// Entries the prefetch brought in.
    pub prefetched_entries: u64,
    /// Bytes the prefetch downloaded.
    #[serde(default)]
    pub prefetch_bytes: u64,
    /// How long the prefetch took from the agent's start, ms (0: none ran).
    #[serde(default)]
    pub prefetch_ms: u64,
    /// Hits of the build on prefetched entries (filled in by `kiln run`).
    #[serde(default)]
    pub prefetched_hits: u64,
    /// Uploads done.
    pub uploads: u64,
    /// Bytes uploaded.
    pub bytes_up: u64,
    /// Uploads that failed.
    pub upload_errors: u64,
    /// Uploads still pending when the wait bound ran out.
    pub uploads_abandoned: u64,
    /// Why the store was given up, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gave_up: Option<String>,
    /// Entry keys the prefetch brought in (hex), to count their hits.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prefetched_keys: Vec<String>,
}

#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    fetched: AtomicU64,
    fetched_entries: AtomicU64,
    absent: AtomicU64,
    bytes_down: AtomicU64,
    rejected: AtomicU64,
    errors: AtomicU64,
    prefetch_listed: AtomicU64,
    prefetch_done: AtomicU64,
    prefetch_bytes: AtomicU64,
    prefetch_ms: AtomicU64,
    uploads: AtomicU64,
    bytes_up: AtomicU64,
    upload_errors: AtomicU64,
}

fn bump(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

fn get(c: &AtomicU64) -> u64 {
    c.load(Ordering::Relaxed)
}

/// Result of one fetch, shared by everyone who asked for the object.
#[derive(Debug, Clone)]
enum Fetch {
    Found(u64),
    Absent,
    Off,
    Failed(String),
}

type Cell = Arc<OnceCell<Fetch>>;

struct Shared {
    remote: Remote,
    local: LocalStore,
    /// Reads: given up, the build stops asking the store.
    breaker: Breaker,
    /// Writes: given up (e.g. credentials that may only read), uploads stop
    /// and reads go on.
    write_breaker: Breaker,
    /// Uploads in flight at once (each holds its object in memory).
    upload_slots: Semaphore,
    inflight: Mutex<HashMap<(Kind, Digest), Cell>>,
    uploads: Mutex<JoinSet<()>>,
    counters: Counters,
    prefetched: Mutex<HashSet<Digest>>,
    /// Requests the prefetch may have in flight; widened at the build's
    /// first wrapper call.
    prefetch_slots: Semaphore,
    widened: std::sync::Once,
}

impl Shared {
    /// Writes go on while neither the store as a whole (reads) nor writes
    /// alone were given up.
    fn writes_allowed(&self) -> bool {
        self.breaker.allows() && self.write_breaker.allows()
    }

    /// A failed upload stops writes only when writing alone is refused;
    /// anything else (unreachable, timed out) is the store as a whole.
    fn upload_failed(&self, e: &RemoteError) {
        if e.only_writes() {
            self.write_breaker.failed(self.remote.url(), e);
        } else {
            self.breaker.failed(self.remote.url(), e);
        }
    }
}

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

async fn put_counted(shared: &Shared, name: &str, payload: &[u8]) {
    bump(&shared.counters.requests, 1);
    match shared.remote.put(name, payload).await {
        Ok(n) => bump(&shared.counters.bytes_up, n),
        Err(e) => {
            bump(&shared.counters.upload_errors, 1);
            shared.upload_failed(&e);
        }
    }
}

async fn accept(listener: UnixListener, shared: Arc<Shared>) {
    while let Ok((conn, _)) = listener.accept().await {
        tokio::spawn(serve(conn, Arc::clone(&shared)));
    }
}

async fn serve(conn: UnixStream, shared: Arc<Shared>) {
    let (read, mut write) = conn.into_split();
    let mut lines = BufReader::new(read).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let answer = answer(&shared, &line).await;
        if write
            .write_all(format!("{answer}\n").as_bytes())
            .await
            .is_err()
        {
            return;
        }
    }
}

async fn answer(shared: &Arc<Shared>, line: &str) -> String {
    shared.widened.call_once(|| {
        shared
            .prefetch_slots
            .add_permits(PREFETCH_PARALLELISM - PREFETCH_PARALLELISM_AT_START);
    });
    let mut words = line.split_ascii_whitespace();
    let (Some(verb), Some(kind), Some(key), None) =
        (words.next(), words.next(), words.next(), words.next())
    else {
        return "FAILED malformed request".into();
    };
    let (Some(kind), Some(key)) = (Kind::parse(kind), Digest::from_hex(key)) else {
        return "FAILED malformed request".into();
    };
    match verb {
        "FETCH" => match fetch_once(shared, kind, key, false).await {
            Fetch::Found(n) => format!("FOUND {n}"),
            Fetch::Absent => "ABSENT".into(),
            Fetch::Off => "OFF".into(),
            Fetch::Failed(cause) => format!("FAILED {cause}"),
        },
        "STORE" => store(shared, kind, key),
        _ => "FAILED unknown request".into(),
    }
}

/// Fetches an object once per build, whoever asks first (the prefetch or a
/// wrapper: the first one is credited with it).
async fn fetch_once(shared: &Arc<Shared>, kind: Kind, key: Digest, by_prefetch: bool) -> Fetch {
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

async fn fetch(shared: Arc<Shared>, kind: Kind, key: Digest, by_prefetch: bool) -> Fetch {
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
fn credit(shared: &Shared, kind: Kind, key: Digest, bytes: u64, by_prefetch: bool) {
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
fn store(shared: &Arc<Shared>, kind: Kind, key: Digest) -> String {
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

async fn upload(shared: &Arc<Shared>, kind: Kind, key: &Digest) {
    let Ok(_slot) = shared.upload_slots.acquire().await else {
        return;
    };
    if !shared.writes_allowed() {
        return;
    }
    let local_store = shared.local.clone();
    let key_copy = *key;
    let read =
        tokio::task::spawn_blocking(move || local::read(&local_store, kind, &key_copy)).await;
    let Ok(Ok(payload)) = read else {
        bump(&shared.counters.upload_errors, 1);
        return;
    };
    let name = kind.name(key);
    let payload = if kind == Kind::Manifest {
        bump(&shared.counters.requests, 1);
        match shared.remote.get(&name).await {
            Ok(remote) => local::merged_manifest(&payload, remote.as_deref()),
            Err(_) => payload,
        }
    } else {
        payload
    };
    bump(&shared.counters.requests, 1);
    match shared.remote.put(&name, &payload).await {
        Ok(n) => {
            bump(&shared.counters.uploads, 1);
            bump(&shared.counters.bytes_up, n);
        }
        Err(e) => {
            bump(&shared.counters.upload_errors, 1);
            shared.upload_failed(&e);
        }
    }
}

/// Fetches everything the index of `scope` lists that is not local yet.
async fn prefetch(shared: Arc<Shared>, scope: String, progress: bool) {
    let started = Instant::now();
    prefetch_index(&shared, &scope, progress).await;
    let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    shared.counters.prefetch_ms.store(ms, Ordering::Relaxed);
}

async fn prefetch_index(shared: &Arc<Shared>, scope: &str, progress: bool) {
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
struct ProgressLine(tokio::task::JoinHandle<()>);

impl Drop for ProgressLine {
    fn drop(&mut self) {
        self.0.abort();
        let _ = write!(std::io::stderr(), "\r\x1b[K");
    }
}

async fn show_progress(shared: Arc<Shared>, total: u64) {
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
