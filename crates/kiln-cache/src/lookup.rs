//! Looking an action up, whatever its kind: the stored input lists of its
//! invocation key, the first whose inputs still hold on this machine, and its
//! entry, from the local store or else fetched from the remote tier. The
//! action's kind restores the entry ([`lookup`] takes the restore step as a
//! function); a corrupt entry is removed and the next candidate tried.

use std::cell::RefCell;
use std::io::Read;
use std::time::SystemTime;

use kiln_key::Digest;
use kiln_remote::{Fetched, Kind, Tier};
use kiln_store::{LocalStore, Store, StoreError, manifest};

use crate::inputs::{Keying, entry_key, mismatch};

/// The local store and, when configured, the remote tier behind it.
pub(crate) struct Tiers {
    /// The local store.
    pub store: LocalStore,
    /// The remote tier.
    pub remote: RefCell<Option<Tier>>,
}

impl Tiers {
    /// Runs `f` on the remote tier, if there is one.
    pub(crate) fn with_remote<R>(&self, f: impl FnOnce(&mut Tier) -> R) -> Option<R> {
        self.remote.try_borrow_mut().ok()?.as_mut().map(f)
    }

    fn fetch(&self, kind: Kind, key: &Digest) -> Fetched {
        self.with_remote(|t| t.fetch(kind, key))
            .unwrap_or(Fetched::Off)
    }

    /// Opens the entry of `key`, locally or else fetched from the remote
    /// tier; says whether it was fetched.
    fn open_entry(&self, key: &Digest) -> Result<Option<(Entry, bool)>, StoreError> {
        match self.store.open(key)? {
            Some(r) => Ok(Some((r, false))),
            None if self.fetch(Kind::Entry, key) == Fetched::Found => {
                Ok(self.store.open(key)?.map(|r| (r, true)))
            }
            None => Ok(None),
        }
    }

    /// Stores the entry and the updated manifest in the remote tier too.
    pub(crate) fn upload(&self, inv_key: &Digest, key: &Digest, components: bool) {
        self.with_remote(|tier| {
            tier.upload(Kind::Entry, key);
            if components {
                tier.upload(Kind::Components, key);
            }
            tier.upload(Kind::Manifest, inv_key);
        });
    }

    /// Puts the entry `written` in the local store under `key`; removes the
    /// written file when that fails.
    pub(crate) fn put_entry(
        &self,
        key: &Digest,
        written: &kiln_store::entry::Written,
    ) -> Result<(), crate::refusal::NotStored> {
        self.store.put(key, &written.path).map(|_| ()).map_err(|e| {
            let _ = std::fs::remove_file(&written.path);
            crate::refusal::NotStored::Problem(e.to_string())
        })
    }

    /// Adds `inputs` as the newest input list of `inv_key`, whose entry is
    /// `key`, and hands entry and manifest to the remote tier (the
    /// components too, unless they hold every value in clear, opted in for
    /// local debugging).
    pub(crate) fn publish(
        &self,
        inv_key: &Digest,
        key: &Digest,
        inputs: manifest::Inputs,
        components: bool,
    ) -> Result<(), crate::refusal::NotStored> {
        manifest::add(
            &self.store.manifest_dir(),
            inv_key,
            manifest::Candidate {
                inputs,
                key: key.to_hex(),
            },
        )
        .map_err(|e| crate::refusal::NotStored::Problem(e.to_string()))?;
        self.upload(inv_key, key, components);
        Ok(())
    }

    /// Sends pending uploads and returns what the call did remotely.
    pub(crate) fn finish(&self) -> Option<kiln_types::RemoteUse> {
        self.with_remote(|tier| {
            tier.flush();
            tier.usage().clone()
        })
    }
}

/// An opened entry.
pub(crate) type Entry = Box<dyn Read + Send>;

/// What a lookup found.
pub(crate) enum Found<T> {
    /// An entry whose inputs hold, restored.
    Hit {
        /// Its key.
        key: Digest,
        /// What restoring it produced.
        value: T,
        /// The inputs that matched.
        inputs: kiln_store::manifest::Inputs,
    },
    /// Nothing fits.
    Miss,
    /// The store failed (already warned about): compile without it.
    Failed,
}

/// How a lookup went besides its result.
#[derive(Debug, Default)]
pub(crate) struct LookupNotes {
    /// A corrupt entry was found and removed.
    pub corrupt: bool,
    /// An entry was fetched into the local store.
    pub fetched: bool,
    /// Faults to warn about (a name for once-per-build, the message).
    pub warnings: Vec<(&'static str, String)>,
    /// What kept the stored candidates from matching, one line each.
    pub mismatches: Vec<String>,
}

/// Finds and restores an entry for `inv_key`: local candidates first, then,
/// when none fits, the remote store's manifest merged in and tried again.
pub(crate) fn lookup<T>(
    tiers: &Tiers,
    k: &Keying<'_>,
    inv_key: &Digest,
    notes: &mut LookupNotes,
    restore: &mut dyn FnMut(&Digest, Entry) -> Result<T, StoreError>,
) -> Found<T> {
    match try_candidates(tiers, k, inv_key, notes, restore) {
        Found::Miss if tiers.fetch(Kind::Manifest, inv_key) == Fetched::Found => {
            try_candidates(tiers, k, inv_key, notes, restore)
        }
        other => other,
    }
}

/// [`lookup`], with what it noticed taken into `rec` and the log: a
/// corrupt entry marks the record, each stored input list that did not
/// hold is one log line (`what` names the kind of action).
pub(crate) fn lookup_noted<T>(
    tiers: &Tiers,
    k: &Keying<'_>,
    inv_key: &Digest,
    cfg: &kiln_config::Config,
    rec: &mut kiln_types::UnitRecord,
    what: &str,
    restore: &mut dyn FnMut(&Digest, Entry) -> Result<T, StoreError>,
) -> Found<T> {
    let mut notes = LookupNotes::default();
    let found = lookup(tiers, k, inv_key, &mut notes, restore);
    if notes.fetched {
        crate::upkeep::maybe_gc(cfg, &tiers.store);
    }
    for (fault, msg) in &notes.warnings {
        kiln_diag::warn_once(&cfg.dir, cfg.run_id.as_deref(), fault, msg);
    }
    rec.corrupt_entry |= notes.corrupt;
    for m in &notes.mismatches {
        crate::log::log(
            cfg,
            &format!("{}: stored {what} differs in {m}", rec.label()),
        );
    }
    found
}

fn try_candidates<T>(
    tiers: &Tiers,
    k: &Keying<'_>,
    inv_key: &Digest,
    notes: &mut LookupNotes,
    restore: &mut dyn FnMut(&Digest, Entry) -> Result<T, StoreError>,
) -> Found<T> {
    let m = manifest::load(&tiers.store.manifest_dir(), inv_key);
    for c in &m.candidates {
        let key = entry_key(inv_key, &c.inputs);
        if key.to_hex() != c.key {
            continue;
        }
        if let Some(m) = mismatch(&c.inputs, k) {
            notes.mismatches.push(m);
            continue;
        }
        let (reader, fetched) = match tiers.open_entry(&key) {
            Ok(Some(opened)) => opened,
            Ok(None) => continue,
            Err(e) => {
                notes.warnings.push((
                    "store-read",
                    format!("cannot read {}: {e}", tiers.store.describe()),
                ));
                return Found::Failed;
            }
        };
        notes.fetched |= fetched;
        match restore(&key, reader) {
            Ok(value) => {
                if fetched {
                    tiers.with_remote(Tier::mark_hit);
                }
                return Found::Hit {
                    key,
                    value,
                    inputs: c.inputs.clone(),
                };
            }
            Err(e @ StoreError::Corrupt { .. }) => {
                notes.warnings.push((
                    "corrupt-entry",
                    format!("{e}; removed it (more this build are counted in `kiln stats`)"),
                ));
                let _ = tiers.store.remove(&key);
                notes.corrupt = true;
            }
            Err(e) => {
                notes.warnings.push((
                    "store-restore",
                    format!("cannot restore from {}: {e}", tiers.store.describe()),
                ));
                return Found::Failed;
            }
        }
    }
    Found::Miss
}

/// Records a hit: the entry's key, the time it saves, what was restored.
pub(crate) fn record_hit(
    rec: &mut kiln_types::UnitRecord,
    key: &Digest,
    restored: &kiln_store::entry::Restored,
    restore_started: std::time::Instant,
) {
    rec.outcome = kiln_types::Outcome::Hit;
    rec.key = Some(key.to_hex());
    rec.compile_ms = restored.compile_ms;
    rec.bytes_read = restored.bytes;
    rec.timings.store_us = crate::log::micros(restore_started.elapsed());
}

/// Hands what a restored action depended on to the trace of the run this
/// process is part of, if any (a build script compiling a probe or C code):
/// the run is keyed by it as if the action had run. Lookups are attributed
/// to `program`.
pub(crate) fn forward_inputs(inputs: &manifest::Inputs, k: &Keying<'_>, program: &std::path::Path) {
    use std::os::unix::ffi::OsStrExt;
    let path = |s: &str| k.local_path(s).as_os_str().as_bytes().to_vec();
    let files = inputs.files.iter().map(|(p, _)| (b'R', path(p)));
    let absent = inputs.absent.iter().map(|p| (b'A', path(p)));
    let present = inputs.present.iter().map(|(p, _)| (b'P', path(p)));
    let listed = inputs.listings.iter().map(|(p, _)| (b'D', path(p)));
    let exe = program.as_os_str().as_bytes();
    let path_now = crate::env_rules::var("PATH");
    let env = inputs
        .env
        .iter()
        .filter(|(n, _)| !n.contains('\t'))
        .flat_map(|(n, _)| forwarded_lookup(n, exe, path_now.as_deref()));
    kiln_trace::forward(files.chain(absent).chain(present).chain(listed).chain(env));
}

/// The trace records that hand on a variable an action's key holds. Where a
/// name resolves (`=which cc`) was answered on this action's `PATH`, which
/// may not be the run's: it goes as the search it stands for. `PATH` itself
/// goes without its reader, so the run never takes it for a tool's lookup.
fn forwarded_lookup(
    name: &str,
    exe: &[u8],
    path_now: Option<&std::ffi::OsStr>,
) -> Vec<(u8, Vec<u8>)> {
    use std::os::unix::ffi::OsStrExt;
    let printable = path_now.is_none_or(|p| !p.as_bytes().contains(&b'\n'));
    if let Some(program) = name
        .strip_prefix(crate::searches::WHICH)
        .filter(|_| printable)
    {
        let mut search = program.as_bytes().to_vec();
        if let Some(p) = path_now {
            search.push(b'\t');
            search.extend_from_slice(p.as_bytes());
        }
        return vec![(b'S', search), (b'X', program.as_bytes().to_vec())];
    }
    // A search on a `PATH` no record can hold keys `PATH` itself.
    let name = if name.starts_with(crate::searches::WHICH) {
        "PATH"
    } else {
        name
    };
    let mut rest = name.as_bytes().to_vec();
    if name != "PATH" {
        rest.push(b'\t');
        rest.extend_from_slice(exe);
    }
    vec![(b'E', rest)]
}

/// Answers a keyed action, whatever its kind: restored when `try_hit`
/// finds it, else done by `run`, once per key at a time (a second caller
/// waits for the first, then looks again).
pub(crate) fn serve(
    store: &LocalStore,
    inv_key: &Digest,
    rec: &mut kiln_types::UnitRecord,
    try_hit: &mut dyn FnMut(&mut kiln_types::UnitRecord) -> bool,
    run: &mut dyn FnMut(&mut kiln_types::UnitRecord) -> i32,
) -> i32 {
    if try_hit(rec) {
        return 0;
    }
    let lock = crate::flight::single_flight(store, inv_key, rec);
    if lock.waited && try_hit(rec) {
        return 0;
    }
    let code = run(rec);
    drop(lock);
    code
}

/// A file in `store`'s staging dir for the trace of one observed run.
pub(crate) fn trace_file(store: &LocalStore) -> std::path::PathBuf {
    let staging = store.staging_dir();
    let _ = std::fs::create_dir_all(&staging);
    staging.join(format!(
        "trace-{}-{}",
        kiln_store::local::staging_tag(),
        crate::lookup::nanos()
    ))
}

/// Hands the files a restored action wrote to the trace of the run this
/// process is part of, if any: the run is judged by what it wrote, as if
/// the action had run.
pub(crate) fn forward_outputs(restored: &kiln_store::entry::Restored) {
    use std::os::unix::ffi::OsStrExt;
    kiln_trace::forward(
        restored
            .files
            .iter()
            .map(|(_, dest, _)| (b'W', dest.as_os_str().as_bytes().to_vec())),
    );
}
/// Now, in nanoseconds since the epoch: part of unique scratch names.
pub(crate) fn nanos() -> u128 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}
