//! Test harness: fixture workspaces in temp dirs, real cargo driven through
//! `kiln run`, and kiln's own stats read back after each build.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

pub mod gh_cache;
pub mod servers;

/// The kiln binary under test.
pub fn kiln_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_kiln"))
}

/// Copies the fixture `name` into `dest`.
pub fn copy_fixture(name: &str, dest: &Path) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    copy_dir(&src, dest);
}

/// Copies a directory tree (files and dirs only).
pub fn copy_dir(src: &Path, dest: &Path) {
    std::fs::create_dir_all(dest).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dest.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), &to).unwrap();
        }
    }
}

/// A kiln store and the environment builds share.
pub struct Sandbox {
    pub root: tempfile::TempDir,
    pub kiln_dir: PathBuf,
    pub env: Vec<(String, String)>,
}

impl Sandbox {
    pub fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        let kiln_dir = root.path().join("kiln-store");
        Self {
            kiln_dir,
            root,
            env: vec![("CARGO_INCREMENTAL".into(), "0".into())],
        }
    }

    /// A fresh copy of fixture `name` at `<root>/<dir>`.
    pub fn workspace(&self, name: &str, dir: &str) -> PathBuf {
        let ws = self.root.path().join(dir);
        copy_fixture(name, &ws);
        ws
    }

    pub fn set(&mut self, k: &str, v: &str) {
        self.env.retain(|(key, _)| key != k);
        self.env.push((k.into(), v.into()));
    }

    pub fn unset(&mut self, k: &str) {
        self.env.retain(|(key, _)| key != k);
    }

    /// A command with a clean environment: no inherited wrapper or kiln settings.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>, cwd: &Path) -> Command {
        let mut c = Command::new(program);
        c.current_dir(cwd);
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy().into_owned();
            if (k.starts_with("KILN_")
                || k.starts_with("CARGO_")
                || k.starts_with("RUSTC")
                || k == "RUSTFLAGS"
                || k.starts_with("FIXTURE_")
                || k.starts_with("CLIPPY")
                || k.starts_with("AWS_")
                || k.starts_with("SCCACHE_")
                || k.starts_with("GITHUB_")
                || k.starts_with("GITLAB")
                || k.starts_with("CI_"))
                && k != "CARGO_HOME"
            {
                c.env_remove(&k);
            }
        }
        c.env("KILN_DIR", &self.kiln_dir)
            .env("CARGO_TERM_COLOR", "never");
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    /// `kiln run -- cargo <args>` in `ws`; panics unless it succeeds.
    pub fn cargo(&self, ws: &Path, args: &[&str]) -> Output {
        let out = self.cargo_unchecked(ws, args);
        assert!(
            out.status.success(),
            "cargo {args:?} failed\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    pub fn cargo_unchecked(&self, ws: &Path, args: &[&str]) -> Output {
        let mut c = self.command(kiln_bin(), ws);
        c.arg("run").arg("--").arg("cargo").args(args);
        c.output().unwrap()
    }

    /// `kiln <args>`.
    pub fn kiln(&self, args: &[&str]) -> Output {
        self.kiln_in(self.root.path(), args)
    }

    /// `kiln <args>` in `cwd`.
    pub fn kiln_in(&self, cwd: &Path, args: &[&str]) -> Output {
        self.command(kiln_bin(), cwd).args(args).output().unwrap()
    }

    /// Stats since the last call, then resets them.
    pub fn take_stats(&self) -> Value {
        let out = self.kiln(&["stats", "--json", "--zero"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Records are stamped in ms: make sure the next build starts later.
        std::thread::sleep(std::time::Duration::from_millis(5));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Plain cargo (no wrapper) builds `ws` into a target dir of its own;
    /// the output of its `debug/<program>`, trimmed: what a cached build
    /// must match.
    pub fn plain_build(&self, ws: &Path, program: &str) -> String {
        let target = self.root.path().join("plain-target");
        let _ = std::fs::remove_dir_all(&target);
        let out = self
            .command("cargo", ws)
            .args(["build", "--locked", "--target-dir"])
            .arg(&target)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.run_program(&target.join("debug").join(program))
            .trim()
            .to_owned()
    }

    /// Runs a built program and returns its stdout.
    pub fn run_program(&self, path: &Path) -> String {
        let out = Command::new(path).output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    }
}

/// `(hits, misses, not_cacheable)` from a stats document.
/// The `warning: kiln: …` lines a command printed.
#[allow(dead_code)]
pub fn kiln_warnings(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.starts_with("warning: kiln:"))
        .map(str::to_owned)
        .collect()
}

pub fn counts(stats: &Value) -> (u64, u64, u64) {
    (
        stats["hits"].as_u64().unwrap(),
        stats["misses"].as_u64().unwrap(),
        stats["not_cacheable_total"].as_u64().unwrap(),
    )
}

/// Records of the store, all runs.
pub fn records(kiln_dir: &Path) -> Vec<Value> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(kiln_dir.join("records")) else {
        return out;
    };
    for f in rd.flatten() {
        if f.path().extension().is_some_and(|e| e == "jsonl") {
            for line in std::fs::read_to_string(f.path()).unwrap().lines() {
                out.push(serde_json::from_str(line).unwrap());
            }
        }
    }
    out.sort_by_key(|r: &Value| r["started_ms"].as_u64());
    out
}
