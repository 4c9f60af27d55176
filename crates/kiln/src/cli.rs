//! The command-line interface (clap definitions only).

use std::ffi::OsString;

use clap::{Args, Parser, Subcommand};

/// Names of kiln's subcommands (a first argument that is none of these and
/// looks like a compiler path puts kiln in wrapper mode).
pub const SUBCOMMANDS: &[&str] = &[
    "run", "init", "stats", "explain", "doctor", "gc", "clean", "help", "__upload",
];

/// A fast, path-independent compile cache for Rust builds.
///
/// Use kiln as cargo's compiler wrapper: `kiln run -- cargo build`, or set
/// `RUSTC_WRAPPER=kiln`, or run `kiln init` once to make every local build
/// use it.
#[derive(Debug, Parser)]
#[command(name = "kiln", version, propagate_version = true, max_term_width = 100)]
#[command(after_help = "Environment:
  KILN_DIR         store directory (default: ~/.cache/kiln)
  KILN_CACHE_SIZE  size bound of the store, e.g. 10G (default), 500M
  KILN_PATHS       normalize (default: hits from any checkout) or exact
  KILN_DISABLE     1 to compile everything without the cache
  KILN_TRACE       auto (default) or off: observe what the compiler reads
  KILN_LOG         file to append debug lines to
  KILN_REMOTE      shared store: s3://bucket/prefix, redis://host:6379/0, file:///dir
  KILN_REMOTE_READ_ONLY  1 to read the shared store, never write it
  KILN_SIGNING_KEY secret: sign shared entries, ignore unsigned ones
  (see docs/remote.md; sccache's SCCACHE_BUCKET etc. are read as a fallback)")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
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
    /// Audit the workspace and its CI configuration for slow or cache-hostile settings.
    Doctor(crate::cmd::doctor::DoctorArgs),
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
    /// Print the stats as JSON (format documented in docs/stats.md).
    #[arg(long)]
    pub json: bool,
    /// Reset the counts after printing them.
    #[arg(long)]
    pub zero: bool,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Run to explain (default: the latest).
    pub run: Option<String>,
    /// Compare with this run instead of the latest earlier build of each unit.
    #[arg(long, value_name = "RUN")]
    pub against: Option<String>,
    /// Print the explanation as JSON.
    #[arg(long)]
    pub json: bool,
    /// Show every difference for the units of this crate or package.
    #[arg(long, value_name = "NAME")]
    pub unit: Option<String>,
}
