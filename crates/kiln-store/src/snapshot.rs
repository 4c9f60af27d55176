//! A store as one file: what a CI job used, saved at its end and restored
//! into the next job's empty store.
//!
//! A snapshot is a zstd-compressed tar archive of the store's own layout:
//! the entries this job used or wrote (an entry's modification time is its
//! last use, see [`crate::local`]), the manifests that name one of them,
//! their key components, recent run records and the run history. Caches of
//! one machine (file hashes, compiler identities) are left out: another
//! runner computes its own.
//!
//! The file is sealed (`seal`): with a signing key it carries a keyed
//! digest, and only a snapshot signed with the same key restores. Restoring
//! (`restore`, through kiln's own tar reader, `untar`) treats the archive
//! as untrusted input: only regular files at the names of that layout are
//! taken, each within its bound, written without following links (see
//! [`crate::nofollow`]); what the store already holds is kept; entries stop
//! at the store's size bound. Restored files keep the archive's
//! modification times (never later than the restore), so what the next job
//! uses is told apart from what it merely restored.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kiln_key::Digest;

use crate::{StoreError, manifest, nofollow};

mod restore;
mod seal;
mod untar;

pub use restore::restore;
pub use seal::Refusal;

/// The marker written after a restore: saving then keeps what was used
/// since.
const SINCE_FILE: &str = "snapshot-since";
/// How many run records a snapshot carries besides the job's own.
const RECENT_RECORDS: usize = 8;
/// Largest entry taken from an archive.
const MAX_ENTRY: u64 = 512 << 20;
/// Largest other file taken from an archive.
const MAX_OTHER: u64 = 64 << 20;
/// The history database's file name.
const HISTORY: &str = "history.sqlite";

/// What [`save`] or [`restore`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Entries written to or taken from the archive.
    pub entries: u64,
    /// Bytes of those entries.
    pub entry_bytes: u64,
    /// Other files (manifests, key components, records, history).
    pub files: u64,
    /// Entries of the store left out (not used since the restore), or
    /// archive members refused or skipped on restore.
    pub skipped: u64,
}

/// Which entries a snapshot keeps.
#[derive(Debug, Clone, Copy)]
pub enum Keep {
    /// Every entry of the store.
    All,
    /// Entries used or written at or after this time.
    UsedSince(SystemTime),
}

impl Keep {
    /// What the store's marker asks for: entries used since the last
    /// [`restore`], or all of them when nothing was restored.
    pub fn from_marker(root: &Path) -> Self {
        marker(root).map_or(Keep::All, Keep::UsedSince)
    }

    fn keeps(self, modified: SystemTime) -> bool {
        match self {
            Keep::All => true,
            Keep::UsedSince(t) => modified >= t,
        }
    }
}

/// When the last restore into the store at `root` finished.
pub fn marker(root: &Path) -> Option<SystemTime> {
    let bytes = nofollow::read(root, Path::new(SINCE_FILE), 64).ok()??;
    let nanos: u64 = std::str::from_utf8(&bytes).ok()?.trim().parse().ok()?;
    Some(UNIX_EPOCH + Duration::from_nanos(nanos))
}

pub(crate) fn set_marker(root: &Path) -> io::Result<()> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    nofollow::write(root, Path::new(SINCE_FILE), format!("{nanos}\n").as_bytes())
}

pub(crate) fn io_err<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(io::Error) -> StoreError + 'a {
    move |e| StoreError::io(action, path, e)
}

/// Writes a snapshot of the store at `root` into `out` (from its start),
/// signed with `secret` (`KILN_SIGNING_KEY`) when there is one.
///
/// # Errors
/// When the store cannot be listed or the archive cannot be written.
pub fn save(
    root: &Path,
    keep: Keep,
    out: &File,
    secret: Option<&[u8]>,
) -> Result<Report, StoreError> {
    let mut report = Report::default();
    let sealing = seal::Sealing::start(out, secret).map_err(io_err("write", root))?;
    let encoder = zstd::Encoder::new(sealing, 3).map_err(io_err("compress", root))?;
    let mut tar = tar::Builder::new(encoder);
    let mut kept = std::collections::BTreeSet::new();
    for (rel, modified) in listing(root, "entries")? {
        let Some(key) = entry_key(&rel) else { continue };
        if !keep.keeps(modified) {
            report.skipped += 1;
            continue;
        }
        if let Some(size) = append(&mut tar, root, &rel, MAX_ENTRY)? {
            report.entries += 1;
            report.entry_bytes += size;
            kept.insert(key.to_hex());
        }
    }
    for key in &kept {
        let rel = sharded("keys", key, "json");
        report.files += u64::from(append(&mut tar, root, &rel, MAX_OTHER)?.is_some());
    }
    for (rel, _) in listing(root, "manifests")? {
        if names_kept(root, &rel, &kept) {
            report.files += u64::from(append(&mut tar, root, &rel, MAX_OTHER)?.is_some());
        }
    }
    for rel in records(root, keep)? {
        report.files += u64::from(append(&mut tar, root, &rel, MAX_OTHER)?.is_some());
    }
    report.files += u64::from(append(&mut tar, root, Path::new(HISTORY), MAX_OTHER)?.is_some());
    let encoder = tar.into_inner().map_err(io_err("write", root))?;
    let sealing = encoder.finish().map_err(io_err("write", root))?;
    sealing.finish().map_err(io_err("write", root))?;
    Ok(report)
}

/// Adds the file `rel` of the store; `None` when it is gone or refused.
fn append<W: Write>(
    tar: &mut tar::Builder<W>,
    root: &Path,
    rel: &Path,
    max: u64,
) -> Result<Option<u64>, StoreError> {
    let Ok(Some((file, size))) = nofollow::open(root, rel, max) else {
        return Ok(None);
    };
    let mtime = file
        .metadata()
        .ok()
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    let mut header = tar::Header::new_gnu();
    header.set_size(size);
    header.set_mode(0o644);
    header.set_mtime(mtime);
    header.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut header, rel, file.take(size))
        .map_err(io_err("archive", rel))?;
    Ok(Some(size))
}

/// Regular files below `root/dir`, with their modification times, in
/// name order.
fn listing(root: &Path, dir: &str) -> Result<Vec<(PathBuf, SystemTime)>, StoreError> {
    let mut out: Vec<_> = nofollow::list(root, Path::new(dir))
        .map_err(io_err("list", root))?
        .into_iter()
        .map(|l| (PathBuf::from(l.path), l.modified))
        .collect();
    out.sort();
    Ok(out)
}

/// The key of `entries/ab/<hex>.kiln`.
fn entry_key(rel: &Path) -> Option<Digest> {
    let name = rel.file_name()?.to_str()?;
    Digest::from_hex(name.strip_suffix(".kiln")?)
}

fn sharded(dir: &str, hex: &str, ext: &str) -> PathBuf {
    Path::new(dir).join(&hex[..2]).join(format!("{hex}.{ext}"))
}

/// Whether the manifest `rel` names an entry in `kept`.
fn names_kept(root: &Path, rel: &Path, kept: &std::collections::BTreeSet<String>) -> bool {
    let Ok(Some(bytes)) = nofollow::read(root, rel, MAX_OTHER) else {
        return false;
    };
    manifest::parse(&bytes).is_some_and(|m| m.candidates.iter().any(|c| kept.contains(&c.key)))
}

/// The run records to carry: those written since the restore and the most
/// recent others.
fn records(root: &Path, keep: Keep) -> Result<Vec<PathBuf>, StoreError> {
    let mut all: Vec<_> = listing(root, "records")?
        .into_iter()
        .filter(|(rel, _)| {
            rel.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| record_name(n) && n.len() < 100)
        })
        .collect();
    all.sort_by_key(|(_, modified)| std::cmp::Reverse(*modified));
    let recent = |i: usize, t: SystemTime| {
        i < RECENT_RECORDS || matches!(keep, Keep::UsedSince(since) if t >= since)
    };
    Ok(all
        .into_iter()
        .enumerate()
        .filter(|(i, (_, t))| recent(*i, *t))
        .map(|(_, (rel, _))| rel)
        .collect())
}

pub(crate) fn record_name(name: &str) -> bool {
    name.ends_with(".jsonl")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

#[cfg(test)]
mod tests;
