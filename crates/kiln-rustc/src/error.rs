//! Why a compiler could not be identified: running it failed, it answered
//! unexpectedly, or its files could not be read.

use std::path::PathBuf;

/// Why a compiler could not be identified.
#[derive(Debug, thiserror::Error)]
pub enum CompilerError {
    /// Running the compiler failed.
    #[error("cannot run `{program}`: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The compiler answered with an error or unexpected text.
    #[error("`{program} {args}` failed: {detail}")]
    Output {
        /// The program.
        program: String,
        /// Its arguments.
        args: String,
        /// What went wrong.
        detail: String,
    },
    /// Reading the compiler or its sysroot failed.
    #[error("cannot read `{path}`: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}
