//! The inputs an action read, their digests, and the entry key.
//!
//! [`snapshot`] digests what `observed.rs` gathered. On later calls
//! [`verify`] checks a stored input list against the files and environment
//! of this machine, with paths mapped through the local roots.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use kiln_config::PathMode;
use kiln_key::{Digest, FileHasher, KeyHasher, Roots};
use kiln_store::manifest::Inputs;

pub(crate) use crate::observed::{Exclusions, Observed, changed_since, gather};
use crate::paths::PathRule;
use crate::unreadable::Unreadable;
use crate::{env_rules, searches};

/// How values are mapped into keys for one call.
pub struct Keying<'a> {
    /// Local roots.
    pub roots: &'a Roots,
    /// Path mode.
    pub mode: PathMode,
    /// The package comes from `CARGO_HOME` (registry or git).
    pub from_cargo_home: bool,
    /// Content hashing.
    pub hasher: &'a FileHasher,
    /// Environment lookup. [`env_rules::ALL_NAMES`] answers with every
    /// variable's name, for runs keyed by their whole environment.
    pub env: &'a dyn Fn(&str) -> Option<OsString>,
    /// Values are keyed as a build-script run sees them: every value of a
    /// package from `CARGO_HOME` has its paths normalized.
    pub script: bool,
    /// With a signing key, variable values are keyed by a keyed hash (see
    /// [`value_salt`]), so that a store's reader cannot confirm a guessed
    /// secret offline.
    pub salt: Option<[u8; 32]>,
}

/// The key variable values are hashed under: derived from the remote
/// store's signing key when one is set. Everyone who shares the key shares
/// the hits; a reader of the store without it learns nothing from the
/// digests.
pub(crate) fn value_salt(cfg: &kiln_config::Config) -> Option<[u8; 32]> {
    let key = cfg.remote.as_ref()?.signing_key.as_ref()?;
    Some(blake3::derive_key("kiln 2026 variable values", &key.0))
}

impl Keying<'_> {
    /// How paths enter the key.
    pub(crate) fn paths(&self) -> PathRule<'_> {
        PathRule {
            roots: self.roots,
            mode: self.mode,
        }
    }

    fn key_path(&self, p: &Path) -> String {
        self.paths().key_path(p)
    }

    pub(crate) fn local_path(&self, s: &str) -> PathBuf {
        self.paths().local_path(s)
    }

    pub(crate) fn env_digest(&self, name: &str) -> Option<String> {
        if let Some(program) = name.strip_prefix(searches::WHICH) {
            let path = (self.env)("PATH");
            if let Some(p) = path
                .as_deref()
                .filter(|p| !searches::all_entries_absolute(Some(p)))
            {
                let cwd = std::env::current_dir().unwrap_or_default();
                return Some(Digest::of(&searches::relative_resolution(program, p, &cwd)).to_hex());
            }
            let found = searches::resolve(program, path.as_deref())?;
            return Some(Digest::of(self.key_path(&found).as_bytes()).to_hex());
        }
        let v = (self.env)(name)?;
        let Some(text) = v.to_str() else {
            // Not UTF-8: key the exact bytes.
            return Some(match &self.salt {
                Some(salt) => blake3::keyed_hash(salt, v.as_encoded_bytes())
                    .to_hex()
                    .to_string(),
                None => Digest::of(v.as_encoded_bytes()).to_hex(),
            });
        };
        let text = env_rules::without_jobserver(name, text);
        let keyed = if self.script {
            env_rules::script_value(text.as_ref(), self.roots, self.mode, self.from_cargo_home)
        } else {
            env_rules::keyed_value(name, &text, self.roots, self.mode, self.from_cargo_home)
        };
        Some(match &self.salt {
            Some(salt) => blake3::keyed_hash(salt, keyed.as_bytes())
                .to_hex()
                .to_string(),
            None => Digest::of(keyed.as_bytes()).to_hex(),
        })
    }
}

/// Digest of a directory's sorted entry names.
fn listing_digest(dir: &Path) -> std::io::Result<String> {
    let mut names: Vec<Vec<u8>> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.file_name().as_encoded_bytes().to_vec()))
        .collect::<Result<_, _>>()?;
    names.sort();
    let mut h = KeyHasher::new("kiln-listing-v1");
    for n in &names {
        h.field("name", n);
    }
    Ok(h.finish().to_hex())
}

/// Digests everything observed, now.
pub fn snapshot(o: &Observed, k: &Keying<'_>) -> Result<Inputs, Unreadable> {
    let mut inputs = Inputs::default();
    for f in &o.files {
        let d = match o.digested.get(f) {
            Some(d) => *d,
            None => k
                .hasher
                .hash(f)
                .map_err(|e| Unreadable::new("input", f, e))?,
        };
        inputs.files.push((k.key_path(f), d.to_hex()));
    }
    inputs.absent = o.absent.iter().map(|p| k.key_path(p)).collect();
    inputs.env = o.env.iter().map(|n| (n.clone(), k.env_digest(n))).collect();
    let mut prober = crate::probe::Prober::new(k.hasher, k.roots.get(kiln_key::roots::CARGO_HOME));
    inputs.present = o
        .present
        .iter()
        .map(|p| (k.key_path(p), prober.digest(p)))
        .collect();
    for d in &o.listed {
        let digest = listing_digest(d).map_err(|e| Unreadable::new("listing", d, e))?;
        inputs.listings.push((k.key_path(d), digest));
    }
    inputs.files.sort();
    inputs.files.dedup();
    inputs.absent.sort();
    inputs.absent.dedup();
    inputs.present.sort();
    inputs.present.dedup();
    inputs.listings.sort();
    inputs.env.sort();
    Ok(inputs)
}

/// Whether the stored input list still holds on this machine.
#[cfg(test)]
pub fn verify(inputs: &Inputs, k: &Keying<'_>) -> bool {
    mismatch(inputs, k).is_none()
}

/// The first stored input that does not hold on this machine, for people.
pub fn mismatch(inputs: &Inputs, k: &Keying<'_>) -> Option<String> {
    for (name, digest) in &inputs.env {
        if k.env_digest(name) != *digest {
            return Some(format!("env `{name}`"));
        }
    }
    for p in &inputs.absent {
        if k.local_path(p).exists() {
            return Some(format!("`{}` exists", Roots::display(p)));
        }
    }
    let mut prober = crate::probe::Prober::new(k.hasher, k.roots.get(kiln_key::roots::CARGO_HOME));
    for (p, digest) in &inputs.present {
        if prober.digest(&k.local_path(p)) != *digest {
            return Some(format!("`{}` (kind, size or mode)", Roots::display(p)));
        }
    }
    for (d, digest) in &inputs.listings {
        if listing_digest(&k.local_path(d)).ok().as_ref() != Some(digest) {
            return Some(format!("listing of `{}`", Roots::display(d)));
        }
    }
    for (p, digest) in &inputs.files {
        match k.hasher.hash(&k.local_path(p)) {
            Ok(d) if d.to_hex() == *digest => {}
            _ => return Some(format!("`{}`", Roots::display(p))),
        }
    }
    None
}

/// The entry key: the invocation key plus every input and its digest.
pub fn entry_key(invocation: &Digest, inputs: &Inputs) -> Digest {
    let mut h = KeyHasher::new("kiln-entry-v3");
    h.field("invocation", invocation.0);
    for (p, d) in &inputs.files {
        h.field("file", p).field("digest", d);
    }
    for p in &inputs.absent {
        h.field("absent", p);
    }
    for (p, d) in &inputs.present {
        h.field("present", p).field("probed", d);
    }
    for (d, digest) in &inputs.listings {
        h.field("listing", d).field("names", digest);
    }
    for (n, d) in &inputs.env {
        h.field("env", n);
        match d {
            Some(d) => h.field("value", d),
            None => h.field("unset", []),
        };
    }
    h.finish()
}

#[cfg(test)]
mod tests {
    //! Inputs after the compile: what changes the entry key, and what a
    //! stored input list accepts on another machine.
    use std::collections::{BTreeSet, HashMap};
    use std::time::SystemTime;

    use kiln_rustc::depinfo::DepInfo;
    use kiln_trace::Trace;

    use super::*;

    struct Fx {
        dir: tempfile::TempDir,
        env: HashMap<String, OsString>,
    }

    impl Fx {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            for ws in ["a", "b"] {
                let src = dir.path().join(ws).join("src");
                std::fs::create_dir_all(&src).unwrap();
                std::fs::write(src.join("lib.rs"), "fn x() {}").unwrap();
                std::fs::create_dir_all(dir.path().join(ws).join("target/out")).unwrap();
                std::fs::write(
                    dir.path().join(ws).join("target/out/gen.rs"),
                    "const G: u8 = 1;",
                )
                .unwrap();
            }
            Self {
                dir,
                env: HashMap::new(),
            }
        }

        fn roots(&self, ws: &str) -> Roots {
            let cwd = self.dir.path().join(ws);
            Roots::new(&cwd, Some(&cwd.join("target")), None, None)
        }

        fn inputs(&self, ws: &str, env: &[&str]) -> Inputs {
            let cwd = self.dir.path().join(ws);
            let roots = self.roots(ws);
            let hasher = FileHasher::new(None);
            let lookup = |n: &str| self.env.get(n).cloned();
            let k = Keying {
                roots: &roots,
                mode: PathMode::Normalize,
                from_cargo_home: false,
                hasher: &hasher,
                env: &lookup,
                script: false,
                salt: None,
            };
            let o = Observed {
                files: [cwd.join("src/lib.rs"), cwd.join("target/out/gen.rs")]
                    .into_iter()
                    .collect(),
                absent: [cwd.join("sqlx-data.json")].into_iter().collect(),
                env: env.iter().map(|s| (*s).to_owned()).collect(),
                ..Observed::default()
            };
            snapshot(&o, &k).unwrap()
        }

        fn verify_in(&self, ws: &str, inputs: &Inputs) -> bool {
            let roots = self.roots(ws);
            let hasher = FileHasher::new(None);
            let lookup = |n: &str| self.env.get(n).cloned();
            let k = Keying {
                roots: &roots,
                mode: PathMode::Normalize,
                from_cargo_home: false,
                hasher: &hasher,
                env: &lookup,
                script: false,
                salt: None,
            };
            verify(inputs, &k)
        }
    }

    #[test]
    fn with_a_signing_key_values_are_keyed_by_a_keyed_hash() {
        let roots = Roots::new(Path::new("/w"), None, None, None);
        let hasher = FileHasher::new(None);
        let lookup = |n: &str| (n == "SECRET").then(|| OsString::from("hunter2"));
        let k = |salt| Keying {
            roots: &roots,
            mode: PathMode::Normalize,
            from_cargo_home: false,
            hasher: &hasher,
            env: &lookup,
            script: false,
            salt,
        };
        let plain = k(None).env_digest("SECRET").unwrap();
        assert_eq!(
            plain,
            Digest::of(b"hunter2").to_hex(),
            "confirmable offline"
        );
        let salted = k(Some([7; 32])).env_digest("SECRET").unwrap();
        assert_ne!(salted, plain);
        assert_eq!(salted, k(Some([7; 32])).env_digest("SECRET").unwrap());
        assert_ne!(salted, k(Some([8; 32])).env_digest("SECRET").unwrap());
    }

    #[test]
    fn inputs_from_another_checkout_verify_and_key_the_same() {
        let fx = Fx::new();
        let a = fx.inputs("a", &["GIT_SHA"]);
        assert_eq!(a, fx.inputs("b", &["GIT_SHA"]));
        assert!(fx.verify_in("b", &a));
        let inv = Digest([1; 32]);
        assert_eq!(
            entry_key(&inv, &a),
            entry_key(&inv, &fx.inputs("b", &["GIT_SHA"]))
        );
    }

    #[test]
    fn source_content_changes_the_entry_key() {
        let fx = Fx::new();
        let before = fx.inputs("a", &[]);
        std::fs::write(fx.dir.path().join("a/src/lib.rs"), "fn y() {}").unwrap();
        assert!(!fx.verify_in("a", &before));
        assert_ne!(
            entry_key(&Digest([1; 32]), &before),
            entry_key(&Digest([1; 32]), &fx.inputs("a", &[]))
        );
    }

    #[test]
    fn generated_file_content_changes_the_entry_key() {
        let fx = Fx::new();
        let before = fx.inputs("a", &[]);
        std::fs::write(
            fx.dir.path().join("a/target/out/gen.rs"),
            "const G: u8 = 2;",
        )
        .unwrap();
        assert!(!fx.verify_in("a", &before));
    }

    #[test]
    fn env_value_changes_the_entry_key_but_unread_vars_do_not() {
        let mut fx = Fx::new();
        let before = fx.inputs("a", &["GIT_SHA"]);
        fx.env.insert("UNRELATED".into(), "x".into());
        assert!(fx.verify_in("a", &before));
        fx.env.insert("GIT_SHA".into(), "abc".into());
        assert!(!fx.verify_in("a", &before));
        assert_ne!(before, fx.inputs("a", &["GIT_SHA"]));
    }

    #[test]
    fn a_file_appearing_where_one_was_missing_changes_the_entry_key() {
        let fx = Fx::new();
        let before = fx.inputs("a", &[]);
        std::fs::write(fx.dir.path().join("a/sqlx-data.json"), "{}").unwrap();
        assert!(!fx.verify_in("a", &before));
    }

    #[test]
    fn dep_info_variables_are_keyed_except_kiln_s_own() {
        let sys = PathBuf::from("/nonexistent-sysroot");
        let outputs = BTreeSet::new();
        let ex = Exclusions {
            sysroot: Some(&sys),
            scratch: vec![],
            outputs: &outputs,
            search_dirs: vec![],
            written: &outputs,
            all_env: false,
            caller_path: None,
        };
        let dep = DepInfo {
            files: vec![],
            env: vec![
                ("PATH".into(), None),
                ("GIT_SHA".into(), None),
                ("KILN_DIR".into(), None),
            ],
        };
        let o = gather(Path::new("/w"), Some(&dep), None, &ex);
        assert_eq!(
            o.env.into_iter().collect::<Vec<_>>(),
            ["GIT_SHA", "PATH"],
            "env! of any variable is keyed"
        );
    }

    fn gather_trace(t: &Trace, sysroot: &Path) -> Observed {
        let none = BTreeSet::new();
        let ex = Exclusions {
            sysroot: Some(sysroot),
            scratch: vec![],
            outputs: &none,
            search_dirs: vec![],
            written: &t.writes,
            all_env: false,
            caller_path: None,
        };
        gather(Path::new("/w"), None, Some(t), &ex)
    }

    #[test]
    fn an_input_that_vanished_or_appeared_during_the_compile_is_unstable() {
        let d = tempfile::tempdir().unwrap();
        let appeared = d.path().join("appeared.toml");
        std::fs::write(&appeared, "x").unwrap();
        let t = Trace {
            reads: [d.path().join("deleted.rs")].into_iter().collect(),
            absent: [appeared.clone()].into_iter().collect(),
            ..Trace::default()
        };
        let o = gather_trace(&t, Path::new("/nonexistent-sysroot"));
        assert_eq!(
            o.unstable,
            [d.path().join("deleted.rs"), appeared]
                .into_iter()
                .collect()
        );
        // What the compile wrote itself is not.
        let written = d.path().join("written.o");
        let t = Trace {
            absent: [written.clone()].into_iter().collect(),
            writes: [written.clone()].into_iter().collect(),
            ..Trace::default()
        };
        std::fs::write(&written, "o").unwrap();
        assert!(
            gather_trace(&t, Path::new("/nonexistent-sysroot"))
                .unstable
                .is_empty()
        );
    }

    #[test]
    fn a_fifo_read_as_an_input_is_unstable() {
        let d = tempfile::tempdir().unwrap();
        let fifo = d.path().join("generated.rs");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        let t = Trace {
            reads: [fifo.clone()].into_iter().collect(),
            ..Trace::default()
        };
        let o = gather_trace(&t, Path::new("/nonexistent-sysroot"));
        assert_eq!(o.unstable, [fifo].into_iter().collect());
        assert!(o.files.is_empty());
    }

    #[test]
    fn variables_compilers_ignore_are_keyed_when_crate_code_reads_them() {
        let sys = PathBuf::from("/toolchain");
        let rustc = PathBuf::from("/toolchain/bin/rustc");
        let t = Trace {
            env: ["HOME", "TERM", "USER"]
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            env_readers: [
                ("HOME".to_owned(), [rustc.clone()].into_iter().collect()),
                ("TERM".to_owned(), [rustc.clone()].into_iter().collect()),
                ("USER".to_owned(), [rustc].into_iter().collect()),
            ]
            .into_iter()
            .collect(),
            env_objects: [
                (
                    "HOME".to_owned(),
                    [PathBuf::from("/toolchain/lib/librustc_driver.so")]
                        .into_iter()
                        .collect(),
                ),
                (
                    "USER".to_owned(),
                    [PathBuf::from("/w/target/debug/deps/libmac.so")]
                        .into_iter()
                        .collect(),
                ),
            ]
            .into_iter()
            .collect(),
            ..Trace::default()
        };
        let o = gather_trace(&t, &sys);
        assert_eq!(o.env.into_iter().collect::<Vec<_>>(), ["USER"]);
        // A program that is not a compiler reading it (git, a shell).
        let mut t2 = Trace {
            env: ["HOME".to_owned()].into_iter().collect(),
            ..Trace::default()
        };
        t2.env_readers.insert(
            "HOME".into(),
            [PathBuf::from("/usr/bin/git")].into_iter().collect(),
        );
        assert_eq!(gather_trace(&t2, &sys).env.len(), 1);
    }

    #[test]
    fn locations_are_normalized_only_for_packages_from_cargo_home() {
        let roots = Roots::new(
            Path::new("/w/a"),
            Some(Path::new("/w/a/target")),
            Some(Path::new("/h/.cargo")),
            None,
        );
        for name in ["OUT_DIR", "CARGO_MANIFEST_DIR"] {
            let v = env_rules::keyed_value(
                name,
                "/w/a/target/release/build/x-1/out",
                &roots,
                PathMode::Normalize,
                false,
            );
            assert_eq!(
                v, "/w/a/target/release/build/x-1/out",
                "{name} of a workspace crate is keyed as is"
            );
        }
        let roots = Roots::new(
            Path::new("/h/.cargo/registry/src/x/serde-1.0.0"),
            Some(Path::new("/w/a/target")),
            Some(Path::new("/h/.cargo")),
            None,
        );
        for (name, value) in [
            ("CARGO_MANIFEST_DIR", "/h/.cargo/registry/src/x/serde-1.0.0"),
            ("OUT_DIR", "/w/a/target/release/build/serde-1/out"),
        ] {
            let v = env_rules::keyed_value(name, value, &roots, PathMode::Normalize, true);
            assert!(!v.contains("/h/") && !v.contains("/w/"), "{name}: {v}");
        }
    }

    #[test]
    fn inputs_modified_after_the_compile_started_are_caught() {
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("lib.rs");
        std::fs::write(&src, "old").unwrap();
        let mut o = Observed::default();
        o.files.insert(src.clone());
        let started = SystemTime::now() + std::time::Duration::from_secs(3600);
        assert_eq!(
            changed_since(&o, started, None),
            None,
            "written before the compile"
        );
        let started = SystemTime::now() - std::time::Duration::from_secs(1);
        std::fs::write(&src, "new").unwrap();
        assert_eq!(
            changed_since(&o, started, None),
            Some(src.clone()),
            "edited during the compile"
        );
        assert_eq!(
            changed_since(&o, started, Some(d.path())),
            None,
            "target dir files are cargo's business"
        );
        // Read, then gone: what was read cannot be checked any more.
        let started = SystemTime::now() + std::time::Duration::from_secs(3600);
        std::fs::remove_file(&src).unwrap();
        assert_eq!(changed_since(&o, started, None), Some(src), "gone since");
    }
}
