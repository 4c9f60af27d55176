//! The command-line interface (clap definitions only).

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Names of kiln's subcommands (a first argument that is none of these and
/// looks like a compiler path puts kiln in wrapper mode).
pub const SUBCOMMANDS: &[&str] = &[
    "run", "init", "stats", "explain", "history", "report", "deps", "doctor", "ci", "gc", "clean",
    "help", "__upload",
];

/// A fast, path-independent compile cache for Rust builds.
///
/// Use kiln as cargo's compiler wrapper: `kiln run -- cargo build`, or set
/// `RUSTC_WRAPPER=kiln`, or run `kiln init` once to make every local build
/// use it.
#[derive(Debug, Parser)]
#[command(name = "kiln", version, propagate_version = true, max_term_width = 100)]
#[command(after_help = environment_help())]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The variables section of `kiln --help`: kiln's own from their table,
/// then the ones kiln reads from elsewhere.
fn environment_help() -> String {
    format!(
        "Environment:\n{}  \
         (see docs/remote.md; sccache's SCCACHE_BUCKET etc. are read as a fallback)\n  \
         GITHUB_STEP_SUMMARY  `kiln run` and `kiln report` append a Markdown report to this file",
        kiln_config::vars::help()
    )
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a command (usually cargo) with kiln as the compiler wrapper, then
    /// print a summary of the run.
    Run(RunArgs),
    /// Make kiln cargo's wrapper for every local build (edits the user's cargo config).
    Init(InitArgs),
    /// Show cache counts since the last reset.
    Stats(StatsArgs),
    /// Explain why units of a run missed, and the root causes behind them.
    Explain(ExplainArgs),
    /// List recent runs from the history (`KILN_DIR/history.sqlite`).
    History(HistoryArgs),
    /// Report on the latest run against the baseline: regressions, hit rate,
    /// time saved, root causes, slowest units; charts over the history in HTML.
    Report(ReportArgs),
    /// Review dependency changes between two lockfiles or git refs.
    #[command(subcommand)]
    Deps(DepsCommand),
    /// Audit the workspace and its CI configuration for slow or cache-hostile settings.
    Doctor(DoctorArgs),
    /// Write and check the CI pipeline; carry the store between CI jobs.
    #[command(subcommand)]
    Ci(CiCommand),
    /// Trim the store to its size bound now (or expire old remote objects).
    Gc(GcArgs),
    /// Remove every cached entry.
    Clean,
    /// Upload objects of the local store (started by the wrapper).
    #[command(name = "__upload", hide = true)]
    Upload {
        /// `kind:key` items.
        items: Vec<String>,
    },
}

#[derive(Debug, Args)]
pub struct GcArgs {
    /// Expire objects of the remote store (`KILN_REMOTE`) instead of trimming
    /// the local one; for stores without lifecycle rules.
    #[arg(long, requires = "older_than")]
    pub remote: bool,
    /// With `--remote`: remove objects last written longer ago than this,
    /// e.g. `30d`, `12h`.
    #[arg(long, value_name = "AGE", requires = "remote")]
    pub older_than: Option<String>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Do not print the summary at the end.
    #[arg(long)]
    pub quiet: bool,
    /// The command to run, after `--`.
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<OsString>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Show what would change without writing.
    #[arg(long, conflicts_with = "undo")]
    pub check: bool,
    /// Remove kiln from the cargo config again.
    #[arg(long)]
    pub undo: bool,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Print the stats as JSON (format documented in docs/stats.md); same as `--format json`.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// Output format: text, json, or openmetrics (text exposition for scrapers).
    #[arg(long, value_enum, default_value_t = StatsFormat::Text)]
    pub format: StatsFormat,
    /// Reset the counts after printing them.
    #[arg(long)]
    pub zero: bool,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Run to explain (default: the latest).
    pub run: Option<String>,
    /// Compare with this run instead of the latest earlier build of each
    /// unit; `latest-<branch>` (e.g. `latest-main`) is the branch's last run
    /// stored beside the remote cache, fetched when needed.
    #[arg(long, value_name = "RUN")]
    pub against: Option<String>,
    /// Show the recorded values of every environment variable that changed,
    /// not only harmless ones such as `CARGO_PKG_VERSION`. Values of other
    /// variables are recorded only by builds run with `KILN_EXPLAIN_ENV_VALUES=1`.
    #[arg(long)]
    pub show_env_values: bool,
    /// Print the explanation as JSON.
    #[arg(long)]
    pub json: bool,
    /// Show every difference for the units of this crate or package.
    #[arg(long, value_name = "NAME")]
    pub unit: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StatsFormat {
    Text,
    Json,
    Openmetrics,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// How many runs to list, newest last.
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = at_least_one)]
    pub last: usize,
    /// Print the run summaries as JSON (format documented in docs/monitoring.md).
    #[arg(long)]
    pub json: bool,
    /// List the team's runs stored beside the remote cache (`KILN_REMOTE`)
    /// instead of this machine's.
    #[arg(long)]
    pub remote: bool,
    /// Every project's runs, not only those of the working directory's
    /// workspace.
    #[arg(long)]
    pub all_projects: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Markdown,
    Html,
    Json,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Output format: markdown (step summary, PR comment), html (one file
    /// with charts, no network needed), json (documented, `"version": 1`).
    #[arg(long, value_enum, default_value_t = ReportFormat::Markdown)]
    pub format: ReportFormat,
    /// Runs shown in charts and in the JSON history.
    #[arg(long, value_name = "N", default_value_t = 30, value_parser = at_least_one)]
    pub last: usize,
    /// Run to report on (default: the latest).
    #[arg(long, value_name = "RUN")]
    pub run: Option<String>,
    /// Write the report to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit with 1 when a budget is crossed (`[budgets]` in `kiln.toml`,
    /// found from the working directory up; defaults otherwise).
    #[arg(long)]
    pub fail_on_regression: bool,
    /// Compare with every project's runs, not only those of the working
    /// directory's workspace.
    #[arg(long)]
    pub all_projects: bool,
}

#[derive(Debug, Subcommand)]
pub enum DepsCommand {
    /// Packages added, removed and upgraded between two lockfiles, with what
    /// each new direct dependency pulls in and costs to compile.
    Diff(DepsDiffArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DepsFormat {
    Text,
    Markdown,
    Json,
}

#[derive(Debug, Args)]
pub struct DepsDiffArgs {
    /// Base: a git ref or a path to a `Cargo.lock` (default: the merge base
    /// with `main`, `master` or `origin/HEAD`).
    pub base: Option<String>,
    /// Head: a git ref or a path to a `Cargo.lock` (default: the work tree).
    pub head: Option<String>,
    /// Output format: text, markdown (fits a PR comment), json.
    #[arg(long, value_enum, default_value_t = DepsFormat::Text)]
    pub format: DepsFormat,
}

#[derive(Debug, Subcommand)]
pub enum CiCommand {
    /// Write the CI pipeline for this workspace (parallel jobs, one cached
    /// profile and feature set, the kiln Action in each job); adds the CI
    /// and deploy profiles when missing.
    Init(CiInitArgs),
    /// Fail, with a diff, when the committed pipeline is not what `init`
    /// would write now.
    Check(CiCheckArgs),
    /// Restore the store from a snapshot: the GitHub Actions cache (in a
    /// job of the kiln Action) or `--file`.
    Restore(SnapshotArgs),
    /// Save a snapshot of what this job used and wrote (see `restore`).
    Save(SnapshotArgs),
    /// End a CI job: its report to the step summary, its numbers as step
    /// outputs, then `save` (not when read-only). Runs once per job.
    Finish(FinishArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CiProvider {
    Github,
    Gitlab,
}

#[derive(Debug, Args)]
pub struct CiInitArgs {
    /// The CI service: github writes `.github/workflows/ci.yml`, gitlab
    /// writes `.gitlab-ci.yml`.
    #[arg(long, value_enum, default_value_t = CiProvider::Github)]
    pub provider: CiProvider,
    /// The workspace's `Cargo.toml` (default: the current directory's).
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// Print the pipeline instead of writing it (and leave profiles alone).
    #[arg(long)]
    pub stdout: bool,
}

#[derive(Debug, Args)]
pub struct CiCheckArgs {
    /// The CI service whose file to check.
    #[arg(long, value_enum, default_value_t = CiProvider::Github)]
    pub provider: CiProvider,
    /// The workspace's `Cargo.toml` (default: the current directory's).
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// A snapshot file instead of the GitHub Actions cache (GitLab's cache,
    /// a shared disk).
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct FinishArgs {
    /// Save the snapshot here instead of the GitHub Actions cache.
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Report only; save nothing.
    #[arg(long)]
    pub no_save: bool,
}

/// A count of runs: a number, 1 or more.
fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{s}` is not a number")),
    }
}

#[derive(Args, Debug)]
pub struct DoctorArgs {
    /// The workspace's Cargo.toml (default: the workspace of the current directory).
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// Output format: text for people, json (documented, `"version": 1`),
    /// markdown for a step summary or PR comment, sarif for code scanning.
    #[arg(long, value_enum, default_value_t = DoctorFormat::Text)]
    pub format: DoctorFormat,
    /// Exit with 1 when a finding is at least this severe.
    #[arg(long, value_enum, value_name = "LEVEL", default_value_t = DenyLevel::Never)]
    pub deny: DenyLevel,
    /// Add the missing `[profile.ci]` and `[profile.deploy]` to the root
    /// Cargo.toml (comments and formatting are kept), then report.
    #[arg(long)]
    pub fix: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DoctorFormat {
    Text,
    Json,
    Markdown,
    Sarif,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DenyLevel {
    /// Always exit 0 (report only).
    Never,
    Error,
    Warning,
    Info,
}
