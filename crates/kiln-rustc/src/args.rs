//! The rustc argument model and the cacheability decision.
//!
//! [`plan`] turns the arguments cargo passed into a [`Plan`]: a probe to pass
//! through, a call kiln must not cache (with the reason), or an
//! [`Invocation`] describing everything kiln needs to key and restore it.
//! Which flags exist and what each one means to kiln is the table in
//! `flags`; this module walks the arguments and applies it. Unknown
//! flags are never guessed at: they make the call uncacheable.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use kiln_types::PassReason;

use crate::flags::{self, OnCodegen, OnSwitch, OnValue, Takes};

/// One `--emit` kind, with its explicit path if given (`--emit=link=out/x`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emit {
    /// `link`, `metadata`, `dep-info`, `obj`, `asm`, `llvm-ir`, `llvm-bc`, `mir`.
    pub kind: String,
    /// Explicit output path.
    pub path: Option<PathBuf>,
}

/// One `--extern` argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extern {
    /// Options before the name (`noprelude`, `priv`, `nounused`), comma-joined.
    pub opts: String,
    /// Crate name as seen by the crate being compiled.
    pub name: String,
    /// File that provides it, if given.
    pub path: Option<PathBuf>,
}

/// A call kiln can cache, described.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Invocation {
    /// Arguments after `@file` expansion, in order.
    pub args: Vec<String>,
    /// `--crate-name`.
    pub crate_name: String,
    /// `--crate-type` values, in order.
    pub crate_types: Vec<String>,
    /// The source file.
    pub input: PathBuf,
    /// `--out-dir`.
    pub out_dir: Option<PathBuf>,
    /// `-o`.
    pub output: Option<PathBuf>,
    /// `--emit` kinds (rustc's default `link` when absent).
    pub emit: Vec<Emit>,
    /// `-C extra-filename`.
    pub extra_filename: String,
    /// `--target`.
    pub target: Option<String>,
    /// `--extern` arguments.
    pub externs: Vec<Extern>,
    /// `-L` search paths as `(kind, path)`.
    pub search_paths: Vec<(String, PathBuf)>,
    /// `-C linker`.
    pub linker: Option<PathBuf>,
    /// `--test`.
    pub test: bool,
    /// `--error-format=json`.
    pub json_diagnostics: bool,
}

/// What kiln should do with a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// A question to the compiler (`-vV`, `--print`): pass through, not a request.
    Probe,
    /// A compile kiln must not cache.
    Pass(PassReason, String),
    /// A cacheable compile.
    Cache(Box<Invocation>),
}

/// Whether `out_dir` is a directory of cargo's `build` directory, where it
/// compiles build scripts.
pub fn in_build_dir(out_dir: &Path) -> bool {
    out_dir
        .parent()
        .and_then(Path::file_name)
        .is_some_and(|n| n == "build")
}

/// Decides what to do with the arguments that followed the compiler path.
pub fn plan(raw: &[OsString]) -> Plan {
    let mut args = Vec::with_capacity(raw.len());
    for a in raw {
        let Some(s) = a.to_str() else {
            return Plan::Pass(PassReason::UnknownFlag, "argument is not UTF-8".into());
        };
        if let Some(file) = s.strip_prefix('@') {
            match expand_argfile(file) {
                Ok(mut more) => args.append(&mut more),
                Err(e) => {
                    return Plan::Pass(
                        PassReason::UnknownFlag,
                        format!("argument file `{file}`: {e}"),
                    );
                }
            }
        } else {
            args.push(s.to_owned());
        }
    }
    parse(args)
}

fn expand_argfile(spec: &str) -> std::io::Result<Vec<String>> {
    let (path, shell) = match spec.strip_prefix("shell:") {
        Some(p) => (p, true),
        None => (spec, false),
    };
    if shell {
        return Err(std::io::Error::other(
            "`@shell:` argument files are not supported",
        ));
    }
    let text = fs_err::read_to_string(path)?;
    Ok(text.lines().map(str::to_owned).collect())
}

/// Why a call is not cached: the reason, and a few words for people.
type Refusal = (PassReason, String);

/// What the arguments said so far.
#[derive(Default)]
struct Walk {
    inv: Invocation,
    inputs: Vec<String>,
    crate_name: Option<String>,
    probe: bool,
}

fn parse(args: Vec<String>) -> Plan {
    let mut walk = Walk::default();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        if let Err((reason, why)) = walk.arg(arg, &mut rest) {
            return Plan::Pass(reason, why);
        }
    }
    walk.finish(args)
}

impl Walk {
    /// Takes in `arg`, and its value from `rest` when it is separate.
    fn arg(&mut self, arg: &str, rest: &mut std::slice::Iter<'_, String>) -> Result<(), Refusal> {
        if arg == "-" || !arg.starts_with('-') {
            self.inputs.push(arg.to_owned());
            return Ok(());
        }
        let unknown = || (PassReason::UnknownFlag, format!("unknown flag `{arg}`"));
        let written = flags::recognize(arg).ok_or_else(unknown)?;
        match (written.flag.takes, written.attached) {
            (Takes::Nothing(on), None) => {
                self.switch(on);
                Ok(())
            }
            (Takes::Nothing(_), Some(_)) => Err(unknown()),
            (Takes::Value(on), Some(value)) => self.value(on, value),
            (Takes::Value(on), None) => {
                let value = rest.next().ok_or_else(|| {
                    (
                        PassReason::UnknownFlag,
                        format!("flag `{}` has no value", written.name),
                    )
                })?;
                self.value(on, value)
            }
        }
    }

    fn switch(&mut self, on: OnSwitch) {
        match on {
            OnSwitch::Keyed => {}
            OnSwitch::Probe => self.probe = true,
            OnSwitch::Test => self.inv.test = true,
        }
    }

    fn value(&mut self, on: OnValue, value: &str) -> Result<(), Refusal> {
        let inv = &mut self.inv;
        match on {
            OnValue::Keyed => {}
            OnValue::Probe => self.probe = true,
            OnValue::CrateName => self.crate_name = Some(value.to_owned()),
            OnValue::CrateTypes => inv.crate_types.extend(value.split(',').map(str::to_owned)),
            OnValue::Emit => inv.emit.extend(parse_emit(value)?),
            OnValue::Output => inv.output = Some(parse_output(value)?),
            OnValue::OutDir => inv.out_dir = Some(PathBuf::from(value)),
            OnValue::Target => inv.target = Some(value.to_owned()),
            OnValue::Extern => inv.externs.push(parse_extern(value)),
            OnValue::SearchPath => inv.search_paths.push(parse_search_path(value)),
            OnValue::ErrorFormat => inv.json_diagnostics = value == "json",
            OnValue::Codegen => self.codegen(value)?,
            OnValue::Unstable => check_unstable(value)?,
        }
        Ok(())
    }

    /// `-C name[=value]`.
    fn codegen(&mut self, value: &str) -> Result<(), Refusal> {
        let (name, v) = match value.split_once('=') {
            Some((n, v)) => (n.replace('_', "-"), Some(v)),
            None => (value.replace('_', "-"), None),
        };
        match flags::codegen(&name) {
            OnCodegen::Keyed => {}
            OnCodegen::ExtraFilename => self.inv.extra_filename = v.unwrap_or_default().to_owned(),
            OnCodegen::Linker => self.inv.linker = v.map(PathBuf::from),
            OnCodegen::Refuse(reason, why) => return Err((reason, why.to_owned())),
        }
        Ok(())
    }

    /// The plan once every argument is in.
    fn finish(self, args: Vec<String>) -> Plan {
        let Walk {
            mut inv,
            inputs,
            crate_name,
            probe,
        } = self;
        inv.args = args;
        if probe {
            return Plan::Probe;
        }
        match inputs.as_slice() {
            [] => Plan::Probe,
            [one] => {
                inv.input = PathBuf::from(one);
                inv.crate_name = match crate_name {
                    Some(n) => n,
                    None => {
                        return Plan::Pass(
                            PassReason::UnknownFlag,
                            "no `--crate-name`: output names unknown".into(),
                        );
                    }
                };
                if inv.out_dir.is_none() && inv.output.is_none() {
                    return Plan::Pass(
                        PassReason::UnsupportedOutput,
                        "neither `--out-dir` nor `-o`".into(),
                    );
                }
                if inv.emit.is_empty() {
                    inv.emit.push(Emit {
                        kind: "link".into(),
                        path: None,
                    });
                }
                Plan::Cache(Box::new(inv))
            }
            _ => Plan::Pass(
                PassReason::NoSingleInput,
                format!("{} input files", inputs.len()),
            ),
        }
    }
}

/// `--emit kind[=path],…`.
fn parse_emit(value: &str) -> Result<Vec<Emit>, Refusal> {
    let mut emit = Vec::new();
    for kind in value.split(',') {
        let (kind, path) = match kind.split_once('=') {
            Some((k, p)) => (k, Some(PathBuf::from(p))),
            None => (kind, None),
        };
        if path.as_deref() == Some(Path::new("-")) {
            return Err((
                PassReason::UnsupportedOutput,
                "`--emit` to standard output".into(),
            ));
        }
        emit.push(Emit {
            kind: kind.to_owned(),
            path,
        });
    }
    Ok(emit)
}

/// `-o path`.
fn parse_output(value: &str) -> Result<PathBuf, Refusal> {
    if value == "-" {
        return Err((
            PassReason::UnsupportedOutput,
            "`-o -` writes to standard output".into(),
        ));
    }
    Ok(PathBuf::from(value))
}

/// `-L [kind=]path`.
fn parse_search_path(value: &str) -> (String, PathBuf) {
    match value.split_once('=') {
        Some((k, p)) if ["dependency", "crate", "native", "framework", "all"].contains(&k) => {
            (k.to_owned(), PathBuf::from(p))
        }
        _ => ("all".to_owned(), PathBuf::from(value)),
    }
}

/// `-Z name[=value]`.
fn check_unstable(value: &str) -> Result<(), Refusal> {
    let name = value
        .split('=')
        .next()
        .unwrap_or_default()
        .replace('_', "-");
    if flags::unstable_is_safe(&name) {
        return Ok(());
    }
    Err((
        PassReason::UnstableFlag,
        format!("unstable flag `-Z {value}`"),
    ))
}

fn parse_extern(value: &str) -> Extern {
    let (spec, path) = match value.split_once('=') {
        Some((s, p)) => (s, Some(PathBuf::from(p))),
        None => (value, None),
    };
    let (opts, name) = match spec.rsplit_once(':') {
        Some((o, n)) => (o.to_owned(), n.to_owned()),
        None => (String::new(), spec.to_owned()),
    };
    Extern { opts, name, path }
}

impl Invocation {
    /// Whether rustc invokes a linker (or archiver) for this call: its outputs
    /// then depend on every object and library the linker reads.
    pub fn links(&self) -> bool {
        if !self.emit.iter().any(|e| e.kind == "link") {
            return false;
        }
        if self.test || self.crate_types.is_empty() {
            return true;
        }
        self.crate_types
            .iter()
            .any(|t| !matches!(t.as_str(), "lib" | "rlib"))
    }

    /// Whether the source comes from standard input (build-script probes
    /// such as autocfg's).
    pub fn reads_stdin(&self) -> bool {
        self.input == Path::new("-")
    }

    /// Whether this call builds a proc macro.
    pub fn is_proc_macro(&self) -> bool {
        self.crate_types.iter().any(|t| t == "proc-macro")
    }

    /// Whether this compiles a package's build script into a program (cargo
    /// names the crate `build_script_<target name>` and puts it in
    /// `build/<package>-<hash>`; a binary a user named `build-script-…`
    /// goes to `deps`).
    pub fn is_build_script(&self) -> bool {
        self.crate_name.starts_with("build_script_")
            && self.out_dir.as_deref().is_some_and(in_build_dir)
            && self.crate_types == ["bin"]
            && !self.test
            && self.emit.iter().any(|e| e.kind == "link")
    }

    /// Directory and file-name stems of the files rustc writes for this call.
    /// A file belongs to the call when its name equals a stem or starts with
    /// a stem followed by `.`.
    pub fn output_stems(&self) -> (PathBuf, Vec<String>) {
        if let Some(o) = &self.output {
            let dir = o.parent().map(Path::to_path_buf).unwrap_or_default();
            let stem = o
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            return (dir, vec![stem]);
        }
        let dir = self.out_dir.clone().unwrap_or_default();
        let base = format!("{}{}", self.crate_name, self.extra_filename);
        (dir, vec![format!("lib{base}"), base])
    }

    /// Whether `name` (a file name in the output directory) is an output of this call.
    pub fn owns_output(&self, stems: &[String], name: &str) -> bool {
        stems.iter().any(|s| {
            name == s
                || (name.len() > s.len()
                    && name.starts_with(s.as_str())
                    && name.as_bytes()[s.len()] == b'.')
        })
    }

    /// The dep-info file rustc writes, if `--emit` asks for one.
    pub fn dep_info_path(&self) -> Option<PathBuf> {
        let e = self.emit.iter().find(|e| e.kind == "dep-info")?;
        if let Some(p) = &e.path {
            return Some(p.clone());
        }
        let (dir, stems) = self.output_stems();
        let stem = stems.last()?;
        Some(dir.join(format!("{stem}.d")))
    }

    /// Cargo's profile directory name, guessed from `--out-dir`
    /// (`target/<profile>/deps` or `target/<profile>/build/<unit>`).
    pub fn profile_dir_name(&self) -> Option<String> {
        let out = self.out_dir.as_ref()?;
        let mut comps: Vec<_> = out
            .components()
            .rev()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        comps.truncate(3);
        match comps.as_slice() {
            [deps, profile, ..] if deps == "deps" || deps == "examples" => Some(profile.clone()),
            [_, build, profile] if build == "build" => Some(profile.clone()),
            _ => None,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn plan_of(s: &str) -> Plan {
        let v: Vec<OsString> = s.split_whitespace().map(OsString::from).collect();
        plan(&v)
    }

    pub(crate) fn inv(s: &str) -> Invocation {
        match plan_of(s) {
            Plan::Cache(i) => *i,
            other => panic!("expected cacheable, got {other:?}"),
        }
    }

    const CARGO_LIB: &str = "--crate-name foo --edition=2021 src/lib.rs --error-format=json --json=diagnostic-rendered-ansi,artifacts,future-incompat --crate-type lib --emit=dep-info,metadata,link -C embed-bitcode=no -C debuginfo=2 --cfg feature=\"x\" -C metadata=abc -C extra-filename=-abc --out-dir /t/debug/deps -L dependency=/t/debug/deps --extern bar=/t/debug/deps/libbar-1.rmeta --extern noprelude:baz=/t/debug/deps/libbaz-2.rlib";

    #[test]
    fn cargo_lib_call_is_cacheable() {
        let i = inv(CARGO_LIB);
        assert_eq!(i.crate_name, "foo");
        assert_eq!(i.crate_types, ["lib"]);
        assert_eq!(i.extra_filename, "-abc");
        assert_eq!(i.externs.len(), 2);
        assert_eq!(i.externs[1].opts, "noprelude");
        assert_eq!(i.externs[1].name, "baz");
        assert!(i.json_diagnostics);
        assert!(!i.links());
        assert_eq!(
            i.dep_info_path(),
            Some(PathBuf::from("/t/debug/deps/foo-abc.d"))
        );
        assert_eq!(i.profile_dir_name().as_deref(), Some("debug"));
        let (_, stems) = i.output_stems();
        assert!(i.owns_output(&stems, "libfoo-abc.rlib"));
        assert!(i.owns_output(&stems, "foo-abc.d"));
        assert!(!i.owns_output(&stems, "libfoo-abcd.rlib"));
        assert!(!i.owns_output(&stems, "libfoo_bar-abc.rlib"));
    }

    #[test]
    fn probes_pass_through() {
        assert_eq!(plan_of("-vV"), Plan::Probe);
        assert_eq!(
            plan_of("- --crate-name ___ --print=file-names --crate-type bin"),
            Plan::Probe
        );
        assert_eq!(plan_of("--print sysroot"), Plan::Probe);
    }

    #[test]
    fn uncacheable_calls_say_why() {
        let reason = |s: &str| match plan_of(s) {
            Plan::Pass(r, _) => r,
            other => panic!("{other:?}"),
        };
        let base = "--crate-name foo src/lib.rs --out-dir /o";
        assert_eq!(
            reason(&format!("{base} -C incremental=/t/inc")),
            PassReason::Incremental
        );
        assert_eq!(
            reason(&format!("{base} -Cincremental=/t/inc")),
            PassReason::Incremental
        );
        assert_eq!(
            reason(&format!("{base} --frobnicate")),
            PassReason::UnknownFlag
        );
        assert_eq!(
            reason(&format!("{base} -Z self-profile")),
            PassReason::UnstableFlag
        );
        assert_eq!(
            reason(&format!("{base} -C profile-use=/p")),
            PassReason::ProfileGuided
        );
        assert_eq!(
            reason(&format!("{base} -o -")),
            PassReason::UnsupportedOutput
        );
        assert_eq!(
            reason("--crate-name foo a.rs b.rs --out-dir /o"),
            PassReason::NoSingleInput
        );
        assert_eq!(
            reason("--crate-name foo a.rs"),
            PassReason::UnsupportedOutput
        );
    }

    #[test]
    fn stdin_compiles_are_cacheable() {
        let i = inv("--crate-name probe0 --crate-type lib --emit=metadata --out-dir /o -");
        assert!(i.reads_stdin());
    }

    #[test]
    fn joined_short_flags() {
        let i = inv(
            "--crate-name foo src/main.rs --crate-type bin -Copt-level=3 -Clinker=/usr/bin/cc -L/x -Ldependency=/d --out-dir /o",
        );
        assert_eq!(i.linker, Some(PathBuf::from("/usr/bin/cc")));
        assert_eq!(
            i.search_paths,
            vec![
                ("all".into(), PathBuf::from("/x")),
                ("dependency".into(), PathBuf::from("/d"))
            ]
        );
        assert!(i.links());
    }

    #[test]
    fn linking_is_detected() {
        assert!(inv("--crate-name m src/lib.rs --crate-type proc-macro --out-dir /o").links());
        assert!(inv("--crate-name m src/lib.rs --test --out-dir /o").links());
        assert!(
            !inv(
                "--crate-name m src/lib.rs --crate-type bin --emit=dep-info,metadata --out-dir /o"
            )
            .links()
        );
        assert!(
            inv("--crate-name m src/lib.rs --crate-type rlib --crate-type cdylib --out-dir /o")
                .links()
        );
    }

    #[test]
    fn explicit_output_names() {
        let i = inv("--crate-name m src/main.rs -o /x/prog --emit=link,dep-info");
        let (dir, stems) = i.output_stems();
        assert_eq!(dir, PathBuf::from("/x"));
        assert!(i.owns_output(&stems, "prog"));
        assert!(i.owns_output(&stems, "prog.d"));
        assert_eq!(i.dep_info_path(), Some(PathBuf::from("/x/prog.d")));
    }

    #[test]
    fn argfiles_expand() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("args");
        std::fs::write(&f, "--crate-name\nfoo\nsrc/lib.rs\n--out-dir\n/o\n").unwrap();
        let p = plan(&[OsString::from(format!("@{}", f.display()))]);
        assert!(matches!(p, Plan::Cache(i) if i.crate_name == "foo"));
        assert!(matches!(
            plan(&[OsString::from("@/nonexistent/args")]),
            Plan::Pass(PassReason::UnknownFlag, _)
        ));
    }

    const BASE: &str = "--crate-name foo src/lib.rs --out-dir /o";

    #[test]
    fn codegen_options_in_every_form() {
        for opts in [
            "-C extra-filename=-x -C linker=/cc",
            "-Cextra-filename=-x -Clinker=/cc",
            "--codegen extra_filename=-x --codegen=linker=/cc",
            "-C extra-filename=-y -C extra-filename=-x -C linker=/ld -Clinker=/cc",
        ] {
            let i = inv(&format!("{BASE} {opts}"));
            assert_eq!(i.extra_filename, "-x", "{opts}");
            assert_eq!(i.linker, Some(PathBuf::from("/cc")), "{opts}");
        }
        // Without a value, the last one wins and says nothing.
        let i = inv(&format!(
            "{BASE} -C extra-filename=-x -C extra-filename -Clinker=/cc -C linker"
        ));
        assert_eq!(i.extra_filename, "");
        assert_eq!(i.linker, None);
        let pass = |opts: &str| plan_of(&format!("{BASE} {opts}"));
        assert_eq!(
            pass("--codegen=incremental=/i"),
            Plan::Pass(
                PassReason::Incremental,
                "`-C incremental` keeps rustc's own state".into()
            )
        );
        assert_eq!(
            pass("-C incremental"),
            Plan::Pass(
                PassReason::Incremental,
                "`-C incremental` keeps rustc's own state".into()
            )
        );
        for name in ["profile-generate", "profile_use", "profile-sample-use"] {
            let spelled = name.replace('_', "-");
            assert_eq!(
                pass(&format!("-C {name}=/p")),
                Plan::Pass(PassReason::ProfileGuided, format!("`-C {spelled}`"))
            );
        }
        assert!(matches!(
            pass("-C opt-level=3 -Cdebuginfo=2 -C panic=abort"),
            Plan::Cache(_)
        ));
    }

    #[test]
    fn unstable_options() {
        let z = |opts: &str| plan_of(&format!("{BASE} {opts}"));
        assert!(matches!(
            z(
                "-Z unstable-options -Zthreads=8 -Z share_generics=yes -Znext-solver=coherence -Z macro-backtrace"
            ),
            Plan::Cache(_)
        ));
        assert_eq!(
            z("-Ztime-passes"),
            Plan::Pass(
                PassReason::UnstableFlag,
                "unstable flag `-Z time-passes`".into()
            )
        );
        assert_eq!(
            z("-Z self_profile=/p"),
            Plan::Pass(
                PassReason::UnstableFlag,
                "unstable flag `-Z self_profile=/p`".into()
            )
        );
    }

    #[test]
    fn outputs_inputs_and_targets() {
        let i = inv(
            "--crate-name m src/main.rs -o/x/prog --emit dep-info=/d/m.d,link --crate-type=bin,rlib --crate-type cdylib",
        );
        assert_eq!(i.output, Some(PathBuf::from("/x/prog")));
        assert_eq!(
            i.emit,
            [
                Emit {
                    kind: "dep-info".into(),
                    path: Some(PathBuf::from("/d/m.d"))
                },
                Emit {
                    kind: "link".into(),
                    path: None
                },
            ]
        );
        assert_eq!(i.crate_types, ["bin", "rlib", "cdylib"]);
        assert_eq!(i.dep_info_path(), Some(PathBuf::from("/d/m.d")));
        assert_eq!(
            plan_of(&format!("{BASE} --emit=link,metadata=-")),
            Plan::Pass(
                PassReason::UnsupportedOutput,
                "`--emit` to standard output".into()
            )
        );
        assert_eq!(
            plan_of(&format!("{BASE} -o-")),
            Plan::Pass(
                PassReason::UnsupportedOutput,
                "`-o -` writes to standard output".into()
            )
        );
        let i = inv(&format!(
            "{BASE} --target /specs/t.json --out-dir=/p --extern=a --extern b=/b.rlib --extern priv:nounused:c=/c.rmeta -L native=/n -Lweird=/w"
        ));
        assert_eq!(i.target.as_deref(), Some("/specs/t.json"));
        assert_eq!(i.out_dir, Some(PathBuf::from("/p")));
        let ext: Vec<_> = i
            .externs
            .iter()
            .map(|e| (e.opts.as_str(), e.name.as_str(), e.path.clone()))
            .collect();
        assert_eq!(
            ext,
            [
                ("", "a", None),
                ("", "b", Some(PathBuf::from("/b.rlib"))),
                ("priv:nounused", "c", Some(PathBuf::from("/c.rmeta"))),
            ]
        );
        assert_eq!(
            i.search_paths,
            [
                ("native".into(), PathBuf::from("/n")),
                ("all".into(), PathBuf::from("weird=/w")),
            ]
        );
    }

    #[test]
    fn messages_and_probes() {
        assert!(inv(&format!("{BASE} --error-format=json")).json_diagnostics);
        assert!(!inv(&format!("{BASE} --error-format json --error-format=human")).json_diagnostics);
        // A probe is only a probe when nothing else in the call refuses it.
        assert_eq!(plan_of(&format!("{BASE} --print=cfg")), Plan::Probe);
        assert_eq!(
            plan_of("--print sysroot --frobnicate"),
            Plan::Pass(
                PassReason::UnknownFlag,
                "unknown flag `--frobnicate`".into()
            )
        );
        // A separate value is taken whatever it looks like.
        assert!(matches!(plan_of(&format!("{BASE} --cfg --test")), Plan::Cache(i) if !i.test));
        for odd in ["-O3", "-gx", "--test=yes", "--", "-x"] {
            assert_eq!(
                plan_of(&format!("{BASE} {odd}")),
                Plan::Pass(PassReason::UnknownFlag, format!("unknown flag `{odd}`"))
            );
        }
    }
}
