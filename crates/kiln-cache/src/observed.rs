//! What an action read, gathered: after a real run, [`gather`] merges what
//! rustc's dep-info lists with what the observer saw (files opened, files
//! looked for and missing, directories listed, environment lookups,
//! programs run), and drops what is keyed elsewhere or is scratch (the
//! sysroot, the action's own outputs, temporary files, `/proc`).
//! [`changed_since`] finds an input that changed while the action ran.
//! Digesting what was gathered is `inputs.rs`'s.

use std::collections::{BTreeSet, HashMap};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use kiln_rustc::depinfo::DepInfo;
use kiln_trace::{Trace, normalize_path};

use crate::{env_rules, searches};

/// What a compile read, as local paths and names.
#[derive(Debug, Default)]
pub struct Observed {
    /// Files read.
    pub files: BTreeSet<PathBuf>,
    /// Files looked for and absent.
    pub absent: BTreeSet<PathBuf>,
    /// Environment variables read.
    pub env: BTreeSet<String>,
    /// Paths found present by a probe.
    pub present: BTreeSet<PathBuf>,
    /// Directories listed.
    pub listed: BTreeSet<PathBuf>,
    /// Inputs that disappeared (read, gone now) or appeared (missing when
    /// looked for, present now) while the action ran, without the action
    /// writing them: what it saw is gone, so it is not stored.
    pub unstable: BTreeSet<PathBuf>,
    /// Digests of files in [`Observed::files`] already read after the
    /// action ended (a scan of their content): digesting takes them instead
    /// of reading the file again.
    pub digested: HashMap<PathBuf, kiln_key::Digest>,
}

/// Places whose reads are not inputs of a unit.
pub struct Exclusions<'a> {
    /// The compiler's sysroot (keyed by the compiler identity).
    pub sysroot: Option<&'a Path>,
    /// Directories whose files are never inputs (kiln's own store).
    pub scratch: Vec<PathBuf>,
    /// The call's outputs.
    pub outputs: &'a BTreeSet<PathBuf>,
    /// Directories where rustc searches for crates (`-L`) and the output
    /// directory: rustc probes many names there, and which crates exist is
    /// keyed through `--extern` contents instead.
    pub search_dirs: Vec<PathBuf>,
    /// Paths the compile wrote (scratch it may have deleted again).
    pub written: &'a BTreeSet<PathBuf>,
    /// Every variable looked up is keyed: the ignore list holds only for
    /// rustc's own lookups.
    pub all_env: bool,
    /// The caller's `PATH`, on which lookups resolve programs run by name.
    pub caller_path: Option<OsString>,
}

const SYSTEM_SCRATCH: &[&str] = &["/proc", "/sys", "/dev", "/run"];

impl Exclusions<'_> {
    fn skip_read(&self, p: &Path) -> bool {
        self.sysroot
            .is_some_and(|s| kiln_rustc::sysroot::covers(s, p))
            || SYSTEM_SCRATCH.iter().any(|s| p.starts_with(s))
            || self.scratch.iter().any(|s| p.starts_with(s))
            || self.outputs.contains(p)
            || p == Path::new("/etc/ld.so.cache")
    }

    /// Whether the action wrote `p` or something below it. Paths order by
    /// their components, so the paths below `p` come right after it.
    fn under_written(&self, p: &Path) -> bool {
        self.written
            .range::<Path, _>((std::ops::Bound::Included(p), std::ops::Bound::Unbounded))
            .next()
            .is_some_and(|w| w.starts_with(p))
    }

    fn skip_absent(&self, p: &Path) -> bool {
        self.skip_read(p)
            || p.parent()
                .is_some_and(|d| self.search_dirs.iter().any(|s| s == d))
            || self.under_written(p)
    }
}

/// Where the libraries of the system live: code there that looked a
/// variable up inside rustc is the compiler's (unless it was loaded after
/// start-up, for a proc macro).
const SYSTEM_LIB_DIRS: &[&str] = &["/lib", "/lib64", "/usr/lib", "/usr/lib64"];

/// Whether code other than the compiler's and its tools' looked `name` up:
/// a proc macro inside rustc (its library, or one loaded for it), or a
/// program that is not a compiler, linker or archiver.
fn read_by_crate_code(t: &Trace, name: &str, sysroot: Option<&Path>) -> bool {
    // The loader names libraries by the path it found them at, which may
    // resolve a symlinked toolchain directory.
    let real_sysroot = sysroot.and_then(|s| std::fs::canonicalize(s).ok());
    let in_sysroot = |o: &Path| {
        sysroot.is_some_and(|s| o.starts_with(s))
            || real_sysroot.as_ref().is_some_and(|s| {
                o.starts_with(s) || std::fs::canonicalize(o).is_ok_and(|o| o.starts_with(s))
            })
    };
    let compilers = |o: &Path| {
        in_sysroot(o) || (SYSTEM_LIB_DIRS.iter().any(|d| o.starts_with(d)) && !t.reads.contains(o))
    };
    t.env_unattributed.contains(name)
        || t.env_objects
            .get(name)
            .is_some_and(|objects| objects.iter().any(|o| !compilers(o)))
        || t.env_readers
            .get(name)
            .is_some_and(|r| r.iter().any(|p| !read_by_a_tool(t, name, p)))
}

/// A lookup by a program that uses the variable for itself alone: a
/// toolchain program's settings, or `PATH` read by a program that only
/// searches it (git), whose finds are observed as searches and probes.
fn read_by_a_tool(t: &Trace, name: &str, program: &Path) -> bool {
    if name == "PATH" {
        return path_only_searched(t, program);
    }
    kiln_trace::is_toolchain_program(program)
}

/// Whether `program`'s lookup of `PATH` is keyed by what its searches found
/// alone: it only searches `PATH`, every directory of `PATH` is absolute (so
/// where a name resolves is what a search found, whatever the working
/// directory), and the run listed none of them.
fn path_only_searched(t: &Trace, program: &Path) -> bool {
    let path = env_rules::var("PATH");
    kiln_trace::uses_path_only_to_search(program)
        && searches::all_entries_plain(path.as_deref())
        && !searches::lists_path(t, path.as_deref())
}

/// Whether every lookup of `name` in a build-script run was made by a
/// program that uses it for itself alone: kiln (compiling a probe or C code
/// for a script: what it answers is the compile, observed in full), or a
/// program that reads `PATH` only to search it.
fn looked_up_by_tools_only(t: &Trace, name: &str, kiln: Option<&Path>) -> bool {
    if t.env_unattributed.contains(name) {
        return false;
    }
    t.env_readers.get(name).is_some_and(|readers| {
        readers
            .iter()
            .all(|p| kiln == Some(p.as_path()) || (name == "PATH" && path_only_searched(t, p)))
    })
}

/// The first component of `p` that does not exist: when a proc macro looks
/// for `conf/app.toml` and `conf/` is missing, `conf` appearing is what must
/// change the key.
///
/// `dirs` remembers which ancestors exist: a compiler looks for each header
/// in every include directory, so many candidates share them.
fn first_missing(p: &Path, dirs: &mut HashMap<PathBuf, bool>) -> PathBuf {
    let mut missing = p.to_path_buf();
    for ancestor in p.ancestors().skip(1) {
        if ancestor.as_os_str().is_empty() {
            break;
        }
        let exists = match dirs.get(ancestor) {
            Some(e) => *e,
            None => *dirs
                .entry(ancestor.to_path_buf())
                .or_insert_with(|| ancestor.exists()),
        };
        if exists {
            break;
        }
        missing = ancestor.to_path_buf();
    }
    missing
}

/// Whether `p` is the FIFO of the jobserver make or cargo hands on
/// (`--jobserver-auth=fifo:PATH`): tokens, not an input.
fn jobserver(p: &Path) -> bool {
    let text = p.to_string_lossy();
    ["MAKEFLAGS", "CARGO_MAKEFLAGS"]
        .iter()
        .filter_map(|n| crate::env_rules::var(n))
        .any(|v| v.to_string_lossy().contains(&format!("fifo:{text}")))
}

/// Merges dep-info and the observed trace into one input set.
///
/// Every variable rustc recorded in dep-info is kept (a crate that bakes in
/// `env!("HOME")` depends on it); the ignore list only applies to lookups the
/// observer saw, which include the compiler's and linker's own.
pub fn gather(
    cwd: &Path,
    dep: Option<&DepInfo>,
    trace: Option<&Trace>,
    ex: &Exclusions<'_>,
) -> Observed {
    let mut o = Observed::default();
    if let Some(t) = trace {
        reads(&mut o, t, ex);
        let tried = execs(&mut o, t, ex);
        let mut searched = searches::Searched::default();
        searches::observe(
            &t.searches,
            ex.caller_path.as_deref(),
            cwd,
            &|p| ex.skip_absent(p),
            &mut searched,
        );
        searches::probed_on_path(t, ex.caller_path.as_deref(), &mut searched);
        o.env.extend(searched.env);
        o.unstable.extend(searched.unstable);
        let absent: Vec<&PathBuf> = t
            .absent
            .iter()
            .chain(&searched.absent)
            .chain(&tried)
            .collect();
        absences(&mut o, &absent, ex);
        presences(&mut o, t, ex);
        traced_env(&mut o, t, ex);
    }
    if let Some(dep) = dep {
        from_dep_info(&mut o, dep, cwd, ex);
    }
    o
}

/// Files the trace saw opened: inputs, listings (a directory opened to read
/// its entries with calls no hook sees: `fdopendir`, glibc's `fts` under
/// `find`), or unstable (gone again without being scratch, or a FIFO or
/// socket, whose contents cannot be keyed).
fn reads(o: &mut Observed, t: &Trace, ex: &Exclusions<'_>) {
    // Scratch files the compile created and deleted (the linker's temp
    // dir, rustc's staging files) are gone by now: not inputs.
    for p in &t.reads {
        if ex.skip_read(p) {
            continue;
        }
        if p.is_file() {
            o.files.insert(p.clone());
        } else if p.is_dir() {
            if !ex.skip_absent(&p.join("_")) {
                o.listed.insert(p.clone());
            }
        } else if unstable(p, ex) {
            o.unstable.insert(p.clone());
        }
    }
}

/// Whether a path read that is neither a file nor a directory makes the
/// action's inputs unknowable: gone again without the action writing it,
/// or a FIFO or socket (devices, `/proc` and the jobserver's FIFO aside).
fn unstable(p: &Path, ex: &Exclusions<'_>) -> bool {
    if !p.exists() {
        return !ex.under_written(p);
    }
    !p.starts_with("/dev") && !p.starts_with("/proc") && !jobserver(p)
}

/// Programs the trace saw executed are inputs; those tried and missing (a
/// shell's own search along `PATH`) are returned, as looked for and absent.
fn execs(o: &mut Observed, t: &Trace, ex: &Exclusions<'_>) -> Vec<PathBuf> {
    let mut tried = Vec::new();
    for p in &t.execs {
        if ex.skip_read(p) {
            continue;
        }
        if p.is_file() {
            o.files.insert(p.clone());
        } else if !p.exists() {
            tried.push(p.clone());
        }
    }
    tried
}

/// Paths looked for and missing: keyed by the first missing component; one
/// there now was created while the action ran (unstable) unless it wrote it.
fn absences(o: &mut Observed, absent: &[&PathBuf], ex: &Exclusions<'_>) {
    use std::os::unix::ffi::OsStrExt;
    let mut dirs = HashMap::new();
    let read: std::collections::HashSet<&[u8]> =
        o.files.iter().map(|f| f.as_os_str().as_bytes()).collect();
    let mut missing_now = Vec::new();
    for p in absent {
        if read.contains(p.as_os_str().as_bytes()) {
            continue;
        }
        if p.exists() {
            if !ex.skip_absent(p) && !ex.under_written(p) {
                o.unstable.insert((*p).clone());
            }
            continue;
        }
        let missing = first_missing(p, &mut dirs);
        if !ex.skip_absent(p) && !ex.skip_absent(&missing) {
            missing_now.push(missing);
        }
    }
    let missing = kiln_trace::path_set(missing_now.iter());
    if o.absent.is_empty() {
        o.absent = missing;
    } else {
        o.absent.extend(missing);
    }
}

/// Paths probed and present, and directories listed.
fn presences(o: &mut Observed, t: &Trace, ex: &Exclusions<'_>) {
    for p in &t.present {
        // Gone again after the compile: scratch (the linker's temp files).
        if p.exists() && !o.files.contains(p) && !ex.skip_absent(p) {
            o.present.insert(p.clone());
        }
    }
    for d in &t.listed {
        if !ex.skip_absent(&d.join("_")) && d.is_dir() {
            o.listed.insert(d.clone());
        }
    }
}

/// Variables the trace saw looked up that enter the key.
fn traced_env(o: &mut Observed, t: &Trace, ex: &Exclusions<'_>) {
    let kiln = ex.all_env.then(std::env::current_exe).and_then(Result::ok);
    let keep = |n: &&String| {
        if ex.all_env {
            !env_rules::kiln_internal(n) && !looked_up_by_tools_only(t, n, kiln.as_deref())
        } else {
            !env_rules::ignored(n)
                || (!env_rules::kiln_internal(n) && read_by_crate_code(t, n, ex.sysroot))
        }
    };
    o.env.extend(t.env.iter().filter(keep).cloned());
}

/// The files and variables rustc's dep-info names.
fn from_dep_info(o: &mut Observed, dep: &DepInfo, cwd: &Path, ex: &Exclusions<'_>) {
    for f in dep.files.iter().filter(|f| f.as_os_str() != "-") {
        let p = normalize_path(&cwd.join(f));
        if !ex.skip_read(&p) {
            o.files.insert(p);
        }
    }
    o.env.extend(
        dep.env
            .iter()
            .map(|(name, _)| name.clone())
            .filter(|n| !env_rules::kiln_internal(n)),
    );
}

/// An input outside the target dir modified after the compile started: what
/// rustc read may not be what is there now, so the result cannot be keyed by
/// the current content.
pub(crate) fn changed_since(
    o: &Observed,
    started_at: SystemTime,
    target: Option<&Path>,
) -> Option<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    if let Some(p) = o
        .unstable
        .iter()
        .find(|p| !target.is_some_and(|t| p.starts_with(t)))
    {
        return Some(p.clone());
    }
    let start = started_at.duration_since(SystemTime::UNIX_EPOCH).ok()?;
    let start_ns = i128::try_from(start.as_nanos()).ok()?;
    o.files.iter().find_map(|p| {
        if target.is_some_and(|t| p.starts_with(t)) {
            return None;
        }
        // Gone (or unreadable) since it was read: what was read cannot be
        // checked any more, so it counts as changed.
        let Ok(md) = std::fs::metadata(p) else {
            return Some(p.clone());
        };
        let changed = i128::from(md.mtime()) * 1_000_000_000 + i128::from(md.mtime_nsec());
        let ctime = i128::from(md.ctime()) * 1_000_000_000 + i128::from(md.ctime_nsec());
        (changed.max(ctime) >= start_ns).then(|| p.clone())
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};

    use super::Exclusions;

    #[test]
    fn a_path_is_under_what_was_written_below_it_and_only_then() {
        let written: BTreeSet<PathBuf> = ["/t/a/b.c", "/t/a/b/x/y.o", "/t/ab", "/t/z"]
            .into_iter()
            .map(PathBuf::from)
            .collect();
        let outputs = BTreeSet::new();
        let ex = Exclusions {
            sysroot: None,
            scratch: Vec::new(),
            outputs: &outputs,
            search_dirs: Vec::new(),
            written: &written,
            all_env: false,
            caller_path: None,
        };
        for (p, under) in [
            ("/t/a/b", true),
            ("/t/a/b/x", true),
            ("/t/a/b/x/y.o", true),
            ("/t/a", true),
            ("/t/a/b.c", true),
            ("/t/a/b.", false),
            ("/t/a/c", false),
            ("/t/a/b/y", false),
            ("/t/b", false),
            ("/t/z/q", false),
            ("/u", false),
        ] {
            assert_eq!(ex.under_written(Path::new(p)), under, "{p}");
            let slow = written.iter().any(|w| w.starts_with(p));
            assert_eq!(slow, under, "{p}");
        }
    }
}
