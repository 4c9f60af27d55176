//! The crate's one error: why a lockfile could not be found, read or
//! parsed, classified by [`Cause`], with the message and the fix people see.
//! The CLI renders them in its `error:` / `hint:` format.

/// Why a lockfile could not be had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// No `Cargo.lock` in the working directory or above.
    NoLockfile,
    /// A file could not be read.
    Unreadable,
    /// An argument is neither a file nor something git could take as a ref.
    NotARef,
    /// git could not be run, or refused (not a checkout, no such ref, no
    /// lockfile committed at the ref).
    Git,
    /// None of the main branches exists to take the merge base with.
    NoBase,
    /// The text is not a lockfile cargo writes.
    Malformed,
}

/// A lockfile that cannot be found, read or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    /// What kind of trouble it is.
    pub cause: Cause,
    /// What went wrong.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

impl Error {
    pub(crate) fn new(cause: Cause, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            cause,
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// How to fix it.
    pub fn hint(&self) -> &str {
        &self.hint
    }
}
