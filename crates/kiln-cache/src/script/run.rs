//! The miss path of a build-script run: run it under observation, check that
//! everything it did can be replayed, and store `OUT_DIR`, stdout and stderr
//! under the inputs it read.
//!
//! Not stored, with a recorded reason: a run that used the network, ran a
//! program the observer cannot follow (static or setuid), wrote outside
//! `OUT_DIR` (temporary files it removed again excepted), saw an input change
//! while it ran, or left something in `OUT_DIR` that is not a regular file or
//! directory. A run that may have read its environment without `getenv` (it
//! iterates it, or ran a shell, `make` or another program that does) is
//! keyed by the whole environment (see `unseen.rs`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Instant, SystemTime};

use kiln_key::Digest;
use kiln_store::Store;
use kiln_store::entry::SourceFile;
use kiln_trace::Trace;
use kiln_types::{Outcome, PassReason, UnitRecord};

use super::Run;
use super::outdir::{self, TREE_FILE};
use crate::compile::run_captured;
use crate::inputs::{Exclusions, Observed, gather};
use crate::log::{log, micros, warn};
use crate::refusal::NotStored;
use crate::upkeep::maybe_gc;

/// Runs the script, streams its output, and stores the result when it
/// succeeded and everything it did is understood.
pub(crate) fn run_and_store(run: &Run<'_>, rec: &mut UnitRecord) -> i32 {
    let trace_file = crate::lookup::trace_file(&run.basis.tiers.store);
    let mut cmd = Command::new(&run.program);
    cmd.args(run.args);
    run.tracer.inject(&mut cmd, &trace_file);
    // The C and C++ compiles of the run go through kiln's cache.
    if let Ok(kiln) = std::env::current_exe() {
        cmd.env(crate::cc::LAUNCHER_VAR, kiln);
    }
    let started_at = SystemTime::now();
    let ran = match run_captured(cmd) {
        Ok(r) => r,
        Err(e) => {
            let _ = std::fs::remove_file(&trace_file);
            warn(&format!(
                "cannot run the build script `{}`: {e}",
                run.program.display()
            ));
            rec.outcome = Outcome::CompileError;
            return 101;
        }
    };
    rec.timings.compile_us = micros(ran.elapsed);
    let compile_ms = u64::try_from(ran.elapsed.as_millis()).unwrap_or(u64::MAX);
    if ran.code != 0 {
        let _ = std::fs::remove_file(&trace_file);
        rec.outcome = Outcome::CompileError;
        return ran.code;
    }
    let store_start = Instant::now();
    let result = store(
        run,
        &ran,
        compile_ms,
        &trace_file,
        started_at,
        &rec.crate_name,
    );
    let _ = std::fs::remove_file(&trace_file);
    match result {
        Ok((key, bytes)) => {
            rec.outcome = Outcome::Miss;
            rec.key = Some(key.to_hex());
            rec.bytes_written = bytes;
            rec.compile_ms = compile_ms;
            rec.timings.store_us = micros(store_start.elapsed());
            maybe_gc(run.basis.cfg, &run.basis.tiers.store);
        }
        Err(NotStored::Uncacheable(reason, detail)) => {
            log(
                run.basis.cfg,
                &format!("not stored {}: {detail}", rec.label()),
            );
            rec.outcome = Outcome::NotCacheable;
            rec.reason = Some(reason);
            rec.detail = Some(detail);
        }
        Err(NotStored::Problem(detail)) => {
            warn(&format!(
                "could not store the build script's result: {detail}"
            ));
            rec.outcome = Outcome::NotCacheable;
            rec.reason = Some(PassReason::KilnError);
            rec.detail = Some(detail);
        }
    }
    ran.code
}

/// Whether the run did only what a cache can replay.
fn check(run: &Run<'_>, t: &Trace) -> Result<(), NotStored> {
    // kiln itself (fetching a probe's entry for the script) is no input.
    let kiln = std::env::current_exe().ok();
    crate::refusal::observable(t, "the build script", &|p| kiln.as_deref() == Some(p))?;
    if let Some(why) = crate::unseen::raw_syscalls(t, &[&run.program], &run.basis.cfg.dir) {
        return Err(NotStored::Uncacheable(PassReason::RawSyscalls, why));
    }
    if let Some(why) = crate::unseen::clock(t, &[&run.program]) {
        return Err(NotStored::Uncacheable(PassReason::Clock, why));
    }
    if let Some((reason, why)) = crate::unseen::refused_inside(t) {
        return Err(NotStored::Uncacheable(reason, why));
    }
    // A scratch directory the run made and removed again (rustc's `rmeta…`
    // directory for a probe compiled next to the package) left nothing to
    // replay.
    let scratch_gone = |w: &Path| !w.exists() && w.parent().is_some_and(|p| !p.exists());
    let allowed = |w: &Path| w.starts_with(&run.out_dir) || scratch_gone(w);
    match crate::refusal::first_write_outside(t, &[&run.basis.cfg.dir], &allowed) {
        Some(w) => Err(crate::refusal::wrote_outside("the build script", w)),
        None => Ok(()),
    }
}

/// What the run read, as inputs.
fn observed(run: &Run<'_>, t: &Trace) -> Observed {
    let own: BTreeSet<PathBuf> = [run.program.clone()].into_iter().collect();
    let ex = Exclusions {
        sysroot: Some(&run.sysroot),
        scratch: vec![run.basis.cfg.dir.clone(), run.out_dir.clone()],
        outputs: &own,
        search_dirs: Vec::new(),
        written: &t.writes,
        all_env: true,
        caller_path: crate::env_rules::var("PATH"),
    };
    let mut o = gather(&run.cwd, None, Some(t), &ex);
    crate::unseen::key(
        &mut o,
        crate::unseen::unseen(t, &[&run.program], &run.basis.cfg.dir),
    );
    o
}

/// What the key of a run covered, for `kiln explain`: the script program
/// (named like an `--extern`, so that a rebuilt script leads back to its
/// compile), cargo's description of the build and the observed inputs.
fn write_components(run: &Run<'_>, key: &Digest, inputs: &kiln_store::manifest::Inputs) {
    use crate::components::short;
    let keying = run.basis.keying(true);
    let script = run
        .basis
        .hasher
        .hash(&run.program)
        .map(|d| short(&d.to_hex()))
        .unwrap_or_default();
    let compiled = run
        .program
        .to_string_lossy()
        .trim_end_matches(super::launcher::REAL_SUFFIX)
        .to_owned();
    let mut args = vec![format!(
        "--extern=build_script_build={}",
        run.basis.roots.normalize(&compiled)
    )];
    args.extend(run.args.iter().map(|a| a.to_string_lossy().into_owned()));
    let env: Vec<(String, Option<String>)> = crate::env_rules::vars()
        .into_iter()
        .filter_map(|(n, _)| n.into_string().ok())
        .filter(|n| super::key::cargo_describes(n))
        .map(|n| {
            let d = keying.env_digest(&n).map(|d| short(&d));
            (n, d)
        })
        .collect();
    let components = kiln_types::KeyComponents {
        compiler: run.compiler.0.clone(),
        compiler_digest: short(&run.compiler.1),
        args,
        externs: vec![("build_script_build".into(), script)],
        ..crate::components::observed(inputs, env, run.basis.cfg.explain_env_values)
    };
    crate::components::save(&run.basis.tiers.store, key, &components);
}

fn store(
    run: &Run<'_>,
    ran: &crate::compile::Compiled,
    compile_ms: u64,
    trace_file: &Path,
    started_at: SystemTime,
    name: &str,
) -> Result<(Digest, u64), NotStored> {
    let t = crate::action::read_trace(trace_file)?;
    check(run, &t)?;
    let o = observed(run, &t);
    let keying = run.basis.keying(true);
    let (inputs, key) = run.basis.key_observed(
        &o,
        &keying,
        &run.inv_key,
        started_at,
        None,
        "the build script ran",
    )?;
    let rule = run.basis.text_rule();
    let staging = run.basis.tiers.store.staging_dir();
    let tree = outdir::Scratch::new(&staging.join("tree"), "tree")
        .map_err(|e| NotStored::Problem(format!("cannot create a staging dir: {e}")))?;
    let tree_file = tree.0.join(TREE_FILE);
    outdir::pack(&run.out_dir, &tree_file, &rule).map_err(|e| match e {
        kiln_store::tree::TreeError::Special(p) => NotStored::Uncacheable(
            PassReason::UnsupportedOutput,
            format!("`OUT_DIR` holds `{}`", p.display()),
        ),
        other => NotStored::Problem(other.to_string()),
    })?;
    let (stdout, stderr) = (rule.stored(&ran.stdout), rule.stored(&ran.stderr));
    let files = [SourceFile {
        name: TREE_FILE.to_owned(),
        path: &tree_file,
        content: None,
    }];
    let written = run
        .basis
        .put_entry(&key, &files, (&stdout, &stderr), compile_ms, name)?;
    write_components(run, &key, &inputs);
    run.basis.publish(&run.inv_key, &key, inputs)?;
    Ok((key, written.size))
}
