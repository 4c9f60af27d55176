//! The sysroot's part of a compiler's identity: every file under
//! `lib/rustlib/` (the standard library for each target, codegen backends,
//! the bundled linker) and the compiler's own libraries in `lib/` (see
//! [`covers`]), by path relative to the sysroot and content.
//!
//! Hashing half a gigabyte on every call is not an option, so each file's
//! digest is remembered with its metadata (device, inode, size, modification
//! and change times) in `<cache>/compilers/sysroot-<path digest>.json`, the
//! way input files are: a file whose metadata is unchanged keeps its digest.
//! A file changed within [`RACY`] of being hashed is hashed again next time
//! (its times may not tell a second write from the first). The
//! [`signature`] of the metadata alone tells a cached identity whether
//! anything under `lib/` changed since it was computed: a file edited in
//! place to the same size, added or removed.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::error::CompilerError;

/// How recent a change may be for its digest to be remembered.
pub const RACY: Duration = Duration::from_secs(2);

/// Metadata of one file, as compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Stat {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

impl Stat {
    fn of(md: &std::fs::Metadata) -> Self {
        Self {
            dev: md.dev(),
            ino: md.ino(),
            size: md.size(),
            mtime_ns: i128::from(md.mtime()) * 1_000_000_000 + i128::from(md.mtime_nsec()),
            ctime_ns: i128::from(md.ctime()) * 1_000_000_000 + i128::from(md.ctime_nsec()),
        }
    }

    fn racy(&self, now_ns: i128) -> bool {
        let racy = i128::try_from(RACY.as_nanos()).unwrap_or(i128::MAX);
        self.mtime_ns.max(self.ctime_ns) >= now_ns - racy
    }
}

/// Remembered digests: relative path → metadata and content digest.
type Remembered = BTreeMap<String, (Stat, String)>;

/// Files directly in `lib/` that are the compiler's own (a distribution's
/// rustc shares `/usr/lib` with everything else).
const OWN_LIBRARIES: &[&str] = &[
    "librustc",
    "libstd-",
    "libtest-",
    "libLLVM",
    "libproc_macro",
];

/// Whether `path` is one of the sysroot files the compiler identity covers:
/// anything under `lib/rustlib/`, and the compiler's own libraries in
/// `lib/`.
pub fn covers(sysroot: &Path, path: &Path) -> bool {
    let lib = sysroot.join("lib");
    path.starts_with(lib.join("rustlib"))
        || (path.parent() == Some(lib.as_path())
            && path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| OWN_LIBRARIES.iter().any(|p| n.starts_with(p))))
}

/// Every file the identity covers, relative path and metadata, sorted.
/// Directories that cannot be read are left out (nor can the compiler read
/// them).
fn files(sysroot: &Path) -> Result<Vec<(String, PathBuf, Stat)>, CompilerError> {
    let lib = sysroot.join("lib");
    let top = std::fs::read_dir(&lib).map_err(|source| CompilerError::Io {
        path: lib.clone(),
        source,
    })?;
    let mut stack = vec![lib.join("rustlib")];
    let mut rows = Vec::new();
    for e in top.flatten() {
        let p = e.path();
        if covers(sysroot, &p)
            && let Ok(md) = std::fs::metadata(&p)
            && md.is_file()
        {
            rows.push((relative(sysroot, &p), p, Stat::of(&md)));
        }
    }
    // Directories are entered through links too (a toolchain assembled
    // from links), each once.
    let mut seen = std::collections::HashSet::new();
    while let Some(d) = stack.pop() {
        let Ok(md) = std::fs::metadata(&d) else {
            continue;
        };
        if !seen.insert((md.dev(), md.ino())) {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let Ok(md) = std::fs::metadata(&p).or_else(|_| std::fs::symlink_metadata(&p)) else {
                continue;
            };
            if md.is_dir() {
                stack.push(p);
                continue;
            }
            rows.push((relative(sysroot, &p), p, Stat::of(&md)));
        }
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(rows)
}

fn relative(sysroot: &Path, p: &Path) -> String {
    p.strip_prefix(sysroot)
        .unwrap_or(p)
        .to_string_lossy()
        .into_owned()
}

/// Digest of the metadata of every file under `sysroot/lib`: changes when
/// any file is added, removed or written.
pub fn signature(sysroot: &Path) -> Result<String, CompilerError> {
    let mut h = blake3::Hasher::new();
    h.update(b"kiln-sysroot-signature-v1\0");
    for (rel, _, st) in files(sysroot)? {
        h.update(rel.as_bytes());
        h.update(b"\0");
        for v in [st.dev, st.ino, st.size] {
            h.update(&v.to_le_bytes());
        }
        h.update(&st.mtime_ns.to_le_bytes());
        h.update(&st.ctime_ns.to_le_bytes());
    }
    Ok(h.finalize().to_hex().to_string())
}

/// What [`fingerprint`] found.
pub struct Fingerprint {
    /// Digest of every file's relative path and content.
    pub digest: String,
    /// [`signature`] at the time: valid only when `settled`.
    pub signature: String,
    /// No file changed within [`RACY`] of now: the fingerprint may be
    /// remembered by its signature.
    pub settled: bool,
}

/// The content fingerprint of `sysroot/lib`, reusing and refreshing the
/// digests remembered under `cache_dir`.
pub fn fingerprint(cache_dir: &Path, sysroot: &Path) -> Result<Fingerprint, CompilerError> {
    let slot = remembered_path(cache_dir, sysroot);
    let old: Remembered = std::fs::read(&slot)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let now_ns = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i128::try_from(d.as_nanos()).unwrap_or(0));
    let mut h = blake3::Hasher::new();
    h.update(b"kiln-sysroot-v2\0");
    let mut new = Remembered::new();
    let mut settled = true;
    for (rel, path, st) in files(sysroot)? {
        let digest = match old.get(&rel) {
            Some((seen, d)) if *seen == st && !st.racy(now_ns) => d.clone(),
            // What cannot be read (a dangling link) counts by its name.
            _ => hash_file(&path).unwrap_or_else(|_| "unreadable".to_owned()),
        };
        h.update(rel.as_bytes());
        h.update(b"\0");
        h.update(digest.as_bytes());
        if st.racy(now_ns) {
            settled = false;
        } else {
            new.insert(rel, (st, digest));
        }
    }
    if new != old
        && let (Some(parent), Ok(json)) = (slot.parent(), serde_json::to_vec(&new))
    {
        let _ = std::fs::create_dir_all(parent);
        let tmp = parent.join(format!(".tmp-sysroot-{}", std::process::id()));
        if std::fs::write(&tmp, json).is_ok() {
            let _ = std::fs::rename(&tmp, &slot);
        }
    }
    Ok(Fingerprint {
        digest: h.finalize().to_hex().to_string(),
        signature: signature(sysroot)?,
        settled,
    })
}

fn remembered_path(cache_dir: &Path, sysroot: &Path) -> PathBuf {
    let name = blake3::hash(sysroot.as_os_str().as_encoded_bytes()).to_hex();
    cache_dir
        .join("compilers")
        .join(format!("sysroot-{}.json", &name[..32]))
}

fn hash_file(path: &Path) -> Result<String, CompilerError> {
    let io = |source| CompilerError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut h = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().to_hex().to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn sysroot() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("lib/rustlib/x/lib")).unwrap();
        std::fs::write(d.path().join("lib/rustlib/x/lib/libstd.rlib"), "std one").unwrap();
        std::fs::write(d.path().join("lib/librustc_driver.so"), "driver").unwrap();
        d
    }

    #[test]
    fn a_directory_reached_through_a_link_is_fingerprinted_by_content() {
        let s = tempfile::tempdir().unwrap();
        let real = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(real.path().join("lib")).unwrap();
        std::fs::write(real.path().join("lib/libstd.rlib"), "std one").unwrap();
        std::fs::create_dir_all(s.path().join("lib/rustlib")).unwrap();
        std::fs::write(s.path().join("lib/librustc_driver.so"), "driver").unwrap();
        std::os::unix::fs::symlink(real.path(), s.path().join("lib/rustlib/x")).unwrap();
        // A loop back up is entered once.
        std::os::unix::fs::symlink(s.path().join("lib"), real.path().join("up")).unwrap();
        let cache = tempfile::tempdir().unwrap();
        let a = fingerprint(cache.path(), s.path()).unwrap();
        std::fs::write(real.path().join("lib/libstd.rlib"), "std two").unwrap();
        let b = fingerprint(tempfile::tempdir().unwrap().path(), s.path()).unwrap();
        assert_ne!(a.digest, b.digest);
    }

    #[test]
    fn a_shared_lib_dir_counts_only_the_compiler_s_own_files() {
        let s = sysroot();
        let cache = tempfile::tempdir().unwrap();
        let a = fingerprint(cache.path(), s.path()).unwrap();
        std::fs::write(s.path().join("lib/libcurl.so.4"), "not rustc's").unwrap();
        assert_eq!(
            fingerprint(cache.path(), s.path()).unwrap().digest,
            a.digest
        );
        assert!(!covers(s.path(), &s.path().join("lib/libcurl.so.4")));
        assert!(!covers(s.path(), &s.path().join("include/zlib.h")));
        assert!(covers(
            s.path(),
            &s.path().join("lib/rustlib/x/lib/libstd.rlib")
        ));
        assert!(covers(s.path(), &s.path().join("lib/librustc_driver.so")));
    }

    #[test]
    fn a_same_size_edit_changes_the_fingerprint_and_the_signature() {
        let s = sysroot();
        let cache = tempfile::tempdir().unwrap();
        let a = fingerprint(cache.path(), s.path()).unwrap();
        std::fs::write(s.path().join("lib/rustlib/x/lib/libstd.rlib"), "std two").unwrap();
        assert_ne!(signature(s.path()).unwrap(), a.signature);
        let b = fingerprint(cache.path(), s.path()).unwrap();
        assert_ne!(a.digest, b.digest);
        assert!(!b.settled, "just written");
    }

    #[test]
    fn files_added_or_removed_change_it_and_the_location_does_not() {
        let s = sysroot();
        let cache = tempfile::tempdir().unwrap();
        let a = fingerprint(cache.path(), s.path()).unwrap();
        let other = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(other.path().join("lib/rustlib/x/lib")).unwrap();
        std::fs::copy(
            s.path().join("lib/rustlib/x/lib/libstd.rlib"),
            other.path().join("lib/rustlib/x/lib/libstd.rlib"),
        )
        .unwrap();
        std::fs::copy(
            s.path().join("lib/librustc_driver.so"),
            other.path().join("lib/librustc_driver.so"),
        )
        .unwrap();
        assert_eq!(
            fingerprint(cache.path(), other.path()).unwrap().digest,
            a.digest
        );
        std::fs::write(s.path().join("lib/rustlib/x/lib/extra.rlib"), "x").unwrap();
        assert_ne!(
            fingerprint(cache.path(), s.path()).unwrap().digest,
            a.digest
        );
    }
}
