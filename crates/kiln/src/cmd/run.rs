//! `kiln run -- <command…>`: run a build with kiln as the wrapper, summarize
//! it, add it to the history and, in GitHub Actions, to the step summary.

use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{Context, Result};
use kiln_config::{Config, vars};
use kiln_history::RunContext;

use crate::cli::RunArgs;
use crate::error::hinted;
use crate::render;

pub fn run(args: &RunArgs) -> Result<ExitCode> {
    let (program, rest) = args.command.split_first().context("no command given")?;
    let mut cmd = Command::new(program);
    cmd.args(rest);
    let cfg = match kiln_config::Config::from_env() {
        Ok(c) => Some(c),
        Err(e) => {
            kiln_diag::warn_with_hint(&format!("{e}; running without the cache"), &e.hint);
            None
        }
    };
    let started_ms = kiln_record::now_ms();
    let run_id = kiln_record::new_run_id(started_ms);
    let mut agent = None;
    if let Some(cfg) = &cfg {
        let exe = std::env::current_exe().context("cannot locate the kiln executable")?;
        cmd.env("RUSTC_WRAPPER", exe).env(vars::RUN_ID, &run_id);
        // Calls in other directories (registry crates) use the same settings.
        cmd.env(
            vars::CONFIG,
            cfg.config_file
                .as_deref()
                .map_or_else(|| "none".into(), |p| p.as_os_str().to_owned()),
        );
        if let Some(e) = &cfg.remote_problem {
            kiln_diag::warn_with_hint(&format!("{e}; building without the remote store"), &e.hint);
            cmd.env(vars::REMOTE, "off");
        }
        agent = super::agent::start(cfg, &args.command);
        match &agent {
            Some(a) => {
                cmd.env(vars::AGENT, a.agent.socket());
            }
            // The agent could not start and said why: the calls of this
            // build leave the remote store alone rather than warn again.
            None if cfg.remote.is_some() && !cfg.disabled => {
                cmd.env(vars::REMOTE, "off");
            }
            None => {}
        }
    }
    let clock = Instant::now();
    let status = cmd.status().map_err(|e| {
        hinted(
            format!("cannot run `{}`: {e}", program.to_string_lossy()),
            "check that the command is installed and on `PATH`",
        )
    })?;
    let wall_ms = u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX);
    let code = status.code().unwrap_or(1);
    if let Some(cfg) = cfg {
        let remote = agent.map(|a| {
            let records = kiln_record::read_run(&cfg.dir, &run_id).unwrap_or_default();
            super::agent::finish(a, &cfg, &run_id, &records)
        });
        let context = RunContext {
            started_ms,
            wall_ms,
            command: args
                .command
                .iter()
                .map(|a| a.to_string_lossy())
                .collect::<Vec<_>>()
                .join(" "),
            exit_code: code,
            ..RunContext::default()
        };
        let summary = finish(&cfg, &run_id, context, remote.as_ref(), args.quiet);
        if let (Some(summary), Some(report)) = (&summary, &remote) {
            super::team::publish(&cfg, summary, report);
        }
        if let Err(e) = kiln_store::LocalStore::new(&cfg.dir).gc(cfg.cache_size) {
            kiln_diag::warn(&format!("cache size check failed: {e}"));
        }
    }
    Ok(ExitCode::from(
        u8::try_from(code.clamp(0, 255)).unwrap_or(1),
    ))
}

/// The end of a CI job whose builds ran under `KILN_RUN_ID` (not inside
/// `kiln run`): the same summary, history entry and step summary, timed
/// from the job's first recorded unit.
pub fn finish_job(cfg: &Config, run_id: &str) -> Option<kiln_history::RunSummary> {
    let records = kiln_record::read_run(&cfg.dir, run_id).unwrap_or_default();
    let now = kiln_record::now_ms();
    let started_ms = records.iter().map(|r| r.started_ms).min().unwrap_or(now);
    let context = RunContext {
        started_ms,
        wall_ms: now.saturating_sub(started_ms),
        command: std::env::var("GITHUB_JOB")
            .map_or_else(|_| format!("CI job {run_id}"), |j| format!("CI job `{j}`")),
        ..RunContext::default()
    };
    finish(cfg, run_id, context, None, false)
}

/// After the command: the summary, the history entry and the step summary.
/// Nothing here changes the exit code; problems are one warning line each.
fn finish(
    cfg: &Config,
    run_id: &str,
    mut context: RunContext,
    remote: Option<&kiln_remote::agent::AgentReport>,
    quiet: bool,
) -> Option<kiln_history::RunSummary> {
    let records = match kiln_record::read_run(&cfg.dir, run_id) {
        Ok(r) => r,
        Err(e) => {
            kiln_diag::warn(&format!("cannot read the run's records: {e}"));
            return None;
        }
    };
    let recap = kiln_record::recap(&records, 3);
    let explanation = if recap.stats.misses > 0 {
        explain_misses(cfg, run_id, remote)
    } else {
        None
    };
    if !quiet {
        eprint!("{}", render::run_summary(&recap));
        if let Some(r) = remote {
            eprint!("{}", render::remote_summary(r));
        }
        if let Some(e) = &explanation {
            let on = crate::style::enabled(crate::style::Stream::Stderr);
            eprint!(
                "{}",
                crate::style::paint(&render::run_root_causes(e, 3), on)
            );
        }
    }
    if records.is_empty() {
        // Nothing was compiled through kiln (not a cargo build): no history entry.
        return None;
    }
    (context.ci, context.git, context.project) = super::history::context_here();
    let run =
        match super::history::record_run(cfg, run_id, &context, &records, explanation.as_ref()) {
            Ok(run) => run,
            Err(e) => {
                kiln_diag::warn_with_hint(&format!("run not added to the history: {e}"), &e.hint());
                return None;
            }
        };
    if let Some(path) = std::env::var_os(super::report::STEP_SUMMARY).filter(|p| !p.is_empty())
        && let Err(e) = step_summary(cfg, &run, std::path::Path::new(&path))
    {
        kiln_diag::warn(&format!("cannot write the step summary: {e}"));
    }
    Some(run)
}

/// Why the run's units missed: against this machine's earlier builds; on a
/// fresh runner (every miss a first build here) with a working remote
/// store, against the team's latest build of the main branch instead.
fn explain_misses(
    cfg: &Config,
    run_id: &str,
    remote: Option<&kiln_remote::agent::AgentReport>,
) -> Option<kiln_explain::Explanation> {
    use kiln_explain::Change;
    let local = super::explain::explain_run(cfg, Some(run_id), None).ok();
    let fresh = local.as_ref().is_some_and(|e| {
        e.misses
            .iter()
            .all(|m| matches!(m.changes.as_slice(), [Change::FirstBuild]))
    });
    if !fresh || remote.is_none_or(|r| r.gave_up.is_some()) {
        return local;
    }
    kiln_history::regress::MAIN_BRANCHES
        .iter()
        .find_map(|b| {
            super::explain::explain_run(cfg, Some(run_id), Some(&format!("latest-{b}"))).ok()
        })
        .or(local)
}

/// Appends the Markdown report of `run` to the GitHub step summary.
fn step_summary(
    cfg: &Config,
    run: &kiln_history::RunSummary,
    path: &std::path::Path,
) -> Result<()> {
    let history = super::history::open(cfg)?;
    let local = history.last_of(200, run.project.as_deref())?;
    let runs = super::team::with_team_history(cfg, local);
    let cwd = std::env::current_dir()?;
    let budgets = kiln_history::budgets::load(&cwd)
        .map(|l| l.budgets)
        .unwrap_or_default();
    let comparison = super::report::compare(run, &runs, &budgets);
    let report = kiln_history::Report {
        current: run,
        history: &runs,
        comparison: &comparison,
    };
    super::report::append_step_summary(path, &kiln_history::render_markdown(&report))?;
    Ok(())
}
