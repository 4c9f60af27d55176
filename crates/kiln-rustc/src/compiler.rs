//! The identity of the compiler, computed once per compiler binary.
//!
//! A compiler is identified by its `-vV` output (version, commit, host, LLVM)
//! and the content of its sysroot's `lib/` (the standard library and
//! codegen backends; see [`crate::sysroot`]). For clippy's driver the
//! driver's version and binary are added. The result is cached in
//! `<dir>/compilers/` keyed by the binary's path and metadata, and trusted
//! while the metadata of every file under the sysroot's `lib/` is what it
//! was: the common call costs a few dozen `stat`s and one small file read.

pub use crate::error::CompilerError;
use std::ffi::OsStr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

/// Who compiles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompilerIdentity {
    /// Hex digest over everything below: the compiler's part of every key.
    pub digest: String,
    /// `rustc 1.95.0 (59807616e 2026-04-14)`.
    pub version: String,
    /// `release:` line of `-vV`.
    pub release: String,
    /// `host:` line of `-vV`.
    pub host: String,
    /// The sysroot.
    pub sysroot: PathBuf,
    /// [`crate::sysroot::signature`] when this identity was computed (empty:
    /// files were changing then, so it is computed again next time).
    #[serde(default)]
    pub sysroot_signature: String,
    /// clippy-driver's version line, for clippy runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clippy: Option<String>,
}

/// Identifies `rustc` (and `clippy`, for clippy runs), using and filling the
/// cache under `cache_dir`. `toolchain` is `RUSTUP_TOOLCHAIN`, which changes
/// what a rustup proxy runs.
pub fn identify(
    cache_dir: &Path,
    rustc: &Path,
    clippy: Option<&Path>,
    toolchain: Option<&OsStr>,
) -> Result<CompilerIdentity, CompilerError> {
    let mut h = blake3::Hasher::new();
    h.update(b"kiln-compiler-cache-v3\0");
    stat_into(&mut h, rustc)?;
    if let Some(c) = clippy {
        stat_into(&mut h, c)?;
    }
    if let Some(t) = toolchain {
        h.update(t.as_encoded_bytes());
    }
    // A rustup proxy runs whichever toolchain the environment and directory
    // select: never remember its identity by the proxy's own metadata.
    let proxy =
        std::fs::canonicalize(rustc).is_ok_and(|p| p.file_stem().is_some_and(|n| n == "rustup"));
    if proxy {
        return compute(cache_dir, rustc, clippy);
    }
    let slot = cache_dir
        .join("compilers")
        .join(format!("{}.json", &h.finalize().to_hex()[..32]));
    if let Some(id) = remembered(&slot) {
        return Ok(id);
    }
    // Calls that start together wait for the first to compute it.
    let _computing = computing(&slot);
    if let Some(id) = remembered(&slot) {
        return Ok(id);
    }
    let id = compute(cache_dir, rustc, clippy)?;
    if !id.sysroot_signature.is_empty() {
        remember(&slot, &id);
    }
    Ok(id)
}

/// The identity remembered in `slot`, while its sysroot is unchanged.
fn remembered(slot: &Path) -> Option<CompilerIdentity> {
    let text = std::fs::read(slot).ok()?;
    let id = serde_json::from_slice::<CompilerIdentity>(unseal(&text)?).ok()?;
    let unchanged = !id.sysroot_signature.is_empty()
        && crate::sysroot::signature(&id.sysroot).ok().as_ref() == Some(&id.sysroot_signature);
    unchanged.then_some(id)
}

/// How long a call waits for another computing the same identity.
const COMPUTING_BOUND: std::time::Duration = std::time::Duration::from_secs(30);

/// The right to compute the identity of `slot`, held until dropped; after
/// [`COMPUTING_BOUND`], or when locks fail, the call computes it anyway.
fn computing(slot: &Path) -> Option<std::fs::File> {
    let parent = slot.parent()?;
    std::fs::create_dir_all(parent).ok()?;
    let lock = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(slot.with_extension("lock"))
        .ok()?;
    let deadline = std::time::Instant::now() + COMPUTING_BOUND;
    loop {
        match lock.try_lock() {
            Ok(()) => return Some(lock),
            Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(_) => return None,
        }
    }
}

/// Writes `id` to `slot`, best effort: a new file (never one a link put
/// there), renamed into place; a full disk leaves no empty file behind.
fn remember(slot: &Path, id: &CompilerIdentity) {
    let Some(parent) = slot.parent() else { return };
    let _ = std::fs::create_dir_all(parent);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let tmp = parent.join(format!(".tmp-{}-{nanos}", std::process::id()));
    let Ok(json) = serde_json::to_vec(id) else {
        return;
    };
    let written = std::fs::File::options()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .and_then(|mut f| std::io::Write::write_all(&mut f, &seal(json)));
    match written {
        Ok(()) => {
            let _ = std::fs::rename(&tmp, slot);
        }
        Err(_) => {
            let _ = std::fs::remove_file(&tmp);
        }
    }
}

/// A remembered identity: its JSON, a newline and the BLAKE3 of the JSON,
/// so that a damaged file is computed again, never believed.
fn seal(mut json: Vec<u8>) -> Vec<u8> {
    let check = blake3::hash(&json).to_hex();
    json.push(b'\n');
    json.extend_from_slice(check.as_bytes());
    json
}

/// The JSON of a sealed identity whose check holds.
fn unseal(text: &[u8]) -> Option<&[u8]> {
    let at = text.iter().rposition(|b| *b == b'\n')?;
    let (json, check) = (&text[..at], &text[at + 1..]);
    (blake3::hash(json).to_hex().as_bytes() == check).then_some(json)
}

fn stat_into(h: &mut blake3::Hasher, path: &Path) -> Result<(), CompilerError> {
    let md = std::fs::metadata(path).or_else(|_| which(path).and_then(std::fs::metadata));
    h.update(path.as_os_str().as_encoded_bytes());
    h.update(b"\0");
    if let Ok(md) = md {
        for v in [md.size(), md.ino(), md.dev()] {
            h.update(&v.to_le_bytes());
        }
        h.update(&md.mtime().to_le_bytes());
        h.update(&md.mtime_nsec().to_le_bytes());
    }
    Ok(())
}

fn which(name: &Path) -> std::io::Result<PathBuf> {
    if name.components().count() > 1 {
        return Ok(name.to_path_buf());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let p = dir.join(name);
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(std::io::Error::from(std::io::ErrorKind::NotFound))
}

fn run(program: &Path, args: &[&str]) -> Result<String, CompilerError> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|source| CompilerError::Spawn {
            program: program.display().to_string(),
            source,
        })?;
    if !out.status.success() {
        return Err(CompilerError::Output {
            program: program.display().to_string(),
            args: args.join(" "),
            detail: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn compute(
    cache_dir: &Path,
    rustc: &Path,
    clippy: Option<&Path>,
) -> Result<CompilerIdentity, CompilerError> {
    let vv = run(rustc, &["-vV"])?;
    let field = |name: &str| {
        vv.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    };
    let version = vv.lines().next().unwrap_or_default().trim().to_owned();
    let sysroot = PathBuf::from(run(rustc, &["--print", "sysroot"])?.trim());
    let mut h = blake3::Hasher::new();
    h.update(b"kiln-compiler-v2\0");
    h.update(vv.as_bytes());
    let lib = crate::sysroot::fingerprint(cache_dir, &sysroot)?;
    h.update(lib.digest.as_bytes());
    let clippy_version = match clippy {
        Some(c) => {
            let v = run(c, &["--version"])?;
            h.update(b"clippy\0");
            h.update(v.as_bytes());
            let md = std::fs::metadata(c).map_err(|source| CompilerError::Io {
                path: c.to_path_buf(),
                source,
            })?;
            h.update(&md.size().to_le_bytes());
            h.update(&md.mtime().to_le_bytes());
            Some(v.trim().to_owned())
        }
        None => None,
    };
    Ok(CompilerIdentity {
        digest: h.finalize().to_hex().to_string(),
        version,
        release: field("release:"),
        host: field("host:"),
        sysroot,
        sysroot_signature: if lib.settled {
            lib.signature
        } else {
            String::new()
        },
        clippy: clippy_version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn real_rustc() -> PathBuf {
        let out = Command::new("rustc")
            .args(["--print", "sysroot"])
            .output()
            .unwrap();
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim()).join("bin/rustc")
    }

    #[test]
    fn identity_is_cached_per_binary_and_stable() {
        let d = tempfile::tempdir().unwrap();
        let rustc = real_rustc();
        let a = identify(d.path(), &rustc, None, None).unwrap();
        assert!(a.version.starts_with("rustc "), "{a:?}");
        assert!(a.sysroot.is_dir());
        let slots: Vec<_> = std::fs::read_dir(d.path().join("compilers"))
            .unwrap()
            .flatten()
            .filter(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                !name.starts_with("sysroot-") && !name.ends_with(".lock")
            })
            .collect();
        assert_eq!(slots.len(), 1);
        assert_eq!(identify(d.path(), &rustc, None, None).unwrap(), a);
        // A remembered identity whose digest was changed is not believed.
        let slot = slots[0].path();
        let text = std::fs::read_to_string(&slot).unwrap();
        std::fs::write(
            &slot,
            text.replacen(&a.digest, &"0".repeat(a.digest.len()), 1),
        )
        .unwrap();
        assert_eq!(identify(d.path(), &rustc, None, None).unwrap(), a);
        assert!(std::fs::read_to_string(&slot).unwrap().contains(&a.digest));
        // A different store computes the same identity from scratch.
        let e = tempfile::tempdir().unwrap();
        assert_eq!(
            identify(e.path(), &rustc, None, None).unwrap().digest,
            a.digest
        );
    }

    #[test]
    fn clippy_changes_the_identity() {
        let d = tempfile::tempdir().unwrap();
        let rustc = real_rustc();
        let driver = rustc.with_file_name("clippy-driver");
        if !driver.is_file() {
            return;
        }
        let plain = identify(d.path(), &rustc, None, None).unwrap();
        let clippy = identify(d.path(), &rustc, Some(&driver), None).unwrap();
        assert_ne!(plain.digest, clippy.digest);
        assert!(clippy.clippy.is_some());
    }

    #[test]
    fn missing_compiler_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        assert!(identify(d.path(), Path::new("/nonexistent/rustc"), None, None).is_err());
    }
}
