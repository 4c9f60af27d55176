//! The miss path: compile under observation, then store the outputs, the
//! messages and the list of inputs.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use kiln_key::{Digest, Roots};
use kiln_rustc::depinfo;
use kiln_store::entry::SourceFile;
use kiln_store::manifest::Inputs;
use kiln_trace::Trace;
use kiln_types::{COMPONENTS_VERSION, KeyComponents, Outcome, PassReason, UnitRecord};

use crate::compile::run_captured;
use crate::inputs::{Exclusions, Keying, Observed, gather};
use crate::log::{log, micros, warn};
use crate::refusal::NotStored;
use crate::unit::Unit;
use crate::upkeep::maybe_gc;

/// Compiles, streams the compiler's messages, and stores the result when the
/// compile succeeded and everything it did is understood.
pub(crate) fn compile_and_store(
    unit: &Unit<'_>,
    k: &Keying<'_>,
    inv_key: &Digest,
    rec: &mut UnitRecord,
) -> i32 {
    let trace_file = crate::lookup::trace_file(&unit.basis.tiers.store);
    let mut cmd = Command::new(&unit.call.program);
    cmd.args(&unit.call.args);
    if let Some(t) = &unit.tracer {
        t.inject(&mut cmd, &trace_file);
    }
    let started_at = SystemTime::now();
    let compiled = match run_captured(cmd) {
        Ok(c) => c,
        Err(e) => {
            let _ = std::fs::remove_file(&trace_file);
            warn(&format!(
                "cannot run `{}`: {e}",
                unit.call.program.to_string_lossy()
            ));
            rec.outcome = Outcome::CompileError;
            return 127;
        }
    };
    rec.timings.compile_us = micros(compiled.elapsed);
    if compiled.code != 0 {
        kiln_trace::forward_to_outer(&trace_file);
        let _ = std::fs::remove_file(&trace_file);
        rec.outcome = Outcome::CompileError;
        return compiled.code;
    }
    let store_start = Instant::now();
    let result = store(unit, k, inv_key, rec, &compiled, &trace_file, started_at);
    kiln_trace::forward_to_outer(&trace_file);
    let _ = std::fs::remove_file(&trace_file);
    match result {
        Ok(Stored { key, bytes }) => {
            rec.outcome = Outcome::Miss;
            rec.key = Some(key.to_hex());
            rec.bytes_written = bytes;
            rec.compile_ms = u64::try_from(compiled.elapsed.as_millis()).unwrap_or(u64::MAX);
            rec.timings.store_us = micros(store_start.elapsed());
            maybe_gc(unit.basis.cfg, &unit.basis.tiers.store);
        }
        Err(NotStored::Uncacheable(reason, detail)) => {
            log(
                unit.basis.cfg,
                &format!("not stored {}: {detail}", unit.inv.crate_name),
            );
            rec.outcome = Outcome::NotCacheable;
            rec.reason = Some(reason);
            rec.detail = Some(detail);
        }
        Err(NotStored::Problem(detail)) => {
            warn(&format!("could not store the result: {detail}"));
            rec.outcome = Outcome::NotCacheable;
            rec.reason = Some(PassReason::KilnError);
            rec.detail = Some(detail);
        }
    }
    compiled.code
}

struct Stored {
    key: Digest,
    bytes: u64,
}

fn store(
    unit: &Unit<'_>,
    k: &Keying<'_>,
    inv_key: &Digest,
    rec: &UnitRecord,
    compiled: &crate::compile::Compiled,
    trace_file: &Path,
    started_at: SystemTime,
) -> Result<Stored, NotStored> {
    let trace = read_trace(unit, trace_file)?;
    let outputs = collect_outputs(unit, started_at).map_err(|e| {
        NotStored::Problem(format!(
            "cannot list outputs in `{}`: {e}",
            unit.out_dir.display()
        ))
    })?;
    if outputs.is_empty() {
        return Err(NotStored::Uncacheable(
            PassReason::UnsupportedOutput,
            "the compile wrote no output kiln recognizes".into(),
        ));
    }
    let output_set: BTreeSet<PathBuf> = outputs.iter().cloned().collect();
    let scratch = vec![unit.basis.cfg.dir.clone()];
    if let Some(t) = &trace {
        // A proc macro that asks a database or a web service for what to
        // expand to (sqlx's `query!` online, say) read something no key holds.
        crate::refusal::observable(t, "the compile", &|_| false)?;
        writes_allowed(unit, t, &output_set, &scratch)?;
    }
    let dep_path = unit.inv.dep_info_path().map(|p| unit.cwd.join(p));
    let dep_text = match &dep_path {
        Some(p) => Some(std::fs::read_to_string(p).map_err(|e| {
            NotStored::Problem(format!("cannot read dep-info `{}`: {e}", p.display()))
        })?),
        None => None,
    };
    let dep = dep_text.as_deref().map(depinfo::parse);
    let observed = observe(unit, trace.as_ref(), dep.as_ref(), &output_set, scratch)?;
    let (inputs, key) = unit.basis.key_observed(
        &observed,
        k,
        inv_key,
        started_at,
        unit.target_dir.as_deref(),
        "it was being compiled",
    )?;

    let normalize_text = |text: &str| k.paths().store_text(text);
    let dep_info = dep_path.as_deref().zip(dep_text.as_deref());
    let files = source_files(&outputs, dep_info, &normalize_text);
    let stderr = match std::str::from_utf8(&compiled.stderr) {
        Ok(s) => normalize_text(s).unwrap_or_else(|| compiled.stderr.clone()),
        Err(_) => compiled.stderr.clone(),
    };
    let compile_ms = u64::try_from(compiled.elapsed.as_millis()).unwrap_or(u64::MAX);
    let written = unit.basis.put_entry(
        &key,
        &files,
        (&compiled.stdout, &stderr),
        compile_ms,
        &rec.crate_name,
    )?;
    // Dependents key these outputs by content next: spare them the rehash.
    for (path, digest) in outputs.iter().zip(&written.digests) {
        if let Some(d) = digest {
            unit.basis.hasher.remember(path, *d);
        }
    }
    let bytes = written.size;
    write_components(unit, &key, &inputs);
    unit.basis.publish(inv_key, &key, inputs)?;
    Ok(Stored { key, bytes })
}

/// The observer's trace of the compile, when it ran observed.
fn read_trace(unit: &Unit<'_>, trace_file: &Path) -> Result<Option<Trace>, NotStored> {
    if unit.tracer.is_none() {
        return Ok(None);
    }
    crate::action::read_trace(trace_file).map(Some)
}

/// Refuses a compile that wrote anything but its outputs, scratch that is
/// gone again, and kiln's own files.
fn writes_allowed(
    unit: &Unit<'_>,
    t: &Trace,
    outputs: &BTreeSet<PathBuf>,
    scratch: &[PathBuf],
) -> Result<(), NotStored> {
    if let Some(w) = t
        .writes
        .iter()
        .find(|w| w.starts_with(&unit.out_dir) && w.is_file() && !outputs.contains(*w))
    {
        return Err(NotStored::Uncacheable(
            PassReason::WritesOutsideOutDir,
            format!(
                "the compile wrote `{}`, which is not one of its outputs",
                w.display()
            ),
        ));
    }
    let scratch: Vec<&Path> = scratch.iter().map(PathBuf::as_path).collect();
    let in_out_dir = |w: &Path| w.starts_with(&unit.out_dir);
    match crate::refusal::first_write_outside(t, &scratch, &in_out_dir) {
        Some(w) => Err(crate::refusal::wrote_outside("the compile", w)),
        None => Ok(()),
    }
}

/// What the compile read, from dep-info and the trace, with what its proc
/// macros may have read unseen; refuses what cannot be keyed.
fn observe(
    unit: &Unit<'_>,
    trace: Option<&Trace>,
    dep: Option<&depinfo::DepInfo>,
    outputs: &BTreeSet<PathBuf>,
    scratch: Vec<PathBuf>,
) -> Result<Observed, NotStored> {
    let no_writes = BTreeSet::new();
    let mut search_dirs: Vec<PathBuf> = unit
        .inv
        .search_paths
        .iter()
        .map(|(_, d)| unit.cwd.join(d))
        .collect();
    search_dirs.push(unit.out_dir.clone());
    let ex = Exclusions {
        sysroot: Some(&unit.sysroot),
        scratch,
        outputs,
        search_dirs,
        written: trace.map_or(&no_writes, |t| &t.writes),
        all_env: false,
        caller_path: crate::env_rules::var("PATH"),
    };
    let mut observed = gather(&unit.cwd, dep, trace, &ex);
    let Some(t) = trace else {
        return Ok(observed);
    };
    // Proc macros run inside rustc: what they may read unseen.
    let macros: Vec<PathBuf> = unit
        .inv
        .externs
        .iter()
        .filter_map(|e| e.path.as_deref())
        .filter(|p| p.extension().is_some_and(|x| x == "so"))
        .map(|p| unit.cwd.join(p))
        .collect();
    let macros: Vec<&Path> = macros.iter().map(PathBuf::as_path).collect();
    if let Some(why) = crate::unseen::raw_syscalls(t, &macros, &unit.basis.cfg.dir) {
        crate::unseen::refuse_outer(&PassReason::RawSyscalls, &why);
        return Err(NotStored::Uncacheable(PassReason::RawSyscalls, why));
    }
    if let Some(why) = crate::unseen::clock(t, &macros) {
        crate::unseen::refuse_outer(&PassReason::Clock, &why);
        return Err(NotStored::Uncacheable(PassReason::Clock, why));
    }
    crate::unseen::key(
        &mut observed,
        crate::unseen::unseen(t, &macros, &unit.basis.cfg.dir),
    );
    Ok(observed)
}

/// The outputs as entry files; the dep-info (`dep_info`: its path and
/// text) with its paths normalized where that can be undone.
fn source_files<'p>(
    outputs: &'p [PathBuf],
    dep_info: Option<(&Path, &str)>,
    normalize_text: &dyn Fn(&str) -> Option<Vec<u8>>,
) -> Vec<SourceFile<'p>> {
    outputs
        .iter()
        .map(|p| SourceFile {
            name: p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            path: p,
            content: dep_info
                .filter(|(dp, _)| *dp == p.as_path())
                .map(|(_, t)| normalize_text(t).unwrap_or_else(|| t.as_bytes().to_vec())),
        })
        .collect()
}

/// The files of this call in its output directory, written by this compile.
fn collect_outputs(unit: &Unit<'_>, started_at: SystemTime) -> std::io::Result<Vec<PathBuf>> {
    let since = started_at
        .checked_sub(Duration::from_secs(1))
        .unwrap_or(started_at);
    let mut out = Vec::new();
    for e in std::fs::read_dir(&unit.out_dir)? {
        let e = e?;
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        if !unit.inv.owns_output(&unit.stems, name) {
            continue;
        }
        let md = e.metadata()?;
        if !md.is_file() || md.modified().is_ok_and(|m| m < since) {
            continue;
        }
        out.push(e.path());
    }
    out.sort();
    Ok(out)
}

/// Writes what `key` covers, for `kiln explain`. Best effort: explanations
/// are a convenience, the entry is what matters.
fn write_components(unit: &Unit<'_>, key: &Digest, inputs: &Inputs) {
    let short = crate::components::short;
    let mut env = unit.parts.env.clone();
    env.extend(
        inputs
            .env
            .iter()
            .map(|(n, d)| (n.clone(), d.as_deref().map(short))),
    );
    let components = KeyComponents {
        version: COMPONENTS_VERSION,
        compiler: unit.identity.version.clone(),
        compiler_digest: short(&unit.identity.digest),
        clippy: unit.identity.clippy.clone(),
        args: unit.parts.args.clone(),
        externs: unit.parts.externs.clone(),
        files: inputs
            .files
            .iter()
            .map(|(p, d)| (Roots::display(p), short(d)))
            .collect(),
        absent: inputs.absent.iter().map(|p| Roots::display(p)).collect(),
        env_values: env
            .iter()
            .filter(|(name, digest)| {
                digest.is_some()
                    && (unit.basis.cfg.explain_env_values || kiln_types::env_value_shown(name))
            })
            .filter_map(|(name, _)| {
                Some((
                    name.clone(),
                    crate::env_rules::var(name)?.into_string().ok()?,
                ))
            })
            .collect(),
        build_script_env: build_script_env(crate::env_rules::var("OUT_DIR").as_deref(), &env),
        env,
    };
    crate::components::save(&unit.basis.tiers.store, key, &components);
}

/// Names among `env` that the crate's build script set for this compile: the
/// `cargo:rustc-env=NAME=…` lines of the script's `output` file, which cargo
/// keeps next to `OUT_DIR`.
fn build_script_env(
    out_dir: Option<&std::ffi::OsStr>,
    env: &[(String, Option<String>)],
) -> Vec<String> {
    let Some(output) = out_dir
        .and_then(|d| Path::new(d).parent())
        .map(|d| d.join("output"))
    else {
        return Vec::new();
    };
    let Ok(text) = std::fs::read_to_string(output) else {
        return Vec::new();
    };
    let set: BTreeSet<&str> = text
        .lines()
        .filter_map(|l| {
            l.strip_prefix("cargo::rustc-env=")
                .or_else(|| l.strip_prefix("cargo:rustc-env="))
        })
        .filter_map(|kv| kv.split_once('=').map(|(k, _)| k))
        .collect();
    env.iter()
        .filter(|(n, _)| set.contains(n.as_str()))
        .map(|(n, _)| n.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_set_by_the_build_script_are_named() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        std::fs::create_dir(&out).unwrap();
        std::fs::write(
            d.path().join("output"),
            "cargo:rerun-if-changed=build.rs\ncargo:rustc-env=GIT_SHA=abc\ncargo::rustc-env=BUILT=1=2\n",
        )
        .unwrap();
        let env = vec![
            ("GIT_SHA".to_owned(), Some("d1".to_owned())),
            ("BUILT".to_owned(), Some("d2".to_owned())),
            ("HOME".to_owned(), Some("d3".to_owned())),
        ];
        assert_eq!(
            build_script_env(Some(out.as_os_str()), &env),
            ["GIT_SHA", "BUILT"]
        );
        assert!(build_script_env(None, &env).is_empty());
        assert!(build_script_env(Some(d.path().join("nowhere/out").as_os_str()), &env).is_empty());
    }
}
