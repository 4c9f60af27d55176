//! Content hashes of files, remembered by metadata.
//!
//! Hashing every rlib and system library a link reads on every call would cost
//! more than a hit should. Files of at least [`MIN_REMEMBERED`] bytes get a
//! small record under the hash directory: the content digest plus the
//! metadata it was computed for (device, inode, size, mtime, ctime). A record
//! is trusted only when all of these still match and, for files kiln did not
//! write itself, the file's last change is older than the record by at least
//! [`RACY_WINDOW_NS`] (a change in the same clock tick as the hash could
//! otherwise go unseen, as git's "racy clean" problem describes).

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::Digest;

/// Smaller files are always hashed: reading them costs what reading a record would.
pub const MIN_REMEMBERED: u64 = 64 * 1024;
/// A file changed this recently before its record was made is rehashed.
pub const RACY_WINDOW_NS: i128 = 2_000_000_000;

const RECORD_LEN: usize = 32 + 8 * 8 + 1;

/// Hashes file contents, remembering large ones under a directory.
#[derive(Debug, Clone)]
pub struct FileHasher {
    dir: Option<PathBuf>,
}

#[derive(Debug, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: i128,
    ctime: i128,
}

impl Stamp {
    fn of(md: &std::fs::Metadata) -> Self {
        Self {
            dev: md.dev(),
            ino: md.ino(),
            size: md.size(),
            mtime: i128::from(md.mtime()) * 1_000_000_000 + i128::from(md.mtime_nsec()),
            ctime: i128::from(md.ctime()) * 1_000_000_000 + i128::from(md.ctime_nsec()),
        }
    }
}

fn now_ns() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX))
}

impl FileHasher {
    /// A hasher remembering digests under `dir` (`None`: never remember).
    pub fn new(dir: Option<PathBuf>) -> Self {
        Self { dir }
    }

    fn slot(&self, path: &Path) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        let name = Digest::of(path.as_os_str().as_encoded_bytes()).to_hex();
        Some(dir.join(&name[..2]).join(&name[2..32]))
    }

    /// The digest of `path`'s content.
    pub fn hash(&self, path: &Path) -> io::Result<Digest> {
        // Only regular files are inputs. A path from a manifest (possibly
        // fetched from a shared store) naming a FIFO or a device must not
        // block: opened without waiting for a writer (no effect on regular
        // files), then refused before anything is read.
        let mut file = {
            use std::os::unix::fs::OpenOptionsExt;
            File::options()
                .read(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(path)?
        };
        let md = file.metadata()?;
        if !md.is_file() {
            return Err(not_regular(&md));
        }
        let stamp = Stamp::of(&md);
        let slot = if md.size() >= MIN_REMEMBERED {
            self.slot(path)
        } else {
            None
        };
        if let Some(slot) = &slot
            && let Some(d) = read_record(slot, &stamp)
        {
            return Ok(d);
        }
        let digest = hash_reader(&mut file)?;
        if let Some(slot) = &slot {
            write_record(slot, &stamp, digest, false);
        }
        Ok(digest)
    }

    /// Remembers `digest` for `path`, a file kiln has just written with that
    /// content (trusted without the racy window).
    pub fn remember(&self, path: &Path, digest: Digest) {
        let Ok(md) = std::fs::metadata(path) else {
            return;
        };
        if md.size() < MIN_REMEMBERED {
            return;
        }
        if let Some(slot) = self.slot(path) {
            write_record(&slot, &Stamp::of(&md), digest, true);
        }
    }
}

fn not_regular(md: &std::fs::Metadata) -> io::Error {
    if md.is_dir() {
        io::Error::new(io::ErrorKind::IsADirectory, "is a directory")
    } else {
        io::Error::new(io::ErrorKind::InvalidInput, "is not a regular file")
    }
}

/// Digest of everything `r` yields.
pub fn hash_reader(r: &mut impl Read) -> io::Result<Digest> {
    let mut h = blake3::Hasher::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        h.update(&buf[..n]);
    }
    Ok(Digest(*h.finalize().as_bytes()))
}

fn read_record(slot: &Path, stamp: &Stamp) -> Option<Digest> {
    let bytes = std::fs::read(slot).ok()?;
    if bytes.len() != RECORD_LEN {
        return None;
    }
    let mut digest = [0u8; 32];
    digest.copy_from_slice(&bytes[..32]);
    let word = |i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&bytes[32 + i * 8..40 + i * 8]);
        w
    };
    let stored = Stamp {
        dev: u64::from_le_bytes(word(0)),
        ino: u64::from_le_bytes(word(1)),
        size: u64::from_le_bytes(word(2)),
        mtime: i128::from(i64::from_le_bytes(word(3))) * 1_000_000_000
            + i128::from(i64::from_le_bytes(word(4))),
        ctime: i128::from(i64::from_le_bytes(word(5))) * 1_000_000_000
            + i128::from(i64::from_le_bytes(word(6))),
    };
    let recorded = i128::from(i64::from_le_bytes(word(7)));
    let trusted = bytes[RECORD_LEN - 1] == 1;
    if &stored != stamp {
        return None;
    }
    if !trusted && stamp.ctime.max(stamp.mtime) + RACY_WINDOW_NS > recorded {
        return None;
    }
    Some(Digest(digest))
}

fn write_record(slot: &Path, stamp: &Stamp, digest: Digest, trusted: bool) {
    let mut bytes = Vec::with_capacity(RECORD_LEN);
    bytes.extend_from_slice(&digest.0);
    let split = |t: i128| {
        (
            i64::try_from(t.div_euclid(1_000_000_000)).unwrap_or(0),
            i64::try_from(t.rem_euclid(1_000_000_000)).unwrap_or(0),
        )
    };
    let (ms, mn) = split(stamp.mtime);
    let (cs, cn) = split(stamp.ctime);
    bytes.extend_from_slice(&stamp.dev.to_le_bytes());
    bytes.extend_from_slice(&stamp.ino.to_le_bytes());
    bytes.extend_from_slice(&stamp.size.to_le_bytes());
    for v in [ms, mn, cs, cn] {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    let recorded = i64::try_from(now_ns()).unwrap_or(i64::MAX);
    bytes.extend_from_slice(&recorded.to_le_bytes());
    bytes.push(u8::from(trusted));
    let Some(parent) = slot.parent() else { return };
    if std::fs::create_dir_all(parent).is_err() {
        return;
    }
    let tmp = parent.join(format!(".tmp-{}-{}", std::process::id(), now_ns()));
    if std::fs::write(&tmp, &bytes).is_ok() && std::fs::rename(&tmp, slot).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_are_hashed() {
        let d = tempfile::tempdir().unwrap();
        let h = FileHasher::new(None);
        let fifo = d.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        // Neither blocks: a FIFO without a writer, a device that never ends.
        assert_eq!(
            h.hash(&fifo).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(
            h.hash(Path::new("/dev/zero")).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(
            h.hash(d.path()).unwrap_err().kind(),
            io::ErrorKind::IsADirectory
        );
    }

    #[test]
    fn content_decides_not_metadata() {
        let d = tempfile::tempdir().unwrap();
        let h = FileHasher::new(Some(d.path().join("h")));
        let f = d.path().join("big");
        std::fs::write(&f, vec![1u8; 100_000]).unwrap();
        let a = h.hash(&f).unwrap();
        assert_eq!(h.hash(&f).unwrap(), a);
        let mut v = vec![1u8; 100_000];
        v[5] = 2;
        std::fs::write(&f, &v).unwrap();
        assert_ne!(h.hash(&f).unwrap(), a, "same size, new content must rehash");
    }

    #[test]
    fn remembered_digest_is_used_until_the_file_changes() {
        let d = tempfile::tempdir().unwrap();
        let h = FileHasher::new(Some(d.path().join("h")));
        let f = d.path().join("big");
        std::fs::write(&f, vec![7u8; 70_000]).unwrap();
        let fake = Digest([9; 32]);
        h.remember(&f, fake);
        assert_eq!(
            h.hash(&f).unwrap(),
            fake,
            "kiln-written files are trusted by metadata"
        );
        std::fs::write(&f, vec![8u8; 70_001]).unwrap();
        assert_ne!(h.hash(&f).unwrap(), fake);
    }

    #[test]
    fn racy_files_are_rehashed() {
        let d = tempfile::tempdir().unwrap();
        let h = FileHasher::new(Some(d.path().join("h")));
        let f = d.path().join("big");
        std::fs::write(&f, vec![7u8; 70_000]).unwrap();
        let real = h.hash(&f).unwrap();
        // A record written right after a change is not trusted: overwrite it with
        // a wrong digest (untrusted) and check that the content is hashed again.
        let slot = h.slot(&f).unwrap();
        let md = std::fs::metadata(&f).unwrap();
        write_record(&slot, &Stamp::of(&md), Digest([1; 32]), false);
        assert_eq!(h.hash(&f).unwrap(), real);
    }
}
