//! Errors that stop an audit or a fix as a whole.
//!
//! A file that cannot be parsed is not an error here: it becomes a
//! `malformed-file` finding and the rest of the audit runs. Only what leaves
//! nothing to audit (no workspace) or nothing to fix ends up in
//! [`DoctorError`].

use std::path::PathBuf;

/// Why `audit` or `fix` could not run.
#[derive(Debug, thiserror::Error)]
pub enum DoctorError {
    /// `cargo metadata` failed: no `Cargo.toml`, a broken manifest, no cargo.
    #[error("cannot read the cargo workspace {}", where_(.manifest.as_deref()))]
    Metadata {
        /// The `--manifest-path` given, if any.
        manifest: Option<PathBuf>,
        #[source]
        source: Box<cargo_metadata::Error>,
    },
    /// A file needed to apply a fix could not be read or written.
    #[error("cannot access `{}`", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The root manifest could not be parsed for `--fix`.
    #[error("cannot parse `{}` at line {line}: {message}", .path.display())]
    Toml {
        path: PathBuf,
        line: u32,
        message: String,
    },
}

fn where_(manifest: Option<&std::path::Path>) -> String {
    manifest.map_or_else(
        || "of the current directory".to_owned(),
        |m| format!("at `{}`", m.display()),
    )
}

impl DoctorError {
    /// What the user can do about it, as one line.
    pub fn hint(&self) -> String {
        match self {
            Self::Metadata { .. } => "run `kiln doctor` inside a cargo workspace, or pass \
                 `--manifest-path path/to/Cargo.toml`; `cargo metadata` must succeed there"
                .to_owned(),
            Self::Io { path, .. } => {
                format!("check that `{}` exists and is writable", path.display())
            }
            Self::Toml { path, line, .. } => {
                format!(
                    "fix the syntax of `{}` near line {line}, then run again",
                    path.display()
                )
            }
        }
    }
}
