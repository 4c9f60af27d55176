//! A run's `OUT_DIR` in and out of an entry.
//!
//! Stored: the whole tree as one entry file ([`kiln_store::tree`]), text
//! files with local roots replaced by placeholders when the package comes
//! from `CARGO_HOME`. Restored: the tree is unpacked beside `OUT_DIR` and
//! swapped in, so `OUT_DIR` holds exactly what the cached run left, and
//! nothing of what was there before, or stays as it was when anything fails.

use std::path::{Path, PathBuf};

use kiln_key::Digest;

use crate::paths::TextRule;
use kiln_store::StoreError;
use kiln_store::entry::{self, Restored};
use kiln_store::tree::{self, TreeError};

/// Name of the tree file inside an entry.
pub const TREE_FILE: &str = "out-dir.tree";

/// A scratch directory beside `out_dir`, removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    /// Creates one.
    pub fn new(out_dir: &Path, what: &str) -> std::io::Result<Self> {
        let name = format!(
            ".kiln-{what}-{}-{}",
            std::process::id(),
            crate::lookup::nanos()
        );
        let dir = out_dir.with_file_name(name);
        std::fs::create_dir(&dir)?;
        Ok(Self(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Packs `out_dir` into `dest`.
pub fn pack(out_dir: &Path, dest: &Path, rule: &TextRule<'_>) -> Result<(), TreeError> {
    tree::pack(out_dir, dest, &|b| rule.to_store(b)).map(|_| ())
}

/// Restores the entry read from `reader` into `out_dir`.
pub fn restore(
    key: &Digest,
    reader: crate::lookup::Entry,
    out_dir: &Path,
    rule: &TextRule<'_>,
) -> Result<Restored, StoreError> {
    let corrupt = |detail: String| StoreError::Corrupt {
        key: key.to_hex(),
        detail,
    };
    let scratch =
        Scratch::new(out_dir, "restore").map_err(|e| StoreError::io("create", out_dir, e))?;
    let files = scratch.0.join("files");
    std::fs::create_dir(&files).map_err(|e| StoreError::io("create", &files, e))?;
    let restored = entry::restore(key, reader, &files, &|b| b.to_vec())?;
    if restored.files.len() != 1 || restored.files[0].0 != TREE_FILE {
        return Err(corrupt("not a build-script entry".into()));
    }
    let fresh = scratch.0.join("out");
    let tree_file = &restored.files[0].1;
    let opened =
        std::fs::File::open(tree_file).map_err(|e| StoreError::io("open", tree_file, e))?;
    tree::unpack(opened, &fresh, &|b| rule.to_local(b)).map_err(|e| match e {
        TreeError::Malformed(m) => corrupt(m),
        other => StoreError::io("unpack", out_dir, std::io::Error::other(other.to_string())),
    })?;
    swap_in(&fresh, out_dir, &scratch.0.join("old"))?;
    Ok(restored)
}

/// Puts `fresh` where `out_dir` is, keeping the old one at `old` until the
/// new one is in place.
fn swap_in(fresh: &Path, out_dir: &Path, old: &Path) -> Result<(), StoreError> {
    let had_old = match std::fs::rename(out_dir, old) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(StoreError::io("replace", out_dir, e)),
    };
    if let Err(e) = std::fs::rename(fresh, out_dir) {
        if had_old {
            let _ = std::fs::rename(old, out_dir);
        }
        return Err(StoreError::io("replace", out_dir, e));
    }
    Ok(())
}
