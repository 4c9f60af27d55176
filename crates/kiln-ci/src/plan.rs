//! The pipeline as jobs and commands, before any provider's syntax.
//!
//! The shape follows what makes CI builds of a Rust workspace fast and
//! keeps them cached: jobs that run in parallel with no `needs:` between
//! them; every binary in one `cargo build --workspace --bins`; one profile
//! (`ci`), one feature set and one `RUSTFLAGS` for every job that
//! compiles, so each crate is compiled once and hit everywhere else; the
//! checks that compile nothing in a job of their own; a `deploy` build on
//! tags when the workspace has binaries.

use crate::settings::Settings;
use crate::workspace::Facts;

/// A tool a job installs before its commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    /// The `clippy` component.
    Clippy,
    /// The `rustfmt` component.
    Rustfmt,
    /// cargo-nextest.
    Nextest,
    /// cargo-deny.
    Deny,
    /// cargo-audit.
    Audit,
}

impl Tool {
    /// The crate that installs it (`None`: a rustup component).
    pub fn crate_name(self) -> Option<&'static str> {
        match self {
            Tool::Clippy | Tool::Rustfmt => None,
            Tool::Nextest => Some("cargo-nextest"),
            Tool::Deny => Some("cargo-deny"),
            Tool::Audit => Some("cargo-audit"),
        }
    }

    /// The rustup component (`None`: a crate).
    pub fn component(self) -> Option<&'static str> {
        match self {
            Tool::Clippy => Some("clippy"),
            Tool::Rustfmt => Some("rustfmt"),
            _ => None,
        }
    }
}

/// One job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Its id (`build`, `test`, `checks`, `deploy`).
    pub id: &'static str,
    /// What it is for, as its display name.
    pub name: &'static str,
    /// It compiles: kiln caches its compiles.
    pub compiles: bool,
    /// It runs only for tags.
    pub tags_only: bool,
    /// Tools to install first.
    pub tools: Vec<Tool>,
    /// Its commands, in order.
    pub commands: Vec<String>,
}

/// The jobs of the pipeline for `facts` and `settings`.
pub fn jobs(facts: &Facts, settings: &Settings) -> Vec<Job> {
    let locked = if facts.lockfile { " --locked" } else { "" };
    let features = settings.feature_args();
    let bins = if facts.has_bins { " --bins" } else { "" };
    let build = format!("cargo build --workspace{bins}{locked}{features} --profile ci");
    let clippy = format!(
        "cargo clippy --workspace --all-targets{locked}{features} --profile ci -- -D warnings"
    );
    let (test, test_tools) = match (&settings.test, facts.nextest) {
        (Some(cmd), _) => (cmd.clone(), vec![]),
        (None, true) => (
            format!("cargo nextest run --workspace{locked}{features} --cargo-profile ci"),
            vec![Tool::Nextest],
        ),
        (None, false) => (
            format!("cargo test --workspace{locked}{features} --profile ci"),
            vec![],
        ),
    };
    let mut checks = vec!["cargo fmt --all -- --check".to_owned()];
    let mut check_tools = vec![Tool::Rustfmt];
    if facts.deny {
        checks.push("cargo deny --locked check".to_owned());
        check_tools.push(Tool::Deny);
    }
    if facts.audit {
        checks.push("cargo audit".to_owned());
        check_tools.push(Tool::Audit);
    }
    checks.push("kiln doctor --deny warning".to_owned());
    let mut jobs = vec![
        Job {
            id: "build",
            name: "build and lint",
            compiles: true,
            tags_only: false,
            tools: vec![Tool::Clippy],
            commands: vec![build, clippy],
        },
        Job {
            id: "test",
            name: "test",
            compiles: true,
            tags_only: false,
            tools: test_tools,
            commands: vec![test],
        },
        Job {
            id: "checks",
            name: "format and audit",
            compiles: false,
            tags_only: false,
            tools: check_tools,
            commands: checks,
        },
    ];
    if facts.has_bins {
        jobs.push(Job {
            id: "deploy",
            name: "deploy build",
            compiles: true,
            tags_only: true,
            tools: vec![],
            commands: vec![format!(
                "cargo build --workspace{bins}{locked}{features} --profile deploy"
            )],
        });
    }
    jobs
}
