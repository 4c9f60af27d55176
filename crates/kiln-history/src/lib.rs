//! Run history: what every `kiln run` did, kept to watch builds over time.
//!
//! - [`summary`]: the [`RunSummary`] of one run and its versioned JSON
//!   ([`summary_json`]), built from the run's unit records and root causes.
//! - [`context`]: git commit/branch and CI job of a run.
//! - [`db`]: the SQLite database `KILN_DIR/history.sqlite` ([`History`]),
//!   schema versioned by [`migrate`].
//! - [`budgets`]: the `[budgets]` table of `kiln.toml`.
//! - [`regress`]: the baseline of a run and its regressions.
//! - [`report`]: Markdown, JSON and HTML reports.
//!
//! This crate reads no `KILN_*` variables; the CLI passes paths and values.

pub mod context;
pub mod db;
pub mod migrate;
pub mod summary;

pub use context::{RunContext, ci_from_env, git_info, project_of};
pub use db::{History, HistoryError};
pub use summary::{RunSummary, SUMMARY_VERSION, summary_from_json, summary_json};
pub mod budgets;
pub mod regress;
pub mod report;

pub use budgets::{Budgets, BudgetsError};
pub use regress::{Baseline, Comparison, Regression, baseline, compare};
pub use report::{Report, render_html, render_json, render_markdown};
