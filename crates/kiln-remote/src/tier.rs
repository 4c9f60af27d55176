//! The remote tier as the wrapper sees it: fetch an object into the local
//! store, upload one after a compile.
//!
//! Under `kiln run` the requests go to the build's agent. Without it (a bare
//! `RUSTC_WRAPPER=kiln`), the wrapper talks to the store itself: fetches
//! block (bounded by the request timeout) and uploads run in a detached
//! `kiln` process, so the compile returns at once.

use std::process::{Command, Stdio};

use kiln_config::{Config, RemoteConfig};
use kiln_key::Digest;
use kiln_store::LocalStore;
use kiln_types::RemoteUse;

use crate::agent::AgentClient;
use crate::breaker::FileBreaker;
use crate::{Kind, Remote, RemoteError, local};

/// The hidden `kiln` subcommand that uploads in the background.
pub const UPLOAD_COMMAND: &str = "__upload";

/// What a fetch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetched {
    /// The object is now in the local store.
    Found,
    /// The remote store does not have it (or it was rejected).
    Absent,
    /// The remote store is not in use (given up, agent gone).
    Off,
}

enum Mode {
    Agent(AgentClient),
    Direct(Box<Direct>),
}

struct Direct {
    cfg: RemoteConfig,
    client: Option<(tokio::runtime::Runtime, Remote)>,
    breaker: FileBreaker,
    write_breaker: FileBreaker,
}

/// The remote tier of one wrapper call.
pub struct Tier {
    mode: Mode,
    local: LocalStore,
    read_only: bool,
    usage: RemoteUse,
    pending_uploads: Vec<(Kind, Digest)>,
}

impl Tier {
    /// The tier for `cfg`, or `None` when no remote store is configured.
    pub fn new(cfg: &Config) -> Option<Self> {
        let local = LocalStore::new(&cfg.dir);
        let read_only = cfg.remote.as_ref().is_some_and(|r| r.read_only);
        let mode = match (&cfg.agent, &cfg.remote) {
            (Some(socket), _) => Mode::Agent(AgentClient::new(socket.clone())),
            (None, Some(remote)) => Mode::Direct(Box::new(Direct {
                cfg: remote.clone(),
                client: None,
                breaker: FileBreaker::new(&cfg.dir, &remote.url),
                write_breaker: FileBreaker::for_writes(&cfg.dir, &remote.url),
            })),
            (None, None) => return None,
        };
        Some(Self {
            mode,
            local,
            read_only,
            usage: RemoteUse::default(),
            pending_uploads: Vec::new(),
        })
    }

    /// What this call did with the remote store, for its record.
    pub fn usage(&self) -> &RemoteUse {
        &self.usage
    }

    /// Records that the call was answered by an entry fetched from the
    /// remote store (after it restored).
    pub fn mark_hit(&mut self) {
        self.usage.hit = true;
    }

    /// Brings `kind`'s object for `key` into the local store, if the remote
    /// store has it.
    pub fn fetch(&mut self, kind: Kind, key: &Digest) -> Fetched {
        match &mut self.mode {
            Mode::Agent(agent) => match agent.request("FETCH", kind, key) {
                None => Fetched::Off,
                Some(answer) => parse_fetch(&answer, &mut self.usage),
            },
            Mode::Direct(d) => d.fetch(&self.local, kind, key, &mut self.usage),
        }
    }

    /// Uploads the local object `kind`/`key` (queued in the agent, or
    /// collected for one detached upload process at [`Tier::flush`]).
    pub fn upload(&mut self, kind: Kind, key: &Digest) {
        if self.read_only {
            return;
        }
        match &mut self.mode {
            Mode::Agent(agent) => {
                if let Some(answer) = agent.request("STORE", kind, key)
                    && let Some(n) = answer.strip_prefix("QUEUED ")
                {
                    self.usage.bytes_up += n.trim().parse::<u64>().unwrap_or(0);
                    self.usage.uploads += 1;
                }
            }
            Mode::Direct(d) => {
                if d.breaker.allows() && d.write_breaker.allows() {
                    self.usage.bytes_up += std::fs::metadata(local::path(&self.local, kind, key))
                        .map_or(0, |m| m.len());
                    self.usage.uploads += 1;
                    self.pending_uploads.push((kind, *key));
                }
            }
        }
    }

    /// Starts the detached upload of what [`Tier::upload`] collected
    /// (without an agent; a no-op otherwise).
    pub fn flush(&mut self) {
        if self.pending_uploads.is_empty() {
            return;
        }
        let items: Vec<String> = self
            .pending_uploads
            .drain(..)
            .map(|(k, d)| format!("{}:{}", k.as_str(), d.to_hex()))
            .collect();
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        // Detached: no pipes of cargo's are held, so cargo does not wait.
        let _ = Command::new(exe)
            .arg(UPLOAD_COMMAND)
            .args(items)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
    }
}

fn parse_fetch(answer: &str, usage: &mut RemoteUse) -> Fetched {
    usage.requests += 1;
    if let Some(n) = answer.strip_prefix("FOUND ") {
        usage.bytes_down += n.trim().parse::<u64>().unwrap_or(0);
        Fetched::Found
    } else if answer == "ABSENT" {
        Fetched::Absent
    } else if answer == "OFF" {
        usage.requests -= 1;
        Fetched::Off
    } else {
        usage.errors += 1;
        Fetched::Absent
    }
}

impl Direct {
    fn client(&mut self) -> Result<&(tokio::runtime::Runtime, Remote), RemoteError> {
        if self.client.is_none() {
            self.client = Some(Remote::blocking(&self.cfg)?);
        }
        self.client
            .as_ref()
            .ok_or_else(|| RemoteError::Setup("no client".into()))
    }

    fn fetch(
        &mut self,
        local_store: &LocalStore,
        kind: Kind,
        key: &Digest,
        usage: &mut RemoteUse,
    ) -> Fetched {
        if !self.breaker.allows() {
            return Fetched::Off;
        }
        let got = match self.client() {
            Ok((rt, remote)) => {
                usage.requests += 1;
                rt.block_on(remote.get_object(&kind.name(key)))
            }
            Err(e) => Err(e),
        };
        match got {
            Ok(Some(object)) => {
                usage.bytes_down += object.wire_len();
                match local::install(local_store, kind, key, object) {
                    Ok(()) => Fetched::Found,
                    Err(_) => {
                        usage.errors += 1;
                        Fetched::Absent
                    }
                }
            }
            Ok(None) => Fetched::Absent,
            Err(RemoteError::Rejected { .. }) => {
                usage.errors += 1;
                Fetched::Absent
            }
            Err(e) => {
                usage.errors += 1;
                self.breaker.failed(&e);
                Fetched::Off
            }
        }
    }
}

/// The body of the detached upload process: uploads each `kind:key` item
/// from the local store of `cfg`. Failures only trip the shared breaker.
pub fn upload_detached(cfg: &Config, items: &[String]) {
    let Some(remote_cfg) = &cfg.remote else {
        return;
    };
    if remote_cfg.read_only {
        return;
    }
    let reads = FileBreaker::new(&cfg.dir, &remote_cfg.url).silent();
    let breaker = FileBreaker::for_writes(&cfg.dir, &remote_cfg.url).silent();
    let local = LocalStore::new(&cfg.dir);
    let (rt, remote) = match Remote::blocking(remote_cfg) {
        Ok(client) => client,
        Err(e) => return breaker.failed_quietly(&e),
    };
    for item in items {
        let Some((kind, key)) = item
            .split_once(':')
            .and_then(|(k, h)| Some((Kind::parse(k)?, Digest::from_hex(h)?)))
        else {
            continue;
        };
        if !(reads.allows() && breaker.allows()) {
            return;
        }
        let Ok(payload) = local::read(&local, kind, &key) else {
            continue;
        };
        let name = kind.name(&key);
        let result = rt.block_on(async {
            let payload = if kind == Kind::Manifest {
                let current = remote.get(&name).await.ok().flatten();
                local::merged_manifest(&payload, current.as_deref())
            } else {
                payload
            };
            remote.put(&name, &payload).await
        });
        // An object the store refuses to replace (a planted link) is that
        // object's problem, not the store's.
        if let Err(e) = &result
            && !matches!(e, RemoteError::Rejected { .. })
        {
            if e.only_writes() {
                breaker.failed_quietly(e);
            } else {
                reads.failed_quietly(e);
            }
        }
    }
}
