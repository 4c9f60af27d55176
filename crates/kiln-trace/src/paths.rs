//! Path helpers for trace records: lexical normalization and finding a
//! program on a `PATH` value.

use std::ffi::OsStr;
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

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
