//! Path helpers for trace records: normalization as the kernel resolves
//! paths, sets of paths built fast, and finding a program on a `PATH`
//! value.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

/// Removes `.` components and resolves `..` the way the kernel does: a `..`
/// after a symbolic link goes up from the link's target, not from the link.
/// Paths without `..` never touch the filesystem. `..` at the root stays at
/// the root.
pub fn normalize_path(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if std::fs::symlink_metadata(&out).is_ok_and(|m| m.file_type().is_symlink())
                    && let Ok(real) = std::fs::canonicalize(&out)
                {
                    out = real;
                }
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

pub(crate) use normalize_path as lexical;

/// The first executable file named `name` in the directories of `path_var`,
/// as the `exec*p` functions would pick it, and the candidates tried before
/// it (a program appearing there later would be picked instead). Relative
/// `PATH` entries are skipped: the traced process's working directory is not
/// known here.
pub fn find_program(name: &OsStr, path_var: Option<&OsStr>) -> (Option<PathBuf>, Vec<PathBuf>) {
    let mut tried = Vec::new();
    let Some(path_var) = path_var else {
        return (None, tried);
    };
    for dir in std::env::split_paths(path_var).filter(|d| d.is_absolute()) {
        let candidate = dir.join(name);
        if std::fs::metadata(&candidate)
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        {
            return (Some(lexical(&candidate)), tried);
        }
        tried.push(lexical(&candidate));
    }
    (None, tried)
}

/// The paths as a set. Comparing paths goes component by component, which
/// costs most of reading a trace of a thousand headers probed in ten
/// include directories: for normalized absolute paths that order is the
/// order of their bytes with `/` taken as the smallest, so they are sorted
/// that way and the set is built from sorted input.
pub fn path_set<'a>(paths: impl Iterator<Item = &'a PathBuf>) -> BTreeSet<PathBuf> {
    let key = |p: &PathBuf| -> Vec<u8> {
        let bytes = p.as_os_str().as_bytes();
        bytes
            .iter()
            .map(|b| if *b == b'/' { 0 } else { *b })
            .collect()
    };
    let mut v: Vec<(Vec<u8>, &PathBuf)> = paths.map(|p| (key(p), p)).collect();
    v.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    v.dedup_by(|a, b| a.0 == b.0);
    v.into_iter().map(|(_, p)| p.clone()).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_path_set_is_the_set_of_its_paths() {
        let paths: Vec<PathBuf> = [
            "/a/b", "/a-b", "/a/b/c", "/a/b-c", "/a", "/a/b", "/", "/a b",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        let set = path_set(paths.iter());
        assert_eq!(set, paths.iter().cloned().collect::<BTreeSet<_>>());
        assert_eq!(set.len(), 7);
    }

    #[test]
    fn lexical_normalization() {
        let cases = [
            ("/a/./b/../c", "/a/c"),
            (
                "/usr/lib/gcc/x86_64-linux-gnu/12/../../../x86_64-linux-gnu/crti.o",
                "/usr/lib/x86_64-linux-gnu/crti.o",
            ),
            ("/a/b/.", "/a/b"),
            ("/..", "/"),
            ("/../../x", "/x"),
            ("//a//b/", "/a/b"),
            ("/a/b/../../..", "/"),
        ];
        for (input, want) in cases {
            assert_eq!(lexical(Path::new(input)), Path::new(want), "{input}");
        }
    }

    #[test]
    fn dot_dot_after_a_symbolic_link_goes_up_from_its_target() {
        let d = tempfile::tempdir().unwrap();
        let real = d.path().join("real/sub");
        std::fs::create_dir_all(&real).unwrap();
        std::os::unix::fs::symlink(&real, d.path().join("link")).unwrap();
        let base = std::fs::canonicalize(d.path()).unwrap();
        assert_eq!(
            normalize_path(&base.join("link/../x.h")),
            base.join("real/x.h"),
            "the kernel opens real/x.h"
        );
        // A directory that is no link goes up lexically.
        assert_eq!(
            normalize_path(&base.join("real/sub/../x.h")),
            base.join("real/x.h")
        );
    }

    #[test]
    fn finds_the_first_executable_on_path() {
        let d = tempfile::tempdir().unwrap();
        let (first, second, third) = (d.path().join("1"), d.path().join("2"), d.path().join("3"));
        for dir in [&first, &second, &third] {
            std::fs::create_dir(dir).unwrap();
        }
        // Not executable: skipped. A directory of that name: skipped.
        std::fs::write(first.join("tool"), "").unwrap();
        std::fs::create_dir(second.join("tool")).unwrap();
        std::fs::write(third.join("tool"), "").unwrap();
        std::fs::set_permissions(third.join("tool"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        let path_var = std::env::join_paths([
            "relative/bin".into(),
            first.clone(),
            second.clone(),
            third.clone(),
        ])
        .unwrap();
        let (found, tried) = find_program(OsStr::new("tool"), Some(&path_var));
        assert_eq!(found, Some(third.join("tool")));
        assert_eq!(
            tried,
            [first.join("tool"), second.join("tool")],
            "a program appearing earlier on PATH would be picked instead"
        );
        assert_eq!(find_program(OsStr::new("other"), Some(&path_var)).0, None);
        assert_eq!(find_program(OsStr::new("tool"), None), (None, vec![]));
    }
}
