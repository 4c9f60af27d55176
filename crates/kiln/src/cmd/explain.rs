//! `kiln explain`: why the units of a run missed, grouped by root cause.

use std::process::ExitCode;

use anyhow::{Context, Result};
use kiln_config::Config;
use kiln_explain::{Explanation, explain};
use kiln_store::LocalStore;
use kiln_types::KeyComponents;

use crate::cli::ExplainArgs;
use crate::error::hinted;
use crate::render;

/// Explains `run` (default: the latest) against `against` (default: the
/// latest earlier build of each unit).
pub fn explain_run(cfg: &Config, run: Option<&str>, against: Option<&str>) -> Result<Explanation> {
    explain_run_showing(cfg, run, against, false)
}

/// [`explain_run`], with every recorded environment value when `show_env_values`.
pub fn explain_run_showing(
    cfg: &Config,
    run: Option<&str>,
    against: Option<&str>,
    show_env_values: bool,
) -> Result<Explanation> {
    let runs = kiln_record::list_runs(&cfg.dir);
    let run = match run {
        Some(r) => r.to_owned(),
        None => runs.last().map(|(r, _)| r.clone()).ok_or_else(|| {
            hinted(
                format!("no runs recorded in `{}`", cfg.dir.display()),
                "build with `kiln run -- cargo build` first",
            )
        })?,
    };
    for id in std::iter::once(run.as_str()).chain(against.filter(|a| !a.starts_with("latest-"))) {
        if !kiln_record::is_run_id(id) {
            return Err(hinted(
                format!("`{id}` is not a run id"),
                "pass a run id as `kiln history` lists them, or `latest-main`",
            ));
        }
    }
    let current = kiln_record::read_run(&cfg.dir, &run)
        .with_context(|| format!("cannot read run `{run}`"))?;
    if current.is_empty() {
        let known: Vec<&str> = runs.iter().rev().take(5).map(|(r, _)| r.as_str()).collect();
        return Err(hinted(
            format!("no records for run `{run}`"),
            format!("recent runs: {}", known.join(", ")),
        ));
    }
    let (against, previous) = match against {
        Some(a) if a.starts_with("latest-") => {
            let (id, records) = super::team::resolve_latest(cfg, &a["latest-".len()..])?;
            (Some(id), records)
        }
        Some(a) => {
            let p = kiln_record::read_run(&cfg.dir, a)
                .with_context(|| format!("cannot read run `{a}`"))?;
            if p.is_empty() {
                return Err(hinted(
                    format!("no records for run `{a}`"),
                    "pass a run id listed in `KILN_DIR/records`, or `latest-main`",
                ));
            }
            (Some(a.to_owned()), p)
        }
        None => {
            let start = current.iter().map(|r| r.started_ms).min().unwrap_or(0);
            let wanted = current
                .iter()
                .filter(|r| r.outcome == kiln_types::Outcome::Miss)
                .map(kiln_types::UnitRecord::unit_id)
                .collect();
            (
                None,
                kiln_record::read_before(&cfg.dir, &run, start, &wanted),
            )
        }
    };
    let store = LocalStore::new(&cfg.dir);
    let load = |key: &str| -> Option<KeyComponents> {
        let digest = kiln_key::Digest::from_hex(key)?;
        let text = std::fs::read(store.components_path(&digest)).ok()?;
        serde_json::from_slice(&text).ok()
    };
    let mut e = explain(&run, against.as_deref(), &current, &previous, &load);
    e.redact_env_values(show_env_values);
    Ok(e)
}

pub fn run(args: &ExplainArgs) -> Result<ExitCode> {
    let cfg = super::config()?;
    let e = explain_run_showing(
        &cfg,
        args.run.as_deref(),
        args.against.as_deref(),
        args.show_env_values,
    )?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&e)?);
    } else if let Some(unit) = &args.unit {
        check_unit(&cfg, &e, unit)?;
        let on = crate::style::enabled(crate::style::Stream::Stdout);
        print!(
            "{}",
            crate::style::paint(&render::explain_unit(&e, unit), on)
        );
    } else {
        let on = crate::style::enabled(crate::style::Stream::Stdout);
        print!("{}", crate::style::paint(&render::explanation(&e), on));
    }
    Ok(ExitCode::SUCCESS)
}

/// A `--unit` that names no unit of the run is an error naming the ones it
/// has; one that hit has nothing to explain, which `explain_unit` says.
fn check_unit(cfg: &Config, e: &Explanation, name: &str) -> Result<()> {
    let records = kiln_record::read_run(&cfg.dir, &e.run).unwrap_or_default();
    let mut names: Vec<&str> = records
        .iter()
        .map(|r| r.crate_name.as_str())
        .filter(|n| !n.is_empty())
        .collect();
    names.sort_unstable();
    names.dedup();
    if names.contains(&name)
        || e.misses
            .iter()
            .any(|m| m.unit.starts_with(&format!("{name} ")))
    {
        return Ok(());
    }
    let shown: Vec<String> = names.iter().take(12).map(|n| format!("`{n}`")).collect();
    let more = names.len().saturating_sub(shown.len());
    let tail = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    Err(hinted(
        format!("no unit `{name}` in run `{}`", e.run),
        format!("units of the run: {}{tail}", shown.join(", ")),
    ))
}
