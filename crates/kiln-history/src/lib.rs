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

pub use budgets::{Budgets, BudgetsError, BudgetsProblem};
pub use regress::{Baseline, Comparison, Regression, baseline, compare};
pub use report::{Report, render_html, render_json, render_markdown};

#[cfg(test)]
mod tests {
    /// The modules in import order (context → summary → regress → report):
    /// each may use the ones before it, never one after.
    #[test]
    fn modules_import_in_one_direction() {
        let chain: [(&str, &[&str]); 4] = [
            ("context", &[include_str!("context.rs")]),
            ("summary", &[include_str!("summary.rs")]),
            ("regress", &[include_str!("regress.rs")]),
            (
                "report",
                &[
                    include_str!("report/mod.rs"),
                    include_str!("report/html.rs"),
                    include_str!("report/json.rs"),
                    include_str!("report/markdown.rs"),
                ],
            ),
        ];
        for (i, (name, sources)) in chain.iter().enumerate() {
            for (later, _) in &chain[i + 1..] {
                let path = format!("crate::{later}");
                assert!(
                    sources.iter().all(|s| !s.contains(&path)),
                    "`{name}` uses `{later}`, which comes after it"
                );
            }
        }
    }
}
