//! `kiln doctor`: audit the workspace and its CI configuration.
//!
//! Thin glue over `kiln_doctor`: parse flags, apply `--fix`, render the
//! report to stdout, and turn `--deny` into the exit code. Color follows the
//! one policy of `style.rs`.

use std::process::ExitCode;

use anyhow::Result;
use kiln_doctor::{AuditOptions, DoctorError, Severity};

use crate::cli::{DenyLevel, DoctorArgs, DoctorFormat as Format};
use crate::error::hinted;

impl DenyLevel {
    fn severity(self) -> Option<Severity> {
        match self {
            Self::Never => None,
            Self::Error => Some(Severity::Error),
            Self::Warning => Some(Severity::Warning),
            Self::Info => Some(Severity::Info),
        }
    }
}

pub fn run(args: &DoctorArgs) -> Result<ExitCode> {
    let options = AuditOptions {
        manifest_path: args.manifest_path.clone(),
        costs: costs_from_records(),
        offline: false,
    };
    if args.fix {
        let outcome = kiln_doctor::fix(&options).map_err(|e| with_hint(&e))?;
        if outcome.added.is_empty() {
            eprintln!("kiln doctor: no profiles to add");
        } else {
            let names: Vec<String> = outcome
                .added
                .iter()
                .map(|p| format!("[profile.{p}]"))
                .collect();
            eprintln!(
                "kiln doctor: added {} to `{}`",
                names.join(" and "),
                outcome.manifest.display()
            );
        }
    }
    let report = kiln_doctor::audit(&options).map_err(|e| with_hint(&e))?;
    let out = match args.format {
        Format::Text => {
            kiln_doctor::render_text(&report, crate::style::enabled(crate::style::Stream::Stdout))
        }
        Format::Json => kiln_doctor::render_json(&report),
        Format::Markdown => kiln_doctor::render_markdown(&report),
        Format::Sarif => kiln_doctor::render_sarif(&report),
    };
    print!("{out}");
    let denied = args
        .deny
        .severity()
        .is_some_and(|level| report.reaches(level));
    Ok(if denied {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The library error with its causes as a `Caused by:` chain and its hint.
fn with_hint(e: &DoctorError) -> anyhow::Error {
    let mut causes = Vec::new();
    let mut next = std::error::Error::source(e);
    while let Some(cause) = next {
        causes.push(cause.to_string().trim().to_owned());
        next = cause.source();
    }
    // The hint rides on the innermost cause; `error::report` finds it there.
    let Some(innermost) = causes.pop() else {
        return hinted(e.to_string(), e.hint());
    };
    let mut err = hinted(innermost, e.hint());
    while let Some(cause) = causes.pop() {
        err = err.context(cause);
    }
    err.context(e.to_string())
}

/// Compile time per package in the latest recorded run (misses: what they
/// took; hits: what the cache saved), so findings can say what they cost.
fn costs_from_records() -> Option<kiln_doctor::UnitCosts> {
    let cfg = kiln_config::Config::from_env().ok()?;
    let (run, _) = kiln_record::list_runs(&cfg.dir).pop()?;
    let records = kiln_record::read_run(&cfg.dir, &run).ok()?;
    let mut costs = std::collections::BTreeMap::new();
    for r in &records {
        if r.outcome == kiln_types::Outcome::Probe {
            continue;
        }
        let ms = r.cost_ms();
        if let Some(p) = &r.package {
            *costs.entry(p.clone()).or_insert(0) += ms;
        }
    }
    (!costs.is_empty()).then_some(kiln_doctor::UnitCosts(costs))
}
