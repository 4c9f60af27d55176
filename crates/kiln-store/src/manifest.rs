//! Manifests: what earlier compiles of an invocation read.
//!
//! The invocation key covers the compiler, the normalized arguments and the
//! extern crates. The files and environment variables a compile reads are
//! only known after it ran (rustc's dep-info and the observed reads). The
//! manifest for an invocation key keeps the input lists of its most recent
//! compiles; a later call checks each list against the current files and, on
//! a match, derives the entry key without running the compiler.

use std::path::{Path, PathBuf};

use kiln_key::Digest;
use serde::{Deserialize, Serialize};

use crate::StoreError;

/// Version of the manifest format.
pub const MANIFEST_VERSION: u32 = 2;
/// How many input lists a manifest keeps (newest first).
pub const MAX_CANDIDATES: usize = 8;

/// The inputs one compile read, with paths normalized.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inputs {
    /// Files read: normalized path and content digest (hex).
    pub files: Vec<(String, String)>,
    /// Files looked for and not found.
    #[serde(default)]
    pub absent: Vec<String>,
    /// Environment variables read: name and digest of the value (hex), or
    /// `None` when unset.
    pub env: Vec<(String, Option<String>)>,
    /// Paths found present by a probe (their content was not read), and a
    /// digest of what the probe saw (kind, size, executable bits; content
    /// inside a git work tree).
    #[serde(default)]
    pub present: Vec<(String, String)>,
    /// Directories listed: path and digest of the sorted entry names.
    #[serde(default)]
    pub listings: Vec<(String, String)>,
}

/// One earlier compile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    /// What it read.
    pub inputs: Inputs,
    /// The entry key it was stored under.
    pub key: String,
}

/// The manifest of one invocation key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`MANIFEST_VERSION`].
    pub version: u32,
    /// Newest first.
    pub candidates: Vec<Candidate>,
}

/// Where the manifest of `key` is kept below `dir`.
pub fn path_for(dir: &Path, key: &Digest) -> PathBuf {
    let hex = key.to_hex();
    dir.join(&hex[..2]).join(format!("{hex}.json"))
}

/// Reads the manifest for `key`; a missing or unreadable one is empty
/// (a damaged manifest costs a compile, never a wrong hit).
pub fn load(dir: &Path, key: &Digest) -> Manifest {
    std::fs::read(path_for(dir, key))
        .ok()
        .and_then(|b| serde_json::from_slice::<Manifest>(&b).ok())
        .filter(|m| m.version == MANIFEST_VERSION)
        .unwrap_or_default()
}

/// Adds `candidate` as the newest list of `key`'s manifest.
pub fn add(dir: &Path, key: &Digest, candidate: Candidate) -> Result<(), StoreError> {
    let mut m = load(dir, key);
    m.version = MANIFEST_VERSION;
    m.candidates.retain(|c| c.inputs != candidate.inputs);
    m.candidates.insert(0, candidate);
    m.candidates.truncate(MAX_CANDIDATES);
    save(dir, key, &m)
}

/// Merges two manifests of one key: `first`'s lists, then those of `second`
/// that `first` lacks, bounded to [`MAX_CANDIDATES`].
pub fn merge(first: &Manifest, second: &Manifest) -> Manifest {
    let mut candidates = first.candidates.clone();
    for c in &second.candidates {
        if !candidates.iter().any(|d| d.inputs == c.inputs) {
            candidates.push(c.clone());
        }
    }
    candidates.truncate(MAX_CANDIDATES);
    Manifest {
        version: MANIFEST_VERSION,
        candidates,
    }
}

/// Parses a manifest (e.g. one fetched from a remote store).
pub fn parse(bytes: &[u8]) -> Option<Manifest> {
    serde_json::from_slice::<Manifest>(bytes)
        .ok()
        .filter(|m| m.version == MANIFEST_VERSION)
}

/// Writes `m` as the manifest of `key`, atomically.
pub fn save(dir: &Path, key: &Digest, m: &Manifest) -> Result<(), StoreError> {
    let path = path_for(dir, key);
    let parent = path.parent().unwrap_or(dir);
    std::fs::create_dir_all(parent).map_err(|e| StoreError::io("create", parent, e))?;
    // Unique per process and call: threads of one process (the build agent)
    // may save the same manifest at once.
    static SAVES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = SAVES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = parent.join(format!(".{}.{n}.{}", std::process::id(), key.to_hex()));
    let json = serde_json::to_vec(m)
        .map_err(|e| StoreError::io("encode", &path, std::io::Error::other(e)))?;
    std::fs::write(&tmp, json).map_err(|e| StoreError::io("write", &tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| StoreError::io("write", &path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_first_and_bounded() {
        let d = tempfile::tempdir().unwrap();
        let k = Digest([1; 32]);
        assert!(load(d.path(), &k).candidates.is_empty());
        for i in 0..10 {
            let inputs = Inputs {
                files: vec![("f".into(), format!("{i}"))],
                ..Inputs::default()
            };
            add(
                d.path(),
                &k,
                Candidate {
                    inputs,
                    key: format!("k{i}"),
                },
            )
            .unwrap();
        }
        let m = load(d.path(), &k);
        assert_eq!(m.candidates.len(), MAX_CANDIDATES);
        assert_eq!(m.candidates[0].key, "k9");
    }

    #[test]
    fn damaged_manifest_is_empty() {
        let d = tempfile::tempdir().unwrap();
        let k = Digest([2; 32]);
        let p = path_for(d.path(), &k);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, b"{not json").unwrap();
        assert!(load(d.path(), &k).candidates.is_empty());
    }
}
