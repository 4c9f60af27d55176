//! The invocation key: everything known about a call before it runs.
//!
//! Covered: kiln's key format, the compiler identity (and clippy's), the path
//! mode, every argument with local roots replaced by placeholders (except
//! `--diagnostic-width`, which only changes how messages wrap), the content
//! of every `--extern` file, and the variables in `env_rules::ALWAYS`.
//! In exact path mode the local roots themselves are keyed too.

use std::ffi::OsString;
use std::path::Path;

use kiln_config::PathMode;
use kiln_key::{Digest, FileHasher, KeyHasher, Roots};
use kiln_rustc::Invocation;
use kiln_rustc::compiler::CompilerIdentity;

use crate::env_rules;
use crate::paths::PathRule;
use crate::unreadable::Unreadable;

/// Inputs to the invocation key besides the parsed call.
pub struct KeyContext<'a> {
    /// Compiler identity.
    pub identity: &'a CompilerIdentity,
    /// Local roots.
    pub roots: &'a Roots,
    /// Path mode.
    pub mode: PathMode,
    /// This is a clippy run.
    pub clippy: bool,
    /// Content hashing.
    pub hasher: &'a FileHasher,
    /// Environment lookup.
    pub env: &'a dyn Fn(&str) -> Option<OsString>,
    /// Working directory of the compiler.
    pub cwd: &'a Path,
    /// The source, when it comes from standard input.
    pub stdin: Option<&'a [u8]>,
}

/// What the invocation key covered, for people (`kiln explain`).
#[derive(Debug, Default)]
pub struct InvocationParts {
    /// Normalized arguments, placeholders readable.
    pub args: Vec<String>,
    /// Extern name and content digest prefix.
    pub externs: Vec<(String, String)>,
    /// Compiler settings from the environment: name and value digest prefix.
    pub env: Vec<(String, Option<String>)>,
}

/// Short digest for people.
pub fn short(d: &[u8]) -> String {
    Digest::of(d).to_hex()[..16].to_owned()
}

/// Computes the invocation key, or says which input could not be read.
pub fn invocation_key(
    inv: &Invocation,
    cx: &KeyContext<'_>,
) -> Result<(Digest, InvocationParts), Unreadable> {
    let mut parts = InvocationParts::default();
    let mut h = KeyHasher::new("kiln-invocation-v1");
    h.field("compiler", &cx.identity.digest);
    h.field("clippy", [u8::from(cx.clippy)]);
    h.field("paths", cx.mode.key_name());
    let paths = PathRule {
        roots: cx.roots,
        mode: cx.mode,
    };
    if paths.exact() {
        h.field("cwd", cx.cwd.as_os_str().as_encoded_bytes());
    }
    let normalize = |s: &str| paths.key_text(s);
    let mut skip_next = false;
    let mut after_codegen = false;
    for arg in &inv.args {
        // Paths inside linker arguments (`-Wl,-rpath,…`) end up in the
        // program: keyed as they are.
        // rustc accepts `_` for `-` in `-C` option names.
        let spelled = arg.replace('_', "-");
        let link_arg = ["link-arg", "-Clink-arg", "--codegen=link-arg"]
            .iter()
            .any(|p| spelled.starts_with(p))
            && (after_codegen || arg.starts_with('-'));
        after_codegen = arg == "-C" || arg == "--codegen";
        if link_arg {
            parts.args.push(arg.clone());
            h.field("arg", arg);
            continue;
        }
        if skip_next {
            skip_next = false;
            continue;
        }
        if arg == "--diagnostic-width" {
            skip_next = true;
            continue;
        }
        if arg.starts_with("--diagnostic-width=") {
            continue;
        }
        let n = normalize(arg);
        parts.args.push(Roots::display(&n));
        h.field("arg", n);
    }
    // `native` CPU settings compile for this machine's processor.
    if inv.args.iter().any(|a| {
        let a = a.replace('_', "-");
        a.contains("target-cpu=native") || (a.contains("target-feature") && a.contains("native"))
    }) {
        h.field("host-cpu", host_cpu());
        parts
            .env
            .push(("(host cpu)".into(), Some(short(host_cpu().as_bytes()))));
    }
    if let Some(source) = cx.stdin {
        h.field("stdin", Digest::of(source).0);
        parts.externs.push(("(stdin)".into(), short(source)));
    }
    for ext in &inv.externs {
        let Some(path) = &ext.path else { continue };
        let full = cx.cwd.join(path);
        let digest = cx
            .hasher
            .hash(&full)
            .map_err(|e| Unreadable::new(format!("extern `{}` at", ext.name), &full, e))?;
        h.field("extern", &ext.name);
        h.field("extern-content", digest.0);
        parts
            .externs
            .push((ext.name.clone(), digest.to_hex()[..16].to_owned()));
    }
    let always = env_rules::ALWAYS
        .iter()
        .chain(if cx.clippy { env_rules::CLIPPY } else { &[] });
    for name in always {
        let value = (cx.env)(name);
        h.field("env", name);
        match value {
            Some(v) => {
                let n = normalize(&v.to_string_lossy());
                parts
                    .env
                    .push(((*name).to_owned(), Some(short(n.as_bytes()))));
                h.field("value", n)
            }
            None => {
                parts.env.push(((*name).to_owned(), None));
                h.field("unset", [])
            }
        };
    }
    Ok((h.finish(), parts))
}

/// The processor model and feature flags (`/proc/cpuinfo`), for calls that
/// compile for the host CPU.
pub(crate) fn host_cpu() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    info.lines()
        .filter(|l| {
            l.starts_with("model name") || l.starts_with("flags") || l.starts_with("Features")
        })
        .take(2)
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    //! One test per input that must change the invocation key, and per
    //! input that must not.
    use std::collections::HashMap;
    use std::path::PathBuf;

    use kiln_rustc::Plan;

    use super::*;

    struct World {
        dir: tempfile::TempDir,
        env: HashMap<String, OsString>,
        mode: PathMode,
        clippy: bool,
        compiler: String,
        stdin: Option<Vec<u8>>,
    }

    impl World {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            for ws in ["a", "b"] {
                let deps = dir.path().join(ws).join("target/release/deps");
                std::fs::create_dir_all(&deps).unwrap();
                std::fs::write(deps.join("libdep-1.rlib"), b"dep v1").unwrap();
            }
            Self {
                dir,
                env: HashMap::new(),
                mode: PathMode::Normalize,
                clippy: false,
                compiler: "c1".into(),
                stdin: None,
            }
        }

        fn ws(&self, name: &str) -> PathBuf {
            self.dir.path().join(name)
        }

        fn key_in(&self, ws: &str, args: &str) -> Digest {
            let cwd = self.ws(ws);
            let target = cwd.join("target");
            let args = args.replace("$T", target.to_str().unwrap());
            let argv: Vec<OsString> = args.split_whitespace().map(OsString::from).collect();
            let Plan::Cache(inv) = kiln_rustc::plan(&argv) else {
                panic!("not cacheable: {args}")
            };
            let identity = CompilerIdentity {
                digest: self.compiler.clone(),
                version: String::new(),
                release: String::new(),
                host: String::new(),
                sysroot: PathBuf::from("/sysroot"),
                sysroot_signature: String::new(),
                clippy: None,
            };
            let roots = Roots::new(
                &cwd,
                Some(&target),
                Some(std::path::Path::new("/home/u/.cargo")),
                None,
            );
            let hasher = FileHasher::new(None);
            let env = |n: &str| self.env.get(n).cloned();
            let cx = KeyContext {
                identity: &identity,
                roots: &roots,
                mode: self.mode,
                clippy: self.clippy,
                hasher: &hasher,
                env: &env,
                cwd: &cwd,
                stdin: self.stdin.as_deref(),
            };
            invocation_key(&inv, &cx).unwrap().0
        }

        fn key(&self, args: &str) -> Digest {
            self.key_in("a", args)
        }
    }

    const BASE: &str = "--crate-name app --edition=2021 src/main.rs --crate-type bin --emit=dep-info,link -C opt-level=2 --out-dir $T/release/deps -L dependency=$T/release/deps --extern dep=$T/release/deps/libdep-1.rlib";

    #[test]
    fn same_call_same_key() {
        let w = World::new();
        assert_eq!(w.key(BASE), w.key(BASE));
    }

    #[test]
    fn checkout_and_target_dir_do_not_change_the_key() {
        let w = World::new();
        assert_eq!(w.key_in("a", BASE), w.key_in("b", BASE));
    }

    #[test]
    fn exact_path_mode_keys_the_checkout() {
        let mut w = World::new();
        w.mode = PathMode::Exact;
        assert_ne!(w.key_in("a", BASE), w.key_in("b", BASE));
    }

    #[test]
    fn every_argument_changes_the_key() {
        let w = World::new();
        let base = w.key(BASE);
        for extra in [
            "-C opt-level=3",
            "--cfg feature=\"tls\"",
            "--edition=2024",
            "--target x86_64-unknown-linux-musl",
            "-C debuginfo=2",
            "-C lto=thin",
            "-C codegen-units=1",
            "-C metadata=abc",
            "-C extra-filename=-abc",
            "-A warnings",
            "--cap-lints allow",
            "--test",
            "-C link-arg=-Wl,-z,now",
            "--check-cfg cfg(x)",
            "-L native=/usr/lib/x",
            "-l static=foo",
            "--error-format=json",
            "-C target-cpu=native",
            "-Ctarget_cpu=native",
        ] {
            assert_ne!(
                w.key(&format!("{BASE} {extra}")),
                base,
                "`{extra}` must change the key"
            );
        }
    }

    #[test]
    fn native_cpu_is_keyed_in_every_spelling() {
        // Only the host CPU's model and flags tell these keys apart from a
        // plain `-C target-cpu=x`; here the spellings must all key it.
        let w = World::new();
        for spelling in [
            "-Ctarget-cpu=native",
            "-Ctarget_cpu=native",
            "-C target_cpu=native",
        ] {
            let with = w.key(&format!("{BASE} {spelling}"));
            let named = w.key(&format!("{BASE} {}", spelling.replace("native", "x")));
            assert_ne!(with, named, "{spelling}");
        }
    }

    #[test]
    fn diagnostic_width_does_not_change_the_key() {
        let w = World::new();
        assert_eq!(w.key(&format!("{BASE} --diagnostic-width=80")), w.key(BASE));
        assert_eq!(
            w.key(&format!("{BASE} --diagnostic-width 120")),
            w.key(BASE)
        );
    }

    #[test]
    fn extern_content_changes_the_key_and_its_mtime_does_not() {
        let w = World::new();
        let base = w.key(BASE);
        let dep = w.ws("a").join("target/release/deps/libdep-1.rlib");
        std::fs::write(&dep, b"dep v1").unwrap();
        assert_eq!(w.key(BASE), base, "rewritten with the same bytes");
        std::fs::write(&dep, b"dep v2").unwrap();
        assert_ne!(w.key(BASE), base, "new content");
    }

    #[test]
    fn source_on_stdin_is_keyed_by_content() {
        let mut w = World::new();
        let probe = "--crate-name probe0 --crate-type lib --emit=metadata --out-dir $T/release/build/x/out -";
        w.stdin = Some(b"pub fn f() {}".to_vec());
        let a = w.key(probe);
        w.stdin = Some(b"pub fn g() {}".to_vec());
        assert_ne!(w.key(probe), a);
    }

    #[test]
    fn compiler_identity_changes_the_key() {
        let mut w = World::new();
        let base = w.key(BASE);
        w.compiler = "c2".into();
        assert_ne!(w.key(BASE), base);
    }

    #[test]
    fn clippy_runs_are_keyed_apart_with_their_settings() {
        let mut w = World::new();
        let base = w.key(BASE);
        w.clippy = true;
        let clippy = w.key(BASE);
        assert_ne!(clippy, base);
        w.env
            .insert("CLIPPY_ARGS".into(), "-D__CLIPPY_HACKERY__warnings".into());
        assert_ne!(w.key(BASE), clippy);
    }

    #[test]
    fn compiler_settings_in_the_environment_change_the_key() {
        let mut w = World::new();
        let base = w.key(BASE);
        w.env.insert("RUSTC_BOOTSTRAP".into(), "1".into());
        assert_ne!(w.key(BASE), base);
    }

    #[test]
    fn unrelated_environment_does_not_change_the_key() {
        let mut w = World::new();
        let base = w.key(BASE);
        w.env.insert("HOME".into(), "/elsewhere".into());
        w.env.insert("FOO".into(), "bar".into());
        assert_eq!(w.key(BASE), base);
    }
}
