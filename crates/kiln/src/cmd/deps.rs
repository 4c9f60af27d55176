//! `kiln deps diff`: dependency changes between two lockfiles or git refs,
//! with compile costs measured from kiln's records where it has built the
//! crates before.

use std::collections::{BTreeMap, HashMap};
use std::process::ExitCode;

use anyhow::{Context, Result};
use kiln_deps::{CostModel, Lockfile};
use kiln_types::{Outcome, UnitRecord};

use crate::cli::{DepsDiffArgs, DepsFormat};
use crate::error::hinted;

pub fn diff(args: &DepsDiffArgs) -> Result<ExitCode> {
    let cwd = std::env::current_dir().context("cannot read the working directory")?;
    let load = |arg: Option<&str>, is_base: bool| {
        kiln_deps::source::load(&cwd, arg, is_base).map_err(|e| hinted(e.message, e.hint))
    };
    let base = load(args.base.as_deref(), true)?;
    let head = load(args.head.as_deref(), false)?;
    let parse = |l: &kiln_deps::source::Loaded| {
        Lockfile::parse(&l.text).map_err(|e| {
            hinted(
                format!("cannot parse the lockfile `{}`: {e}", l.label),
                "pass a `Cargo.lock` written by cargo",
            )
        })
    };
    let (b, h) = (parse(&base)?, parse(&head)?);
    let cfg = super::config().ok();
    // What this platform compiles is known for the work tree only.
    let built_here = args
        .head
        .is_none()
        .then(|| kiln_deps::source::built_here(&cwd))
        .flatten();
    let model = CostModel {
        measured: cfg.as_ref().map(|c| measured(&c.dir)).unwrap_or_default(),
        cargo_home: cfg.and_then(|c| c.cargo_home),
        built_here,
    };
    let d = kiln_deps::diff(&base.label, &b, &head.label, &h, &model);
    let out = match args.format {
        DepsFormat::Text => kiln_deps::render::render_text(&d),
        DepsFormat::Markdown => kiln_deps::render::render_markdown(&d),
        DepsFormat::Json => kiln_deps::render::render_json(&d),
    };
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}

/// Compile ms per package version (`name@version`): the latest build of each
/// of its units (misses: what they took; hits: what the stored compile
/// took). Test harnesses and clippy runs are left out, and so are older
/// builds of a unit in another profile: the figure is what the package costs
/// a build that depends on it, once.
fn measured(store: &std::path::Path) -> BTreeMap<String, u64> {
    let mut latest: HashMap<String, UnitRecord> = HashMap::new();
    for (run, _) in kiln_record::list_runs(store) {
        for r in kiln_record::read_run(store, &run).unwrap_or_default() {
            if r.test
                || r.clippy
                || !matches!(
                    r.outcome,
                    Outcome::Hit | Outcome::Miss | Outcome::NotCacheable
                )
            {
                continue;
            }
            let Some(version) = r.package_version.clone() else {
                continue;
            };
            let name = r.package.clone().unwrap_or_else(|| r.crate_name.clone());
            let id = format!(
                "{name}@{version}|{}|{}|{}",
                r.crate_name,
                r.crate_types.join(","),
                r.target.as_deref().unwrap_or("")
            );
            if latest
                .get(&id)
                .is_none_or(|old| old.started_ms <= r.started_ms)
            {
                latest.insert(id, r);
            }
        }
    }
    let mut by: BTreeMap<String, u64> = BTreeMap::new();
    for (id, r) in &latest {
        let ms = r.cost_ms();
        let package = id.split('|').next().unwrap_or_default();
        *by.entry(package.to_owned()).or_default() += ms;
    }
    by
}
