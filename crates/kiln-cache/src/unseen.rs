//! Variables an action may have read without a lookup the observer sees,
//! and how they are keyed.
//!
//! The observer sees `getenv`. It does not see a program walk `environ`
//! itself (shells, `make`, Rust's `std::env::vars`), nor the variables libc
//! reads internally (`TZ` for `localtime`, the locale variables for
//! `setlocale`). Where either may have happened, kiln keys conservatively:
//! the whole environment (every name and value) for a walk, the libc
//! variables for internal reads. The programs are judged by their files
//! ([`kiln_trace::walks_environ`], [`kiln_trace::rust_walks_environ`],
//! [`kiln_trace::reads_libc_env`]): Rust code that ran inside another
//! process (a build script, a proc macro inside rustc) is named by the
//! caller, programs the action ran come from the trace. kiln's own process
//! (compiling a probe or C code for a build script) reads only by name.

use std::path::{Path, PathBuf};

use kiln_trace::Trace;

use crate::env_rules;
use crate::observed::Observed;

/// Variables libc reads without `getenv`: the time zone and the locale.
pub const LIBC_ENV: &[&str] = &[
    "TZ",
    "TZDIR",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "LC_TIME",
    "LC_COLLATE",
    "LC_NUMERIC",
    "LC_MONETARY",
    "LC_MESSAGES",
    "LOCPATH",
];

/// What may have been read unseen.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unseen {
    /// The environment may have been walked.
    pub walked: bool,
    /// libc may have read [`LIBC_ENV`].
    pub libc_env: bool,
}

/// The programs `t` saw run, kiln's own process aside.
fn programs(t: &Trace) -> impl Iterator<Item = &Path> {
    let this = std::env::current_exe().ok();
    t.execs
        .iter()
        .map(PathBuf::as_path)
        .filter(move |p| this.as_deref() != Some(*p) && !same_file(this.as_deref(), p))
}

/// Judges `rust_code` (Rust programs and libraries that ran) and the
/// programs `t` saw run; what is learnt about each file is remembered
/// under `dir` (kiln's directory).
pub(crate) fn unseen(t: &Trace, rust_code: &[&Path], dir: &Path) -> Unseen {
    let proc_environ = t
        .reads
        .iter()
        .any(|p| p.starts_with("/proc") && p.file_name().is_some_and(|n| n == "environ"));
    // Compilers and linkers need no reading: their names say how they read
    // (unless they are scripts).
    let walks = |p: &Path| {
        if kiln_trace::is_toolchain_program(p) {
            kiln_trace::walks_environ(p)
        } else {
            crate::facts::of(dir, p).walks
        }
    };
    let others = || programs(t).filter(|p| !kiln_trace::is_toolchain_program(p));
    Unseen {
        walked: proc_environ
            || rust_code
                .iter()
                .any(|p| crate::facts::of(dir, p).rust_walks)
            || programs(t).any(walks),
        libc_env: rust_code
            .iter()
            .copied()
            .chain(others())
            .any(|p| crate::facts::of(dir, p).libc_env),
    }
}

/// The first of `rust_code` and the programs `t` saw run (compilers and
/// kiln aside) that makes system calls past the observer, and the crate
/// that does: nothing it read that way can be keyed.
pub(crate) fn raw_syscalls(t: &Trace, rust_code: &[&Path], dir: &Path) -> Option<String> {
    let others = programs(t).filter(|p| !kiln_trace::is_toolchain_program(p));
    rust_code.iter().copied().chain(others).find_map(|p| {
        crate::facts::of(dir, p)
            .raw
            .map(|c| format!("`{}` makes system calls itself ({c})", p.display()))
    })
}

/// Programs whose purpose is to print the time.
const CLOCK_PROGRAMS: &[&str] = &["date"];

/// What read the wall clock while the action ran, if anything that may put
/// it into the output did: `rust_code` (the build script, proc macros
/// inside rustc: `SystemTime::now`, chrono's and time's `now`) or a
/// program that prints the time (`date`, also run by a shell). Other
/// programs read the clock all the time to compare or measure (`find`,
/// `make`, shells and interpreters at start-up) and are not judged by it
/// (a limit stated in `docs/keys.md`); the C macros that put the time into
/// an object are checked apart.
pub(crate) fn clock(t: &Trace, rust_code: &[&Path]) -> Option<String> {
    let judged = |p: &Path| rust_code.contains(&p);
    let prints_time = |p: &Path| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| CLOCK_PROGRAMS.contains(&n))
    };
    let read = t.clock_readers.iter().find_map(|(exe, object)| {
        let code = match object {
            Some(o) if judged(o) => o,
            _ if judged(exe) || prints_time(exe) => exe,
            _ => return None,
        };
        Some(format!("`{}` read the clock", code.display()))
    });
    // The time since boot and the hardware clock, read as files.
    read.or_else(|| {
        t.reads
            .iter()
            .find(|p| {
                p == &Path::new("/proc/uptime")
                    || p.starts_with("/proc/driver/rtc")
                    || p.starts_with("/sys/class/rtc")
            })
            .map(|p| format!("it read `{}`", p.display()))
    })
}

/// Adds to `o` what `u` says may have been read.
pub(crate) fn key(o: &mut Observed, u: Unseen) {
    if u.libc_env {
        o.env.extend(LIBC_ENV.iter().map(|n| (*n).to_owned()));
    }
    if u.walked {
        o.env.extend(
            crate::env_rules::vars()
                .into_iter()
                .map(|(n, _)| n.to_string_lossy().into_owned())
                .filter(|n| !env_rules::kiln_internal(n)),
        );
        o.env.insert(env_rules::ALL_NAMES.to_owned());
    }
}

fn same_file(a: Option<&Path>, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let (Some(a), Ok(mb)) = (
        a.and_then(|a| std::fs::metadata(a).ok()),
        std::fs::metadata(b),
    ) else {
        return false;
    };
    a.dev() == mb.dev() && a.ino() == mb.ino()
}

/// Tells the action this process runs inside, if any (a build-script run),
/// that what it depends on cannot be keyed either: `reason` made this one
/// uncacheable.
pub(crate) fn refuse_outer(reason: &kiln_types::PassReason, detail: &str) {
    let mut rest = reason.as_str().as_bytes().to_vec();
    rest.push(b'\t');
    rest.extend(detail.bytes().filter(|b| *b != b'\n'));
    kiln_trace::forward(std::iter::once((b'U', rest)));
}

/// The reason an action inside the traced one gave for being unkeyable.
pub(crate) fn refused_inside(t: &Trace) -> Option<(kiln_types::PassReason, String)> {
    use kiln_types::PassReason;
    let (name, detail) = t.refusals.first()?;
    let reason = [
        PassReason::Clock,
        PassReason::RawSyscalls,
        PassReason::Unobserved,
    ]
    .into_iter()
    .find(|r| r.as_str() == name)
    .unwrap_or(PassReason::InputChanged);
    Some((reason, format!("a compile inside it: {detail}")))
}
