//! The miss path of a C or C++ compile: compile under observation, check
//! that it wrote only its outputs, and store the object (and dependency
//! file) under the inputs it read.
//!
//! Not stored, with a recorded reason: a compile that used the network, ran
//! a program the observer cannot follow, wrote anything besides its outputs
//! (temporary files it removed again excepted) or saw an input change while
//! it ran. Its trace is handed to the build-script run either way, so the
//! run is keyed by what the compile read.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use kiln_key::Digest;
use kiln_store::entry::SourceFile;
use kiln_trace::Trace;
use kiln_types::{Outcome, PassReason, UnitRecord};

use super::{Compile, not_stored};
use crate::compile::run_captured;
use crate::inputs::{Exclusions, Observed, gather};
use crate::log::{log, micros, warn};
use crate::refusal::NotStored;
use crate::upkeep::maybe_gc;

/// Compiles, streams the compiler's messages, and stores the result when
/// the compile succeeded and everything it did is understood.
pub(crate) fn compile_and_store(c: &Compile<'_>, rec: &mut UnitRecord) -> i32 {
    let trace_file = crate::lookup::trace_file(&c.basis.tiers.store);
    let mut cmd = c.command();
    c.tracer.inject(&mut cmd, &trace_file);
    let started_at = SystemTime::now();
    let ran = match run_captured(cmd) {
        Ok(r) => r,
        Err(e) => {
            let _ = std::fs::remove_file(&trace_file);
            warn(&format!("cannot run `{}`: {e}", c.resolved.display()));
            rec.outcome = Outcome::CompileError;
            return 127;
        }
    };
    rec.timings.compile_us = micros(ran.elapsed);
    let compile_ms = u64::try_from(ran.elapsed.as_millis()).unwrap_or(u64::MAX);
    let result = if ran.code == 0 {
        let store_start = Instant::now();
        let r = store(
            c,
            &ran,
            compile_ms,
            &trace_file,
            started_at,
            &rec.crate_name,
        );
        rec.timings.store_us = micros(store_start.elapsed());
        Some(r)
    } else {
        None
    };
    // The run this compile belongs to depends on what it read.
    kiln_trace::forward_to_outer(&trace_file);
    let _ = std::fs::remove_file(&trace_file);
    match result {
        None => rec.outcome = Outcome::CompileError,
        Some(Ok((key, bytes))) => {
            rec.outcome = Outcome::Miss;
            rec.key = Some(key.to_hex());
            rec.bytes_written = bytes;
            rec.compile_ms = compile_ms;
            maybe_gc(c.basis.cfg, &c.basis.tiers.store);
        }
        Some(Err(NotStored::Uncacheable(reason, detail))) => {
            log(
                c.basis.cfg,
                &format!("not stored {}: {detail}", rec.label()),
            );
            not_stored(rec, reason, detail);
        }
        Some(Err(NotStored::Problem(detail))) => {
            warn(&format!("could not store a C compile: {detail}"));
            not_stored(rec, PassReason::KilnError, detail);
        }
    }
    ran.code
}

/// The files the compile writes, as absolute paths.
fn outputs(c: &Compile<'_>) -> Vec<PathBuf> {
    std::iter::once(&c.plan.object)
        .chain(&c.plan.depfile)
        .map(|p| c.cwd.join(p))
        .collect()
}

/// Whether the compile did only what a cache can replay.
fn check(c: &Compile<'_>, t: &Trace, outputs: &BTreeSet<PathBuf>) -> Result<(), NotStored> {
    crate::refusal::observable(t, "the compile", &|_| false)?;
    for (reason, why) in [
        (
            PassReason::RawSyscalls,
            crate::unseen::raw_syscalls(t, &[], &c.basis.cfg.dir),
        ),
        (PassReason::Clock, crate::unseen::clock(t, &[])),
    ] {
        if let Some(why) = why {
            crate::unseen::refuse_outer(&reason, &why);
            return Err(NotStored::Uncacheable(reason, why));
        }
    }
    let output = |w: &Path| outputs.contains(w);
    match crate::refusal::first_write_outside(t, &[&c.basis.cfg.dir], &output) {
        Some(w) => Err(crate::refusal::wrote_outside("the compile", w)),
        None => Ok(()),
    }
}

/// What the compile read, as inputs.
fn observed(c: &Compile<'_>, t: &Trace, outputs: &BTreeSet<PathBuf>) -> Observed {
    let ex = Exclusions {
        sysroot: None,
        scratch: vec![c.basis.cfg.dir.clone()],
        outputs,
        search_dirs: Vec::new(),
        written: &t.writes,
        all_env: true,
        caller_path: crate::env_rules::var("PATH"),
    };
    let mut o = gather(&c.cwd, None, Some(t), &ex);
    // The driver itself is keyed by the invocation key.
    o.files.insert(c.resolved.clone());
    crate::unseen::key(&mut o, crate::unseen::unseen(t, &[], &c.basis.cfg.dir));
    o
}

fn store(
    c: &Compile<'_>,
    ran: &crate::compile::Compiled,
    compile_ms: u64,
    trace_file: &Path,
    started_at: SystemTime,
    name: &str,
) -> Result<(Digest, u64), NotStored> {
    let t = crate::action::read_trace(trace_file)?;
    let outs = outputs(c);
    let out_set: BTreeSet<PathBuf> = outs.iter().cloned().collect();
    check(c, &t, &out_set)?;
    let mut o = observed(c, &t, &out_set);
    if let Some(detail) = super::clock::clock_macros(c, &mut o) {
        crate::unseen::refuse_outer(&PassReason::Clock, &detail);
        return Err(NotStored::Uncacheable(PassReason::Clock, detail));
    }
    let keying = c.basis.keying(true);
    let (inputs, key) =
        c.basis
            .key_observed(&o, &keying, &c.inv_key, started_at, None, "it was compiled")?;
    let rule = c.basis.text_rule();
    let mut files = Vec::new();
    for (i, path) in outs.iter().enumerate() {
        let Some(file_name) = path.file_name() else {
            return Err(NotStored::Problem("an output has no file name".into()));
        };
        // The dependency file lists paths: mapped like dep-info.
        let content = if i == 0 {
            None
        } else {
            let bytes = std::fs::read(path)
                .map_err(|e| NotStored::Problem(format!("`{}`: {e}", path.display())))?;
            rule.to_store(&bytes)
        };
        files.push(SourceFile {
            name: file_name.to_string_lossy().into_owned(),
            path,
            content,
        });
    }
    let (stdout, stderr) = (rule.stored(&ran.stdout), rule.stored(&ran.stderr));
    let written = c
        .basis
        .put_entry(&key, &files, (&stdout, &stderr), compile_ms, name)?;
    super::components::save(c, &key, &inputs);
    c.basis.publish(&c.inv_key, &key, inputs)?;
    Ok((key, written.size))
}
