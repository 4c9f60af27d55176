//! `kiln explain` and the root causes `kiln run` prints, on real builds.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Command;

use common::Sandbox;

fn filter(text: &str) -> String {
    // Compile times vary: replace durations.
    let mut out = String::new();
    for word in text.split_inclusive([' ', '\n']) {
        let trimmed = word.trim_end_matches([' ', '\n', ',', ':']);
        let is_time = (trimmed.ends_with("ms") || trimmed.ends_with('s'))
            && trimmed.chars().next().is_some_and(|c| c.is_ascii_digit())
            && trimmed
                .trim_end_matches("ms")
                .trim_end_matches('s')
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.' || c == 'm');
        if is_time {
            out.push_str("[time]");
            out.push_str(&word[trimmed.len()..]);
        } else {
            out.push_str(word);
        }
    }
    out
}

/// `shared-4c1a…` → `shared-[hash]`: cargo's unit hashes differ per machine.
fn scrub_hashes(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('-') {
        out.push_str(&rest[..=i]);
        rest = &rest[i + 1..];
        let hex = rest.chars().take_while(char::is_ascii_hexdigit).count();
        if hex == 16 {
            out.push_str("[hash]");
            rest = &rest[16..];
        }
    }
    out.push_str(rest);
    out
}

#[test]
fn per_commit_value_in_a_shared_crate_is_the_root_cause() {
    let mut sb = Sandbox::new();
    let ws = sb.workspace("basic", "ws");
    sb.cargo(&ws, &["build", "--release"]);
    sb.set("FIXTURE_BUILD_VALUE", "commit-2");
    let out = sb.cargo(&ws, &["build", "--release"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let root: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("kiln: root cause") || l.starts_with("kiln: hint"))
        .collect();
    assert_eq!(root.len(), 2, "{stderr}");
    // Without `cargo clean`, cargo runs the build script again into the
    // `OUT_DIR` it left (not cached: its files are there), and the crate it
    // sets `SHARED_GIT_SHA` for is the root cause.
    assert!(
        root[0].contains("env `SHARED_GIT_SHA` (set by the build script) changed")
            && root[0].contains("`shared v0.1.0 (lib)` → 2 misses"),
        "{root:?}"
    );
    assert!(root[1].contains("leaf crate"), "{root:?}");

    let text = sb.kiln(&["explain"]);
    assert!(text.status.success());
    let run_line = String::from_utf8_lossy(&text.stdout)
        .lines()
        .next()
        .unwrap()
        .to_owned();
    let run = run_line.split('`').nth(1).unwrap().to_owned();
    let shown = String::from_utf8_lossy(&text.stdout).replace(&run, "[run]");
    let shown = filter(&shown);
    let shown = scrub_hashes(&shown);
    insta::assert_snapshot!("explain_per_commit", shown);

    let json = sb.kiln(&["explain", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["root_causes"].as_array().unwrap().len(), 1);
    assert_eq!(v["root_causes"][0]["misses"], 2);
    assert_eq!(v["misses"].as_array().unwrap().len(), 2);

    let unit = sb.kiln(&["explain", "--unit", "app"]);
    let unit = String::from_utf8_lossy(&unit.stdout);
    assert!(unit.contains("dependency `shared` was rebuilt"), "{unit}");
}

#[test]
fn feature_flag_and_first_builds_are_named() {
    let sb = Sandbox::new();
    let ws = sb.workspace("basic", "ws");
    let first = sb.cargo(&ws, &["build", "--release", "-p", "shared"]);
    assert!(String::from_utf8_lossy(&first.stderr).contains("first time this unit was built"));
    sb.cargo(
        &ws,
        &["build", "--release", "-p", "shared", "--features", "extra"],
    );
    let out = sb.kiln(&["explain", "--unit", "shared"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("feature `extra` added"), "{text}");
}

#[test]
fn explain_without_runs_is_a_clear_error() {
    let sb = Sandbox::new();
    let out = sb.kiln(&["explain"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: no runs recorded") && err.contains("hint:"),
        "{err}"
    );
}

fn explain_unit(sb: &Sandbox, unit: &str) -> String {
    String::from_utf8_lossy(&sb.kiln(&["explain", "--unit", unit]).stdout).into_owned()
}

#[test]
fn rustflags_and_source_edits_are_named() {
    let mut sb = Sandbox::new();
    let ws = sb.workspace("basic", "ws");
    sb.cargo(&ws, &["build", "--release"]);
    sb.set("RUSTFLAGS", "-C overflow-checks=on");
    sb.cargo(&ws, &["build", "--release"]);
    let text = explain_unit(&sb, "shared");
    assert!(text.contains("`-C overflow-checks` (unset) → on"), "{text}");

    let lib = ws.join("shared/src/lib.rs");
    let edited = std::fs::read_to_string(&lib)
        .unwrap()
        .replace("hello from shared", "hey");
    std::fs::write(&lib, edited).unwrap();
    let out = sb.cargo(&ws, &["build", "--release"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("kiln: root cause: `{cwd}/shared/src/lib.rs` changed in `shared v0.1.0 (lib)` → 2 misses"),
        "{stderr}"
    );
}

#[test]
fn per_commit_value_in_a_leaf_crate_misses_only_the_leaf_and_binaries() {
    let mut sb = Sandbox::new();
    let ws = sb.workspace("build-info-leaf", "ws");
    sb.cargo(&ws, &["build", "--release"]);
    sb.take_stats();
    sb.set("FIXTURE_BUILD_VALUE", "commit-2");
    let out = sb.cargo(&ws, &["build", "--release"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "kiln: root cause: env `FIXTURE_BUILD_VALUE` was set in `build-info v0.1.0 (build script run)` → 4 misses"
        ),
        "{stderr}"
    );
    let json = sb.kiln(&["explain", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let mut missed: Vec<&str> = v["misses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["crate_name"].as_str().unwrap())
        .collect();
    missed.sort_unstable();
    assert_eq!(
        missed,
        ["app", "build_info", "build_script_build", "worker"],
        "shared is untouched"
    );
}

#[test]
fn env_values_are_hidden_unless_recorded_and_asked_for() {
    let mut sb = Sandbox::new();
    let ws = sb.workspace("basic", "ws");
    sb.set("FIXTURE_ANSWER", "first-value");
    sb.cargo(&ws, &["build", "--release"]);
    sb.set("FIXTURE_ANSWER", "second-value");
    sb.cargo(&ws, &["clean"]);
    sb.cargo(&ws, &["build", "--release"]);
    let all =
        String::from_utf8_lossy(&sb.kiln(&["explain", "--show-env-values"]).stdout).into_owned();
    assert!(all.contains("env `FIXTURE_ANSWER` changed"), "{all}");
    assert!(
        !all.contains("second-value"),
        "not recorded by default: {all}"
    );

    // A build that opted in records values; they show only on request.
    sb.set("KILN_EXPLAIN_ENV_VALUES", "1");
    sb.set("FIXTURE_ANSWER", "third-value");
    sb.cargo(&ws, &["clean"]);
    sb.cargo(&ws, &["build", "--release"]);
    sb.set("FIXTURE_ANSWER", "fourth-value");
    sb.cargo(&ws, &["clean"]);
    sb.cargo(&ws, &["build", "--release"]);
    let hidden = String::from_utf8_lossy(&sb.kiln(&["explain"]).stdout).into_owned();
    assert!(!hidden.contains("fourth-value"), "{hidden}");
    let shown =
        String::from_utf8_lossy(&sb.kiln(&["explain", "--show-env-values"]).stdout).into_owned();
    assert!(
        shown.contains("env `FIXTURE_ANSWER` changed: `third-value` → `fourth-value`"),
        "{shown}"
    );
}

fn git(ws: &Path, args: &[&str]) {
    let out = Command::new("git")
        .current_dir(ws)
        .args([
            "-c",
            "user.name=kiln",
            "-c",
            "user.email=kiln@example.invalid",
        ])
        .args(["-c", "commit.gpgsign=false"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The `kiln: root cause:` lines of a `kiln run`, times replaced.
fn root_cause_lines(out: &std::process::Output) -> Vec<String> {
    filter(&String::from_utf8_lossy(&out.stderr))
        .lines()
        .filter(|l| l.starts_with("kiln: root cause:"))
        .map(str::to_owned)
        .collect()
}

/// `kiln explain` of the latest run, with run id, times and hashes replaced.
fn explain_text(sb: &Sandbox) -> String {
    let out = sb.kiln(&["explain"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let run = text.split('`').nth(1).unwrap().to_owned();
    scrub_hashes(&filter(&text.replace(&run, "[run]")))
}

/// A compiler that is the real one but says it is another release: a
/// toolchain bump without a second toolchain.
fn fake_newer_rustc(dir: &Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("newer-toolchain/bin");
    std::fs::create_dir_all(&bin).unwrap();
    let rustc = bin.join("rustc");
    std::fs::write(
        &rustc,
        "#!/bin/sh\nif [ \"$1\" = \"-vV\" ]; then\n  rustc -vV | sed -e 's/^rustc [0-9.]*/rustc 9.99.0/' -e 's/^release: .*/release: 9.99.0/'\n  exit\nfi\nexec rustc \"$@\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&rustc, std::fs::Permissions::from_mode(0o755)).unwrap();
    rustc
}

/// The field report's story on a six-crate graph (`shared` ← `models` ←
/// `db` ← `core-logic` ← two binaries): each change made between two builds
/// is named as the one root cause of exactly the misses it caused.
#[test]
fn every_kind_of_change_is_one_root_cause_of_exactly_its_misses() {
    let mut sb = Sandbox::new();
    let ws = sb.workspace("git-sha", "ws");
    git(&ws, &["init", "-q", "-b", "main"]);
    git(&ws, &["add", "-A"]);
    git(&ws, &["commit", "-q", "-m", "one"]);
    sb.cargo(&ws, &["build", "--release"]);

    // The next commit, built on a clean target dir like a fresh CI runner:
    // the SHA that `shared`'s build script bakes in rebuilds everything.
    git(&ws, &["commit", "-q", "--allow-empty", "-m", "two"]);
    sb.cargo(&ws, &["clean"]);
    let out = sb.cargo(&ws, &["build", "--release"]);
    assert_eq!(
        root_cause_lines(&out),
        [
            "kiln: root cause: `{cwd}/.git/refs/heads/main` changed in `shared v0.1.0 (build script run)` → 7 misses, [time]"
        ]
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("kiln: hint: move per-commit values"),
        "{stderr}"
    );
    insta::assert_snapshot!("explain_git_sha", explain_text(&sb));
    let v: serde_json::Value =
        serde_json::from_slice(&sb.kiln(&["explain", "--json"]).stdout).unwrap();
    assert_eq!(v["root_causes"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["root_causes"][0]["misses"], 7);
    assert_eq!(
        v["root_causes"][0]["changes"][0]["kind"], "file_changed",
        "{v}"
    );

    // One source edit in the middle of the graph: that crate and what
    // depends on it.
    let lib = ws.join("db/src/lib.rs");
    let edited = std::fs::read_to_string(&lib)
        .unwrap()
        .replace("{name}@", "{name} at ");
    std::fs::write(&lib, edited).unwrap();
    let out = sb.cargo(&ws, &["build", "--release"]);
    assert_eq!(
        root_cause_lines(&out),
        ["kiln: root cause: `{cwd}/db/src/lib.rs` changed in `db v0.1.0 (lib)` → 4 misses, [time]"]
    );

    // A feature turned on in one crate.
    let out = sb.cargo(&ws, &["build", "--release", "--features", "models/tls"]);
    assert_eq!(
        root_cause_lines(&out),
        ["kiln: root cause: feature `tls` added in `models v0.1.0 (lib)` → 5 misses, [time]"]
    );

    // RUSTFLAGS: every compile changed the same way, one root cause. The
    // run of `shared`'s build script sees new encoded flags.
    sb.set("RUSTFLAGS", "--cfg kiln_probe");
    let out = sb.cargo(&ws, &["build", "--release", "--features", "models/tls"]);
    let lines = root_cause_lines(&out);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[1].contains("env `CARGO_ENCODED_RUSTFLAGS` changed")
            && lines[1].contains("in `shared v0.1.0 (build script run)` → 1 miss"),
        "{lines:?}"
    );
    assert!(
        lines[0].starts_with("kiln: root cause: `--cfg kiln_probe` added in 7 units (")
            && lines[0].ends_with("→ 7 misses, [time]"),
        "{lines:?}"
    );
    insta::assert_snapshot!("explain_rustflags", explain_text(&sb));

    // A toolchain bump.
    let rustc = fake_newer_rustc(sb.root.path());
    sb.set("RUSTC", rustc.to_str().unwrap());
    let out = sb.cargo(&ws, &["build", "--release", "--features", "models/tls"]);
    let lines = root_cause_lines(&out);
    // The run of `shared`'s build script is handed the new `RUSTC` too.
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[1].contains("in `shared v0.1.0 (build script run)` → 1 miss"),
        "{lines:?}"
    );
    assert!(
        lines[0].starts_with("kiln: root cause: compiler rustc ")
            && lines[0].contains(" → rustc 9.99.0")
            && lines[0].contains("in 7 units"),
        "{lines:?}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("kiln: hint: pin the toolchain"), "{stderr}");

    // Entries gone from the store, same inputs: evicted.
    std::fs::remove_dir_all(sb.kiln_dir.join("entries")).unwrap();
    sb.cargo(&ws, &["clean"]);
    let out = sb.cargo(&ws, &["build", "--release", "--features", "models/tls"]);
    let lines = root_cause_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with(
            "kiln: root cause: evicted from the cache (same key seen before) in 8 units"
        ),
        "{lines:?}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("raise `KILN_CACHE_SIZE`"), "{stderr}");

    // The programs still work after all of it.
    let api = Command::new(ws.join("target/release/api"))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&api.stdout).starts_with("api: api at 0.1.0+"),
        "{api:?}"
    );
}

#[test]
fn run_ids_that_are_paths_are_refused() {
    let sb = Sandbox::new();
    let out = sb.kiln(&["explain", "../../etc/passwd"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: `../../etc/passwd` is not a run id"),
        "{err}"
    );
    assert!(err.contains("hint:"), "{err}");
}

/// Sets the version of the fixture's `shared` package.
fn set_shared_version(ws: &Path, version: &str) {
    let manifest = ws.join("shared/Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let text = text
        .lines()
        .map(|l| {
            if l.starts_with("version = ") {
                format!("version = \"{version}\"")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&manifest, text + "\n").unwrap();
}

#[test]
fn a_new_version_is_compared_with_nothing_but_named_as_the_cause() {
    let sb = Sandbox::new();
    let ws = sb.workspace("basic", "ws");
    sb.cargo(&ws, &["build", "-p", "shared"]);
    set_shared_version(&ws, "0.2.0");
    // `--offline`: the lockfile follows the path package's new version.
    sb.cargo(&ws, &["build", "-p", "shared", "--offline"]);
    let out = sb.kiln(&["explain", "--unit", "shared"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("version v0.1.0 → v0.2.0: first build of this version"),
        "{text}"
    );
    assert!(
        !text.contains("changed"),
        "no diff against another version: {text}"
    );
}

#[test]
fn a_unit_the_run_does_not_have_is_an_error_naming_those_it_has() {
    let sb = Sandbox::new();
    let ws = sb.workspace("basic", "ws");
    sb.cargo(&ws, &["build", "-p", "shared"]);
    let out = sb.kiln(&["explain", "--unit", "nosuch"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("error: no unit `nosuch` in run"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: units of the run: ") && stderr.contains("`shared`"),
        "{stderr}"
    );
    // A unit that hit has nothing to explain, and says so.
    sb.cargo(&ws, &["clean"]);
    sb.cargo(&ws, &["build", "-p", "shared"]);
    let out = sb.kiln(&["explain", "--unit", "shared"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("did not miss"));
}

/// Builds of one day without `kiln run` are one run: each miss is compared
/// with its unit's earlier build in that run, not called a first build.
#[test]
fn ad_hoc_builds_of_one_run_are_compared_with_each_other() {
    let sb = Sandbox::new();
    let ws = sb.workspace("basic", "ws");
    let build = |value: &str| {
        let out = sb
            .command("cargo", &ws)
            .args(["build", "--release", "-p", "shared"])
            .env("RUSTC_WRAPPER", common::kiln_bin())
            .env("FIXTURE_BUILD_VALUE", value)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    build("one");
    let clean = sb.command("cargo", &ws).arg("clean").output().unwrap();
    assert!(clean.status.success());
    build("two");
    let out = sb.kiln(&["explain"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("`adhoc-"), "{text}");
    assert!(
        text.contains("env `FIXTURE_BUILD_VALUE` changed"),
        "the build script's run is compared with the first build: {text}"
    );
    // The library's second build missed for what the run produced.
    assert!(
        text.contains("2 of 5 misses")
            && text.contains("root cause in `shared v0.1.0 (build script run)`"),
        "{text}"
    );
}

/// A C compile of a registry package keys its arguments with `CARGO_HOME`
/// normalized; `kiln explain` shows a changed argument with the readable
/// placeholder, never the stored form.
#[test]
fn a_registry_c_compile_shows_its_changed_arguments_readably() {
    let mut sb = Sandbox::new();
    let ws = sb.workspace("registry-c", "ws");
    sb.cargo(&ws, &["build"]);
    let home = std::env::var("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| Path::new(&std::env::var("HOME").unwrap()).join(".cargo"));
    let flag = format!(
        "-ffile-prefix-map={}/registry/kiln-explain-probe=/probe",
        home.display()
    );
    sb.set("CFLAGS", &flag);
    sb.cargo(&ws, &["clean"]);
    sb.cargo(&ws, &["build"]);
    let out = sb.kiln(&["explain", "--unit", "psm"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "flag `-ffile-prefix-map={cargo_home}/registry/kiln-explain-probe=/probe` added"
        ),
        "{text}"
    );
    assert!(!text.contains('\0'), "{text:?}");
}
