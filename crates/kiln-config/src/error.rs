//! The crate's one error: a setting that cannot be used, what is wrong with
//! it and how to fix it.
//!
//! What is wrong is typed ([`Problem`]). Parsers of one kind of value have
//! their own small enums ([`SizeError`], [`UrlError`], [`FileError`]) that
//! convert into it; the setting that held the value and the fix are added
//! where the value was read.

use crate::file::FileError;
use crate::remote::UrlError;
use crate::size::SizeError;

/// A `KILN_*` value (or a `kiln.toml` setting) that cannot be used.
/// A missing value (no `HOME` for the default directory) is not shown as
/// an empty one.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{}", if value.is_empty() { format!("`{var}`: {problem}") } else { format!("invalid value `{value}` for `{var}`: {problem}") })]
pub struct ConfigError {
    /// The variable.
    pub var: &'static str,
    /// Its value, lossily decoded.
    pub value: String,
    /// What is wrong with it.
    pub problem: Problem,
    /// How to fix it.
    pub hint: String,
}

impl ConfigError {
    pub(crate) fn new(
        var: &'static str,
        value: impl Into<String>,
        problem: impl Into<Problem>,
        hint: impl Into<String>,
    ) -> Self {
        Self {
            var,
            value: value.into(),
            problem: problem.into(),
            hint: hint.into(),
        }
    }
}

/// What is wrong with a setting's value.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum Problem {
    #[error("not valid UTF-8")]
    NotUtf8,
    #[error("no cache directory: neither `XDG_CACHE_HOME` nor `HOME` is set")]
    NoCacheDir,
    #[error("it is a file, not a directory")]
    NotADirectory,
    #[error("not a boolean")]
    NotABoolean,
    #[error("not a duration")]
    NotADuration,
    #[error("unknown path mode")]
    UnknownPathMode,
    #[error("unknown trace mode")]
    UnknownTraceMode,
    #[error("run ids use only letters, digits, `-` and `_`")]
    BadRunId,
    /// Set, but to nothing (a secret that did not expand).
    #[error("set but empty")]
    Empty,
    /// A signing key too short to be a secret.
    #[error("shorter than 16 bytes")]
    ShortKey,
    #[error(transparent)]
    Size(#[from] SizeError),
    #[error(transparent)]
    Url(#[from] UrlError),
    #[error(transparent)]
    File(#[from] FileError),
}
