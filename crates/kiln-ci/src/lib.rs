//! kiln in CI.
//!
//! - [`workspace`] and [`settings`]: what a pipeline is generated from
//!   (the workspace's targets and tool files; `[ci]` in `kiln.toml`).
//! - [`plan`]: the jobs and their commands, provider-neutral.
//! - [`github`], [`gitlab`]: the plan in each provider's syntax.
//! - [`generate`] and [`check`]: what `kiln ci init` writes and what
//!   `kiln ci check` compares the committed file with.
//! - [`ghcache`]: the GitHub Actions cache carrying a store snapshot
//!   between jobs (the snapshot itself is `kiln_store::snapshot`).
//!
//! Data flows one way: facts and settings → plan → text.

pub mod ghcache;
pub mod github;
pub mod gitlab;
pub mod plan;
pub mod settings;
pub mod workspace;

use std::path::{Path, PathBuf};

/// The first lines of every generated file.
pub const HEADER: &str = "\
# Written by `kiln ci init` from this workspace and `[ci]` in kiln.toml.
# `kiln ci check` fails when this file no longer matches them: change
# kiln.toml (or the workspace) and run `kiln ci init` again instead of
# editing it by hand.

";

/// The kiln Action, at this version of kiln.
pub fn action_ref() -> String {
    format!("kiln-rs/kiln@v{}", env!("CARGO_PKG_VERSION"))
}

/// A problem generating or checking a pipeline.
#[derive(Debug, thiserror::Error)]
pub enum CiError {
    /// `cargo metadata` failed.
    #[error("cannot read the workspace: {0}")]
    Metadata(String),
    /// `[ci]` in kiln.toml is wrong.
    #[error("`{}`: {problem}", path.display())]
    Settings {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// Reading or writing a file failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl CiError {
    /// What to do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            CiError::Metadata(_) => {
                Some("run it in a cargo workspace, or pass `--manifest-path`".into())
            }
            CiError::Settings { .. } => Some(
                "the `[ci]` settings are `features`, `all_features`, `no_default_features`, \
                 `rustflags`, `test`, `runner` and `branch` (see docs/ci.md)"
                    .into(),
            ),
            CiError::Io(_) => None,
        }
    }
}

/// Which CI service the pipeline is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// GitHub Actions.
    Github,
    /// GitLab CI.
    Gitlab,
}

/// A generated pipeline file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// Its path, absolute.
    pub path: PathBuf,
    /// Its path relative to the workspace root.
    pub rel: &'static str,
    /// Its text.
    pub text: String,
}

/// The pipeline for the workspace of `manifest` (the current directory's
/// when `None`).
///
/// # Errors
/// When the workspace or its `kiln.toml` cannot be read.
pub fn generate(
    manifest: Option<&Path>,
    provider: Provider,
    offline: bool,
) -> Result<Generated, CiError> {
    let facts = workspace::load(manifest, offline)?;
    let settings = settings::load(&facts.root)?;
    let jobs = plan::jobs(&facts, &settings);
    let (rel, text) = match provider {
        Provider::Github => (github::PATH, github::render(&facts, &settings, &jobs)),
        Provider::Gitlab => (gitlab::PATH, gitlab::render(&facts, &settings, &jobs)),
    };
    Ok(Generated {
        path: facts.root.join(rel),
        rel,
        text,
    })
}

/// How the committed file differs from `generated`: `None` when it is the
/// same, else a unified diff (a missing file diffs against nothing).
pub fn check(generated: &Generated) -> Option<String> {
    let committed = std::fs::read_to_string(&generated.path).unwrap_or_default();
    if committed == generated.text {
        return None;
    }
    let diff = similar::TextDiff::from_lines(&committed, &generated.text);
    Some(
        diff.unified_diff()
            .context_radius(3)
            .header(
                &format!("{} (committed)", generated.rel),
                &format!("{} (kiln ci init)", generated.rel),
            )
            .to_string(),
    )
}
