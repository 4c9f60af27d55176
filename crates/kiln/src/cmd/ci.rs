//! `kiln ci`: write and check the pipeline (`init`, `check`), and carry
//! the store between CI jobs as one snapshot (`restore`, `save`, `finish`).
//!
//! Snapshot problems never fail a job: they are one `warning: kiln:` line,
//! and the job goes on with whatever store it has.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use kiln_ci::ghcache::{self, CacheError};
use kiln_ci::{Generated, Provider};
use kiln_config::Config;
use kiln_store::{StoreError, snapshot};

use crate::cli::{CiCheckArgs, CiCommand, CiInitArgs, CiProvider, FinishArgs, SnapshotArgs};
use crate::error::hinted;

pub fn dispatch(command: &CiCommand) -> Result<ExitCode> {
    match command {
        CiCommand::Init(args) => init(args),
        CiCommand::Check(args) => check(args),
        CiCommand::Restore(args) => Ok(in_job(|cfg| restore(cfg, args))),
        CiCommand::Save(args) => Ok(in_job(|cfg| save(cfg, args.file.as_deref()))),
        CiCommand::Finish(args) => Ok(in_job(|cfg| finish(cfg, args))),
    }
}

/// Runs a step of a CI job: a bad setting is a warning, never a failed job.
fn in_job(step: impl FnOnce(&Config)) -> ExitCode {
    match kiln_config::Config::from_env() {
        Ok(cfg) => step(&cfg),
        Err(e) => kiln_diag::warn_with_hint(&format!("{e}; nothing done"), &e.hint),
    }
    ExitCode::SUCCESS
}

fn provider(p: CiProvider) -> Provider {
    match p {
        CiProvider::Github => Provider::Github,
        CiProvider::Gitlab => Provider::Gitlab,
    }
}

fn generate(manifest: Option<&Path>, p: CiProvider) -> Result<Generated> {
    kiln_ci::generate(manifest, provider(p), false).map_err(|e| match e.hint() {
        Some(h) => hinted(e.to_string(), h),
        None => anyhow::Error::new(e),
    })
}

fn init(args: &CiInitArgs) -> Result<ExitCode> {
    if args.stdout {
        print!(
            "{}",
            generate(args.manifest_path.as_deref(), args.provider)?.text
        );
        return Ok(ExitCode::SUCCESS);
    }
    let options = kiln_doctor::AuditOptions {
        manifest_path: args.manifest_path.clone(),
        ..Default::default()
    };
    let fixed = kiln_doctor::fix(&options).map_err(|e| hinted(e.to_string(), e.hint()))?;
    for p in &fixed.added {
        eprintln!(
            "kiln ci: added [profile.{p}] to `{}`",
            fixed.manifest.display()
        );
    }
    let root = fixed.manifest.parent().unwrap_or(Path::new("."));
    if let Some(pinned) = kiln_ci::workspace::pin_toolchain(root)? {
        eprintln!("kiln ci: wrote `{}`", pinned.display());
    }
    let generated = generate(args.manifest_path.as_deref(), args.provider)?;
    if let Some(dir) = generated.path.parent() {
        fs_create(dir)?;
    }
    std::fs::write(&generated.path, &generated.text)
        .with_context(|| format!("cannot write `{}`", generated.path.display()))?;
    eprintln!("kiln ci: wrote `{}`", generated.rel);
    Ok(ExitCode::SUCCESS)
}

fn fs_create(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))
}

fn check(args: &CiCheckArgs) -> Result<ExitCode> {
    let generated = generate(args.manifest_path.as_deref(), args.provider)?;
    match kiln_ci::check(&generated) {
        None => {
            eprintln!("kiln ci: `{}` is up to date", generated.rel);
            Ok(ExitCode::SUCCESS)
        }
        Some(diff) => {
            print!("{diff}");
            let _ = std::io::stdout().flush();
            crate::error::report(&hinted(
                format!("`{}` is not what `kiln ci init` writes", generated.rel),
                "run `kiln ci init` and commit the result (set choices in `[ci]` of kiln.toml)",
            ));
            Ok(ExitCode::from(1))
        }
    }
}

/// The signing key's bytes, when there is one.
fn secret(cfg: &Config) -> Option<&[u8]> {
    cfg.signing_key.as_ref().map(|k| k.0.as_slice())
}

/// A signing key set but empty (a missing CI secret) stops snapshot steps:
/// signing must not quietly turn off.
fn empty_key(cfg: &Config) -> bool {
    let empty = cfg.signing_key.as_ref().is_some_and(|k| k.0.is_empty());
    if empty {
        kiln_diag::warn_with_hint(
            "`KILN_SIGNING_KEY` is set but empty: no snapshot restored or saved",
            "check the secret behind it, or unset it for unsigned snapshots",
        );
    }
    empty
}

fn restore(cfg: &Config, args: &SnapshotArgs) {
    if empty_key(cfg) {
        return;
    }
    let clock = Instant::now();
    let outcome = match &args.file {
        Some(path) => restore_file(cfg, path),
        None => ghcache::restore(&cfg.dir, cfg.cache_size, secret(cfg), &|k| {
            std::env::var(k).ok()
        }),
    };
    // The job's counts start here, not with the runs the snapshot carried.
    let _ = kiln_record::zero_stats(&cfg.dir, kiln_record::now_ms());
    match outcome {
        Ok(Some((from, r))) => eprintln!(
            "kiln ci: restored {} entries ({}) from {from} in {:.1}s",
            r.entries,
            kiln_config::format_size(r.entry_bytes),
            clock.elapsed().as_secs_f64()
        ),
        Ok(None) => eprintln!("kiln ci: no snapshot yet; this job starts with an empty store"),
        Err(e) => warn(&format!("snapshot not restored: {e}"), &e),
    }
}

/// A snapshot step's problem: a warning, with its hint when it has one.
fn warn(msg: &str, e: &CacheError) {
    match e.hint() {
        Some(hint) => kiln_diag::warn_with_hint(msg, hint),
        None => kiln_diag::warn(msg),
    }
}

fn restore_file(
    cfg: &Config,
    path: &Path,
) -> Result<Option<(String, snapshot::Report)>, CacheError> {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::io("open", path, e).into()),
    };
    let r = snapshot::restore(&cfg.dir, &mut file, cfg.cache_size, secret(cfg))?;
    Ok(Some((format!("`{}`", path.display()), r)))
}

/// Saves the snapshot; problems are a warning.
fn save(cfg: &Config, file: Option<&Path>) {
    if cfg.read_only {
        eprintln!("kiln ci: read-only (`KILN_REMOTE_READ_ONLY`): no snapshot saved");
        return;
    }
    if empty_key(cfg) {
        return;
    }
    let clock = Instant::now();
    let keep = snapshot::Keep::from_marker(&cfg.dir);
    let outcome = match file {
        Some(path) => save_file(cfg, path, keep),
        None => ghcache::save(&cfg.dir, keep, secret(cfg), &|k| std::env::var(k).ok()),
    };
    match outcome {
        Ok((to, r, size)) => eprintln!(
            "kiln ci: saved {} entries ({} compressed) to {to} in {:.1}s",
            r.entries,
            kiln_config::format_size(size),
            clock.elapsed().as_secs_f64()
        ),
        Err(e) => warn(&format!("snapshot not saved: {e}"), &e),
    }
}

fn save_file(
    cfg: &Config,
    path: &Path,
    keep: snapshot::Keep,
) -> Result<(String, snapshot::Report, u64), CacheError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::io("create", dir, e))?;
    }
    let tmp = path.with_extension("kiln-part");
    let file = std::fs::File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(|e| StoreError::io("create", &tmp, e))?;
    let report = snapshot::save(&cfg.dir, keep, &file, secret(cfg));
    let moved = report.and_then(|r| {
        std::fs::rename(&tmp, path)
            .map(|()| r)
            .map_err(|e| StoreError::io("write", path, e))
    });
    if moved.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    let size = std::fs::metadata(path).map_or(0, |m| m.len());
    let r = moved?;
    Ok((format!("`{}`", path.display()), r, size))
}

fn finish(cfg: &Config, args: &FinishArgs) {
    let Some(run_id) = cfg.run_id.clone() else {
        kiln_diag::warn_with_hint(
            "no CI job run to report: `KILN_RUN_ID` is not set",
            "the kiln Action sets it for the job; elsewhere set `KILN_RUN_ID` to one id per job",
        );
        if !args.no_save {
            save(cfg, args.file.as_deref());
        }
        return;
    };
    // Reporting and saving each happen once per job: a `finish` step
    // before the end reports (and gives outputs), the Action's own end
    // saves.
    let reported = cfg.dir.join(format!("ci-reported-{run_id}"));
    if reported.exists() {
        eprintln!("kiln ci: job `{run_id}` already reported");
    } else {
        if let Some(s) = super::run::finish_job(cfg, &run_id) {
            outputs(&s);
        }
        let _ = std::fs::write(&reported, b"");
    }
    let saved = cfg.dir.join(format!("ci-saved-{run_id}"));
    if !args.no_save && !saved.exists() {
        save(cfg, args.file.as_deref());
        let _ = std::fs::write(&saved, b"");
    }
}

/// The job's numbers as step outputs (`GITHUB_OUTPUT`), for later steps.
fn outputs(s: &kiln_history::RunSummary) {
    let Some(path) = std::env::var_os("GITHUB_OUTPUT").filter(|p| !p.is_empty()) else {
        return;
    };
    let rate = s
        .hit_rate()
        .map_or_else(String::new, |r| format!("{:.1}", r * 100.0));
    let text = format!(
        "hit-rate={rate}\nunits={}\nhits={}\nmisses={}\n",
        s.units, s.hits, s.misses
    );
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(text.as_bytes()));
    if let Err(e) = written {
        kiln_diag::warn(&format!("cannot write the step outputs: {e}"));
    }
}
