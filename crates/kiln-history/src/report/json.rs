//! The JSON report (format version [`REPORT_VERSION`], documented in
//! `docs/monitoring.md`): the run summary, its baseline and regressions, and
//! the summaries of the runs around it.

use serde::Serialize;

use super::Report;
use crate::regress::{Baseline, Regression};
use crate::summary::{CauseSummary, RunSummary};

/// Version of the JSON report.
pub const REPORT_VERSION: u32 = 1;

#[derive(Serialize)]
struct JsonReport<'a> {
    version: u32,
    run: &'a RunSummary,
    baseline: Option<&'a Baseline>,
    over_budget: bool,
    regressions: &'a [Regression],
    new_crates: &'a [String],
    new_root_causes: &'a [CauseSummary],
    history: Vec<&'a RunSummary>,
}

/// The JSON report, pretty-printed.
pub fn render_json(r: &Report<'_>) -> String {
    let doc = JsonReport {
        version: REPORT_VERSION,
        run: r.current,
        baseline: r.comparison.baseline.as_ref(),
        over_budget: r.comparison.over_budget(),
        regressions: &r.comparison.regressions,
        new_crates: &r.comparison.new_crates,
        new_root_causes: &r.comparison.new_root_causes,
        history: r.history.iter().collect(),
    };
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}
