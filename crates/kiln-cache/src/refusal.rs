//! Why a finished action is not stored, and the checks every kind of
//! action makes of what it did.

use std::path::Path;

use kiln_trace::Trace;
use kiln_types::PassReason;

/// Why a finished action was not stored.
pub(crate) enum NotStored {
    /// The action did something kiln cannot replay or key.
    Uncacheable(PassReason, String),
    /// kiln failed (disk full, unreadable output, ...).
    Problem(String),
}

/// Whether `what` (an action, for messages) used the network or ran a
/// program the observer cannot follow: what came of either cannot be keyed.
/// Network use by a program `allowed` says is kiln's own is not the
/// action's.
pub(crate) fn observable(
    t: &Trace,
    what: &str,
    allowed: &dyn Fn(&Path) -> bool,
) -> Result<(), NotStored> {
    let by_action = |programs: &std::collections::BTreeSet<std::path::PathBuf>| {
        programs.is_empty() || programs.iter().any(|p| !allowed(p))
    };
    if let Some((use_, _)) = t.network.iter().find(|(_, p)| by_action(p)) {
        return Err(NotStored::Uncacheable(
            PassReason::Network,
            format!("{what} used the network ({use_})"),
        ));
    }
    if let Some(p) = t.execs.iter().find(|p| !kiln_trace::observable(p)) {
        return Err(NotStored::Uncacheable(
            PassReason::Unobserved,
            format!("`{}` runs unobserved (static or setuid)", p.display()),
        ));
    }
    if let Some(s) = t.searches.iter().find(|s| relative_search(s)) {
        return Err(NotStored::Uncacheable(
            PassReason::Unobserved,
            format!(
                "`{}` was looked for on a search path with a relative entry, below a \
                 working directory the observer does not record",
                s.name.to_string_lossy()
            ),
        ));
    }
    Ok(())
}

/// Whether a program run by name was looked for on a search path with an
/// empty or relative entry: that entry names a directory below the working
/// directory of the process that searched, which may have changed directory
/// first (`Command::current_dir`).
fn relative_search(s: &kiln_trace::Search) -> bool {
    let recorded = match &s.path {
        Some(Some(p)) => Some(p.as_os_str()),
        Some(None) => return false,
        None => None,
    };
    let path = recorded
        .map(std::ffi::OsStr::to_owned)
        .or_else(|| crate::env_rules::var("PATH"));
    !crate::searches::all_entries_absolute(path.as_deref())
}

/// The first file `t` wrote that `allowed` does not accept and that is not
/// scratch: a temporary file gone again (the linker's scratch dir may be
/// anywhere under the temp dir), a file below one of `scratch`, a device
/// or `/proc`. What an action wrote there is nothing a hit could replay.
pub(crate) fn first_write_outside<'t>(
    t: &'t Trace,
    scratch: &[&Path],
    allowed: &dyn Fn(&Path) -> bool,
) -> Option<&'t Path> {
    let temp = std::env::temp_dir();
    t.writes.iter().map(|w| w.as_path()).find(|w| {
        let scratchy = (w.starts_with(&temp) && !w.exists())
            || scratch.iter().any(|s| w.starts_with(s))
            || w.starts_with("/dev")
            || (w.starts_with("/proc") && !through_proc(w));
        !scratchy && !allowed(w)
    })
}

/// Whether `w` is a file elsewhere reached through `/proc`: a process's
/// working directory, root or open files (`/proc/self/cwd/x`).
fn through_proc(w: &Path) -> bool {
    let mut parts = w.components().skip(3).map(|c| c.as_os_str());
    let link = parts.next();
    let below = parts.next().is_some();
    below && link.is_some_and(|l| l == "cwd" || l == "root" || l == "fd" || l == "map_files")
}

/// A write outside what an action may write: `what` wrote `path`.
pub(crate) fn wrote_outside(what: &str, path: &Path) -> NotStored {
    NotStored::Uncacheable(
        PassReason::WritesOutsideOutDir,
        format!("{what} wrote `{}`", path.display()),
    )
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::through_proc;

    #[test]
    fn files_reached_through_proc_are_not_scratch() {
        for p in [
            "/proc/self/cwd/out.o",
            "/proc/123/root/etc/x",
            "/proc/self/fd/3/x",
        ] {
            assert!(through_proc(Path::new(p)), "{p}");
        }
        for p in [
            "/proc/self/status",
            "/proc/self/cwd",
            "/proc/sys/kernel/x",
            "/proc",
        ] {
            assert!(!through_proc(Path::new(p)), "{p}");
        }
    }
}
