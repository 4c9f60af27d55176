//! A C or C++ compile inside a build-script run, as a cached action.
//!
//! ```text
//! build script (cc crate, cmake, make) starts `cc … -c x.c -o x.o`
//!   ─▶ the observer starts `kiln __cc cc cc … -c x.c -o x.o` instead
//!      (only in runs kiln observes, marked by KILN_CC_LAUNCHER)
//!   prepare: plan (args.rs), invocation key (key.rs) ─▶ lookup (shared)
//!     ─▶ hit: object (and dependency file) restored, messages replayed,
//!        the inputs handed to the run's trace
//!     └▶ miss: compile under observation (run.rs), store, add the input
//!        list to the manifest, the trace handed to the run's
//! ```
//! A build script that must run again (a feature changed, a dependency's
//! `links` metadata changed) gets its unchanged objects back. A call kiln
//! does not cache (linking, preprocessing, several sources, files written
//! besides the object) runs as is, still observed by the run.

mod args;
mod clock;
mod key;
mod run;

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use kiln_config::{Config, ConfigError, TraceMode};
use kiln_key::Digest;
use kiln_types::{Outcome, PassReason, UnitKind, UnitRecord};

use crate::action::Basis;
use crate::log::{log, micros, warn};

/// The hidden command the observer starts compiles through.
pub const COMMAND: &str = "__cc";

/// The variable that marks a run whose compiles go through kiln; its value
/// is kiln's executable.
pub const LAUNCHER_VAR: &str = "KILN_CC_LAUNCHER";

/// Everything about one compile that lookup, compile and store share.
pub(crate) struct Compile<'a> {
    /// The compiler the build script named, resolved.
    resolved: PathBuf,
    argv0: OsString,
    args: &'a [OsString],
    plan: args::Plan,
    cwd: PathBuf,
    out_dir: PathBuf,
    basis: Basis<'a>,
    tracer: kiln_trace::Tracer,
    inv_key: Digest,
}

impl Compile<'_> {
    /// The real compiler, as the build script would have started it.
    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.resolved);
        cmd.arg0(&self.argv0)
            .args(self.args)
            .env_remove(LAUNCHER_VAR);
        cmd
    }
}

/// Why a compile is not looked up.
enum Skip {
    /// It runs as is: not a call kiln caches.
    Pass(String),
    /// kiln failed: warn and run it as is.
    Problem(String),
}

/// Runs the compile `program argv0 args…` for a build script, from the cache
/// when an earlier compile with the same inputs is stored. Returns its exit
/// code; a compile kiln does not cache replaces this process.
pub fn run_c_compile(
    config: Result<Config, ConfigError>,
    program: &OsString,
    argv0: &OsString,
    args: &[OsString],
) -> i32 {
    let Ok(cfg) = config else {
        return exec_plain(program, argv0, args);
    };
    let started = Instant::now();
    match prepare(&cfg, program, argv0, args) {
        Err(Skip::Pass(why)) => {
            log(&cfg, &format!("C compile runs as is: {why}"));
            exec_plain(program, argv0, args)
        }
        Err(Skip::Problem(p)) => {
            warn(&format!("{p}; compiling without the cache"));
            exec_plain(program, argv0, args)
        }
        Ok(c) => {
            let mut rec = new_record(&c);
            rec.invocation_key = Some(c.inv_key.to_hex());
            rec.timings.hash_us = micros(started.elapsed());
            let code = serve(&c, &mut rec);
            rec.remote = c.basis.tiers.finish();
            rec.exit_code = code;
            rec.timings.total_us = micros(started.elapsed());
            let _ = kiln_record::append(&cfg.dir, &rec);
            code
        }
    }
}

/// Replaces this process with the compiler, as the build script started it.
fn exec_plain(program: &OsString, argv0: &OsString, args: &[OsString]) -> i32 {
    let err = Command::new(program)
        .arg0(argv0)
        .args(args)
        .env_remove(LAUNCHER_VAR)
        .exec();
    warn(&format!(
        "cannot run `{}`: {err}",
        program.to_string_lossy()
    ));
    127
}

/// Why the compile's outputs cannot be cached: one that goes to a device or
/// to `/proc` (`-o /dev/null` in a probe), or where something other than a
/// regular file stands.
fn special_output(plan: &args::Plan, cwd: &Path) -> Option<String> {
    let outputs = std::iter::once(&plan.object).chain(plan.depfile.as_ref());
    for o in outputs {
        let path = cwd.join(o);
        let special = path.starts_with("/dev")
            || path.starts_with("/proc")
            || std::fs::symlink_metadata(&path).is_ok_and(|m| !m.is_file());
        if special {
            return Some(format!("`{}` is not a regular file", path.display()));
        }
    }
    None
}

fn prepare<'a>(
    cfg: &'a Config,
    program: &OsString,
    argv0: &OsString,
    args: &'a [OsString],
) -> Result<Compile<'a>, Skip> {
    if cfg.disabled || cfg.trace == TraceMode::Off {
        return Err(Skip::Pass("the cache is off".into()));
    }
    let plan = args::plan(args).map_err(|args::RunsAsIs(why)| Skip::Pass(why))?;
    let cwd = std::env::current_dir()
        .map_err(|e| Skip::Problem(format!("cannot read the working directory: {e}")))?;
    if let Some(why) = special_output(&plan, &cwd) {
        return Err(Skip::Pass(why));
    }
    let resolved = if program.as_encoded_bytes().contains(&b'/') {
        PathBuf::from(program)
    } else {
        let path = crate::env_rules::var("PATH");
        if !crate::searches::all_entries_absolute(path.as_deref()) {
            return Err(Skip::Pass("`PATH` names a relative directory".into()));
        }
        kiln_trace::find_program(program, path.as_deref())
            .0
            .ok_or_else(|| Skip::Pass("the compiler is not on `PATH`".into()))?
    };
    let tracer = kiln_trace::Tracer::install(&cfg.dir.join("lib"))
        .map_err(|e| Skip::Problem(format!("cannot set up input observation: {e}")))?
        .ok_or_else(|| Skip::Pass("no input observation here".into()))?;
    let out_dir = crate::env_rules::var("OUT_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .ok_or_else(|| Skip::Pass("not inside a build-script run".into()))?;
    let package_dir = crate::env_rules::var("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| cwd.clone());
    let (roots, from_cargo_home) = crate::in_run::package_roots(cfg, &out_dir, &package_dir, None);
    let basis = Basis::new(cfg, roots, from_cargo_home);
    let inv_key = key::invocation_key(&key::CompileKeyInputs {
        compiler: &resolved,
        argv0,
        args,
        cwd: &cwd,
        roots: &basis.roots,
        mode: cfg.paths,
        from_cargo_home,
        hasher: &basis.hasher,
    })
    .map_err(|e| Skip::Problem(format!("cannot key the C compile: {e}")))?;
    Ok(Compile {
        resolved,
        argv0: argv0.clone(),
        args,
        out_dir: args::output_dir(&plan, &cwd),
        plan,
        cwd,
        basis,
        tracer,
        inv_key,
    })
}

/// Answers a keyed compile: a hit, or a real compile (once per key at a
/// time).
fn serve(c: &Compile<'_>, rec: &mut UnitRecord) -> i32 {
    crate::lookup::serve(
        &c.basis.tiers.store,
        &c.inv_key,
        rec,
        &mut |rec| try_hit(c, rec),
        &mut |rec| run::compile_and_store(c, rec),
    )
}

fn try_hit(c: &Compile<'_>, rec: &mut UnitRecord) -> bool {
    let rule = c.basis.text_rule();
    let hit = c
        .basis
        .restore_and_replay(&c.inv_key, rec, "compile", &mut |key, reader| {
            kiln_store::entry::restore(key, reader, &c.out_dir, &|b: &[u8]| rule.to_local(b))
        });
    let Some((inputs, restored)) = hit else {
        return false;
    };
    c.basis.forward(&inputs, &restored, &c.resolved);
    true
}

fn new_record(c: &Compile<'_>) -> UnitRecord {
    let env = crate::env_rules::text;
    let package_dir = env("CARGO_MANIFEST_DIR").map(PathBuf::from);
    let source = c.cwd.join(&c.plan.source);
    // The source as the package names it (two `util.c` in one package are
    // two units).
    let crate_name = package_dir
        .as_deref()
        .and_then(|d| source.strip_prefix(d).ok())
        .unwrap_or(&c.plan.source)
        .to_string_lossy()
        .into_owned();
    let run_dir = env("OUT_DIR").map(PathBuf::from);
    let unit_dir = run_dir.as_deref().and_then(Path::parent);
    UnitRecord {
        crate_name,
        target: env("TARGET"),
        profile: env("PROFILE"),
        extra_filename: unit_dir
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned()),
        ..crate::action::start_record(c.basis.cfg, UnitKind::CCompile)
    }
}

/// A compile that did not succeed or was not stored.
pub(crate) fn not_stored(rec: &mut UnitRecord, reason: PassReason, detail: String) {
    rec.outcome = Outcome::NotCacheable;
    rec.reason = Some(reason);
    rec.detail = Some(detail);
}

mod components {
    //! What a compile's key covered, for `kiln explain`.

    use kiln_key::Digest;
    use kiln_store::manifest::Inputs;

    use super::Compile;
    use crate::components::short;

    /// Saves the components of `key`: the compiler, the arguments as keyed,
    /// and the observed inputs.
    pub(super) fn save(c: &Compile<'_>, key: &Digest, inputs: &Inputs) {
        let value = |v: &str| {
            super::key::arg_value(
                v,
                &c.basis.roots,
                c.basis.cfg.paths,
                c.basis.from_cargo_home,
            )
        };
        let digest = c
            .basis
            .hasher
            .hash(&c.resolved)
            .map(|d| short(&d.to_hex()))
            .unwrap_or_default();
        let components = kiln_types::KeyComponents {
            compiler: c.resolved.display().to_string(),
            compiler_digest: digest,
            args: c
                .args
                .iter()
                .map(|a| kiln_key::Roots::display(&value(&a.to_string_lossy())))
                .collect(),
            ..crate::components::observed(inputs, Vec::new(), c.basis.cfg.explain_env_values)
        };
        crate::components::save(&c.basis.tiers.store, key, &components);
    }
}
