//! Why an action could not be keyed: an input kiln could not read. The
//! action then runs without the cache, with one warning naming the input.

use std::path::{Path, PathBuf};

/// An input whose content or listing could not be read.
#[derive(Debug)]
pub struct Unreadable {
    /// What the input is to the action (`input`, `compiler`, `listing`, …).
    pub what: String,
    pub path: PathBuf,
    pub source: std::io::Error,
}

impl Unreadable {
    /// `what` at `path` could not be read.
    pub fn new(what: impl Into<String>, path: &Path, source: std::io::Error) -> Self {
        Self {
            what: what.into(),
            path: path.to_path_buf(),
            source,
        }
    }
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} `{}`: {}",
            self.what,
            self.path.display(),
            self.source
        )
    }
}

impl std::error::Error for Unreadable {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}
