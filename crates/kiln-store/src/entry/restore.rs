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
    let limit = |n: u64| usize::try_from(n).ok().filter(|n| *n < (256 << 20));
    let mut stdout =
        vec![0u8; limit(header.stdout_len).ok_or_else(|| corrupt("stdout too large".into()))?];
    r.read_exact(&mut stdout)
        .map_err(|e| corrupt(format!("stdout: {e}")))?;
    let mut stderr =
        vec![0u8; limit(header.stderr_len).ok_or_else(|| corrupt("stderr too large".into()))?];
    r.read_exact(&mut stderr)
        .map_err(|e| corrupt(format!("stderr: {e}")))?;

    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::with_capacity(header.files.len());
    let result = (|| {
        let mut files = Vec::with_capacity(header.files.len());
        for f in &header.files {
            if !valid_name(&f.name) {
                return Err(corrupt(format!(
                    "file name `{}` escapes the output directory",
                    f.name
                )));
            }
            let dest = dest_dir.join(&f.name);
            // One name per output, not per process: what a killed restore
            // left is removed by the next restore of the same output (cargo
            // never builds one output twice at once).
            let tmp = dest_dir.join(format!(".{}.kiln-part", f.name));
            let mut limited = (&mut r).take(f.len);
            let digest = if f.text {
                // Text is held in memory to replace placeholders: bounded
                // like the streams (dep-info files are kilobytes).
                if limit(f.len).is_none() {
                    return Err(corrupt(format!("{} is too large for text", f.name)));
                }
                let mut buf = Vec::new();
                limited
                    .read_to_end(&mut buf)
                    .map_err(|e| corrupt(format!("{}: {e}", f.name)))?;
                let d = Digest::of(&buf);
                write_new(&tmp, &fix_text(&buf)).map_err(|e| StoreError::io("write", &tmp, e))?;
                d
            } else {
                let out = create_fresh(&tmp).map_err(|e| StoreError::io("write", &tmp, e))?;
                staged.push((tmp.clone(), dest.clone()));
                let mut w = HashingWriter {
                    inner: BufWriter::with_capacity(256 * 1024, out),
                    hasher: blake3::Hasher::new(),
                    written: 0,
                };
                io::copy(&mut limited, &mut w).map_err(|e| corrupt(format!("{}: {e}", f.name)))?;
                w.flush().map_err(|e| StoreError::io("write", &tmp, e))?;
                Digest(*w.hasher.finalize().as_bytes())
            };
            if f.text {
                staged.push((tmp.clone(), dest.clone()));
            }
            let mut got_len = std::fs::metadata(&tmp).map_or(0, |m| m.len());
            if f.text {
                got_len = f.len;
            }
            if got_len != f.len {
                return Err(corrupt(format!("{} is truncated", f.name)));
            }
            if digest.to_hex() != f.digest {
                return Err(corrupt(format!("{} does not match its digest", f.name)));
            }
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(f.mode & 0o777))
                .map_err(|e| StoreError::io("set mode of", &tmp, e))?;
            files.push((f.name.clone(), dest, (!f.text).then_some(digest)));
        }
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
        Ok(files)
    })();
    // A device, FIFO or directory where an output goes (`-o /dev/null`) is
    // left alone: renaming over it would replace it.
    let result = result.and_then(|files| match staged.iter().find(|(_, d)| special(d)) {
        Some((_, d)) => Err(StoreError::io(
            "restore over",
            d,
            io::Error::other("not a regular file; left as it is"),
        )),
        None => Ok(files),
    });
    match result {
        Ok(files) => {
            for (tmp, dest) in &staged {
                std::fs::rename(tmp, dest)
                    .map_err(|e| StoreError::io("move into place", dest, e))?;
            }
            Ok(Restored {
                stdout,
                stderr,
                files,
                bytes: r.read + 32,
                compile_ms: header.compile_ms,
            })
        }
        Err(e) => {
            for (tmp, _) in &staged {
                let _ = std::fs::remove_file(tmp);
            }
            Err(e)
        }
    }
}

fn write_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = create_fresh(path)?;
    f.write_all(bytes)
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
