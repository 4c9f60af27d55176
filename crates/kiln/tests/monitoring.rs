//! Monitoring on real builds: the history every `kiln run` adds, `kiln
//! history`, `kiln report` (Markdown, JSON, HTML in a headless browser), the
//! budget gate, `kiln deps diff`, OpenMetrics stats, and a damaged history.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::Sandbox;
use serde_json::{Value, json};

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Run ids, durations and cargo's unit hashes vary between builds.
macro_rules! with_filters {
    ($body:expr) => {
        insta::with_settings!({filters => vec![
            (r"\d{8}-\d{6}-\d+", "[run]"),
            (r"\b\d+m\d\ds\b", "[time]"),
            (r"\b\d+(\.\d)?s\b", "[time]"),
            (r"\b\d+ms\b", "[time]"),
            (r"-[0-9a-f]{16}\b", "-[hash]"),
        ]}, { $body })
    };
}

/// Sorts the rows of every Markdown table and every bullet list: their order
/// follows compile times, which vary.
fn sort_blocks(text: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut block: Vec<String> = Vec::new();
    let mut kind = "";
    let flush = |out: &mut Vec<String>, block: &mut Vec<String>| {
        block.sort();
        out.append(block);
    };
    for line in text.lines() {
        let this = if line.starts_with("| ") && !line.starts_with("| ---") && kind == "table" {
            "table"
        } else if line.starts_with("- ") {
            "list"
        } else {
            ""
        };
        if this.is_empty() || this != kind {
            flush(&mut out, &mut block);
        }
        if this.is_empty() {
            out.push(line.to_owned());
            kind = if line.starts_with("| ---") {
                "table"
            } else {
                ""
            };
        } else {
            block.push(line.to_owned());
            kind = this;
        }
    }
    flush(&mut out, &mut block);
    out.join("\n") + "\n"
}

/// A small path crate added as a dependency of `app`: the injected new dependency.
fn add_heavy_dependency(ws: &Path) {
    std::fs::create_dir_all(ws.join("heavy/src")).unwrap();
    std::fs::write(
        ws.join("heavy/Cargo.toml"),
        "[package]\nname = \"heavy\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    std::fs::write(
        ws.join("heavy/src/lib.rs"),
        "pub fn weight() -> u64 { (1..=20u64).product::<u64>() }\n",
    )
    .unwrap();
    let root = ws.join("Cargo.toml");
    let text = std::fs::read_to_string(&root)
        .unwrap()
        .replace("\"ffi\"]", "\"ffi\", \"heavy\"]");
    std::fs::write(&root, text).unwrap();
    let app = ws.join("app/Cargo.toml");
    let text = std::fs::read_to_string(&app).unwrap() + "heavy = { path = \"../heavy\" }\n";
    std::fs::write(&app, text).unwrap();
}

/// Drops the wall and compile time lines from a report's regressions: on a
/// slow host this run's few misses can take more than the noise floor,
/// against a fully cached baseline.
fn without_time_rises(report: &str) -> String {
    report
        .lines()
        .filter(|l| {
            !(l.starts_with("- ") && (l.contains("wall time") || l.contains("compile time")))
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

fn write_budgets(dir: &Path, body: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("kiln.toml"), body).unwrap();
    dir.to_owned()
}

/// Four cached builds of the basic fixture: three on `main` (cold, then two
/// warm after `cargo clean`), then one on a branch that adds a dependency and
/// changes a per-commit value baked into a shared crate.
fn build_history(sb: &mut Sandbox) -> PathBuf {
    let ws = sb.workspace("basic", "ws");
    sb.set("GITHUB_REF_NAME", "main");
    sb.set("GITHUB_SHA", "1111111111111111");
    for i in 0..3 {
        if i > 0 {
            sb.cargo(&ws, &["clean"]);
        }
        sb.cargo(&ws, &["build", "--release"]);
    }
    sb.cargo(&ws, &["clean"]);
    add_heavy_dependency(&ws);
    sb.set("GITHUB_REF_NAME", "feature");
    sb.set("GITHUB_SHA", "2222222222222222");
    sb.set("FIXTURE_BUILD_VALUE", "commit-2");
    let summary = sb.root.path().join("step-summary.md");
    sb.set("GITHUB_STEP_SUMMARY", summary.to_str().unwrap());
    sb.cargo(&ws, &["build", "--release"]);
    sb.unset("GITHUB_STEP_SUMMARY");
    ws
}

#[test]
fn monitoring_over_real_builds() {
    let mut sb = Sandbox::new();
    let ws = build_history(&mut sb);

    // The step summary `kiln run` appended in "CI".
    let step = std::fs::read_to_string(sb.root.path().join("step-summary.md")).unwrap();
    assert!(
        step.starts_with("## kiln build report") && step.contains("branch `feature`"),
        "{step}"
    );

    check_history(&sb);
    // Time budgets are neutralized: the snapshot must not depend on speed.
    let calm = write_budgets(
        &sb.root.path().join("calm"),
        "[remote]\nread_only = true\n\n[budgets]\nmax_wall_time_increase = 1000.0\nmax_compile_time_increase = 1000.0\n",
    );
    check_markdown(&sb, &calm);
    check_json(&sb, &calm);
    check_gate(&sb);
    check_html(&sb);
    check_deps_diff_with_measured_costs(&sb, &ws);
    check_openmetrics(&sb);
}

fn check_history(sb: &Sandbox) {
    let out = sb.kiln(&["history"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 5, "header and four runs: {text}");
    assert!(text.contains("main") && text.contains("feature"), "{text}");

    let out = sb.kiln(&["history", "--json", "--last", "2"]);
    let runs: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(runs.len(), 2);
    let last = &runs[1];
    assert_eq!(last["version"], 1);
    assert_eq!(last["ci"]["ref_name"], "feature");
    assert_eq!(last["ci"]["sha"], "2222222222222222");
    assert_eq!(last["command"], "cargo build --release");
    assert_eq!(last["profile"], "release");
    assert_eq!(last["exit_code"], 0);
    assert_eq!(runs[0]["hits"], runs[0]["units"], "warm run: all hits");
    assert!(last["wall_ms"].as_u64().unwrap() > 0);
    assert!(!last["unit_timings"].as_array().unwrap().is_empty());
}

fn check_markdown(sb: &Sandbox, cwd: &Path) {
    let out = sb.kiln_in(cwd, &["report"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    // Slowest units: every unit of the run, ordered by time.
    let (report, slowest) = text.split_once("### Slowest units").unwrap();
    assert_eq!(
        slowest.lines().filter(|l| l.starts_with("| ")).count(),
        2 + 8,
        "{slowest}"
    );
    with_filters!(insta::assert_snapshot!(
        "report_markdown",
        sort_blocks(&without_time_rises(report))
    ));
}

fn check_json(sb: &Sandbox, cwd: &Path) {
    let out = sb.kiln_in(cwd, &["report", "--format", "json", "--last", "3"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["history"].as_array().unwrap().len(), 3);
    let run = &v["run"];
    let mut causes: Vec<Value> = run["root_causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| json!({ "unit": c["unit"], "changes": c["changes"], "misses": c["misses"] }))
        .collect();
    causes.sort_by_key(|c| c["unit"].to_string());
    let mut regressions: Vec<Value> = v["regressions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !matches!(r["kind"].as_str(), Some("wall_time" | "compile_time")))
        .cloned()
        .collect();
    regressions.sort_by_key(|r| r["message"].to_string());
    let shown = json!({
        "version": v["version"],
        "over_budget": v["over_budget"],
        "regressions": regressions,
        "new_crates": v["new_crates"],
        "baseline": { "runs": v["baseline"]["runs"].as_array().unwrap().len(), "branch": v["baseline"]["branch"], "hit_rate": v["baseline"]["hit_rate"], "crates": v["baseline"]["crates"] },
        "run": {
            "version": run["version"], "command": run["command"], "profile": run["profile"],
            "git": run["git"], "ci": run["ci"], "units": run["units"], "hits": run["hits"],
            "misses": run["misses"], "not_cacheable": run["not_cacheable"], "crates": run["crates"],
            "root_causes": causes, "unit_timings": run["unit_timings"].as_array().unwrap().len(),
        },
    });
    with_filters!(insta::assert_json_snapshot!("report_json", shown));
}

fn check_gate(sb: &Sandbox) {
    let strict = write_budgets(
        &sb.root.path().join("strict/sub"),
        "[budgets]\nmin_hit_rate = 0.9\nmax_new_dependencies = 0\nmax_hit_rate_drop = 1.0\nmax_wall_time_increase = 1000.0\nmax_compile_time_increase = 1000.0\n",
    );
    let out = sb.kiln_in(&strict, &["report", "--fail-on-regression"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.starts_with("error: run `"), "{err}");
    assert!(err.contains("(2 budgets crossed)"), "{err}");
    assert!(err.contains("1 new crate (budget 0): `heavy`"), "{err}");
    assert!(
        err.contains("hit rate 50.0% is below the budget of 90.0%"),
        "{err}"
    );
    assert!(err.lines().last().unwrap().starts_with("hint: "), "{err}");

    let lenient = write_budgets(
        &sb.root.path().join("lenient"),
        "[budgets]\nmin_hit_rate = 0.5\nmax_new_dependencies = 1\nmax_hit_rate_drop = 1.0\nmax_wall_time_increase = 1000.0\nmax_compile_time_increase = 1000.0\n",
    );
    let out = sb.kiln_in(&lenient, &["report", "--fail-on-regression"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("⚠️ 1 new crate (budget 1): `heavy`"));

    let typo = write_budgets(
        &sb.root.path().join("typo"),
        "[budgets]\nmin_hitrate = 0.5\n",
    );
    let out = sb.kiln_in(&typo, &["report", "--fail-on-regression"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("unknown key `budgets.min_hitrate`") && err.contains("hint:"),
        "{err}"
    );
}

/// Loads the HTML report in headless Chromium: the charts must render
/// without a console message.
fn check_html(sb: &Sandbox) {
    let file = sb.root.path().join("report.html");
    let out = sb.kiln(&[
        "report",
        "--format",
        "html",
        "--out",
        file.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let html = std::fs::read_to_string(&file).unwrap();
    assert!(!html.contains("src=\"http"), "self-contained");

    let chromium = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| {
            std::process::Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .unwrap_or_else(|| {
            panic!(
                "the HTML report test needs a headless browser: install Debian's `chromium` \
                 (`apt-get install -y chromium`; `.ci/run` does this)"
            )
        });
    let profile = sb.root.path().join("chromium-profile");
    let url = format!("file://{}", file.display());
    let out = std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .unwrap();
    let dom = stdout(&out);
    let log = stderr(&out);
    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:#?}");
    assert!(
        dom.contains("<body data-rendered=\"ok\">"),
        "charts did not render\n{log}"
    );
    assert!(dom.contains("<title>kiln report</title>"));
    for id in [
        "chart-wall",
        "chart-hit-rate",
        "chart-compile",
        "chart-crates",
        "chart-slowest",
    ] {
        assert!(dom.contains(&format!("<canvas id=\"{id}\"")), "{id}");
    }
}

fn check_deps_diff_with_measured_costs(sb: &Sandbox, ws: &Path) {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/basic/Cargo.lock");
    let out = sb.kiln_in(
        ws,
        &[
            "deps",
            "diff",
            base.to_str().unwrap(),
            "Cargo.lock",
            "--format",
            "json",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["added"], json!([{ "name": "heavy", "version": "0.1.0" }]));
    let direct = &v["new_direct"][0];
    assert_eq!(direct["name"], "heavy");
    assert_eq!(
        direct["cost"]["estimated"], false,
        "measured: kiln built it"
    );
    // The measured figure is the compile kiln recorded for `heavy`: at least
    // the millisecond rustc needs for any crate, never the flat estimate.
    let ms = direct["cost"]["ms"].as_u64().unwrap();
    assert!((1..10_000).contains(&ms), "{direct}");
}

fn check_openmetrics(sb: &Sandbox) {
    let json: Value = serde_json::from_slice(&sb.kiln(&["stats", "--json"]).stdout).unwrap();
    let out = sb.kiln(&["stats", "--format", "openmetrics"]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.contains("# TYPE kiln_hits counter\n"), "{text}");
    assert!(
        text.contains(&format!("\nkiln_hits_total {}\n", json["hits"])),
        "{text}"
    );
    assert!(text.contains("# UNIT kiln_compile_saved_seconds seconds\n"));
    assert!(text.ends_with("# EOF\n"));
    let out = sb.kiln(&["stats", "--json", "--format", "openmetrics"]);
    assert_eq!(out.status.code(), Some(2), "--json is --format json");
}

#[test]
fn damaged_history_fails_reports_but_never_builds() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(&sb.kiln_dir).unwrap();
    let db = sb.kiln_dir.join("history.sqlite");
    std::fs::write(
        &db,
        b"this is not a database, just garbage bytes\n".repeat(200),
    )
    .unwrap();
    let ws = sb.workspace("basic", "ws");
    let out = sb.cargo(&ws, &["build", "--release", "-p", "ffi"]);
    let err = stderr(&out);
    let warnings = common::kiln_warnings(&out);
    assert_eq!(warnings.len(), 1, "{err}");
    assert!(
        warnings[0]
            .starts_with("warning: kiln: run not added to the history: the history database")
            && warnings[0].contains("is corrupt"),
        "{err}"
    );

    for args in [&["report"][..], &["history"][..]] {
        let out = sb.kiln(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let text = stderr(&out).replace(sb.root.path().to_str().unwrap(), "[tmp]");
        let first = text.lines().next().unwrap();
        assert!(
            first.starts_with(
                "error: the history database `[tmp]/kiln-store/history.sqlite` is corrupt"
            ),
            "{text}"
        );
        assert!(
            text.contains("hint: move `[tmp]/kiln-store/history.sqlite` away or delete it"),
            "{text}"
        );
    }
}

#[test]
fn a_locked_history_is_a_warning_for_builds_and_an_error_for_reports() {
    let sb = Sandbox::new();
    let ws = sb.workspace("basic", "ws");
    sb.cargo(&ws, &["build", "--release", "-p", "ffi"]);
    // Another process holds the database for longer than kiln waits.
    let db = sb.kiln_dir.join("history.sqlite");
    let holder = rusqlite::Connection::open(&db).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE;").unwrap();

    sb.cargo(&ws, &["clean"]);
    let out = sb.cargo(&ws, &["build", "--release", "-p", "ffi"]);
    let err = stderr(&out);
    let warnings = common::kiln_warnings(&out);
    assert_eq!(warnings.len(), 1, "{err}");
    assert!(
        warnings[0].starts_with("warning: kiln: run not added to the history")
            && warnings[0].contains("is locked"),
        "{err}"
    );
    let out = sb.kiln(&["history"]);
    assert_eq!(out.status.code(), Some(2));
    let text = stderr(&out);
    assert!(
        text.starts_with("error: the history database") && text.contains("is locked"),
        "{text}"
    );
    assert!(text.contains("hint:"), "{text}");

    // Released: the history is intact and takes runs again.
    holder.execute_batch("ROLLBACK;").unwrap();
    drop(holder);
    sb.cargo(&ws, &["clean"]);
    sb.cargo(&ws, &["build", "--release", "-p", "ffi"]);
    let out = sb.kiln(&["history", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.as_array().map(Vec::len), Some(2), "{v}");
}

#[test]
fn report_without_history_is_a_clear_error() {
    let sb = Sandbox::new();
    let out = sb.kiln(&["report"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.starts_with("error: no runs in the history") && err.contains("hint:"),
        "{err}"
    );
}

fn lockfile(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/lockfiles")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// Estimated costs are deterministic when no sources are on the machine.
fn sandbox_without_sources() -> Sandbox {
    let mut sb = Sandbox::new();
    let home = sb.root.path().join("empty-cargo-home");
    std::fs::create_dir_all(&home).unwrap();
    sb.set("CARGO_HOME", home.to_str().unwrap());
    sb
}

#[test]
fn deps_diff_of_two_lockfiles() {
    let sb = sandbox_without_sources();
    let (base, head) = (lockfile("base.lock"), lockfile("head.lock"));
    let out = sb.kiln(&["deps", "diff", &base, &head, "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names = |key: &str| -> Vec<String> {
        v[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                format!(
                    "{} {}",
                    p["name"].as_str().unwrap(),
                    p["version"].as_str().unwrap()
                )
            })
            .collect()
    };
    assert_eq!(
        names("added"),
        [
            "aws-sdk-s3 1.30.0",
            "aws-smithy-runtime 1.5.0",
            "aws-smithy-types 1.1.9",
            "aws-types 1.2.1",
            "fnv 1.0.7",
            "http 0.2.12",
            "ryu 1.0.18"
        ]
    );
    assert_eq!(names("removed"), ["itoa 1.0.11"]);
    assert_eq!(
        v["upgraded"],
        json!([
            { "name": "serde", "from": "1.0.200", "to": "1.0.201" },
            { "name": "serde_derive", "from": "1.0.200", "to": "1.0.201" }
        ])
    );
    let direct = v["new_direct"].as_array().unwrap();
    assert_eq!(
        direct.len(),
        1,
        "only aws-sdk-s3 is a new direct dependency"
    );
    assert_eq!(direct[0]["name"], "aws-sdk-s3");
    assert_eq!(direct[0]["pulls_in"].as_array().unwrap().len(), 6);
    assert_eq!(direct[0]["cost"], json!({ "ms": 10500, "estimated": true }));

    let md = sb.kiln(&["deps", "diff", &base, &head, "--format", "markdown"]);
    let text = stdout(&md)
        .replace(&base, "base.lock")
        .replace(&head, "head.lock");
    insta::assert_snapshot!("deps_diff_markdown", text);
    let txt = sb.kiln(&["deps", "diff", &base, &head]);
    let text = stdout(&txt)
        .replace(&base, "base.lock")
        .replace(&head, "head.lock");
    insta::assert_snapshot!("deps_diff_text", text);
}

#[test]
fn deps_diff_defaults_to_the_merge_base_and_the_work_tree() {
    let sb = sandbox_without_sources();
    let repo = sb.root.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    let git = |args: &[&str]| {
        let out = sb
            .command("git", &repo)
            .args([
                "-c",
                "user.name=kiln",
                "-c",
                "user.email=kiln@example.invalid",
            ])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
    };
    git(&["init", "-q", "-b", "main"]);
    std::fs::copy(lockfile("base.lock"), repo.join("Cargo.lock")).unwrap();
    git(&["add", "Cargo.lock"]);
    git(&["commit", "-q", "-m", "base"]);
    git(&["checkout", "-q", "-b", "feature"]);
    std::fs::copy(lockfile("head.lock"), repo.join("Cargo.lock")).unwrap();
    let out = sb.kiln_in(&repo, &["deps", "diff", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["head"], "work tree");
    assert_eq!(v["added"].as_array().unwrap().len(), 7);
    assert_eq!(v["new_direct"][0]["name"], "aws-sdk-s3");

    let out = sb.kiln_in(&repo, &["deps", "diff", "no-such-ref"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("hint:"), "{}", stderr(&out));
}

#[test]
fn history_and_reports_keep_to_the_working_directory_s_project() {
    let sb = Sandbox::new();
    let a = sb.workspace("basic", "project-a");
    let b = sb.workspace("basic", "project-b");
    sb.cargo(&a, &["build", "-p", "shared"]);
    sb.cargo(&b, &["build", "-p", "shared"]);
    sb.cargo(&b, &["clean"]);
    sb.cargo(&b, &["build", "-p", "shared"]);
    let runs_in = |cwd: &Path, extra: &[&str]| -> Vec<Value> {
        let mut args = vec!["history", "--json"];
        args.extend_from_slice(extra);
        let out = sb.kiln_in(cwd, &args);
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let in_a = runs_in(&a, &[]);
    assert_eq!(in_a.len(), 1);
    assert_eq!(in_a[0]["project"], a.display().to_string());
    assert_eq!(
        runs_in(&b.join("shared"), &[]).len(),
        2,
        "a member's directory is its workspace's"
    );
    assert_eq!(runs_in(&a, &["--all-projects"]).len(), 3);
    let text = stdout(&sb.kiln_in(&a, &["history"]));
    assert!(
        text.starts_with(&format!("project `{}`", a.display())),
        "{text}"
    );
    // A report in `a` compares with `a`'s runs only.
    let report = sb.kiln_in(&a, &["report", "--format", "json"]);
    let doc: Value = serde_json::from_slice(&report.stdout).unwrap();
    assert_eq!(doc["history"].as_array().map(Vec::len), Some(1), "{doc:#}");
}

#[test]
fn a_count_of_zero_runs_is_refused() {
    let sb = Sandbox::new();
    for cmd in ["history", "report"] {
        let out = sb.kiln(&[cmd, "--last", "0"]);
        assert_eq!(out.status.code(), Some(2), "{cmd}");
        assert!(
            stderr(&out).contains("must be at least 1"),
            "{}",
            stderr(&out)
        );
    }
}
