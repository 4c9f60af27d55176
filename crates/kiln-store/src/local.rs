//! The local disk store.
//!
//! Layout under the store directory:
//! ```text
//! entries/ab/<key>.kiln   entries (see `entry`)
//! manifests/ab/<key>.json manifests (see `manifest`)
//! staging/                entries being written (same filesystem: rename is atomic)
//! locks/                  per-key lock files
//! ```
//! An entry's modification time is its last use: [`Store::open`] bumps it,
//! and [`LocalStore::gc`] removes the least recently used entries until the
//! store fits its size bound.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kiln_key::Digest;

use crate::{EntryInfo, Store, StoreError, nofollow};

/// Entries are trimmed to this share of the bound, so gc does not run on
/// every write once the store is full.
const GC_TARGET_PERCENT: u64 = 90;

/// The largest entry file opened: larger ones are refused unread.
pub const MAX_ENTRY_FILE: u64 = 16 << 30;

/// The entry of `key`, relative to the store root.
fn entry_rel(key: &Digest) -> PathBuf {
    let hex = key.to_hex();
    Path::new("entries")
        .join(&hex[..2])
        .join(format!("{hex}.kiln"))
}

/// A store in a local directory.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

/// What a gc pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GcReport {
    /// Entries before.
    pub entries: u64,
    /// Bytes before.
    pub bytes: u64,
    /// Entries removed.
    pub removed: u64,
    /// Bytes removed.
    pub removed_bytes: u64,
}

impl LocalStore {
    /// A store rooted at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The store directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the entry of `key` is kept.
    pub fn entry_path(&self, key: &Digest) -> PathBuf {
        self.root.join(entry_rel(key))
    }

    /// Where the key components of `key` are kept.
    pub fn components_path(&self, key: &Digest) -> PathBuf {
        let hex = key.to_hex();
        self.root
            .join("keys")
            .join(&hex[..2])
            .join(format!("{hex}.json"))
    }

    /// Directory of manifests.
    pub fn manifest_dir(&self) -> PathBuf {
        self.root.join("manifests")
    }

    /// Directory of lock files.
    pub fn lock_dir(&self) -> PathBuf {
        self.root.join("locks")
    }

    /// Whether an entry exists for `key`.
    pub fn contains(&self, key: &Digest) -> bool {
        self.entry_path(key).is_file()
    }

    /// Lists every entry with its size and last use.
    pub fn list(&self) -> Result<Vec<EntryInfo>, StoreError> {
        let dir = self.root.join("entries");
        let mut out = Vec::new();
        let shards = match std::fs::read_dir(&dir) {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(StoreError::io("list", &dir, e)),
        };
        for shard in shards.flatten() {
            let Ok(files) = std::fs::read_dir(shard.path()) else {
                continue;
            };
            for f in files.flatten() {
                let name = f.file_name();
                let Some(hex) = name.to_str().and_then(|n| n.strip_suffix(".kiln")) else {
                    continue;
                };
                let Some(key) = Digest::from_hex(hex) else {
                    continue;
                };
                let Ok(md) = f.metadata() else { continue };
                let last_used = md
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_secs());
                out.push(EntryInfo {
                    key,
                    size: md.len(),
                    last_used,
                });
            }
        }
        Ok(out)
    }

    /// Whether the store may hold more than `max_bytes`: its ledger says so
    /// or does not know (see [`crate::usage`]).
    pub fn may_exceed(&self, max_bytes: u64) -> bool {
        crate::usage::get(&self.root).is_none_or(|used| used > max_bytes)
    }

    /// Removes least recently used entries until the store holds at most
    /// `max_bytes` (down to 90 % of it when trimming is needed), plus staging
    /// leftovers of processes that are gone; writes the size found to the
    /// ledger.
    pub fn gc(&self, max_bytes: u64) -> Result<GcReport, StoreError> {
        let mut entries = self.list()?;
        let mut report = GcReport {
            entries: entries.len() as u64,
            bytes: entries.iter().map(|e| e.size).sum(),
            ..GcReport::default()
        };
        let staged = self.clean_staging(Duration::from_secs(3600));
        report.bytes += staged;
        if report.bytes <= max_bytes {
            crate::usage::set(&self.root, report.bytes);
            return Ok(report);
        }
        let target = max_bytes / 100 * GC_TARGET_PERCENT;
        entries.sort_by_key(|e| e.last_used);
        let mut size = report.bytes;
        for e in entries {
            if size <= target {
                break;
            }
            if self.remove(&e.key).is_ok() {
                size -= e.size;
                report.removed += 1;
                report.removed_bytes += e.size;
            }
        }
        crate::usage::set(&self.root, size);
        Ok(report)
    }

    /// Removes staging files of processes that are gone (and any older
    /// than `older_than`); returns the bytes of those still there, which
    /// count toward the bound.
    fn clean_staging(&self, older_than: Duration) -> u64 {
        // Listed and removed below the root without following links: a
        // `staging` link cannot point gc at other files.
        let Ok(files) = nofollow::list(&self.root, Path::new("staging")) else {
            return 0;
        };
        let now = SystemTime::now();
        let mut kept = 0;
        for f in files {
            let old = now
                .duration_since(f.modified)
                .is_ok_and(|age| age > older_than);
            let name = f.path.rsplit('/').next().unwrap_or_default();
            let orphan = staging_owner(name).is_some_and(gone);
            if old || orphan {
                let _ = nofollow::remove(&self.root, Path::new(&f.path));
            } else {
                kept += f.size;
            }
        }
        kept
    }

    /// Removes every entry and manifest (records and settings stay).
    pub fn clear(&self) -> Result<GcReport, StoreError> {
        let entries = self.list()?;
        let report = GcReport {
            entries: entries.len() as u64,
            bytes: entries.iter().map(|e| e.size).sum(),
            removed: entries.len() as u64,
            removed_bytes: entries.iter().map(|e| e.size).sum(),
        };
        for sub in ["entries", "manifests", "keys", "staging", "hashes"] {
            let p = self.root.join(sub);
            match std::fs::remove_dir_all(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(StoreError::io("remove", &p, e)),
            }
        }
        Ok(report)
    }
}

/// This process as staging file names carry it: its PID and the inode of
/// its PID namespace (`<pid>.<ns>`), so that a store shared between
/// containers never judges another container's files by this one's PIDs.
pub fn staging_tag() -> String {
    use std::os::unix::fs::MetadataExt;
    let ns = std::fs::metadata("/proc/self/ns/pid").map_or(0, |m| m.ino());
    format!("{}.{ns}", std::process::id())
}

/// The process that writes a staging file, from its name: entries
/// (`entry-<tag>-…`) and traces of observed runs (`trace-<tag>-…`), with
/// the tag of [`staging_tag`].
fn staging_owner(name: &str) -> Option<(u32, u64)> {
    let rest = name
        .strip_prefix("entry-")
        .or_else(|| name.strip_prefix("trace-"))?;
    let (pid, ns) = rest.split('-').next()?.split_once('.')?;
    Some((pid.parse().ok()?, ns.parse().ok()?))
}

/// Whether the process that wrote a staging file is gone: it lived in this
/// PID namespace and is not in `/proc`, or is a zombie nobody reaped (a PID
/// reused by another process only keeps a file longer). Files of other
/// namespaces go by age alone.
fn gone((pid, ns): (u32, u64)) -> bool {
    let ours = staging_tag();
    if ours.rsplit('.').next() != Some(ns.to_string().as_str()) || pid == std::process::id() {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // `pid (name) S …`: the state follows the name's closing bracket.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => true,
    }
}

impl Store for LocalStore {
    fn describe(&self) -> String {
        format!("local `{}`", self.root.display())
    }

    fn open(&self, key: &Digest) -> Result<Option<Box<dyn Read + Send>>, StoreError> {
        let rel = entry_rel(key);
        let path = self.entry_path(key);
        let opened = nofollow::open(&self.root, &rel, MAX_ENTRY_FILE).map_err(|e| {
            if e.kind() == std::io::ErrorKind::InvalidData {
                StoreError::Corrupt {
                    key: key.to_hex(),
                    detail: e.to_string(),
                }
            } else {
                StoreError::io("open", &path, e)
            }
        })?;
        let Some((f, size)) = opened else {
            return Ok(None);
        };
        let _ = f.set_modified(SystemTime::now());
        crate::packed::reader(f, size)
            .map(Some)
            .map_err(|e| StoreError::io("read", &path, e))
    }

    fn put(&self, key: &Digest, entry_file: &Path) -> Result<u64, StoreError> {
        let dest = self.entry_path(key);
        let size = std::fs::metadata(entry_file)
            .map_err(|e| StoreError::io("read", entry_file, e))?
            .len();
        nofollow::rename_into(entry_file, &self.root, &entry_rel(key))
            .map_err(|e| StoreError::io("store", &dest, e))?;
        crate::usage::add(&self.root, size);
        Ok(size)
    }

    fn remove(&self, key: &Digest) -> Result<(), StoreError> {
        let hex = key.to_hex();
        let components = Path::new("keys")
            .join(&hex[..2])
            .join(format!("{hex}.json"));
        let _ = nofollow::remove(&self.root, &components);
        nofollow::remove(&self.root, &entry_rel(key))
            .map_err(|e| StoreError::io("remove", &self.entry_path(key), e))
    }

    fn staging_dir(&self) -> PathBuf {
        self.root.join("staging")
    }
}

#[cfg(test)]
mod tests {
    use std::fs::File;

    use super::*;

    fn put_bytes(store: &LocalStore, key: u8, len: usize, age_secs: u64) {
        let staging = store.staging_dir();
        std::fs::create_dir_all(&staging).unwrap();
        let tmp = staging.join(format!("t{key}"));
        std::fs::write(&tmp, vec![0u8; len]).unwrap();
        store.put(&Digest([key; 32]), &tmp).unwrap();
        let f = File::options()
            .write(true)
            .open(store.entry_path(&Digest([key; 32])))
            .unwrap();
        f.set_modified(SystemTime::now() - Duration::from_secs(age_secs))
            .unwrap();
    }

    #[test]
    fn gc_evicts_least_recently_used() {
        let d = tempfile::tempdir().unwrap();
        let s = LocalStore::new(d.path());
        put_bytes(&s, 1, 1000, 300);
        put_bytes(&s, 2, 1000, 100);
        put_bytes(&s, 3, 1000, 200);
        // Using entry 1 makes it the most recent.
        drop(s.open(&Digest([1; 32])).unwrap().unwrap());
        let r = s.gc(2000).unwrap();
        assert_eq!(r.removed, 2);
        assert!(s.contains(&Digest([1; 32])));
        assert!(!s.contains(&Digest([2; 32])));
        assert!(!s.contains(&Digest([3; 32])));
    }

    #[test]
    fn gc_reclaims_staging_files_of_processes_that_are_gone() {
        let d = tempfile::tempdir().unwrap();
        let s = LocalStore::new(d.path());
        let staging = s.staging_dir();
        std::fs::create_dir_all(&staging).unwrap();
        let tag = staging_tag();
        let ns = tag.rsplit('.').next().unwrap();
        let mine = format!("entry-{tag}-1.tmp");
        let dead_entry = format!("entry-999999999.{ns}-1.tmp");
        let dead_trace = format!("trace-999999999.{ns}-2");
        let elsewhere = "entry-999999999.1-3.tmp".to_owned();
        for name in [&dead_entry, &dead_trace, &mine, &elsewhere, "other"] {
            std::fs::write(staging.join(name), b"x").unwrap();
        }
        let r = s.gc(1 << 20).unwrap();
        let mut left: Vec<_> = std::fs::read_dir(&staging)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        let mut expected = vec![mine, elsewhere, "other".to_owned()];
        expected.sort();
        assert_eq!(left, expected, "another namespace's files go by age");
        assert_eq!(r.bytes, 3, "what is still staged counts toward the bound");
        assert_eq!(crate::usage::get(d.path()), Some(3));
    }

    #[test]
    fn clear_empties() {
        let d = tempfile::tempdir().unwrap();
        let s = LocalStore::new(d.path());
        put_bytes(&s, 1, 10, 0);
        assert_eq!(s.clear().unwrap().removed, 1);
        assert!(s.list().unwrap().is_empty());
        assert!(s.open(&Digest([1; 32])).unwrap().is_none());
    }
}
