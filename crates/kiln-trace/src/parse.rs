//! Reading a trace file back into sets of paths, names and programs.

use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::TraceError;
use crate::paths::{find_program, lexical, path_set};

/// What a traced process tree did. Paths are absolute and normalized
/// ([`crate::normalize_path`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trace {
    /// Files opened for reading and never for writing.
    pub reads: BTreeSet<PathBuf>,
    /// Files opened for writing, created or renamed into place.
    pub writes: BTreeSet<PathBuf>,
    /// Files looked for and missing, and never read or written later.
    pub absent: BTreeSet<PathBuf>,
    /// Environment variables looked up.
    pub env: BTreeSet<String>,
    /// Which programs looked each variable up (absent: not recorded).
    pub env_readers: std::collections::BTreeMap<String, BTreeSet<PathBuf>>,
    /// Variables looked up at least once by a program not recorded (a
    /// lookup handed on by an action kiln answered from the cache): no
    /// lookup of theirs is taken for a tool's.
    pub env_unattributed: BTreeSet<String>,
    /// Which libraries' code looked each variable up, where that was not the
    /// program's own (a proc macro or the compiler's library inside rustc).
    pub env_objects: std::collections::BTreeMap<String, BTreeSet<PathBuf>>,
    /// Programs executed, as absolute paths.
    pub execs: BTreeSet<PathBuf>,
    /// Paths found present by a probe (`stat`, `access`), whatever they are.
    pub present: BTreeSet<PathBuf>,
    /// Directories whose entries were listed (`opendir`).
    pub listed: BTreeSet<PathBuf>,
    /// Programs run by name, found through a search path that libc reads
    /// without a lookup the observer sees.
    pub searches: Vec<Search>,
    /// Network use (`inet` or `unix` connections, `dns` lookups) and the
    /// programs that made it (empty when not recorded).
    pub network: std::collections::BTreeMap<String, BTreeSet<PathBuf>>,
    /// Why an action inside the traced one could not be keyed (`U` records
    /// a nested kiln writes: the reason's name and a detail), which makes
    /// the traced action unkeyable too.
    pub refusals: Vec<(String, String)>,
    /// What read the wall clock: the program, and the library whose code
    /// asked when it is not the program's own (a proc macro inside rustc).
    pub clock_readers: BTreeSet<(PathBuf, Option<PathBuf>)>,
}

/// A program run by name (`execvp`, `posix_spawnp`) and how the name
/// resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    /// The name as passed.
    pub name: OsString,
    /// The search path the process had: `Some(None)` when `PATH` was unset
    /// (libc's default path), `None` when it was not recorded (too long) and
    /// the caller's `PATH` was assumed.
    pub path: Option<Option<OsString>>,
    /// The file the name resolved to, if any.
    pub found: Option<PathBuf>,
    /// The candidates tried before it, all missing: a program appearing at
    /// one of them would run instead.
    pub tried: Vec<PathBuf>,
}

/// The search path of `execvp` when `PATH` is unset.
const LIBC_DEFAULT_PATH: &str = "/bin:/usr/bin";

/// Parses the trace file at `path`.
///
/// Paths are normalized (`.` removed, `..` resolved as the kernel does,
/// going up from a symbolic link's target). `execs` holds absolute paths: bare program names
/// are resolved against `path_var` (the `PATH` the traced process had) to
/// the first executable match, and dropped when nothing matches (the exec
/// failed); the candidates tried before the match count as looked for and
/// missing. A path both read and written is only in `writes`; a path that
/// was missing and later read or written is not in `absent`.
///
/// A missing trace file is [`TraceError::NotTraced`]: every traced process
/// creates it at start-up.
pub fn parse_trace(path: &Path, path_var: Option<&OsStr>) -> Result<Trace, TraceError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(TraceError::NotTraced(path.to_path_buf()));
        }
        Err(source) => {
            return Err(TraceError::Io {
                action: "read trace",
                path: path.to_path_buf(),
                source,
            });
        }
    };
    Ok(parse_records(&bytes, path_var))
}

/// `what\t/program` → what and the program (when recorded and absolute).
fn split_program(rest: &[u8]) -> (String, Option<PathBuf>) {
    let (what, exe) = match rest.iter().position(|b| *b == b'\t') {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let exe = exe
        .filter(|e| e.starts_with(b"/"))
        .map(|e| PathBuf::from(OsStr::from_bytes(e)));
    (String::from_utf8_lossy(what).into_owned(), exe)
}

/// `/exe\t/object` → the program and the calling library.
fn split_object(exe: PathBuf) -> (PathBuf, Option<PathBuf>) {
    let bytes = exe.as_os_str().as_bytes();
    match bytes.iter().position(|b| *b == b'\t') {
        Some(i) if bytes.get(i + 1) == Some(&b'/') => (
            PathBuf::from(OsStr::from_bytes(&bytes[..i])),
            Some(PathBuf::from(OsStr::from_bytes(&bytes[i + 1..]))),
        ),
        _ => (exe, None),
    }
}

fn parse_records(bytes: &[u8], path_var: Option<&OsStr>) -> Trace {
    let mut r = Records::default();
    // Every record ends with a newline; a last line without one was cut short.
    let complete = match bytes.iter().rposition(|b| *b == b'\n') {
        Some(end) => &bytes[..end],
        None => &[][..],
    };
    // A run's trace repeats itself (every compile it starts opens the same
    // headers): each distinct record is read once.
    let mut seen: std::collections::HashSet<&[u8]> = std::collections::HashSet::new();
    for line in complete.split(|b| *b == b'\n') {
        let [kind, b' ', rest @ ..] = line else {
            continue;
        };
        if !rest.is_empty() && seen.insert(line) {
            r.add(*kind, rest);
        }
    }
    let mut t = r.trace;
    let opened: std::collections::HashSet<&[u8]> = r
        .reads
        .iter()
        .chain(&r.writes)
        .map(|p| p.as_os_str().as_bytes())
        .collect();
    let written: std::collections::HashSet<&[u8]> =
        r.writes.iter().map(|p| p.as_os_str().as_bytes()).collect();
    let not_in = |set: &std::collections::HashSet<&[u8]>, v: &[PathBuf]| {
        path_set(v.iter().filter(|p| !set.contains(p.as_os_str().as_bytes())))
    };
    t.present = not_in(&opened, &r.present);
    t.absent = not_in(&opened, &r.absent);
    t.reads = not_in(&written, &r.reads);
    t.writes = path_set(r.writes.iter());
    t.listed = path_set(r.listed.iter());
    t.execs = path_set(r.execs.iter());
    resolve_searches(&mut t, r.by_name, r.search_paths, path_var);
    t
}

/// The trace as its records are read, with the programs run by name and
/// the search paths they were looked up on, resolved once all are read.
#[derive(Default)]
struct Records {
    trace: Trace,
    reads: Vec<PathBuf>,
    writes: Vec<PathBuf>,
    absent: Vec<PathBuf>,
    present: Vec<PathBuf>,
    listed: Vec<PathBuf>,
    execs: Vec<PathBuf>,
    by_name: BTreeSet<OsString>,
    search_paths: BTreeMap<OsString, BTreeSet<Option<OsString>>>,
}

impl Records {
    /// Adds the record `kind rest`; unknown kinds are skipped.
    fn add(&mut self, kind: u8, rest: &[u8]) {
        let t = &mut self.trace;
        let text = OsStr::from_bytes(rest);
        let absolute = || (rest[0] == b'/').then(|| lexical(Path::new(text)));
        match kind {
            b'R' => self.reads.extend(absolute()),
            b'W' => self.writes.extend(absolute()),
            b'A' => self.absent.extend(absolute()),
            b'P' => self.present.extend(absolute()),
            b'D' => self.listed.extend(absolute()),
            b'E' => add_lookup(t, rest),
            b'X' if rest.contains(&b'/') => self.execs.extend(absolute()),
            b'X' => {
                self.by_name.insert(text.to_owned());
            }
            b'S' => {
                let (name, path) = split_tab(rest);
                self.search_paths
                    .entry(OsStr::from_bytes(name).to_owned())
                    .or_default()
                    .insert(path.map(|p| OsStr::from_bytes(p).to_owned()));
            }
            b'U' => {
                let (name, detail) = split_tab(rest);
                t.refusals.push((
                    String::from_utf8_lossy(name).into_owned(),
                    String::from_utf8_lossy(detail.unwrap_or_default()).into_owned(),
                ));
            }
            b'N' => {
                let (what, exe) = split_program(rest);
                t.network.entry(what).or_default().extend(exe);
            }
            b'T' => {
                if let (_, Some(exe)) = split_program(rest) {
                    t.clock_readers.insert(split_object(exe));
                }
            }
            _ => {}
        }
    }
}

/// `name<TAB>rest`, or the whole record as the name.
fn split_tab(record: &[u8]) -> (&[u8], Option<&[u8]>) {
    match record.iter().position(|b| *b == b'\t') {
        Some(i) => (&record[..i], Some(&record[i + 1..])),
        None => (record, None),
    }
}

/// An environment lookup: the name, and the program (and library) that
/// asked.
fn add_lookup(t: &mut Trace, rest: &[u8]) {
    let (name, exe) = split_program(rest);
    if let Some(exe) = exe {
        let (exe, object) = split_object(exe);
        t.env_readers.entry(name.clone()).or_default().insert(exe);
        if let Some(o) = object {
            t.env_objects.entry(name.clone()).or_default().insert(o);
        }
    } else {
        t.env_unattributed.insert(name.clone());
    }
    t.env.insert(name);
}

/// Resolves each program run by name on every search path it was looked up
/// on (the caller's `PATH` when none was recorded, libc's default for an
/// unset one), as executed programs and searches.
fn resolve_searches(
    t: &mut Trace,
    by_name: BTreeSet<OsString>,
    mut search_paths: BTreeMap<OsString, BTreeSet<Option<OsString>>>,
    path_var: Option<&OsStr>,
) {
    for name in by_name {
        let paths: Vec<Option<Option<OsString>>> = match search_paths.remove(&name) {
            Some(recorded) => recorded.into_iter().map(Some).collect(),
            None => vec![None],
        };
        for path in paths {
            let used = match &path {
                Some(Some(p)) => Some(p.as_os_str()),
                Some(None) => Some(OsStr::new(LIBC_DEFAULT_PATH)),
                None => path_var,
            };
            let (found, tried) = find_program(&name, used);
            t.execs.extend(found.clone());
            t.searches.push(Search {
                name: name.clone(),
                path,
                found,
                tried,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn set(items: &[&str]) -> BTreeSet<PathBuf> {
        items.iter().map(PathBuf::from).collect()
    }

    #[test]
    fn parses_every_kind() {
        let d = tempfile::tempdir().unwrap();
        let bin = d.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        std::fs::write(bin.join("cc"), "").unwrap();
        std::fs::set_permissions(bin.join("cc"), std::fs::Permissions::from_mode(0o755)).unwrap();
        let text = "R /src/./lib.rs\nR /usr/lib/gcc/x86_64-linux-gnu/12/../../../x86_64-linux-gnu/crt1.o\n\
                    W /out/libx.rlib\nA /src/missing.rs\nE FOO\nE FOO\t/usr/bin/cc\nE BAR\t/bin/rustc\t/t/libmac.so\nE BAR\nX cc\nX /usr/bin/../bin/ld\nX nowhere-to-be-found\n";
        let t = parse_records(text.as_bytes(), Some(bin.as_os_str()));
        assert_eq!(
            t.reads,
            set(&["/src/lib.rs", "/usr/lib/x86_64-linux-gnu/crt1.o"])
        );
        assert_eq!(t.writes, set(&["/out/libx.rlib"]));
        assert_eq!(t.absent, set(&["/src/missing.rs"]));
        let nowhere = t
            .searches
            .iter()
            .find(|s| s.name == "nowhere-to-be-found")
            .unwrap();
        assert_eq!(nowhere.found, None);
        assert_eq!(
            nowhere.tried,
            [bin.join("nowhere-to-be-found")],
            "a program that would be found there later"
        );
        assert_eq!(nowhere.path, None, "no search path recorded");
        assert_eq!(
            t.env,
            ["BAR", "FOO"].iter().map(|s| s.to_string()).collect()
        );
        assert_eq!(
            t.env_readers
                .get("FOO")
                .map(|r| r.iter().collect::<Vec<_>>()),
            Some(vec![&PathBuf::from("/usr/bin/cc")])
        );
        assert_eq!(
            t.env_objects
                .get("BAR")
                .map(|r| r.iter().collect::<Vec<_>>()),
            Some(vec![&PathBuf::from("/t/libmac.so")])
        );
        assert_eq!(
            t.env_readers
                .get("BAR")
                .map(|r| r.iter().collect::<Vec<_>>()),
            Some(vec![&PathBuf::from("/bin/rustc")])
        );
        let mut execs = set(&["/usr/bin/ld"]);
        execs.insert(bin.join("cc"));
        assert_eq!(t.execs, execs);
    }

    #[test]
    fn a_name_resolves_on_the_search_path_recorded_with_it() {
        let d = tempfile::tempdir().unwrap();
        let (a, b) = (d.path().join("a"), d.path().join("b"));
        for dir in [&a, &b] {
            std::fs::create_dir(dir).unwrap();
            let tool = dir.join("tool");
            std::fs::write(&tool, "").unwrap();
            std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let text = format!("S tool\t{}\nX tool\n", b.display());
        let t = parse_records(text.as_bytes(), Some(a.as_os_str()));
        assert_eq!(t.execs, [b.join("tool")].into_iter().collect());
        assert_eq!(t.searches.len(), 1);
        assert_eq!(t.searches[0].path, Some(Some(b.into_os_string())));
        let unset = parse_records(b"S tool\nX tool\n", Some(a.as_os_str()));
        assert_eq!(unset.searches[0].path, Some(None), "libc's default path");
    }

    #[test]
    fn a_written_file_is_not_a_read_nor_absent() {
        let t = parse_records(
            b"A /o/x.o\nR /o/x.o\nW /o/./x.o\nA /o/y\nR /o/y\nA /o/z\n",
            None,
        );
        assert_eq!(t.writes, set(&["/o/x.o"]));
        assert_eq!(t.reads, set(&["/o/y"]));
        assert_eq!(t.absent, set(&["/o/z"]));
    }

    #[test]
    fn ignores_garbage_relative_paths_and_a_cut_last_line() {
        let t = parse_records(
            b"garbage\nR relative/path\nQ /unknown\nR\nR \nRX /a\nR /kept\nR /cut-sho",
            None,
        );
        assert_eq!(
            t,
            Trace {
                reads: set(&["/kept"]),
                ..Trace::default()
            }
        );
    }

    #[test]
    fn keeps_non_utf8_paths_exactly() {
        let t = parse_records(b"R /src/caf\xe9.rs\n", None);
        let want = PathBuf::from(OsStr::from_bytes(b"/src/caf\xe9.rs"));
        assert_eq!(t.reads.into_iter().collect::<Vec<_>>(), [want]);
    }

    #[test]
    fn paths_may_hold_spaces_and_tabs() {
        let t = parse_records(b"R /my dir/a\tb.rs\n", None);
        assert_eq!(t.reads, set(&["/my dir/a\tb.rs"]));
    }

    #[test]
    fn a_missing_trace_means_the_observer_did_not_run() {
        let err = parse_trace(Path::new("/nonexistent/kiln/trace"), None).unwrap_err();
        assert!(matches!(err, TraceError::NotTraced(_)), "{err}");
        let d = tempfile::tempdir().unwrap();
        let empty = d.path().join("trace");
        std::fs::write(&empty, "").unwrap();
        assert_eq!(parse_trace(&empty, None).unwrap(), Trace::default());
    }
}
