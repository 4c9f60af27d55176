//! Restoring an entry: every file streamed beside its destination while
//! hashed, all digests checked, then renamed into place.

use crate::StoreError;
use kiln_key::Digest;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::*;

/// Whether `path` holds something other than a regular file or a link.
fn special(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| !m.is_file() && !m.file_type().is_symlink())
}

/// What restoring an entry produced.
#[derive(Debug)]
pub struct Restored {
    /// The compiler's stdout.
    pub stdout: Vec<u8>,
    /// The compiler's stderr, placeholders still in it.
    pub stderr: Vec<u8>,
    /// The restored files: name, destination and content digest (`None` for
    /// text rewritten on restore, whose content differs from the entry's).
    pub files: Vec<(String, PathBuf, Option<Digest>)>,
    /// Entry size in bytes.
    pub bytes: u64,
    /// Compile time the entry saves, in ms.
    pub compile_ms: u64,
}

/// Restores the entry read from `source` into `dest_dir`. Files marked as text
/// go through `fix_text` (placeholder replacement). Nothing is left behind in
/// `dest_dir` unless every check passes.
pub fn restore(
    key: &Digest,
    source: impl Read,
    dest_dir: &Path,
    fix_text: &dyn Fn(&[u8]) -> Vec<u8>,
) -> Result<Restored, StoreError> {
    let corrupt = |detail: String| StoreError::Corrupt {
        key: key.to_hex(),
        detail,
    };
    let mut r = HashingReader {
        inner: BufReader::with_capacity(256 * 1024, source),
        hasher: blake3::Hasher::new(),
        read: 0,
    };
    let header = read_header(&mut r, key, &corrupt)?;
    let mut stdout = vec![0u8; stream_len(header.stdout_len, "stdout", &corrupt)?];
    r.read_exact(&mut stdout)
        .map_err(|e| corrupt(format!("stdout: {e}")))?;
    let mut stderr = vec![0u8; stream_len(header.stderr_len, "stderr", &corrupt)?];
    r.read_exact(&mut stderr)
        .map_err(|e| corrupt(format!("stderr: {e}")))?;

    let mut staging = Staging(Vec::with_capacity(header.files.len()));
    let mut files = Vec::with_capacity(header.files.len());
    for f in &header.files {
        files.push(stage(
            &mut r,
            f,
            dest_dir,
            fix_text,
            &mut staging,
            &corrupt,
        )?);
    }
    check_trailer(&mut r, &corrupt)?;
    // A device, FIFO or directory where an output goes (`-o /dev/null`) is
    // left alone: renaming over it would replace it.
    if let Some((_, d)) = staging.0.iter().find(|(_, d)| special(d)) {
        return Err(StoreError::io(
            "restore over",
            d,
            io::Error::other("not a regular file; left as it is"),
        ));
    }
    staging.commit()?;
    Ok(Restored {
        stdout,
        stderr,
        files,
        bytes: r.read + 32,
        compile_ms: header.compile_ms,
    })
}

/// Files written beside their destinations: moved into place by
/// [`Staging::commit`], removed when dropped before it.
struct Staging(Vec<(PathBuf, PathBuf)>);

impl Staging {
    fn commit(mut self) -> Result<(), StoreError> {
        // A failed move leaves the files not yet moved to the drop.
        while let Some((tmp, dest)) = self.0.first() {
            std::fs::rename(tmp, dest).map_err(|e| StoreError::io("move into place", dest, e))?;
            self.0.remove(0);
        }
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        for (tmp, _) in &self.0 {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

type Corrupt<'a> = dyn Fn(String) -> StoreError + 'a;

/// The header, checked: magic, bounded size, format version and key.
fn read_header(
    r: &mut impl Read,
    key: &Digest,
    corrupt: &Corrupt<'_>,
) -> Result<EntryHeader, StoreError> {
    let mut magic = [0u8; 8];
    r.read_exact(&mut magic)
        .map_err(|e| corrupt(format!("header: {e}")))?;
    if &magic != MAGIC {
        return Err(corrupt("not a kiln entry".into()));
    }
    let mut len = [0u8; 4];
    r.read_exact(&mut len)
        .map_err(|e| corrupt(format!("header: {e}")))?;
    let len = u32::from_le_bytes(len);
    if len > MAX_HEADER {
        return Err(corrupt("header too large".into()));
    }
    let mut json = vec![0u8; len as usize];
    r.read_exact(&mut json)
        .map_err(|e| corrupt(format!("header: {e}")))?;
    let header: EntryHeader =
        serde_json::from_slice(&json).map_err(|e| corrupt(format!("header: {e}")))?;
    if header.version != ENTRY_VERSION {
        return Err(corrupt(format!(
            "unsupported entry version {}",
            header.version
        )));
    }
    if header.key != key.to_hex() {
        return Err(corrupt(format!(
            "it was stored under another key ({})",
            header.key
        )));
    }
    Ok(header)
}

/// What is held in memory (the streams, text files) stays below 256 MiB.
fn in_memory(n: u64) -> Option<usize> {
    usize::try_from(n).ok().filter(|n| *n < (256 << 20))
}

fn stream_len(n: u64, what: &str, corrupt: &Corrupt<'_>) -> Result<usize, StoreError> {
    in_memory(n).ok_or_else(|| corrupt(format!("{what} too large")))
}

/// Streams one file beside its destination, hashing it, and checks its
/// length and digest; text goes through `fix_text` on the way.
fn stage<R: Read>(
    r: &mut HashingReader<R>,
    f: &EntryFile,
    dest_dir: &Path,
    fix_text: &dyn Fn(&[u8]) -> Vec<u8>,
    staging: &mut Staging,
    corrupt: &Corrupt<'_>,
) -> Result<(String, PathBuf, Option<Digest>), StoreError> {
    if !valid_name(&f.name) {
        return Err(corrupt(format!(
            "file name `{}` escapes the output directory",
            f.name
        )));
    }
    let dest = dest_dir.join(&f.name);
    // One name per output, not per process: what a killed restore left is
    // removed by the next restore of the same output (cargo never builds
    // one output twice at once).
    let tmp = dest_dir.join(format!(".{}.kiln-part", f.name));
    let mut limited = Read::take(&mut *r, f.len);
    let (digest, got_len) = if f.text {
        // Text is held in memory to replace placeholders: bounded like the
        // streams (dep-info files are kilobytes).
        if in_memory(f.len).is_none() {
            return Err(corrupt(format!("{} is too large for text", f.name)));
        }
        let mut buf = Vec::new();
        limited
            .read_to_end(&mut buf)
            .map_err(|e| corrupt(format!("{}: {e}", f.name)))?;
        let mut out = create_fresh(&tmp).map_err(|e| StoreError::io("write", &tmp, e))?;
        staging.0.push((tmp.clone(), dest.clone()));
        out.write_all(&fix_text(&buf))
            .map_err(|e| StoreError::io("write", &tmp, e))?;
        (Digest::of(&buf), buf.len() as u64)
    } else {
        let out = create_fresh(&tmp).map_err(|e| StoreError::io("write", &tmp, e))?;
        staging.0.push((tmp.clone(), dest.clone()));
        let mut w = HashingWriter {
            inner: BufWriter::with_capacity(256 * 1024, out),
            hasher: blake3::Hasher::new(),
            written: 0,
        };
        io::copy(&mut limited, &mut w).map_err(|e| corrupt(format!("{}: {e}", f.name)))?;
        w.flush().map_err(|e| StoreError::io("write", &tmp, e))?;
        let len = std::fs::metadata(&tmp).map_or(0, |m| m.len());
        (Digest(*w.hasher.finalize().as_bytes()), len)
    };
    if got_len != f.len {
        return Err(corrupt(format!("{} is truncated", f.name)));
    }
    if digest.to_hex() != f.digest {
        return Err(corrupt(format!("{} does not match its digest", f.name)));
    }
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(f.mode & 0o777))
        .map_err(|e| StoreError::io("set mode of", &tmp, e))?;
    Ok((f.name.clone(), dest, (!f.text).then_some(digest)))
}

/// The whole entry's digest after the last file, and nothing after it.
fn check_trailer<R: Read>(
    r: &mut HashingReader<R>,
    corrupt: &Corrupt<'_>,
) -> Result<(), StoreError> {
    let expected = r.hasher.finalize();
    let mut trailer = [0u8; 32];
    r.inner
        .read_exact(&mut trailer)
        .map_err(|e| corrupt(format!("trailer: {e}")))?;
    if &trailer != expected.as_bytes() {
        return Err(corrupt("entry digest mismatch".into()));
    }
    let mut extra = [0u8; 1];
    if r.inner
        .read(&mut extra)
        .map_err(|e| corrupt(format!("trailer: {e}")))?
        != 0
    {
        return Err(corrupt("trailing bytes after the entry".into()));
    }
    Ok(())
}

/// Creates `path` as a new regular file: whatever was there (a leftover, a
/// link planted to redirect the write) is removed first, and the open fails
/// rather than follow anything created in between.
fn create_fresh(path: &Path) -> io::Result<File> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    File::options().write(true).create_new(true).open(path)
}
