//! Reports over the history: Markdown (GitHub step summaries, PR comments),
//! JSON (versioned, for tools) and one self-contained HTML page with charts.
//!
//! A [`Report`] is a run, the runs around it and its [`Comparison`] with
//! the baseline; the renderers only format it.

mod html;
mod json;
mod markdown;

pub use html::render_html;
pub use json::{REPORT_VERSION, render_json};
pub use markdown::render_markdown;

use std::collections::BTreeMap;

use crate::regress::Comparison;
use crate::summary::RunSummary;

/// What a report shows.
#[derive(Debug, Clone, Copy)]
pub struct Report<'a> {
    /// The run reported on.
    pub current: &'a RunSummary,
    /// Runs for the charts, oldest first (the current one included).
    pub history: &'a [RunSummary],
    /// The current run against its baseline.
    pub comparison: &'a Comparison,
}

pub use kiln_record::duration_ms;

/// `42.9%`, or `–` when nothing was cacheable.
pub fn rate(r: Option<f64>) -> String {
    r.map_or("–".to_owned(), |r| format!("{:.1}%", r * 100.0))
}

/// Compile time per package of a run (units of one package summed), slowest first.
pub fn crate_times(run: &RunSummary) -> Vec<(String, u64)> {
    let mut by: BTreeMap<String, u64> = BTreeMap::new();
    for u in &run.unit_timings {
        let name = u
            .package
            .clone()
            .unwrap_or_else(|| u.crate_name.replace('_', "-"));
        *by.entry(name).or_default() += u.compile_ms;
    }
    let mut v: Vec<(String, u64)> = by.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budgets::Budgets;
    use crate::regress::{baseline, compare};
    use crate::summary::tests::sample;

    #[test]
    fn all_formats_render() {
        let history = vec![
            sample("a", 1, 10, 10_000, "main"),
            sample("b", 2, 3, 30_000, "feature"),
        ];
        let cur = &history[1];
        let c = compare(cur, baseline(cur, &history, 10), &Budgets::default());
        let r = Report {
            current: cur,
            history: &history,
            comparison: &c,
        };
        let md = render_markdown(&r);
        assert!(md.contains("hit rate fell to 30.0% from 100.0%"), "{md}");
        let html = render_html(&r);
        assert!(
            html.contains("<canvas") && !html.contains("{{"),
            "placeholders filled"
        );
        let json: serde_json::Value = serde_json::from_str(&render_json(&r)).unwrap();
        assert_eq!(json["version"], 1);
        assert_eq!(json["over_budget"], true);
    }
}
