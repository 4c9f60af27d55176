//! kiln's warnings while it stands in for a compiler or a build script.
//!
//! Every `warning: kiln: …` line a build shows is written by [`warn`]. It
//! goes to stderr, except in a process that runs a build script for cargo
//! ([`through_cargo`]): cargo keeps a build script's stderr to itself unless
//! the script fails, so there the line goes to cargo's own stderr.
//! Deciding how often to warn (once per fault and build) stays with the
//! caller; this module owns the prefix and the destination.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_warning_is_one_prefixed_line() {
        assert_eq!(line("store full"), "warning: kiln: store full\n");
    }
}
