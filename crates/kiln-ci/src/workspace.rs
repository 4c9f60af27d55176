//! What a pipeline needs to know about the workspace: its members' targets
//! (from `cargo metadata`) and the tool files at its root.
//!
//! Reads nothing else; turning these facts into jobs is `pipeline`'s.

use std::path::{Path, PathBuf};

use cargo_metadata::{MetadataCommand, TargetKind};

use crate::CiError;

/// The facts a pipeline is generated from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// The workspace root directory.
    pub root: PathBuf,
    /// Some member has a binary target (`--bins` then builds them all).
    pub has_bins: bool,
    /// The root manifest is a package as well as the workspace.
    pub root_is_package: bool,
    /// `rust-toolchain.toml` (or `rust-toolchain`) pins the toolchain.
    pub toolchain_file: bool,
    /// The workspace configures cargo-nextest (`.config/nextest.toml`).
    pub nextest: bool,
    /// `deny.toml`: `cargo deny check` runs in the checks job.
    pub deny: bool,
    /// `audit.toml` or `.cargo/audit.toml`: `cargo audit` runs there.
    pub audit: bool,
    /// `Cargo.lock` is committed: every cargo call gets `--locked`.
    pub lockfile: bool,
}

/// Reads the facts of the workspace whose manifest is `manifest` (or the
/// current directory's).
///
/// # Errors
/// When `cargo metadata` fails (no workspace there).
pub fn load(manifest: Option<&Path>, offline: bool) -> Result<Facts, CiError> {
    let mut cmd = MetadataCommand::new();
    cmd.no_deps();
    if let Some(m) = manifest {
        cmd.manifest_path(m);
    }
    if offline {
        cmd.other_options(vec!["--offline".to_owned()]);
    }
    let meta = cmd.exec().map_err(|e| CiError::Metadata(e.to_string()))?;
    let root = meta.workspace_root.clone().into_std_path_buf();
    let root_manifest = root.join("Cargo.toml");
    let members = meta.workspace_packages();
    let has_bins = members
        .iter()
        .any(|p| p.targets.iter().any(|t| t.kind.contains(&TargetKind::Bin)));
    let root_is_package = members
        .iter()
        .any(|p| p.manifest_path.as_std_path() == root_manifest);
    let at = |rel: &str| root.join(rel).is_file();
    Ok(Facts {
        has_bins,
        root_is_package,
        toolchain_file: at("rust-toolchain.toml") || at("rust-toolchain"),
        nextest: at(".config/nextest.toml"),
        deny: at("deny.toml") || at(".deny.toml"),
        audit: at("audit.toml") || at(".cargo/audit.toml"),
        lockfile: at("Cargo.lock"),
        root,
    })
}

/// Writes `rust-toolchain.toml` at `root` pinning the toolchain `rustc`
/// (from `PATH`) is, with the components the pipeline uses, when the
/// workspace pins none: the compiler is part of every cache key, so a
/// runner's `stable` moving on would otherwise miss everything. Returns
/// the file written, or `None` when one was there.
///
/// # Errors
/// When `rustc --version` cannot be run or the file cannot be written.
pub fn pin_toolchain(root: &Path) -> Result<Option<PathBuf>, CiError> {
    if root.join("rust-toolchain.toml").is_file() || root.join("rust-toolchain").is_file() {
        return Ok(None);
    }
    let out = std::process::Command::new("rustc")
        .arg("--version")
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let Some(version) = text
        .split_whitespace()
        .nth(1)
        .filter(|_| out.status.success())
    else {
        return Err(CiError::Metadata(format!(
            "`rustc --version` printed `{}`",
            text.trim()
        )));
    };
    let path = root.join("rust-toolchain.toml");
    fs_err::write(
        &path,
        format!(
            "# Pinned by `kiln ci init`: the compiler is part of every cache key.\n\
             [toolchain]\nchannel = \"{version}\"\ncomponents = [\"clippy\", \"rustfmt\"]\n"
        ),
    )?;
    Ok(Some(path))
}
