//! The remote tier against real servers on 127.0.0.1. Builds are real cargo
//! builds of fixture workspaces; a "fresh runner" is a new, empty
//! `KILN_DIR`.
//!
//! - `s3`: S3 (`s3s-fs`), with faults injected by a proxy;
//! - `stores`: WebDAV, Azure Blob, Google Cloud Storage, Redis;
//! - here: what holds for any store (a shared directory, explaining against
//!   the team's last build, bad settings, signing keys, dependencies).
#![allow(clippy::unwrap_used)]

#[path = "../common/mod.rs"]
mod common;
#[cfg(feature = "s3")]
mod s3;
mod stores;

use std::path::Path;

use common::{Sandbox, counts};

/// Switches to an empty local store, like a new CI runner.
fn fresh_runner(sb: &mut Sandbox, name: &str) {
    sb.kiln_dir = sb.root.path().join(name);
}

/// `cargo clean` and a release build on a new runner.
fn rebuild_on_fresh_runner(sb: &mut Sandbox, ws: &Path, name: &str) -> std::process::Output {
    fresh_runner(sb, name);
    sb.cargo(ws, &["clean"]);
    sb.cargo(ws, &["build", "--release"])
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The build's only remote warning (it must have exactly one).
fn one_remote_warning(out: &std::process::Output) -> String {
    let mut warnings = remote_warnings(out);
    assert_eq!(warnings.len(), 1, "{}", stderr(out));
    warnings.remove(0)
}

/// Every remote warning, also one that a build-script run wrote to cargo's
/// stderr in the middle of a line cargo was writing.
fn remote_warnings(out: &std::process::Output) -> Vec<String> {
    const WARNING: &str = "warning: kiln: remote";
    stderr(out)
        .lines()
        .filter_map(|l| l.find(WARNING).map(|at| l[at..].to_owned()))
        .collect()
}

#[test]
fn a_shared_directory_from_kiln_toml_and_remote_expiry() {
    let mut sb = Sandbox::new();
    let shared = sb.root.path().join("nfs/kiln");
    let ws = sb.workspace("basic", "ws");
    std::fs::write(
        ws.join("kiln.toml"),
        format!("[remote]\nurl = \"file://{}\"\n", shared.display()),
    )
    .unwrap();
    sb.cargo(&ws, &["build", "--release"]);
    let (_, misses, _) = counts(&sb.take_stats());
    rebuild_on_fresh_runner(&mut sb, &ws, "runner-2");
    assert_eq!(counts(&sb.take_stats()), (misses, 0, 0));

    let gc = |age: &str| {
        let out = sb
            .command(common::kiln_bin(), &ws)
            .args(["gc", "--remote", "--older-than", age])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(
        gc("30d").contains("removed 0 older than 30d"),
        "{}",
        gc("30d")
    );
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let all = gc("1s");
    assert!(!all.contains("removed 0 "), "{all}");
    let left: usize = walk_count(&shared.join("entries"));
    assert_eq!(left, 0, "{all}");
}

fn walk_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.path().is_dir() {
                out.extend(walk_files(&e.path()));
            } else {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

fn walk_count(dir: &Path) -> usize {
    walk_files(dir).len()
}

/// A cold build that fills the configured store, then a fresh runner that
/// gets every unit from it and builds the same program. Returns the units
/// and the workspace.
#[test]
fn a_fresh_runner_explains_its_misses_against_the_last_main_build() {
    let mut sb = Sandbox::new();
    let shared = sb.root.path().join("team-store");
    sb.set("KILN_REMOTE", &format!("file://{}", shared.display()));
    sb.set("GITHUB_REF_NAME", "main");
    let ws = sb.workspace("basic", "ws");
    sb.set("FIXTURE_ANSWER", "1");
    sb.cargo(&ws, &["build", "--release"]);
    sb.take_stats();

    // Another machine, another branch, another value of an env var a proc
    // macro reads: it misses, and explains why against main's last run.
    fresh_runner(&mut sb, "runner-2");
    sb.set("GITHUB_REF_NAME", "topic");
    sb.set("FIXTURE_ANSWER", "2");
    sb.cargo(&ws, &["clean"]);
    let out = sb.cargo(&ws, &["build", "--release"]);
    // `kiln run` itself explains against main: this runner has no history.
    let err = stderr(&out);
    assert!(
        err.contains("kiln: root cause: env `FIXTURE_ANSWER` changed"),
        "{err}"
    );
    let out = sb
        .command(common::kiln_bin(), &ws)
        .args(["explain", "--against", "latest-main", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("FIXTURE_ANSWER"), "{text}");
    // Main's run is kept apart: this runner's records are its own.
    let own: Vec<_> = std::fs::read_dir(sb.kiln_dir.join("records"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "jsonl"))
        .collect();
    assert_eq!(own.len(), 1, "{own:?}");

    let out = sb
        .command(common::kiln_bin(), &ws)
        .args(["history", "--remote", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let runs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(runs.as_array().unwrap().len(), 2, "{runs}");

    // The fresh runner's report has a baseline: main's run from the store.
    let out = sb
        .command(common::kiln_bin(), &ws)
        .args(["report", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["baseline"]["branch"], "main", "{report}");
    assert_eq!(
        report["baseline"]["runs"].as_array().unwrap().len(),
        1,
        "{report}"
    );

    let out = sb
        .command(common::kiln_bin(), &ws)
        .args(["explain", "--against", "latest-nobranch"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("hint:"), "{}", stderr(&out));
}

#[test]
fn bad_remote_settings_cost_the_remote_only_and_warn_once() {
    let mut sb = Sandbox::new();
    let shared = sb.root.path().join("team-store");
    sb.set("KILN_REMOTE", &format!("file://{}", shared.display()));
    sb.set("KILN_REMOTE_TIMEOUT", "soon");
    let ws = sb.workspace("basic", "ws");
    let out = sb.cargo(&ws, &["build", "--release"]);
    let text = stderr(&out);
    let warnings: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("warning: kiln:"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", stderr(&out));
    assert!(
        warnings[0].contains("KILN_REMOTE_TIMEOUT"),
        "{}",
        warnings[0]
    );
    let (_, misses, _) = counts(&sb.take_stats());
    assert!(misses > 0, "the local cache works");
    sb.cargo(&ws, &["clean"]);
    sb.cargo(&ws, &["build", "--release"]);
    assert_eq!(counts(&sb.take_stats()), (misses, 0, 0));
    assert!(!shared.exists(), "nothing written to the remote");

    // Without `kiln run`, one warning for the whole build too.
    sb.cargo(&ws, &["clean"]);
    sb.set("RUSTC_WRAPPER", common::kiln_bin().to_str().unwrap());
    let out = sb
        .command("cargo", &ws)
        .args(["build", "--release"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let n = stderr(&out)
        .lines()
        .filter(|l| l.starts_with("warning: kiln:"))
        .count();
    assert_eq!(n, 1, "{}", stderr(&out));
}

#[test]
fn an_empty_signing_key_never_means_unsigned() {
    let mut sb = Sandbox::new();
    let shared = sb.root.path().join("team-store");
    sb.set("KILN_REMOTE", &format!("file://{}", shared.display()));
    sb.set("KILN_SIGNING_KEY", "");
    let ws = sb.workspace("basic", "ws");
    let out = sb.cargo(&ws, &["build", "--release"]);
    let text = stderr(&out);
    assert!(text.contains("`KILN_SIGNING_KEY`: set but empty"), "{text}");
    assert!(!shared.exists(), "nothing unsigned was written");
}

#[test]
fn a_dependency_cannot_redirect_the_cache_with_its_own_kiln_toml() {
    let mut sb = Sandbox::new();
    let root = sb.root.path().to_path_buf();
    let evil = root.join("evil-store");
    let dep = root.join("outside/dep");
    std::fs::create_dir_all(dep.join("src")).unwrap();
    std::fs::write(
        dep.join("Cargo.toml"),
        "[package]\nname = \"dep\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    std::fs::write(dep.join("src/lib.rs"), "pub fn answer() -> u32 { 42 }\n").unwrap();
    std::fs::write(
        dep.join("kiln.toml"),
        format!("[remote]\nurl = \"file://{}\"\n", evil.display()),
    )
    .unwrap();
    let app = root.join("app");
    std::fs::create_dir_all(app.join("src")).unwrap();
    std::fs::write(
        app.join("Cargo.toml"),
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[dependencies]\ndep = { path = \"../outside/dep\" }\n[workspace]\n",
    )
    .unwrap();
    std::fs::write(
        app.join("src/main.rs"),
        "fn main() { println!(\"{}\", dep::answer()); }\n",
    )
    .unwrap();
    sb.set("RUSTC_WRAPPER", common::kiln_bin().to_str().unwrap());
    let out = sb
        .command("cargo", &app)
        .args(["build", "--release"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!evil.exists(), "the dependency's kiln.toml was used");
    assert!(
        counts(&sb.take_stats()).1 >= 2,
        "both crates cached locally"
    );
}
