//! What a probe of a path (`stat`, `access`) got back, as it enters a key.
//!
//! A program that stats a file without opening it can still act on what it
//! saw: bake in the size, run it only if it is executable, treat a
//! directory differently from a file. So a probed path is keyed by its
//! kind, its size (files), its executable bits and, for a symbolic link,
//! its target. Inside a git work tree a probed file is keyed by content
//! too: git decides whether a checkout is dirty by comparing what `stat`
//! says with its index, then reading what differs, so a file edited to the
//! same size must still change the key of a build that ran `git describe
//! --dirty`. Other permission bits and times are left out: they differ
//! between checkouts (umask, clone time) without meaning anything.

use std::collections::HashMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use kiln_key::{Digest, FileHasher};

/// Digests of probed paths for one call, remembering which directories
/// lie in a git work tree.
pub(crate) struct Prober<'a> {
    hasher: &'a FileHasher,
    in_git: HashMap<PathBuf, bool>,
    /// Where no work tree is looked for (`CARGO_HOME`: package sources, not
    /// checkouts), whatever lies above it.
    outside: Option<&'a Path>,
}

impl<'a> Prober<'a> {
    pub(crate) fn new(hasher: &'a FileHasher, outside: Option<&'a Path>) -> Self {
        Self {
            hasher,
            in_git: HashMap::new(),
            outside,
        }
    }

    /// The digest of what a probe of `p` sees now.
    pub(crate) fn digest(&mut self, p: &Path) -> String {
        let mut seen = String::new();
        if let Ok(md) = std::fs::symlink_metadata(p)
            && md.file_type().is_symlink()
        {
            let target = std::fs::read_link(p).unwrap_or_default();
            seen.push_str(&format!("link {} -> ", target.display()));
        }
        match std::fs::metadata(p) {
            Err(_) => seen.push_str("missing"),
            Ok(md) if md.is_file() => {
                let exec = md.permissions().mode() & 0o111;
                seen.push_str(&format!("file {} {exec:o}", md.size()));
                if self.in_git_work_tree(p) {
                    let content = self.hasher.hash(p).map(|d| d.to_hex());
                    seen.push_str(&format!(" {}", content.unwrap_or_default()));
                }
            }
            Ok(md) if md.is_dir() => {
                seen.push_str(&format!("dir {:o}", md.permissions().mode() & 0o111));
            }
            Ok(md) => seen.push_str(&format!("other {:o}", md.mode() & 0o170_000)),
        }
        Digest::of(seen.as_bytes()).to_hex()
    }

    /// Whether a directory above `p` holds `.git`.
    fn in_git_work_tree(&mut self, p: &Path) -> bool {
        let Some(dir) = p.parent() else {
            return false;
        };
        if self.outside.is_some_and(|o| dir.starts_with(o)) {
            return false;
        }
        if let Some(known) = self.in_git.get(dir) {
            return *known;
        }
        let found =
            std::fs::symlink_metadata(dir.join(".git")).is_ok() || self.in_git_work_tree(dir);
        self.in_git.insert(dir.to_path_buf(), found);
        found
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn kind_size_and_exec_bits_count_times_and_write_bits_do_not() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("f");
        std::fs::write(&f, "abc").unwrap();
        let hasher = FileHasher::new(None);
        let mut p = Prober::new(&hasher, None);
        let first = p.digest(&f);
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(p.digest(&f), first, "write bits and times");
        std::fs::write(&f, "xyz").unwrap();
        assert_eq!(p.digest(&f), first, "same size, outside a work tree");
        std::fs::write(&f, "abcd").unwrap();
        assert_ne!(p.digest(&f), first, "size");
        let before = p.digest(&f);
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert_ne!(p.digest(&f), before, "executable bit");
        assert_ne!(p.digest(d.path()), p.digest(&f), "kind");
        std::fs::remove_file(&f).unwrap();
        assert_ne!(p.digest(&f), before, "missing");
    }

    #[test]
    fn inside_a_git_work_tree_content_counts() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join(".git")).unwrap();
        std::fs::create_dir_all(d.path().join("src")).unwrap();
        let f = d.path().join("src/lib.rs");
        std::fs::write(&f, "abc").unwrap();
        let hasher = FileHasher::new(None);
        let first = Prober::new(&hasher, None).digest(&f);
        std::fs::write(&f, "xyz").unwrap();
        assert_ne!(Prober::new(&hasher, None).digest(&f), first);
        let home = Prober::new(&hasher, Some(d.path())).digest(&f);
        std::fs::write(&f, "abc").unwrap();
        assert_eq!(
            Prober::new(&hasher, Some(d.path())).digest(&f),
            home,
            "below CARGO_HOME no work tree is looked for"
        );
    }
}
