//! kiln's warnings while it stands in for a compiler or a build script, and
//! in its commands.
//!
//! Every `warning: kiln: …` line kiln writes goes through [`warn`] (with a
//! fix: [`warn_with_hint`], the hint inline, the warning one line), and the
//! one error of a build through [`error`]. A warning
//! goes to stderr, except in a process that runs a build script for cargo
//! ([`through_cargo`]): cargo keeps a build script's stderr to itself unless
//! the script fails, so there the line goes to cargo's own stderr.
//! [`warn_once`] writes a warning once per fault and build across all of
//! kiln's processes in that build (one per compiler call would flood the
//! output: a damaged store is one fault, not one per unit).

use std::fs::File;
use std::io::Write;
use std::sync::OnceLock;

/// The prefix of every warning.
pub const PREFIX: &str = "warning: kiln: ";

static DESTINATION: OnceLock<File> = OnceLock::new();

/// Sends this process's warnings to its parent's (cargo's) stderr, when it
/// can be opened (Linux); otherwise they stay on stderr.
pub fn through_cargo() {
    let parent_stderr = format!("/proc/{}/fd/2", std::os::unix::process::parent_id());
    if let Ok(f) = std::fs::OpenOptions::new().append(true).open(parent_stderr) {
        let _ = DESTINATION.set(f);
    }
}

/// The line [`warn`] writes.
pub fn line(msg: &str) -> String {
    format!("{PREFIX}{msg}\n")
}

/// Writes one warning, in one `write`.
pub fn warn(msg: &str) {
    let line = line(msg);
    match DESTINATION.get() {
        Some(mut f) => {
            let _ = f.write_all(line.as_bytes());
        }
        None => {
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
        }
    }
}

/// Writes the one error kiln itself reports in a build: the compiler it
/// stands in for cannot be started (the build fails as it would without
/// kiln).
pub fn error(msg: &str) {
    let line = format!("error: kiln: {msg}\n");
    match DESTINATION.get() {
        Some(mut f) => {
            let _ = f.write_all(line.as_bytes());
        }
        None => {
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
        }
    }
}

/// Writes one warning with its fix: `warning: kiln: MSG (hint: HINT)`, one
/// line (a build's output interleaves; a warning is never split).
pub fn warn_with_hint(msg: &str, hint: &str) {
    warn(&format!("{msg} (hint: {hint})"));
}

/// How long a warning stands for a build without a run id (a bare
/// `RUSTC_WRAPPER`): its calls come within this window of each other.
const ADHOC_WINDOW: std::time::Duration = std::time::Duration::from_secs(120);

/// Writes the warning unless one for `fault` was written in this build:
/// a marker per fault in `dir/warned` holds the run (`run`, `kiln run`'s
/// id) that warned, or, without a run id, stands for two minutes. When the
/// marker cannot be used, warns.
pub fn warn_once(dir: &std::path::Path, run: Option<&str>, fault: &str, msg: &str) {
    if first_in_build(dir, run, fault).unwrap_or(true) {
        warn(msg);
    }
}

fn first_in_build(dir: &std::path::Path, run: Option<&str>, fault: &str) -> std::io::Result<bool> {
    use std::io::{Read, Seek};
    let markers = dir.join("warned");
    std::fs::create_dir_all(&markers)?;
    // A link or a FIFO in the marker's place is not followed or waited on,
    // and a lock someone else holds is waited for a moment only.
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(markers.join(fault))?;
    if !f.metadata()?.is_file() {
        return Ok(true);
    }
    let started = std::time::Instant::now();
    while f.try_lock().is_err() {
        if started.elapsed() > std::time::Duration::from_millis(200) {
            return Ok(true);
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let mut held = String::new();
    f.read_to_string(&mut held)?;
    let this = run.unwrap_or("-");
    let recent = f
        .metadata()?
        .modified()?
        .elapsed()
        .is_ok_and(|age| age < ADHOC_WINDOW);
    if held == this && (run.is_some() || recent) {
        return Ok(false);
    }
    f.set_len(0)?;
    f.rewind()?;
    f.write_all(this.as_bytes())?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_per_fault_and_run() {
        let d = tempfile::tempdir().unwrap();
        assert!(first_in_build(d.path(), Some("r1"), "corrupt").unwrap());
        assert!(!first_in_build(d.path(), Some("r1"), "corrupt").unwrap());
        assert!(first_in_build(d.path(), Some("r1"), "other").unwrap());
        assert!(first_in_build(d.path(), Some("r2"), "corrupt").unwrap());
        assert!(first_in_build(d.path(), None, "corrupt").unwrap());
        assert!(!first_in_build(d.path(), None, "corrupt").unwrap());
        // A link in a marker's place is not written through.
        let victim = d.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        std::os::unix::fs::symlink(&victim, d.path().join("warned/linked")).unwrap();
        assert!(first_in_build(d.path(), Some("r1"), "linked").is_err());
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    }

    #[test]
    fn a_warning_is_one_prefixed_line() {
        assert_eq!(line("store full"), "warning: kiln: store full\n");
    }
}
