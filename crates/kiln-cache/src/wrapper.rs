//! The wrapper entry point: one rustc (or clippy-driver) call, start to end.
//!
//! Cargo runs `kiln <rustc> <args…>` (or, under `cargo clippy`,
//! `kiln <clippy-driver> <rustc> <args…>`). [`run_wrapper`] decides what to do
//! with the call, does it, writes the record and returns the exit code the
//! compiler would have returned.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use kiln_config::{Config, ConfigError};
use kiln_key::Digest;
use kiln_rustc::{Invocation, Plan};
use kiln_types::{Outcome, PassReason, UnitKind, UnitRecord};

use crate::call::WrapperCall;
use crate::compile::run_plain;
use crate::inputs::Keying;
use crate::log::{log, max_rss_kb, micros, warn};
use crate::unit::{Early, Unit};
use crate::{hit, miss};

/// Warns about unusable remote settings once per store and couple of
/// minutes, not once per compiler call; the local cache works meanwhile.
fn warn_remote_problem_once(cfg: &Config, e: &ConfigError) {
    let _ = std::fs::create_dir_all(&cfg.dir);
    let Ok(mut marker) = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(cfg.dir.join("remote-settings-warned"))
    else {
        return;
    };
    // Concurrent calls decide one after the other: exactly one warns.
    if marker.lock().is_err() {
        return;
    }
    let fresh = marker.metadata().ok().is_some_and(|m| {
        m.len() > 0
            && m.modified()
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age < Duration::from_secs(120))
    });
    if fresh || marker.set_len(0).is_err() || marker.write_all(b"warned\n").is_err() {
        return;
    }
    kiln_diag::warn_with_hint(
        &format!("{e}; caching locally without the remote store"),
        &e.hint,
    );
}

/// Handles one call and returns the exit code for cargo.
pub fn run_wrapper(config: Result<Config, ConfigError>, call: &WrapperCall) -> i32 {
    let cfg = match config {
        Ok(c) => c,
        Err(e) => {
            kiln_diag::warn_with_hint(&format!("{e}; compiling without the cache"), &e.hint);
            return run_plain(&call.program, &call.args).0;
        }
    };
    let started = Instant::now();
    let kept;
    let call = match crate::symbols::keep_symbols(&call.args) {
        Some(args) if cfg.trace == kiln_config::TraceMode::Auto && !cfg.disabled => {
            kept = WrapperCall {
                program: call.program.clone(),
                args,
            };
            &kept
        }
        _ => call,
    };
    let (rustc, rustc_args) = call.rustc_and_args();
    let plan = kiln_rustc::plan(rustc_args);
    // Not on cargo's probes: cargo parses their output and shows none of it.
    if let (Some(e), Plan::Cache(_)) = (&cfg.remote_problem, &plan) {
        warn_remote_problem_once(&cfg, e);
    }
    let mut rec = new_record(&cfg, call, &plan);
    let code = match plan {
        Plan::Probe => {
            rec.outcome = Outcome::Probe;
            run_plain(&call.program, &call.args).0
        }
        // A build script asking the compiler whether something compiles
        // (autocfg, feature probes): not a unit of the build. Its failure
        // is an answer, not an error, and it runs only when its run does.
        _ if is_build_script_probe(&call.args, &crate::env_rules::var) => {
            rec.outcome = Outcome::Probe;
            rec.detail = Some(kiln_types::BUILD_SCRIPT_PROBE.into());
            run_plain(&call.program, &call.args).0
        }
        Plan::Pass(reason, detail) => pass(&cfg, call, &mut rec, reason, detail),
        Plan::Cache(_) if cfg.disabled => {
            pass(&cfg, call, &mut rec, PassReason::Disabled, String::new())
        }
        Plan::Cache(inv) => cached(&cfg, call, &rustc, &inv, &mut rec),
    };
    rec.exit_code = code;
    rec.timings.total_us = micros(started.elapsed());
    rec.wrapper_max_rss_kb = max_rss_kb();
    let _ = kiln_record::append(&cfg.dir, &rec);
    code
}

fn pass(
    cfg: &Config,
    call: &WrapperCall,
    rec: &mut UnitRecord,
    reason: PassReason,
    detail: String,
) -> i32 {
    log(
        cfg,
        &format!("pass {}: {} {detail}", rec.crate_name, reason.as_str()),
    );
    rec.outcome = Outcome::NotCacheable;
    rec.reason = Some(reason);
    rec.detail = (!detail.is_empty()).then_some(detail);
    let (code, took) = run_plain(&call.program, &call.args);
    rec.timings.compile_us = micros(took);
    code
}

/// Falls back to a plain compile after an internal problem.
fn fallback(cfg: &Config, call: &WrapperCall, rec: &mut UnitRecord, problem: &str) -> i32 {
    warn(&format!("{problem}; compiling without the cache"));
    pass(cfg, call, rec, PassReason::KilnError, problem.to_owned())
}

/// Whether this call is a build script asking the compiler: it comes from
/// a running build script (cargo gives a script `HOST`, `NUM_JOBS` and
/// `CARGO_CFG_*`, and none of them to the compiles it runs itself), and it
/// is not a compile of a cargo started from that script, which the
/// variables reach too: cargo always asks rustc for JSON messages.
fn is_build_script_probe(
    args: &[std::ffi::OsString],
    lookup: &dyn Fn(&str) -> Option<std::ffi::OsString>,
) -> bool {
    let in_script = ["HOST", "NUM_JOBS", "CARGO_CFG_TARGET_ARCH"]
        .iter()
        .all(|n| lookup(n).is_some_and(|v| !v.is_empty()));
    let by_cargo = args
        .iter()
        .any(|a| a.as_encoded_bytes().starts_with(b"--error-format=json"));
    in_script && !by_cargo
}

fn new_record(cfg: &Config, call: &WrapperCall, plan: &Plan) -> UnitRecord {
    let inv = match plan {
        Plan::Cache(i) => Some(i.as_ref()),
        _ => None,
    };
    let env = crate::env_rules::text;
    UnitRecord {
        crate_name: inv
            .map(|i| i.crate_name.clone())
            .or_else(|| env("CARGO_CRATE_NAME"))
            .unwrap_or_default(),
        crate_types: inv.map(|i| i.crate_types.clone()).unwrap_or_default(),
        target: inv.and_then(|i| i.target.clone()),
        profile: inv.and_then(Invocation::profile_dir_name),
        extra_filename: inv
            .map(|i| i.extra_filename.clone())
            .filter(|s| !s.is_empty()),
        clippy: call.is_clippy(),
        test: inv.is_some_and(|i| i.test),
        ..crate::action::start_record(cfg, UnitKind::default())
    }
}

fn cached(
    cfg: &Config,
    call: &WrapperCall,
    rustc: &Path,
    inv: &Invocation,
    rec: &mut UnitRecord,
) -> i32 {
    let hash_start = Instant::now();
    let (unit, inv_key) = match Unit::prepare(cfg, call, rustc, inv) {
        Ok(prepared) => prepared,
        Err(Early::Fault(problem)) => return fallback(cfg, call, rec, &problem),
        Err(Early::Pass(reason, detail)) => return pass(cfg, call, rec, reason, detail),
    };
    rec.invocation_key = Some(inv_key.to_hex());
    let keying = unit.basis.keying(false);
    let code = serve(&unit, &keying, &inv_key, rec, hash_start);
    rec.remote = unit.basis.tiers.finish();
    if code == 0 && unit.tracer.is_some() && !call.is_clippy() && inv.is_build_script() {
        install_launcher(&unit);
    }
    code
}

/// Puts the launcher in place of a build script kiln just compiled or
/// restored, so that cargo's run of it comes back through kiln.
fn install_launcher(unit: &Unit<'_>) {
    let Some(stem) = unit.stems.last() else {
        return;
    };
    let program = unit.out_dir.join(stem);
    let Ok(kiln) = std::env::current_exe() else {
        return;
    };
    if let Err(e) = crate::script::launcher::install(&program, &kiln) {
        warn(&format!(
            "cannot put the build-script launcher at `{}`: {e}; its runs are not cached",
            program.display()
        ));
    }
}

/// Answers a keyed call: a hit, or a compile (once per key at a time).
fn serve(
    unit: &Unit<'_>,
    keying: &Keying<'_>,
    inv_key: &Digest,
    rec: &mut UnitRecord,
    hash_start: Instant,
) -> i32 {
    let mut first = true;
    crate::lookup::serve(
        &unit.basis.tiers.store,
        inv_key,
        rec,
        &mut |rec| {
            let started = if first { hash_start } else { Instant::now() };
            first = false;
            hit::lookup(unit, keying, inv_key, rec, started)
        },
        &mut |rec| {
            rec.timings.hash_us += micros(hash_start.elapsed()).saturating_sub(rec.timings.wait_us);
            miss::compile_and_store(unit, keying, inv_key, rec)
        },
    )
}

#[cfg(test)]
mod probe_tests {
    use std::ffi::OsString;

    use super::is_build_script_probe;

    #[test]
    fn a_probe_comes_from_a_script_and_a_nested_cargo_s_compile_is_a_unit() {
        let script_env = |n: &str| {
            ["HOST", "NUM_JOBS", "CARGO_CFG_TARGET_ARCH"]
                .contains(&n)
                .then(|| OsString::from("x"))
        };
        let probe: Vec<OsString> = ["--crate-name", "probe", "-"].map(Into::into).to_vec();
        assert!(is_build_script_probe(&probe, &script_env));
        let nested: Vec<OsString> = ["--crate-name", "dep", "--error-format=json", "src/lib.rs"]
            .map(Into::into)
            .to_vec();
        assert!(!is_build_script_probe(&nested, &script_env));
        assert!(!is_build_script_probe(&probe, &|_| None));
    }
}
