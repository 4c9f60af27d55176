//! Programs run by name: keyed by where the name resolves, not by the text
//! of `PATH`.
//!
//! A C compiler run as `cc` is whatever `cc` comes first on the search path
//! of the process that ran it. libc reads that path without a lookup the
//! observer sees, so the trace records it with the name (`S` records). The
//! key holds what the search got back:
//!
//! - the search path is the caller's `PATH`, maybe with directories put in
//!   front of it (rustc puts its own tool directories first for the linker;
//!   a rustup proxy puts `CARGO_HOME/bin` first): every candidate tried in
//!   those directories is keyed as missing, and where the name was not found
//!   in them, the key holds `=which <name>`, the file the name resolves to on
//!   `PATH` (its path, normalized like every path in a key). The program's
//!   content is keyed with every other program run.
//! - anything else (a search path a build script made up, one too long to
//!   record, relative entries): the whole `PATH` text and every candidate.
//!
//! So a runner and a laptop whose `PATH`s differ but find the same `cc` share
//! entries, and a `cc` put in front of the one a run used changes the key.
//!
//! Some programs search `PATH` themselves, probing each directory (git for
//! `git-<helper>`, gcc and collect2 for `as` and `ld`): every name probed or
//! run in a directory of the caller's `PATH` is keyed by where it resolves
//! on `PATH` too ([`probed_on_path`]), so a directory put in front that
//! holds that name changes the key. A run that listed a directory of `PATH`
//! (`git help -a`) may have seen every program there: its `PATH` text stays
//! an input ([`lists_path`]). A `PATH` with an empty or relative entry names
//! directories below some working directory: such a `PATH` keeps its text
//! keyed wherever a program read it, and where it is in effect when a key
//! is checked, `=which` holds its text and the resolution below the
//! action's working directory ([`relative_resolution`]).

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use kiln_trace::{Search, Trace};

/// What the searches of a run depend on: candidates keyed as missing,
/// names keyed (`=which cc`, or `PATH` itself), and candidates that appeared
/// where the run may have found them instead.
#[derive(Debug, Default)]
pub(crate) struct Searched {
    pub absent: BTreeSet<PathBuf>,
    pub env: BTreeSet<String>,
    pub unstable: BTreeSet<PathBuf>,
}

/// The name under which a key holds where a program name resolves on
/// `PATH`: `=which cc`. It holds `=`, so no variable can have it.
pub const WHICH: &str = "=which ";

/// Adds what the searches of a run depend on to `o`. `path_now` is the
/// caller's `PATH` (the one lookups resolve names on); `skip` tells which
/// candidates are keyed elsewhere (inside the compiler's sysroot).
pub(crate) fn observe(
    searches: &[Search],
    path_now: Option<&OsStr>,
    cwd: &Path,
    skip: &dyn Fn(&Path) -> bool,
    o: &mut Searched,
) {
    for s in searches {
        match prefix_of(s, path_now) {
            Some(prefix) => {
                let found_in_prefix = s
                    .found
                    .as_ref()
                    .is_some_and(|f| prefix.iter().any(|d| f.parent() == Some(d.as_path())));
                let missing = s
                    .tried
                    .iter()
                    .filter(|c| c.parent().is_some_and(|d| prefix.iter().any(|p| p == d)));
                o.absent.extend(missing.filter(|c| !skip(c)).cloned());
                if !found_in_prefix {
                    // A name no key line holds exactly: `PATH` itself.
                    o.env.insert(match s.name.to_str() {
                        Some(name) if !name.contains('\t') => format!("{WHICH}{name}"),
                        _ => "PATH".to_owned(),
                    });
                }
            }
            None => {
                o.env.insert("PATH".to_owned());
                o.absent
                    .extend(s.tried.iter().filter(|c| !skip(c)).cloned());
                relative_candidates(s, path_now, cwd, o);
            }
        }
    }
}

/// Keys each name the run probed, found or executed in a directory of the
/// caller's `PATH` by where that name resolves on `PATH` (`=which <name>`).
pub(crate) fn probed_on_path(t: &Trace, path_now: Option<&OsStr>, o: &mut Searched) {
    let dirs = path_dirs(path_now);
    if dirs.is_empty() {
        return;
    }
    let probed = t.present.iter().chain(&t.absent).chain(&t.execs);
    for p in probed.filter(|p| p.parent().is_some_and(|d| dirs.contains(d))) {
        match p.file_name().and_then(|n| n.to_str()) {
            Some(name) if !name.contains(['\n', '\t']) => o.env.insert(format!("{WHICH}{name}")),
            // A name no key line can hold: the whole search path is keyed.
            _ => o.env.insert("PATH".to_owned()),
        };
    }
}

/// Whether the run listed a directory of the caller's `PATH`: what it found
/// there depends on which directories `PATH` names.
pub(crate) fn lists_path(t: &Trace, path_now: Option<&OsStr>) -> bool {
    let dirs = path_dirs(path_now);
    t.listed.iter().any(|l| dirs.contains(l.as_path()))
}

/// The absolute directories of a search path, normalized like the paths of
/// a trace.
fn path_dirs(path: Option<&OsStr>) -> BTreeSet<PathBuf> {
    path.map(|p| {
        std::env::split_paths(p)
            .filter(|d| d.is_absolute())
            .map(|d| kiln_trace::normalize_path(&d))
            .collect()
    })
    .unwrap_or_default()
}

/// Whether `path` is set and names absolute directories only: then where a
/// name resolves on it does not depend on a working directory. An empty or
/// relative entry names a directory below whichever working directory the
/// searching process had.
pub(crate) fn all_entries_absolute(path: Option<&OsStr>) -> bool {
    use std::os::unix::ffi::OsStrExt;
    path.is_some_and(|p| {
        !p.is_empty()
            && p.as_bytes()
                .split(|b| *b == b':')
                .all(|d| d.first() == Some(&b'/'))
    })
}

/// Whether every entry of `path` is absolute and without `..`: then the
/// paths a search probed name each directory the way `PATH` does (a `..`
/// after a symbolic link leaves the link's target, which the trace's
/// lexical paths do not follow).
pub(crate) fn all_entries_plain(path: Option<&OsStr>) -> bool {
    use std::os::unix::ffi::OsStrExt;
    all_entries_absolute(path)
        && path.is_some_and(|p| {
            !p.as_bytes()
                .split(|b| *b == b':' || *b == b'/')
                .any(|c| c == b"..")
        })
}

/// The directories the search tried before the caller's `PATH`, when its
/// search path is that `PATH` with (maybe) absolute directories in front.
fn prefix_of(s: &Search, path_now: Option<&OsStr>) -> Option<Vec<PathBuf>> {
    use std::os::unix::ffi::OsStrExt;
    let recorded = s.path.as_ref()?.as_ref()?.as_bytes();
    let now = path_now?.as_bytes();
    if s.name.as_bytes().contains(&b'\n') || !all_absolute(now) {
        return None;
    }
    let front = if recorded == now {
        &[][..]
    } else {
        let at = recorded.len().checked_sub(now.len() + 1)?;
        if &recorded[at + 1..] != now || recorded[at] != b':' {
            return None;
        }
        &recorded[..at]
    };
    if !all_absolute(front) {
        return None;
    }
    Some(
        std::env::split_paths(OsStr::from_bytes(front))
            .filter(|d| !d.as_os_str().is_empty())
            .collect(),
    )
}

/// Relative and empty entries of the search path name directories below
/// the working directory (taken as the action's: a process that changed
/// directory first is not followed). Each candidate there is keyed as
/// missing; one that is present may be what ran instead of the file the
/// search was resolved to, so the action is not stored.
fn relative_candidates(s: &Search, path_now: Option<&OsStr>, cwd: &Path, o: &mut Searched) {
    let path = match &s.path {
        Some(Some(p)) => Some(p.as_os_str()),
        Some(None) => None,
        None => path_now,
    };
    let Some(path) = path else { return };
    for dir in std::env::split_paths(path).filter(|d| !d.is_absolute()) {
        let candidate = cwd.join(dir).join(&s.name);
        if candidate.exists() {
            o.unstable.insert(candidate);
        } else {
            o.absent.insert(candidate);
        }
    }
}

/// Whether every entry of a search path is an absolute directory (an empty
/// entry means the working directory).
fn all_absolute(path: &[u8]) -> bool {
    path.is_empty() || path.split(|b| *b == b':').all(|d| d.first() == Some(&b'/'))
}

/// Where `name` resolves on `path`, for a key.
pub(crate) fn resolve(name: &str, path: Option<&OsStr>) -> Option<PathBuf> {
    kiln_trace::find_program(OsStr::new(name), path).0
}

/// What a key holds for `=which name` when `path` has an empty or relative
/// entry: the search path itself, and the file the name resolves to with
/// those entries taken below the working directory `cwd`. It differs from
/// any resolution on an absolute search path.
pub(crate) fn relative_resolution(name: &str, path: &OsStr, cwd: &Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    // Each entry taken below `cwd` (an empty one is `cwd` itself).
    let below_cwd = std::env::join_paths(std::env::split_paths(path).map(|d| cwd.join(d))).ok();
    let found = below_cwd.and_then(|p| resolve(name, Some(&p)));
    let mut text = b"relative\0".to_vec();
    text.extend_from_slice(path.as_bytes());
    text.push(0);
    if let Some(f) = found {
        text.extend_from_slice(f.as_os_str().as_bytes());
    }
    text
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::ffi::OsString;

    use super::*;

    fn search(path: Option<&str>, found: Option<&str>, tried: &[&str]) -> Search {
        Search {
            name: "cc".into(),
            path: Some(path.map(OsString::from)),
            found: found.map(PathBuf::from),
            tried: tried.iter().map(PathBuf::from).collect(),
        }
    }

    fn observed(s: &Search, now: &str) -> Searched {
        let mut o = Searched::default();
        observe(
            std::slice::from_ref(s),
            Some(OsStr::new(now)),
            Path::new("/nonexistent-cwd"),
            &|p| p.starts_with("/sysroot"),
            &mut o,
        );
        o
    }

    #[test]
    fn the_callers_path_keys_the_resolution_not_the_text() {
        let s = search(Some("/a:/usr/bin"), Some("/usr/bin/cc"), &["/a/cc"]);
        let o = observed(&s, "/a:/usr/bin");
        assert_eq!(o.env.iter().collect::<Vec<_>>(), ["=which cc"]);
        assert!(o.absent.is_empty(), "the resolution covers the candidates");
    }

    #[test]
    fn directories_put_in_front_are_keyed_by_their_candidates() {
        let s = search(
            Some("/sysroot/bin:/home/u/.cargo/bin:/usr/bin"),
            Some("/usr/bin/cc"),
            &["/sysroot/bin/cc", "/home/u/.cargo/bin/cc"],
        );
        let o = observed(&s, "/usr/bin");
        assert_eq!(o.env.iter().collect::<Vec<_>>(), ["=which cc"]);
        assert_eq!(
            o.absent.iter().collect::<Vec<_>>(),
            [Path::new("/home/u/.cargo/bin/cc")]
        );
        let in_front = search(Some("/sysroot/bin:/usr/bin"), Some("/sysroot/bin/cc"), &[]);
        assert!(observed(&in_front, "/usr/bin").env.is_empty());
    }

    #[test]
    fn any_other_search_path_keys_path_and_every_candidate() {
        for (recorded, now) in [
            (Some("/mine:/usr/bin"), "/usr/local/bin:/usr/bin"),
            (Some("x:/usr/bin"), "/usr/bin"),
            (Some("/usr/bin:"), "/usr/bin:"),
            (None, "/usr/bin"),
        ] {
            let s = search(recorded, Some("/usr/bin/cc"), &["/mine/cc"]);
            let o = observed(&s, now);
            assert!(o.env.contains("PATH"), "{recorded:?} {now}");
            assert!(
                o.absent.contains(Path::new("/mine/cc")),
                "{recorded:?} {now}"
            );
        }
    }

    #[test]
    fn names_probed_in_path_directories_are_keyed_by_resolution() {
        let mut t = Trace::default();
        t.present.insert("/usr/bin/ld".into());
        t.absent.insert("/home/u/.cargo/bin/as".into());
        t.execs.insert("/usr/lib/git-core/git-hello".into());
        t.absent.insert("/usr/bin/sub/x".into());
        let mut o = Searched::default();
        probed_on_path(
            &t,
            Some(OsStr::new("/home/u/.cargo/x/../bin:/usr/bin")),
            &mut o,
        );
        assert_eq!(o.env.iter().collect::<Vec<_>>(), ["=which as", "=which ld"]);
        t.listed.insert("/usr/lib/git-core".into());
        assert!(!lists_path(&t, Some(OsStr::new("/usr/bin"))));
        t.listed.insert("/usr/bin".into());
        assert!(lists_path(&t, Some(OsStr::new("/usr/bin"))));
    }

    #[test]
    fn a_search_path_with_a_relative_entry_is_keyed_with_its_text() {
        assert!(all_entries_plain(Some(OsStr::new("/a/./b/:/usr//bin"))));
        for p in [
            "",
            ":/usr/bin",
            "/usr/bin:",
            "bin:/usr/bin",
            "/a::/b",
            "/a/../b",
        ] {
            assert!(!all_entries_plain(Some(OsStr::new(p))), "{p:?}");
        }
        assert!(!all_entries_plain(None));
        let d = tempfile::tempdir().unwrap();
        let before = relative_resolution("tool", OsStr::new("bin:/nonexistent"), d.path());
        std::fs::create_dir(d.path().join("bin")).unwrap();
        let tool = d.path().join("bin/tool");
        std::fs::write(&tool, "").unwrap();
        std::fs::set_permissions(&tool, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let after = relative_resolution("tool", OsStr::new("bin:/nonexistent"), d.path());
        assert_ne!(before, after);
        let other = relative_resolution("tool", OsStr::new("bin:/elsewhere"), d.path());
        assert_ne!(after, other, "the search path's text is keyed");
    }

    #[test]
    fn relative_entries_are_candidates_below_the_working_directory() {
        let d = tempfile::tempdir().unwrap();
        let s = search(Some("bin:/usr/bin"), Some("/usr/bin/cc"), &[]);
        let mut o = Searched::default();
        observe(
            std::slice::from_ref(&s),
            Some(OsStr::new("bin:/usr/bin")),
            d.path(),
            &|_| false,
            &mut o,
        );
        assert!(o.absent.contains(&d.path().join("bin/cc")));
        std::fs::create_dir_all(d.path().join("bin")).unwrap();
        std::fs::write(d.path().join("bin/cc"), "").unwrap();
        let mut o = Searched::default();
        observe(
            std::slice::from_ref(&s),
            Some(OsStr::new("bin:/usr/bin")),
            d.path(),
            &|_| false,
            &mut o,
        );
        assert!(o.unstable.contains(&d.path().join("bin/cc")));
    }
}
