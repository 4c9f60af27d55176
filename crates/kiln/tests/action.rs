//! The kiln Action run for real: `node action/main.js` and
//! `node action/post.js` in a GitHub-like environment (the runner's command
//! files as temp files, an event payload, the job's variables), a local
//! server standing in for release downloads, and the cache service's
//! control plane stood in for on top of a real Azure Blob service
//! (Azurite). Between the two steps, cargo builds a fixture with the
//! environment the Action exported.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::gh_cache::{CacheService, FileServer, TOKEN};
use common::servers::AzuriteServer;
use common::{copy_fixture, kiln_bin};

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn target() -> String {
    format!("{}-unknown-linux-gnu", std::env::consts::ARCH)
}

/// A release of the kiln under test, laid out as the release workflow
/// publishes it, under `root/v<version>/`.
fn release(root: &Path) {
    let name = format!("kiln-{VERSION}-{}", target());
    let stage = root.join("stage").join(&name);
    std::fs::create_dir_all(&stage).unwrap();
    std::fs::copy(kiln_bin(), stage.join("kiln")).unwrap();
    std::fs::copy(repo().join("README.md"), stage.join("README.md")).unwrap();
    let dir = root.join(format!("v{VERSION}"));
    std::fs::create_dir_all(&dir).unwrap();
    let archive = dir.join(format!("{name}.tar.gz"));
    let tar = Command::new("tar")
        .arg("-czf")
        .arg(&archive)
        .arg("-C")
        .arg(root.join("stage"))
        .arg(&name)
        .status()
        .unwrap();
    assert!(tar.success());
    let sum = Command::new("sha256sum")
        .arg(format!("{name}.tar.gz"))
        .current_dir(&dir)
        .output()
        .unwrap();
    std::fs::write(dir.join(format!("{name}.tar.gz.sha256")), sum.stdout).unwrap();
}

/// One job on a fresh runner: its own home, tool cache, command files.
struct Job {
    dir: tempfile::TempDir,
    env: BTreeMap<String, String>,
}

impl Job {
    fn new(name: &str, event: &str, payload: &serde_json::Value) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for sub in ["home", "tools", "tmp", "files"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        std::fs::write(d.join("files/event.json"), payload.to_string()).unwrap();
        let mut env = BTreeMap::new();
        let mut set = |k: &str, v: String| {
            env.insert(k.to_owned(), v);
        };
        let p = |rel: &str| d.join(rel).display().to_string();
        set("HOME", p("home"));
        set("PATH", std::env::var("PATH").unwrap());
        set("RUNNER_TOOL_CACHE", p("tools"));
        set("RUNNER_TEMP", p("tmp"));
        set("RUNNER_OS", "Linux".into());
        set("RUNNER_ARCH", "X64".into());
        set("GITHUB_ACTIONS", "true".into());
        set("GITHUB_JOB", name.into());
        set("GITHUB_RUN_ID", "4242".into());
        set("GITHUB_RUN_ATTEMPT", "1".into());
        set("GITHUB_REPOSITORY", "team/app".into());
        set("GITHUB_EVENT_NAME", event.into());
        set("GITHUB_EVENT_PATH", p("files/event.json"));
        set("GITHUB_REF_NAME", "main".into());
        for f in [
            "GITHUB_ENV",
            "GITHUB_PATH",
            "GITHUB_OUTPUT",
            "GITHUB_STATE",
            "GITHUB_STEP_SUMMARY",
        ] {
            let file = d.join("files").join(f.to_lowercase());
            std::fs::write(&file, "").unwrap();
            set(f, file.display().to_string());
        }
        set("ACTIONS_RUNTIME_TOKEN", TOKEN.into());
        // The runner passes every input, defaults included.
        for (k, v) in [
            ("VERSION", ""),
            ("CACHE", "true"),
            ("REMOTE", ""),
            ("READ-ONLY", "auto"),
            ("SIGNING-KEY", ""),
            ("CACHE-SIZE", ""),
            ("SNAPSHOT", "auto"),
            ("KEY", ""),
        ] {
            set(&format!("INPUT_{k}"), v.into());
        }
        Self { dir, env }
    }

    fn set(&mut self, k: &str, v: &str) {
        self.env.insert(k.into(), v.into());
    }

    fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join("files").join(name)).unwrap()
    }

    /// A runner command file (`NAME<<DELIM` … `DELIM` records).
    fn records(&self, name: &str) -> BTreeMap<String, String> {
        let text = self.file(name);
        let mut out = BTreeMap::new();
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            let (k, delim) = line.split_once("<<").unwrap();
            let mut value = Vec::new();
            for l in lines.by_ref() {
                if l == delim {
                    break;
                }
                value.push(l);
            }
            out.insert(k.to_owned(), value.join("\n"));
        }
        out
    }

    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(program);
        c.env_clear().envs(&self.env);
        c
    }

    /// Runs one of the Action's scripts as the runner does.
    fn step(&self, script: &str) -> Output {
        let mut c = self.command("node");
        c.arg(repo().join("action").join(script))
            .current_dir(self.dir.path());
        if script == "post.js" {
            // The runner gives later steps what earlier ones exported.
            c.envs(self.records("github_env"));
            c.envs(
                self.records("github_state")
                    .iter()
                    .map(|(k, v)| (format!("STATE_{k}"), v.clone())),
            );
        }
        let out = c.output().unwrap();
        assert!(out.status.success(), "{script}: {}", text(&out));
        out
    }

    /// A later step's environment: the job's plus what steps exported.
    fn later_step(&self, program: &str, cwd: &Path) -> Command {
        let mut c = self.command(program);
        c.envs(self.records("github_env"));
        let paths = self.file("github_path");
        let added: Vec<&str> = paths.lines().map(str::trim).collect();
        let path = format!("{}:{}", added.join(":"), self.env["PATH"]);
        c.env("PATH", path)
            .env("CARGO_TERM_COLOR", "never")
            .current_dir(cwd);
        if let Some(home) = std::env::var_os("CARGO_HOME") {
            c.env("CARGO_HOME", home);
        } else {
            c.env(
                "CARGO_HOME",
                Path::new(&std::env::var("HOME").unwrap()).join(".cargo"),
            );
        }
        if let Some(home) = std::env::var_os("RUSTUP_HOME") {
            c.env("RUSTUP_HOME", home);
        } else {
            c.env(
                "RUSTUP_HOME",
                Path::new(&std::env::var("HOME").unwrap()).join(".rustup"),
            );
        }
        c
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn push_event() -> serde_json::Value {
    serde_json::json!({"repository": {"default_branch": "main", "full_name": "team/app"}})
}

fn build(job: &Job, ws: &Path) -> Output {
    let out = job
        .later_step("cargo", ws)
        .args(["build", "--workspace", "--bins", "--locked"])
        .output()
        .unwrap();
    assert!(out.status.success(), "cargo build: {}", text(&out));
    out
}

fn stats(job: &Job) -> serde_json::Value {
    let out = job
        .later_step("kiln", job.dir.path())
        .args(["stats", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

struct Services {
    _tmp: tempfile::TempDir,
    _azurite: AzuriteServer,
    cache: CacheService,
    releases: FileServer,
}

fn services(with_release: bool) -> Services {
    let tmp = tempfile::tempdir().unwrap();
    let azurite = AzuriteServer::start(&tmp.path().join("azurite"), common::gh_cache::CONTAINER);
    let cache = CacheService::start(&azurite);
    let root = tmp.path().join("releases");
    std::fs::create_dir_all(&root).unwrap();
    if with_release {
        release(&root);
    }
    let releases = FileServer::start(root);
    Services {
        _tmp: tmp,
        _azurite: azurite,
        cache,
        releases,
    }
}

fn job(s: &Services, name: &str, event: &str, payload: &serde_json::Value) -> Job {
    let mut j = Job::new(name, event, payload);
    j.set("INPUT_RELEASE-URL", &s.releases.url());
    j.set("ACTIONS_RESULTS_URL", &s.cache.url());
    j
}

#[test]
fn a_job_installs_the_release_and_the_next_job_restores_its_snapshot_and_hits_everything() {
    let s = services(true);
    // Job 1: nothing cached yet.
    let first = job(&s, "build", "push", &push_event());
    let main = first.step("main.js");
    let exported = first.records("github_env");
    let exe = PathBuf::from(&exported["RUSTC_WRAPPER"]);
    assert_eq!(
        std::fs::read(&exe).unwrap(),
        std::fs::read(kiln_bin()).unwrap(),
        "the released binary"
    );
    assert!(exe.starts_with(first.dir.path().join("tools")));
    assert_eq!(
        first.file("github_path").trim(),
        exe.parent().unwrap().display().to_string()
    );
    assert_eq!(exported["CARGO_INCREMENTAL"], "0");
    assert_eq!(exported["KILN_REMOTE_READ_ONLY"], "0");
    assert!(exported["KILN_RUN_ID"].starts_with("gh-4242-1-build-"));
    assert!(text(&main).contains("no snapshot yet"), "{}", text(&main));
    // Runners check a repository out at the same path in every job.
    let checkout = s._tmp.path().join("work/app/app");
    copy_fixture("basic", &checkout);
    build(&first, &checkout);
    let units = stats(&first)["misses"].as_u64().unwrap();
    assert!(units > 0);
    let post = first.step("post.js");
    assert!(text(&post).contains("saved"), "{}", text(&post));
    let summary = first.file("github_step_summary");
    assert!(summary.contains("kiln"), "step summary: {summary}");
    let outputs = first.file("github_output");
    assert!(outputs.contains(&format!("misses={units}")), "{outputs}");
    let entries = s.cache.entries();
    assert_eq!(entries.len(), 1);
    assert!(entries[0].finalized && entries[0].key.starts_with("kiln-store.linux.x64."));
    assert!(
        entries[0].key.contains(".build.main.4242.1."),
        "{}",
        entries[0].key
    );
    // One lookup, one entry created and finalized: the whole job's units in
    // three calls.
    assert_eq!(
        s.cache.calls(),
        [
            "GetCacheEntryDownloadURL",
            "CreateCacheEntry",
            "FinalizeCacheEntryUpload"
        ]
    );

    // Job 2: a new runner (another home, tool cache and store), a fresh
    // checkout.
    let mut second = job(&s, "build", "push", &push_event());
    second.set("GITHUB_RUN_ID", "4243");
    let main = second.step("main.js");
    assert!(text(&main).contains("restored"), "{}", text(&main));
    std::fs::remove_dir_all(&checkout).unwrap();
    copy_fixture("basic", &checkout);
    build(&second, &checkout);
    let warm = stats(&second);
    let why = second
        .later_step("kiln", &checkout)
        .args(["explain"])
        .output()
        .unwrap();
    assert_eq!(warm["misses"], 0, "{warm:#}\n{}", text(&why));
    assert_eq!(warm["hits"].as_u64().unwrap(), units, "{warm:#}");
    second.step("post.js");
    assert_eq!(s.cache.entries().len(), 2);
    println!(
        "snapshot sizes: {:?}",
        s.cache.entries().iter().map(|e| e.size).collect::<Vec<_>>()
    );
}

#[test]
fn a_fork_pull_request_reads_only_and_its_secret_is_never_printed() {
    let s = services(true);
    let secret = "kiln-test-signing-key-4f1d";
    let fork = serde_json::json!({
        "repository": {"default_branch": "main", "full_name": "team/app"},
        "pull_request": {
            "head": {"repo": {"full_name": "stranger/app", "fork": true}},
            "base": {"repo": {"full_name": "team/app"}}
        }
    });
    let mut pr = job(&s, "build", "pull_request", &fork);
    pr.set("INPUT_SIGNING-KEY", secret);
    pr.set("GITHUB_HEAD_REF", "topic");
    let main = pr.step("main.js");
    let exported = pr.records("github_env");
    assert_eq!(exported["KILN_REMOTE_READ_ONLY"], "1");
    assert_eq!(exported["KILN_SIGNING_KEY"], secret);
    let log = text(&main);
    assert_eq!(
        log.matches(secret).count(),
        1,
        "only in the mask command: {log}"
    );
    assert!(log.contains(&format!("::add-mask::{secret}\n")));
    let ws = pr.dir.path().join("checkout");
    copy_fixture("basic", &ws);
    let built = build(&pr, &ws);
    assert!(!text(&built).contains(secret));
    let post = pr.step("post.js");
    assert!(!text(&post).contains(secret));
    assert!(text(&post).contains("read-only"), "{}", text(&post));
    assert!(s.cache.entries().is_empty(), "a fork's job writes nothing");
    // A pull request from the repository itself reads only too: its code
    // is not reviewed yet.
    let own = serde_json::json!({
        "pull_request": {
            "head": {"repo": {"full_name": "team/app"}},
            "base": {"repo": {"full_name": "team/app"}}
        }
    });
    let same = job(&s, "build", "pull_request", &own);
    same.step("main.js");
    assert_eq!(same.records("github_env")["KILN_REMOTE_READ_ONLY"], "1");
    // A push writes, unless the job says read-only or the repository's
    // cache mode allows reading only.
    let push = job(&s, "build", "push", &push_event());
    push.step("main.js");
    assert_eq!(push.records("github_env")["KILN_REMOTE_READ_ONLY"], "0");
    for (var, value) in [
        ("KILN_REMOTE_READ_ONLY", "1"),
        ("ACTIONS_CACHE_MODE", "read"),
    ] {
        let mut told = job(&s, "build", "push", &push_event());
        told.set(var, value);
        told.step("main.js");
        assert_eq!(
            told.records("github_env")["KILN_REMOTE_READ_ONLY"],
            "1",
            "{var}"
        );
    }
}

/// A `cargo` that fails, or that "installs" kiln by copying the binary
/// under test to `--root` (building kiln from source for real takes
/// minutes; what is tested is what the Action does around it).
fn fake_cargo(dir: &Path, installs: bool) -> PathBuf {
    let bin = dir.join("fake-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let body = if installs {
        format!(
            "#!/bin/sh\necho \"cargo $*\" >> \"{log}\"\nwhile [ $# -gt 0 ]; do [ \"$1\" = --root ] && root=\"$2\"; shift; done\nmkdir -p \"$root/bin\" && cp \"{kiln}\" \"$root/bin/kiln\"\n",
            log = dir.join("cargo.log").display(),
            kiln = kiln_bin().display()
        )
    } else {
        format!(
            "#!/bin/sh\necho \"cargo $*\" >> \"{}\"\nexit 101\n",
            dir.join("cargo.log").display()
        )
    };
    let path = bin.join("cargo");
    std::fs::write(&path, body).unwrap();
    let mut perms = std::fs::metadata(&path).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&path, perms).unwrap();
    bin
}

fn with_path_first(job: &mut Job, dir: &Path) {
    let path = format!("{}:{}", dir.display(), job.env["PATH"]);
    job.set("PATH", &path);
}

#[test]
fn an_archive_that_fails_its_checksum_is_not_installed_and_the_job_builds_uncached() {
    let s = services(true);
    let name = format!("kiln-{VERSION}-{}.tar.gz.sha256", target());
    let sum = s.releases.root.join(format!("v{VERSION}")).join(&name);
    std::fs::write(&sum, format!("{}  kiln.tar.gz\n", "0".repeat(64))).unwrap();
    let mut j = job(&s, "build", "push", &push_event());
    let bin = fake_cargo(j.dir.path(), false);
    with_path_first(&mut j, &bin);
    let main = j.step("main.js");
    let log = text(&main);
    assert!(log.contains("does not match its SHA-256"), "{log}");
    assert!(
        log.contains("::warning title=kiln::") && log.contains("builds without the cache"),
        "{log}"
    );
    assert!(!j.records("github_env").contains_key("RUSTC_WRAPPER"));
    assert!(j.file("github_path").is_empty());
    let tried = std::fs::read_to_string(j.dir.path().join("cargo.log")).unwrap();
    assert!(tried.contains("install --locked"), "{tried}");
    // The post step has nothing to do and does not fail.
    j.step("post.js");
}

#[test]
fn a_kiln_built_from_source_is_kept_for_the_next_job() {
    let s = services(false);
    let mut first = job(&s, "test", "push", &push_event());
    let bin = fake_cargo(first.dir.path(), true);
    with_path_first(&mut first, &bin);
    let main = first.step("main.js");
    assert!(
        text(&main).contains("no release archive"),
        "{}",
        text(&main)
    );
    assert!(text(&main).contains("building kiln"), "{}", text(&main));
    let tried = std::fs::read_to_string(first.dir.path().join("cargo.log")).unwrap();
    assert!(
        tried.contains("--path") && tried.contains("crates/kiln"),
        "the Action's own source: {tried}"
    );
    let post = first.step("post.js");
    assert!(
        text(&post).contains("kept the kiln binary"),
        "{}",
        text(&post)
    );
    let key = format!("kiln-bin-{VERSION}-{}", target());
    assert!(
        s.cache
            .entries()
            .iter()
            .any(|e| e.key == key && e.finalized)
    );
    // The next job cannot build (its cargo fails) and needs not.
    let mut second = job(&s, "test", "push", &push_event());
    let bin = fake_cargo(second.dir.path(), false);
    with_path_first(&mut second, &bin);
    let main = second.step("main.js");
    assert!(
        text(&main).contains("built by an earlier job"),
        "{}",
        text(&main)
    );
    let exe = PathBuf::from(&second.records("github_env")["RUSTC_WRAPPER"]);
    assert_eq!(
        std::fs::read(exe).unwrap(),
        std::fs::read(kiln_bin()).unwrap()
    );
    assert!(!second.dir.path().join("cargo.log").exists());
}
