//! `kiln history`, and the history entry every `kiln run` adds.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use kiln_config::Config;
use kiln_explain::Explanation;
use kiln_history::{History, HistoryError, RunContext, RunSummary};
use kiln_types::UnitRecord;

use crate::cli::HistoryArgs;
use crate::error::hinted;
use crate::render::duration_ms;

/// How long commands wait for another process writing the history.
const BUSY: Duration = Duration::from_secs(5);

/// The history error with its hint, for commands.
pub fn hinted_history(e: &HistoryError) -> anyhow::Error {
    hinted(e.to_string(), e.hint())
}

/// Opens the history of the store.
pub fn open(cfg: &Config) -> Result<History> {
    History::open(&kiln_history::db::path_in(&cfg.dir), BUSY).map_err(|e| hinted_history(&e))
}

/// Summarizes a finished run and adds it to the history.
pub fn record_run(
    cfg: &Config,
    run_id: &str,
    context: &RunContext,
    records: &[UnitRecord],
    explanation: Option<&Explanation>,
) -> Result<RunSummary, HistoryError> {
    let summary = RunSummary::build(run_id, context, records, explanation);
    let mut history = History::open(&kiln_history::db::path_in(&cfg.dir), BUSY)?;
    history.insert(&summary)?;
    Ok(summary)
}

/// The CI job, git checkout and project of this process.
pub fn context_here() -> (
    Option<kiln_history::summary::CiInfo>,
    kiln_history::summary::GitInfo,
    Option<String>,
) {
    let ci = kiln_history::ci_from_env(&|k| std::env::var(k).ok());
    let cwd = std::env::current_dir().ok();
    let git = cwd
        .as_deref()
        .map(kiln_history::git_info)
        .unwrap_or_default();
    (ci, git, project_here())
}

/// The project of the working directory ([`kiln_history::project_of`]).
pub fn project_here() -> Option<String> {
    std::env::current_dir()
        .ok()
        .and_then(|d| kiln_history::project_of(&d))
}

/// The latest `n` runs of this directory's project, or of every project.
pub fn runs_here(history: &History, n: usize, all_projects: bool) -> Result<Vec<RunSummary>> {
    let project = if all_projects { None } else { project_here() };
    history
        .last_of(n, project.as_deref())
        .map_err(|e| hinted_history(&e))
}

pub fn run(args: &HistoryArgs) -> Result<ExitCode> {
    let cfg = super::config()?;
    let runs = if args.remote {
        super::team::remote_history(&cfg, args.last)?
    } else {
        let history = open(&cfg)?;
        runs_here(&history, args.last, args.all_projects)?
    };
    if args.json {
        let docs: Vec<serde_json::Value> = runs
            .iter()
            .filter_map(|r| serde_json::from_slice(&kiln_history::summary_json(r)).ok())
            .collect();
        println!("{}", serde_json::to_string_pretty(&docs)?);
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(p) = project_here().filter(|_| !args.remote && !args.all_projects) {
        println!(
            "project `{p}` (`--all-projects` for every project in `{}`)",
            cfg.dir.display()
        );
    }
    print!("{}", table(&runs));
    Ok(ExitCode::SUCCESS)
}

fn table(runs: &[RunSummary]) -> String {
    let mut out = String::new();
    if runs.is_empty() {
        out.push_str("no runs in the history yet: build with `kiln run -- cargo build`\n");
        return out;
    }
    let _ = writeln!(
        out,
        "{:<24} {:<16} {:<12} {:<9} {:>7} {:>6} {:>8} {:>8} {:>7}",
        "run", "started (UTC)", "branch", "commit", "wall", "units", "hit rate", "saved", "crates"
    );
    for r in runs {
        let _ = writeln!(
            out,
            "{:<24} {:<16} {:<12} {:<9} {:>7} {:>6} {:>8} {:>8} {:>7}",
            r.id,
            kiln_record::utc_minute(r.started_ms),
            r.branch().unwrap_or("-"),
            r.short_commit(9).unwrap_or("-"),
            duration_ms(r.wall_ms),
            r.units,
            kiln_history::report::rate(r.hit_rate()),
            duration_ms(r.compile_ms_saved),
            r.crates
        );
    }
    out
}
