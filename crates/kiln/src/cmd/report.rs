//! `kiln report`: the latest run against its baseline, as Markdown, JSON or
//! HTML; appended to the GitHub step summary when there is one; and the
//! `--fail-on-regression` gate over the budgets in `kiln.toml`.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use kiln_history::regress::DEFAULT_WINDOW;
use kiln_history::{Comparison, Report, RunSummary};

use crate::cli::{ReportArgs, ReportFormat};
use crate::error::hinted;

/// Runs read to find a baseline (the charts show `--last`).
const BASELINE_SEARCH: usize = 200;

/// The environment variable GitHub Actions sets to the step summary file.
pub const STEP_SUMMARY: &str = "GITHUB_STEP_SUMMARY";

/// Compares `current` with its baseline among `runs` under `budgets`.
pub fn compare(
    current: &RunSummary,
    runs: &[RunSummary],
    budgets: &kiln_history::Budgets,
) -> Comparison {
    let base = kiln_history::baseline(current, runs, DEFAULT_WINDOW);
    kiln_history::compare(current, base, budgets)
}

/// Appends `markdown` to the step summary file.
pub fn append_step_summary(path: &Path, markdown: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(markdown.as_bytes())?;
    f.write_all(b"\n")
}

pub fn run(args: &ReportArgs) -> Result<ExitCode> {
    let cfg = super::config()?;
    let cwd = std::env::current_dir().context("cannot read the working directory")?;
    let loaded = kiln_history::budgets::load(&cwd).map_err(|e| hinted(e.to_string(), e.hint()))?;
    let history = super::history::open(&cfg)?;
    let local =
        super::history::runs_here(&history, BASELINE_SEARCH.max(args.last), args.all_projects)?;
    // This machine's latest run is the default, even when a teammate's run
    // stored beside the remote cache is newer.
    let latest_local = local.last().map(|r| r.id.clone());
    let runs = super::team::with_team_history(&cfg, local);
    let current = match args.run.as_ref().or(latest_local.as_ref()) {
        Some(id) => runs.iter().find(|r| &r.id == id).ok_or_else(|| {
            hinted(
                format!("no run `{id}` in the history"),
                "list runs with `kiln history`",
            )
        })?,
        None => {
            return Err(hinted(
                format!("no runs in the history of `{}`", cfg.dir.display()),
                "build with `kiln run -- cargo build` first",
            ));
        }
    };
    let comparison = compare(current, &runs, &loaded.budgets);
    let upto: Vec<RunSummary> = runs
        .iter()
        .filter(|r| r.started_ms <= current.started_ms)
        .cloned()
        .collect();
    let shown = &upto[upto.len().saturating_sub(args.last.max(1))..];
    let report = Report {
        current,
        history: shown,
        comparison: &comparison,
    };
    let text = match args.format {
        ReportFormat::Markdown => kiln_history::render_markdown(&report),
        ReportFormat::Html => kiln_history::render_html(&report),
        ReportFormat::Json => kiln_history::render_json(&report),
    };
    match &args.out {
        Some(path) => std::fs::write(path, &text)
            .with_context(|| format!("cannot write `{}`", path.display()))?,
        None => print!("{text}"),
    }
    if args.format == ReportFormat::Markdown
        && args.out.is_none()
        && let Some(path) = std::env::var_os(STEP_SUMMARY).filter(|p| !p.is_empty())
    {
        let path = std::path::PathBuf::from(path);
        append_step_summary(&path, &text)
            .with_context(|| format!("cannot append to the step summary `{}`", path.display()))?;
    }
    if args.fail_on_regression && comparison.over_budget() {
        let crossed: Vec<&kiln_history::Regression> =
            comparison.regressions.iter().filter(|r| r.budget).collect();
        eprintln!(
            "error: run `{}` is over budget ({} crossed)",
            current.id,
            if crossed.len() == 1 {
                "1 budget".to_owned()
            } else {
                format!("{} budgets", crossed.len())
            }
        );
        for r in crossed {
            eprintln!("  - {}", r.message);
        }
        let source = loaded.file.as_ref().map_or_else(
            || "the default budgets (no `kiln.toml` found)".to_owned(),
            |f| format!("`[budgets]` in `{}`", f.display()),
        );
        eprintln!(
            "hint: `kiln explain {}` shows why units missed; budgets come from {source}",
            current.id
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
