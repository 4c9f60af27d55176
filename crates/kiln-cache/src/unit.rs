//! A cacheable rustc call made ready: the compiler identified, the
//! observer set up, the machine's roots found, the call's invocation key
//! computed. What stops a call on the way is an [`Early`] answer: an
//! internal fault (warned about, then a plain compile) or a reason the call
//! cannot be cached.

use std::path::{Path, PathBuf};

use kiln_config::{Config, TraceMode};
use kiln_key::{Digest, Roots};
use kiln_rustc::Invocation;
use kiln_rustc::compiler::CompilerIdentity;
use kiln_types::PassReason;

use crate::action::Basis;
use crate::call::WrapperCall;
use crate::invocation::{InvocationParts, KeyContext, invocation_key};

/// Everything about a cacheable call that hit and miss handling share.
pub(crate) struct Unit<'a> {
    pub call: &'a WrapperCall,
    pub inv: &'a Invocation,
    pub cwd: PathBuf,
    pub out_dir: PathBuf,
    pub stems: Vec<String>,
    pub sysroot: PathBuf,
    pub target_dir: Option<PathBuf>,
    pub tracer: Option<kiln_trace::Tracer>,
    pub identity: CompilerIdentity,
    pub parts: InvocationParts,
    pub basis: Basis<'a>,
}

/// Why a call is compiled without the cache after all.
pub(crate) enum Early {
    /// Something of kiln's own failed: one warning, then a plain compile.
    Fault(String),
    /// The call cannot be cached, for this reason.
    Pass(PassReason, String),
}

/// The compiler, the working directory and the observer of a call.
struct Setting {
    cwd: PathBuf,
    clippy: Option<PathBuf>,
    identity: CompilerIdentity,
    tracer: Option<kiln_trace::Tracer>,
}

impl<'a> Unit<'a> {
    /// Readies `inv` for a lookup and returns it with its invocation key.
    pub fn prepare(
        cfg: &'a Config,
        call: &'a WrapperCall,
        rustc: &Path,
        inv: &'a Invocation,
    ) -> Result<(Self, Digest), Early> {
        let Setting {
            cwd,
            clippy,
            identity,
            tracer,
        } = setting(cfg, call, rustc)?;
        let (out_dir, stems) = outputs(inv, tracer.is_some(), &cwd)?;
        let target_dir = kiln_key::roots::find_target_dir(&out_dir);
        let roots = Roots::new(
            &cwd,
            target_dir.as_deref(),
            cfg.cargo_home.as_deref(),
            Some(&identity.sysroot),
        );
        let from_cargo_home = cfg.cargo_home.as_ref().is_some_and(|h| cwd.starts_with(h));
        let basis = Basis::new(cfg, roots, from_cargo_home);
        let key_cx = KeyContext {
            identity: &identity,
            roots: &basis.roots,
            mode: cfg.paths,
            clippy: clippy.is_some(),
            hasher: &basis.hasher,
            env: &crate::env_rules::lookup,
            cwd: &cwd,
            stdin: stdin(inv)?,
        };
        let (inv_key, parts) = invocation_key(inv, &key_cx)
            .map_err(|e| Early::Fault(format!("cannot key the call: {e}")))?;
        let unit = Unit {
            call,
            inv,
            cwd,
            out_dir,
            stems,
            sysroot: identity.sysroot.clone(),
            target_dir,
            tracer,
            identity,
            parts,
            basis,
        };
        Ok((unit, inv_key))
    }
}

/// The working directory, the compiler's identity and the observer.
fn setting(cfg: &Config, call: &WrapperCall, rustc: &Path) -> Result<Setting, Early> {
    let fault = |what: &str, e: &dyn std::fmt::Display| Early::Fault(format!("{what}: {e}"));
    let cwd =
        std::env::current_dir().map_err(|e| fault("cannot read the working directory", &e))?;
    let clippy = call.is_clippy().then(|| PathBuf::from(&call.program));
    let toolchain = crate::env_rules::var("RUSTUP_TOOLCHAIN");
    let identity =
        kiln_rustc::compiler::identify(&cfg.dir, rustc, clippy.as_deref(), toolchain.as_deref())
            .map_err(|e| fault("cannot identify the compiler", &e))?;
    let tracer = match cfg.trace {
        TraceMode::Off => None,
        TraceMode::Auto => kiln_trace::Tracer::install(&cfg.dir.join("lib"))
            .map_err(|e| fault("cannot set up input observation", &e))?,
    };
    Ok(Setting {
        cwd,
        clippy,
        identity,
        tracer,
    })
}

/// The output directory and file stems, once the call's inputs and outputs
/// are known to be within reach.
fn outputs(inv: &Invocation, observed: bool, cwd: &Path) -> Result<(PathBuf, Vec<String>), Early> {
    if !observed && let Some(what) = unobservable(inv) {
        return Err(Early::Pass(
            PassReason::LinkerNotObservable,
            format!("{what} cannot be observed here"),
        ));
    }
    let (out_dir, stems) = inv.output_stems();
    let out_dir = cwd.join(out_dir);
    if let Some(kind) = emit_outside(inv, cwd, &out_dir) {
        return Err(Early::Pass(
            PassReason::UnsupportedOutput,
            format!("`--emit {kind}` outside the output directory"),
        ));
    }
    Ok((out_dir, stems))
}

/// The source on standard input, when the call reads it.
fn stdin(inv: &Invocation) -> Result<Option<&'static [u8]>, Early> {
    if !inv.reads_stdin() {
        return Ok(None);
    }
    crate::compile::read_stdin().map(Some).ok_or_else(|| {
        Early::Pass(
            PassReason::StdinInput,
            "source on standard input is too large".into(),
        )
    })
}

/// What of the call only observation would see, when there is none: the
/// link (libraries the linker picks), native libraries bundled into an
/// rlib (`-l static=`), custom target specs, proc macros' reads.
fn unobservable(inv: &Invocation) -> Option<&'static str> {
    let proc_macro_externs = inv.externs.iter().any(|e| {
        e.path
            .as_ref()
            .and_then(|p| p.extension())
            .is_some_and(|x| x == "so" || x == "dylib" || x == "dll")
    });
    let native_inputs = inv
        .args
        .iter()
        .any(|a| a == "-l" || (a.starts_with("-l") && a.len() > 2))
        || inv.target.as_deref().is_some_and(|t| t.ends_with(".json"));
    if inv.links() {
        Some("linked output")
    } else if native_inputs {
        Some("native library or target spec")
    } else if proc_macro_externs || inv.is_proc_macro() {
        Some("proc-macro reads")
    } else {
        None
    }
}

/// The kind of an `--emit` output written outside `out_dir`, if any.
fn emit_outside<'i>(inv: &'i Invocation, cwd: &Path, out_dir: &Path) -> Option<&'i str> {
    inv.emit
        .iter()
        .find(|e| {
            e.path
                .as_ref()
                .is_some_and(|p| cwd.join(p).parent() != Some(out_dir))
        })
        .map(|e| e.kind.as_str())
}
