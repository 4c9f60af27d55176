//! A build-script run as a cached action.
//!
//! ```text
//! cargo runs build-script-build ─▶ launcher (launcher.rs) ─▶ kiln __build-script <real>
//!   prepare: key (key.rs) ─▶ lookup (shared with rustc calls)
//!     ─▶ hit: OUT_DIR restored (outdir.rs), stdout and stderr replayed, exit 0
//!     └▶ miss: run under observation (run.rs), check what it did, store
//!        OUT_DIR as one tree, add the input list to the manifest
//! ```
//! Cargo's contract is kept: the directives on stdout reach cargo exactly
//! as the script printed them (paths mapped to this machine), stderr is
//! replayed, `OUT_DIR` holds what the script left, and a failing script is
//! never stored. Any internal problem runs the script as cargo would, with
//! one warning.

pub mod key;
pub mod launcher;
mod outdir;
pub(crate) mod run;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Instant;

use kiln_config::{Config, ConfigError, TraceMode};
use kiln_key::Digest;
use kiln_types::{Outcome, PassReason, UnitKind, UnitRecord};

use crate::action::Basis;
use crate::compile::run_plain;
use crate::log::{log, max_rss_kb, micros, warn};

/// The hidden command the launcher runs.
pub const COMMAND: &str = "__build-script";

/// Everything about one run that lookup, run and store share.
pub(crate) struct Run<'a> {
    program: PathBuf,
    args: &'a [OsString],
    cwd: PathBuf,
    out_dir: PathBuf,
    sysroot: PathBuf,
    /// `rustc -vV` first line and identity digest of the compiler cargo
    /// hands the script.
    compiler: (String, String),
    basis: Basis<'a>,
    tracer: kiln_trace::Tracer,
    inv_key: Digest,
}

/// Whether cargo runs this build with kiln as its wrapper (cargo hands the
/// wrapper to build scripts as `RUSTC_WRAPPER`/`RUSTC_WORKSPACE_WRAPPER`).
fn kiln_wraps_this_build() -> bool {
    let this = std::env::current_exe().ok();
    ["RUSTC_WRAPPER", "RUSTC_WORKSPACE_WRAPPER"]
        .iter()
        .filter_map(|n| crate::env_rules::var(n))
        .filter(|w| !w.is_empty())
        .any(|w| {
            let w = Path::new(&w);
            w.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("kiln"))
                || this.as_deref().is_some_and(|t| {
                    std::fs::canonicalize(w).ok().as_deref()
                        == std::fs::canonicalize(t).ok().as_deref()
                })
        })
}

/// Why a run is not looked up.
enum Skip {
    /// It cannot be cached, for a recorded reason.
    Pass(PassReason, String),
    /// kiln failed: warn and run it uncached.
    Problem(String),
}

/// Runs the build script `program` for cargo, from the cache when an
/// earlier run with the same inputs is stored. Returns its exit code.
pub fn run_build_script(
    config: Result<Config, ConfigError>,
    program: &Path,
    args: &[OsString],
) -> i32 {
    if !kiln_wraps_this_build() {
        // A target dir kiln built, now built without it: the script runs as
        // cargo would run it, and kiln stays out of the way.
        return run_plain(&program.as_os_str().to_owned(), args).0;
    }
    kiln_diag::through_cargo();
    let cfg = match config {
        Ok(c) => c,
        Err(e) => {
            kiln_diag::warn_with_hint(
                &format!("{e}; running the build script without the cache"),
                &e.hint,
            );
            return run_plain(&program.as_os_str().to_owned(), args).0;
        }
    };
    let started = Instant::now();
    let mut rec = new_record(&cfg, program);
    let code = match prepare(&cfg, program, args) {
        Err(skip) => {
            let (reason, detail) = match skip {
                Skip::Pass(r, d) => (r, d),
                Skip::Problem(p) => {
                    warn(&format!("{p}; running the build script without the cache"));
                    (PassReason::KilnError, p)
                }
            };
            log(
                &cfg,
                &format!("pass build script {}: {detail}", rec.label()),
            );
            rec.outcome = Outcome::NotCacheable;
            rec.reason = Some(reason);
            rec.detail = Some(detail);
            let (code, took) = run_plain(&program.as_os_str().to_owned(), args);
            rec.timings.compile_us = micros(took);
            code
        }
        Ok(run) => {
            rec.invocation_key = Some(run.inv_key.to_hex());
            rec.timings.hash_us = micros(started.elapsed());
            let code = serve(&run, &mut rec);
            rec.remote = run.basis.tiers.finish();
            code
        }
    };
    rec.exit_code = code;
    rec.timings.total_us = micros(started.elapsed());
    rec.wrapper_max_rss_kb = max_rss_kb();
    let _ = kiln_record::append(&cfg.dir, &rec);
    code
}

fn prepare<'a>(cfg: &'a Config, program: &Path, args: &'a [OsString]) -> Result<Run<'a>, Skip> {
    if cfg.disabled {
        return Err(Skip::Pass(PassReason::Disabled, String::new()));
    }
    let out_dir = crate::env_rules::var("OUT_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .ok_or_else(|| {
            Skip::Pass(
                PassReason::UnsupportedOutput,
                "no absolute `OUT_DIR`".into(),
            )
        })?;
    // A re-run in the same target dir sees what the last run left, and tools
    // like make decide from file times, which no key holds.
    if std::fs::read_dir(&out_dir).is_ok_and(|mut d| d.next().is_some()) {
        return Err(Skip::Pass(
            PassReason::UnsupportedOutput,
            "`OUT_DIR` holds files of an earlier run".into(),
        ));
    }
    let tracer = match cfg.trace {
        TraceMode::Off => None,
        TraceMode::Auto => kiln_trace::Tracer::install(&cfg.dir.join("lib"))
            .map_err(|e| Skip::Problem(format!("cannot set up input observation: {e}")))?,
    }
    .ok_or_else(|| {
        Skip::Pass(
            PassReason::LinkerNotObservable,
            "build-script runs are cached only under observation".into(),
        )
    })?;
    let cwd = std::env::current_dir()
        .map_err(|e| Skip::Problem(format!("cannot read the working directory: {e}")))?;
    let rustc = crate::env_rules::var("RUSTC").unwrap_or_else(|| "rustc".into());
    let toolchain = crate::env_rules::var("RUSTUP_TOOLCHAIN");
    let identity =
        kiln_rustc::compiler::identify(&cfg.dir, Path::new(&rustc), None, toolchain.as_deref())
            .map_err(|e| Skip::Problem(format!("cannot identify the compiler: {e}")))?;
    let (roots, from_cargo_home) =
        crate::in_run::package_roots(cfg, &out_dir, &cwd, Some(&identity.sysroot));
    let basis = Basis::new(cfg, roots, from_cargo_home);
    let vars = crate::env_rules::vars();
    let inv_key = key::invocation_key(&key::RunKeyInputs {
        program,
        args,
        cwd: &cwd,
        out_dir: &out_dir,
        compiler: &identity.digest,
        roots: &basis.roots,
        mode: cfg.paths,
        from_cargo_home,
        hasher: &basis.hasher,
        vars: &vars,
    })
    .map_err(|e| Skip::Problem(format!("cannot key the build script: {e}")))?;
    Ok(Run {
        program: program.to_path_buf(),
        args,
        cwd,
        out_dir,
        sysroot: identity.sysroot,
        compiler: (identity.version, identity.digest),
        basis,
        tracer,
        inv_key,
    })
}

/// Answers a keyed run: a hit, or a real run (once per key at a time).
fn serve(run: &Run<'_>, rec: &mut UnitRecord) -> i32 {
    crate::lookup::serve(
        &run.basis.tiers.store,
        &run.inv_key,
        rec,
        &mut |rec| try_hit(run, rec),
        &mut |rec| run::run_and_store(run, rec),
    )
}

fn try_hit(run: &Run<'_>, rec: &mut UnitRecord) -> bool {
    let rule = run.basis.text_rule();
    run.basis
        .restore_and_replay(&run.inv_key, rec, "run", &mut |key, reader| {
            outdir::restore(key, reader, &run.out_dir, &rule)
        })
        .is_some()
}

fn new_record(cfg: &Config, program: &Path) -> UnitRecord {
    let env = crate::env_rules::text;
    let out_dir = env("OUT_DIR").map(PathBuf::from);
    // `<target>/<profile>/build/<package>-<hash>/out`
    let unit_dir = out_dir.as_deref().and_then(Path::parent);
    let profile = unit_dir
        .and_then(Path::parent)
        .filter(|b| b.file_name().is_some_and(|n| n == "build"))
        .and_then(Path::parent)
        .and_then(Path::file_name)
        .map(|n| n.to_string_lossy().into_owned());
    let crate_name = program
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .and_then(|n| n.split('-').next().map(str::to_owned))
        .unwrap_or_else(|| "build_script_build".into());
    UnitRecord {
        crate_name,
        crate_types: Vec::new(),
        target: None,
        profile,
        extra_filename: unit_dir
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned()),
        clippy: false,
        test: false,
        ..crate::action::start_record(cfg, UnitKind::BuildScriptRun)
    }
}
