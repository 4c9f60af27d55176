//! `kiln explain` and the root causes `kiln run` prints, on real builds.
#![allow(clippy::unwrap_used)]

mod common;

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
    assert!(
        root[0].contains("env `SHARED_GIT_SHA` changed")
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
fn toolchain_bump_is_named() {
    let sb = Sandbox::new();
    let nightly = sb
        .command("rustup", sb.root.path())
        .args(["run", "nightly", "rustc", "--version"])
        .output();
    if !nightly.is_ok_and(|o| o.status.success()) {
        eprintln!("skipping: no nightly toolchain installed");
        return;
    }
    let ws = sb.workspace("basic", "ws");
    sb.cargo(&ws, &["+1.95.0", "build", "--release", "-p", "shared"]);
    sb.cargo(&ws, &["+nightly", "build", "--release", "-p", "shared"]);
    let text = explain_unit(&sb, "shared");
    assert!(
        text.contains("compiler rustc 1.95.0") && text.contains("nightly"),
        "{text}"
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
            "kiln: root cause: env `BUILD_GIT_SHA` changed in `build-info v0.1.0 (lib)` → 3 misses"
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
        ["app", "build_info", "worker"],
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
