//! `kiln doctor`: audit a Rust workspace and its CI configuration for
//! compile-time waste.
//!
//! [`audit`] reads the workspace through `cargo metadata`, the root
//! manifest's profiles, `rust-toolchain(.toml)`, `.cargo/config.toml`,
//! build scripts and sources, and CI files (GitHub Actions workflows,
//! `.gitlab-ci.yml`), and returns a [`Report`] of [`Finding`]s. Renderers
//! turn a report into text ([`render_text`]), JSON ([`render_json`]),
//! Markdown ([`render_markdown`]) or SARIF 2.1.0 ([`render_sarif`]).
//! [`fix`] adds the missing CI and deploy profiles to the root manifest.
//!
//! This crate does not print, read process-wide configuration or choose
//! exit codes: that is the CLI's job.
//!
//! # Finding ids
//!
//! Every [`Rule`] has a stable id; [`Rule::ALL`] lists them and
//! `docs/doctor.md` explains each with its fix.
//!
//! # JSON format (version 1)
//!
//! [`render_json`] prints one object. New fields may be added; existing
//! fields keep their meaning while `version` is 1.
//!
//! ```json
//! {
//!   "version": 1,
//!   "tool": { "name": "kiln-doctor", "version": "0.1.0" },
//!   "root": "/abs/path/of/repository",
//!   "workspace_root": "/abs/path/of/workspace",
//!   "summary": { "error": 1, "warning": 3, "info": 0 },
//!   "findings": [
//!     {
//!       "id": "per-commit-value",
//!       "severity": "error",
//!       "file": "crates/shared/build.rs",
//!       "line": 4,
//!       "message": "`shared` bakes a per-commit value into its build ...",
//!       "why": "the value changes on every commit, so ...",
//!       "fix": "move the value into a tiny leaf crate ...",
//!       "related": [ { "file": "crates/shared/src/lib.rs", "line": 2 } ]
//!     }
//!   ]
//! }
//! ```
//!
//! - `root`: the directory that holds `.git` above the workspace (or the
//!   workspace root); every `file` is relative to it, with `/` separators.
//! - `severity`: `"error"`, `"warning"` or `"info"`, worst first in the list.
//! - `file` and `line` are `null` when a finding is about something missing
//!   (no toolchain file, for example); `related` is left out when empty.

mod checks;
mod ci;
mod error;
mod files;
mod finding;
mod fix;
mod render;
mod workspace;
mod yaml;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

pub use error::DoctorError;
pub use finding::{Finding, Location, Rule, Severity};
pub use fix::{FixOutcome, fix};
pub use render::{render_json, render_markdown, render_sarif, render_text};

/// What to audit and with what extra knowledge.
#[derive(Debug, Clone, Default)]
pub struct AuditOptions {
    /// The workspace's `Cargo.toml` (any member's works too); the current
    /// directory's workspace when `None`.
    pub manifest_path: Option<PathBuf>,
    /// Measured compile time per package, to state what a finding costs.
    pub costs: Option<UnitCosts>,
    /// Pass `--offline` to `cargo metadata`.
    pub offline: bool,
}

/// Compile milliseconds per run, by package name (from kiln's run records).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UnitCosts(pub BTreeMap<String, u64>);

impl UnitCosts {
    /// The summed cost of `packages`, or `None` when none of them is known.
    pub fn total<'a>(&self, packages: impl IntoIterator<Item = &'a str>) -> Option<u64> {
        let mut known = false;
        let mut sum = 0u64;
        for p in packages {
            if let Some(ms) = self.0.get(p) {
                known = true;
                sum = sum.saturating_add(*ms);
            }
        }
        known.then_some(sum)
    }
}

/// The result of an audit.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Format version of the JSON output; see the crate docs.
    pub version: u32,
    pub tool: Tool,
    /// Locations are relative to this directory.
    pub root: PathBuf,
    pub workspace_root: PathBuf,
    pub summary: Summary,
    /// Worst first.
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

/// Number of findings per severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub error: usize,
    pub warning: usize,
    pub info: usize,
}

impl Report {
    /// The worst severity present, if any.
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    /// Whether some finding is at least as bad as `level`.
    pub fn reaches(&self, level: Severity) -> bool {
        self.worst().is_some_and(|w| w >= level)
    }
}

/// Audits the workspace named by `options`.
///
/// # Errors
/// Only when there is no workspace to audit (`cargo metadata` fails).
/// Unparsable files become `malformed-file` findings instead.
pub fn audit(options: &AuditOptions) -> Result<Report, DoctorError> {
    let ws = workspace::load(options.manifest_path.as_deref(), options.offline)?;
    let mut findings = Vec::new();
    let ctx = checks::Context::load(ws, &mut findings);
    checks::run_all(&ctx, options.costs.as_ref(), &mut findings);
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.id.cmp(&b.id))
            .then_with(|| a.location.cmp(&b.location))
            .then_with(|| a.message.cmp(&b.message))
    });
    let mut summary = Summary::default();
    for f in &findings {
        match f.severity {
            Severity::Error => summary.error += 1,
            Severity::Warning => summary.warning += 1,
            Severity::Info => summary.info += 1,
        }
    }
    Ok(Report {
        version: 1,
        tool: Tool {
            name: "kiln-doctor",
            version: env!("CARGO_PKG_VERSION"),
        },
        root: ctx.root.clone(),
        workspace_root: ctx.ws.root.clone(),
        summary,
        findings,
    })
}
