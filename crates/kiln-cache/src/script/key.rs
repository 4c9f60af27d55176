//! The invocation key of a build-script run: everything known before it
//! runs.
//!
//! Covered: kiln's key format and path mode, the script program's content,
//! the identity of the compiler cargo hands it (`RUSTC`), its arguments and
//! working directory, every variable through which cargo describes the build
//! ([`cargo_describes`]), the host processor (model and feature flags: a
//! script may ask the processor what it supports, unobserved), and what
//! `OUT_DIR` holds before the run (empty
//! after `cargo clean`; a re-run sees what the last run left). Variables the
//! run reads besides, files, probes, listings and programs are observed and
//! keyed by their values in the entry key.

use std::ffi::OsString;
use std::path::Path;

use kiln_config::PathMode;
use kiln_key::{Digest, FileHasher, KeyHasher, Roots};

use crate::env_rules;
use crate::unreadable::Unreadable;

/// Names cargo sets that describe the build to the script: keyed whether
/// or not the run is seen reading them.
const DESCRIBES: &[&str] = &[
    "TARGET",
    "HOST",
    "PROFILE",
    "OPT_LEVEL",
    "DEBUG",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_MANIFEST_LINKS",
    "RUSTC_LINKER",
];

/// Prefixes of the variables cargo sets per feature, `cfg`, package and
/// `links` metadata of dependencies.
const DESCRIBES_PREFIX: &[&str] = &["CARGO_FEATURE_", "CARGO_CFG_", "CARGO_PKG_", "DEP_"];

/// Whether cargo sets `name` to describe the build.
pub fn cargo_describes(name: &str) -> bool {
    DESCRIBES.contains(&name) || DESCRIBES_PREFIX.iter().any(|p| name.starts_with(p))
}

/// What the key of a run is made of.
pub struct RunKeyInputs<'a> {
    /// The script program.
    pub program: &'a Path,
    /// Its arguments.
    pub args: &'a [OsString],
    /// Working directory (the package's manifest dir).
    pub cwd: &'a Path,
    /// `OUT_DIR`.
    pub out_dir: &'a Path,
    /// Digest of the compiler's identity.
    pub compiler: &'a str,
    /// Local roots.
    pub roots: &'a Roots,
    /// Path mode.
    pub mode: PathMode,
    /// The package comes from `CARGO_HOME`.
    pub from_cargo_home: bool,
    /// Content hashing.
    pub hasher: &'a FileHasher,
    /// The environment, all of it.
    pub vars: &'a [(OsString, OsString)],
}

/// Computes the invocation key of a run.
pub fn invocation_key(k: &RunKeyInputs<'_>) -> Result<Digest, Unreadable> {
    let value = |v: &str| env_rules::script_value(v, k.roots, k.mode, k.from_cargo_home);
    let mut h = KeyHasher::new("kiln-build-script-v1");
    h.field("paths", k.mode.key_name());
    let script = k
        .hasher
        .hash(k.program)
        .map_err(|e| Unreadable::new("build script", k.program, e))?;
    h.field("script", script.0);
    h.field("compiler", k.compiler);
    h.field("cwd", value(&k.cwd.to_string_lossy()));
    for a in k.args {
        h.field("arg", a.as_encoded_bytes());
    }
    let mut described: Vec<(&OsString, &OsString)> = k
        .vars
        .iter()
        .filter(|(n, _)| n.to_str().is_some_and(cargo_describes))
        .map(|(n, v)| (n, v))
        .collect();
    described.sort();
    for (name, v) in described {
        h.field("env", name.as_encoded_bytes());
        match v.to_str() {
            Some(text) => h.field("value", value(text)),
            None => h.field("raw", v.as_encoded_bytes()),
        };
    }
    // A script (or a compiler with `-march=native`) may ask the processor
    // itself (`cpuid`, `is_x86_feature_detected!`), which no trace sees.
    h.field("host-cpu", crate::invocation::host_cpu());
    let initial = tree_digest(k.out_dir).map_err(|e| Unreadable::new("`OUT_DIR`", k.out_dir, e))?;
    h.field("out-dir", initial.0);
    Ok(h.finish())
}

/// Digest of a directory tree: names, kinds, modes and contents. A missing
/// directory and an empty one are the same: cargo creates it.
pub fn tree_digest(dir: &Path) -> std::io::Result<Digest> {
    use std::os::unix::fs::PermissionsExt;
    let mut h = KeyHasher::new("kiln-tree-v1");
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let mut entries: Vec<_> = match std::fs::read_dir(&d) {
            Ok(rd) => rd.collect::<Result<_, _>>()?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && d == dir => Vec::new(),
            Err(e) => return Err(e),
        };
        entries.sort_by_key(std::fs::DirEntry::file_name);
        for e in entries {
            let path = e.path();
            let rel = path.strip_prefix(dir).unwrap_or(&path);
            let md = std::fs::symlink_metadata(&path)?;
            h.field("path", rel.as_os_str().as_encoded_bytes());
            h.field("mode", md.permissions().mode().to_le_bytes());
            if md.is_dir() {
                stack.push(path);
            } else if md.is_symlink() {
                h.field(
                    "link",
                    std::fs::read_link(&path)?.as_os_str().as_encoded_bytes(),
                );
            } else {
                let mut f = std::fs::File::open(&path)?;
                h.field("content", kiln_key::filehash::hash_reader(&mut f)?.0);
            }
        }
    }
    Ok(h.finish())
}

#[cfg(test)]
mod tests {
    //! One test per input that must change a run's key, and per input that
    //! must not.
    #![allow(clippy::unwrap_used)]

    use std::path::PathBuf;

    use super::*;

    struct World {
        dir: tempfile::TempDir,
        vars: Vec<(OsString, OsString)>,
        compiler: String,
    }

    impl World {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            for ws in ["a", "b"] {
                let home = dir.path().join(ws).join("home/registry/src/x/sys-1.0");
                std::fs::create_dir_all(&home).unwrap();
                let out = dir.path().join(ws).join("target/debug/build/sys-1/out");
                std::fs::create_dir_all(&out).unwrap();
                std::fs::write(
                    dir.path()
                        .join(ws)
                        .join("target/debug/build/sys-0/build_script_build-0"),
                    "",
                )
                .ok();
                let bin = dir.path().join(ws).join("script");
                std::fs::write(bin, b"script v1").unwrap();
            }
            let vars = [("TARGET", "x86_64-unknown-linux-gnu"), ("UNRELATED", "1")]
                .into_iter()
                .map(|(n, v)| (n.into(), v.into()))
                .collect();
            Self {
                dir,
                vars,
                compiler: "c1".into(),
            }
        }

        fn ws(&self, ws: &str) -> PathBuf {
            self.dir.path().join(ws)
        }

        fn key_in(&self, ws: &str, from_cargo_home: bool) -> Digest {
            let root = self.ws(ws);
            let home = root.join("home");
            let cwd = home.join("registry/src/x/sys-1.0");
            let target = root.join("target");
            let out_dir = target.join("debug/build/sys-1/out");
            let roots = Roots::new(&cwd, Some(&target), Some(&home), None);
            let mut vars = self.vars.clone();
            vars.push(("DEP_Z_INCLUDE".into(), out_dir.join("include").into()));
            let hasher = FileHasher::new(None);
            invocation_key(&RunKeyInputs {
                program: &root.join("script"),
                args: &[],
                cwd: &cwd,
                out_dir: &out_dir,
                compiler: &self.compiler,
                roots: &roots,
                mode: PathMode::Normalize,
                from_cargo_home,
                hasher: &hasher,
                vars: &vars,
            })
            .unwrap()
        }

        fn key(&self) -> Digest {
            self.key_in("a", true)
        }
    }

    #[test]
    fn a_registry_package_keys_the_same_from_another_checkout_and_cargo_home() {
        let w = World::new();
        assert_eq!(w.key_in("a", true), w.key_in("b", true));
    }

    #[test]
    fn a_workspace_package_keys_its_paths_exactly() {
        let w = World::new();
        assert_ne!(w.key_in("a", false), w.key_in("b", false));
    }

    #[test]
    fn what_cargo_describes_changes_the_key() {
        let base = World::new().key();
        for (name, value) in [
            ("TARGET", "aarch64-unknown-linux-gnu"),
            ("CARGO_FEATURE_VENDORED", "1"),
            ("CARGO_CFG_TARGET_FEATURE", "sse2"),
            ("DEP_OPENSSL_VERSION", "300"),
            ("PROFILE", "release"),
            ("OPT_LEVEL", "3"),
            ("CARGO_ENCODED_RUSTFLAGS", "-Ctarget-cpu=native"),
            ("CARGO_PKG_VERSION", "1.0.1"),
        ] {
            let mut w = World::new();
            w.vars.retain(|(n, _)| n != name);
            w.vars.push((name.into(), value.into()));
            assert_ne!(w.key(), base, "{name}");
        }
    }

    #[test]
    fn other_variables_do_not_change_the_key() {
        let mut w = World::new();
        let base = w.key();
        w.vars.push(("HOME".into(), "/elsewhere".into()));
        assert_eq!(w.key(), base);
    }

    #[test]
    fn variables_a_run_may_read_are_left_to_observation() {
        let mut w = World::new();
        let base = w.key();
        w.vars.push(("CFLAGS".into(), "-march=native".into()));
        assert_eq!(w.key(), base, "CFLAGS is keyed when the run reads it");
    }

    #[test]
    fn the_script_the_compiler_and_out_dir_change_the_key() {
        let mut w = World::new();
        let base = w.key();
        std::fs::write(w.ws("a").join("script"), b"script v2").unwrap();
        assert_ne!(w.key(), base, "script content");
        std::fs::write(w.ws("a").join("script"), b"script v1").unwrap();
        assert_eq!(w.key(), base);
        w.compiler = "c2".into();
        assert_ne!(w.key(), base, "compiler");
        w.compiler = "c1".into();
        let out = w.ws("a").join("target/debug/build/sys-1/out");
        std::fs::write(out.join("left-over.o"), b"x").unwrap();
        assert_ne!(w.key(), base, "what an earlier run left in OUT_DIR");
    }
}
