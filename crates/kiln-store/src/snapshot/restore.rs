//! Restoring a snapshot: the archive is untrusted input.
//!
//! Only regular files at the store's own names are taken, each within its
//! bound, entries up to the store's size bound, everything else up to
//! [`MAX_OTHER_TOTAL`]; written without following links; what the store
//! holds is kept. A restored file is dated no later than the restore, so a
//! date in the future cannot make it look used.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Component, Path};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kiln_key::Digest;

use super::{HISTORY, MAX_ENTRY, MAX_OTHER, Report, io_err, record_name, seal, set_marker, untar};
use crate::{StoreError, nofollow};

/// All members that are not entries, together, at most.
const MAX_OTHER_TOTAL: u64 = 256 << 20;
/// Members read, at most.
const MAX_MEMBERS: u64 = 1 << 20;

/// What an archive member may be, from its name alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Member {
    Entry,
    Other,
}

/// The layout names a snapshot may hold; anything else is refused.
fn member(rel: &Path) -> Option<Member> {
    let parts: Vec<&str> = rel
        .components()
        .map(|c| match c {
            Component::Normal(s) => s.to_str(),
            _ => None,
        })
        .collect::<Option<_>>()?;
    // Exactly the names kiln writes: lower-case hex, in its own shard.
    let hex_named = |shard: &str, name: &str, ext: &str| {
        name.strip_suffix(ext)
            .and_then(|h| Digest::from_hex(h).filter(|d| d.to_hex() == h))
            .is_some_and(|d| d.to_hex()[..2] == *shard)
    };
    match parts.as_slice() {
        ["entries", shard, name] if hex_named(shard, name, ".kiln") => Some(Member::Entry),
        ["keys" | "manifests", shard, name] if hex_named(shard, name, ".json") => {
            Some(Member::Other)
        }
        ["records", name] if record_name(name) && name.len() < 100 => Some(Member::Other),
        [HISTORY] => Some(Member::Other),
        _ => None,
    }
}

/// Restores the snapshot `file` into the store at `root`, taking entries up
/// to `max_bytes` in all, then marks the store so that a later save keeps
/// only what is used after this point. With `secret` (`KILN_SIGNING_KEY`),
/// only a snapshot saved with the same key is restored.
///
/// # Errors
/// When the file is not a snapshot, is refused by its signature, or the
/// store cannot be written; members refused one by one are counted in
/// [`Report::skipped`].
pub fn restore(
    root: &Path,
    file: &mut File,
    max_bytes: u64,
    secret: Option<&[u8]>,
) -> Result<Report, StoreError> {
    if let Err(refusal) = seal::open(file, secret).map_err(io_err("read", root))? {
        return Err(StoreError::Refused(refusal.to_string()));
    }
    let staging = root.join("staging");
    std::fs::create_dir_all(&staging).map_err(io_err("create", &staging))?;
    let started = SystemTime::now();
    let decoder =
        zstd::Decoder::new(io::BufReader::new(&*file)).map_err(io_err("decompress", root))?;
    // However the archive is made, no more is read than it may hold.
    let mut body = decoder.take(
        max_bytes
            .saturating_add(MAX_OTHER_TOTAL)
            .saturating_add(64 << 20),
    );
    let mut report = Report::default();
    let mut other_bytes = 0u64;
    let outcome = members(
        root,
        &staging,
        &mut body,
        max_bytes,
        started,
        &mut report,
        &mut other_bytes,
    );
    crate::usage::add(root, report.entry_bytes);
    set_marker(root).map_err(io_err("write", root))?;
    outcome.map(|()| report)
}

fn members(
    root: &Path,
    staging: &Path,
    body: &mut impl Read,
    max_bytes: u64,
    started: SystemTime,
    report: &mut Report,
    other_bytes: &mut u64,
) -> Result<(), StoreError> {
    for n in 0..MAX_MEMBERS {
        let Some(h) = untar::next(body).map_err(io_err("read", root))? else {
            return Ok(());
        };
        let rel = Path::new(&h.name).to_path_buf();
        let kind = h.is_file().then(|| member(&rel)).flatten();
        let fits = match kind {
            Some(Member::Entry) => {
                h.size <= MAX_ENTRY && report.entry_bytes.saturating_add(h.size) <= max_bytes
            }
            Some(Member::Other) => {
                h.size <= MAX_OTHER && other_bytes.saturating_add(h.size) <= MAX_OTHER_TOTAL
            }
            None => false,
        };
        if !fits || present(root, &rel) {
            report.skipped += 1;
            untar::skip(body, h.size).map_err(io_err("read", root))?;
            continue;
        }
        // Never later than the restore: only what is used after it counts.
        let newest = started
            .checked_sub(Duration::from_secs(1))
            .unwrap_or(UNIX_EPOCH);
        let mtime = (UNIX_EPOCH + Duration::from_secs(h.mtime)).min(newest);
        let tmp = staging.join(format!(
            "entry-{}-snapshot-{n}",
            crate::local::staging_tag()
        ));
        let taken = take(body, &tmp, h.size, mtime);
        let placed = taken
            .as_ref()
            .map_err(|_| ())
            .and_then(|()| nofollow::rename_into(&tmp, root, &rel).map_err(|_| ()));
        if placed.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        // A member that could not be read is the end of the archive.
        taken.map_err(io_err("read", root))?;
        untar::skip_padding(body, h.size).map_err(io_err("read", root))?;
        match (placed, kind) {
            (Ok(()), Some(Member::Entry)) => {
                report.entries += 1;
                report.entry_bytes += h.size;
            }
            (Ok(()), _) => {
                report.files += 1;
                *other_bytes += h.size;
            }
            (Err(()), _) => report.skipped += 1,
        }
    }
    Ok(())
}

/// Whether the store already has something at `rel` (kept as it is).
fn present(root: &Path, rel: &Path) -> bool {
    !matches!(nofollow::open(root, rel, u64::MAX), Ok(None))
}

/// Copies exactly `size` bytes of a member into the new file `tmp`, dated
/// `mtime`.
fn take(src: &mut impl Read, tmp: &Path, size: u64, mtime: SystemTime) -> io::Result<()> {
    let mut f = File::options().write(true).create_new(true).open(tmp)?;
    let copied = io::copy(&mut src.take(size), &mut f)?;
    if copied != size {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "archive member cut short",
        ));
    }
    f.set_modified(mtime)?;
    Ok(())
}
