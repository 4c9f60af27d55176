//! The call cargo made: `kiln <rustc> <args…>`, or under `cargo clippy`
//! `kiln <clippy-driver> <rustc> <args…>`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// A call as cargo made it.
#[derive(Debug, Clone)]
pub struct WrapperCall {
    /// The program cargo asked for: `rustc` or `clippy-driver`.
    pub program: OsString,
    /// Its arguments.
    pub args: Vec<OsString>,
}

impl WrapperCall {
    /// Whether the program is clippy's driver (then `args[0]` is rustc).
    pub fn is_clippy(&self) -> bool {
        Path::new(&self.program)
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("clippy-driver"))
    }

    /// The rustc binary and the arguments meant for it.
    pub(crate) fn rustc_and_args(&self) -> (PathBuf, &[OsString]) {
        if self.is_clippy() && !self.args.is_empty() {
            (PathBuf::from(&self.args[0]), &self.args[1..])
        } else {
            (PathBuf::from(&self.program), &self.args[..])
        }
    }
}
