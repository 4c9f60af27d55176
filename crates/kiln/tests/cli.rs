//! What users read: `--help`, `kiln stats`, `kiln init`, errors.
#![allow(clippy::unwrap_used)]

mod common;

use common::Sandbox;

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn help_snapshot() {
    let sb = Sandbox::new();
    insta::assert_snapshot!("help", text(&sb.kiln(&["--help"])));
    insta::assert_snapshot!("run_help", text(&sb.kiln(&["run", "--help"])));
    insta::assert_snapshot!("report_help", text(&sb.kiln(&["report", "--help"])));
    insta::assert_snapshot!("history_help", text(&sb.kiln(&["history", "--help"])));
    insta::assert_snapshot!(
        "deps_diff_help",
        text(&sb.kiln(&["deps", "diff", "--help"]))
    );
    insta::assert_snapshot!("stats_help", text(&sb.kiln(&["stats", "--help"])));
}

#[test]
fn stats_json_is_stable() {
    let sb = Sandbox::new();
    let out = sb.kiln(&["stats", "--json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    insta::assert_json_snapshot!("stats_empty", v, { ".since_ms" => "[since]" });
}

#[test]
fn stats_text_after_a_build() {
    let sb = Sandbox::new();
    let ws = sb.workspace("basic", "ws");
    sb.cargo(&ws, &["build", "--release"]);
    let out = sb.kiln(&["stats"]);
    let t = text(&out);
    assert!(t.contains("misses") && t.contains("hit rate"), "{t}");
}

#[test]
fn bad_setting_is_a_clear_error_for_commands() {
    let mut sb = Sandbox::new();
    sb.set("KILN_CACHE_SIZE", "12Q");
    let out = sb.kiln(&["stats"]);
    assert_eq!(out.status.code(), Some(2));
    let t = text(&out).replace(sb.root.path().to_str().unwrap(), "[tmp]");
    insta::assert_snapshot!("bad_cache_size", t);
}

#[test]
fn run_summary_names_hits_and_misses() {
    let sb = Sandbox::new();
    let ws = sb.workspace("basic", "ws");
    let out = sb.cargo(&ws, &["build", "--release"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let summary: Vec<&str> = stderr.lines().filter(|l| l.starts_with("kiln:")).collect();
    assert!(
        summary[0].contains("7 units, 0 hits, 7 misses, 0 not cacheable"),
        "{summary:?}"
    );
    assert!(
        summary
            .iter()
            .any(|l| l.starts_with("kiln: slowest misses:")),
        "{summary:?}"
    );
}

#[test]
fn run_exits_with_the_command_code() {
    let sb = Sandbox::new();
    let out = sb.kiln(&["run", "--quiet", "--", "sh", "-c", "exit 7"]);
    assert_eq!(out.status.code(), Some(7));
    let out = sb.kiln(&["run", "--", "definitely-not-a-command-kiln"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("hint:"));
}

#[test]
fn init_sets_previews_and_undoes() {
    let mut sb = Sandbox::new();
    let home = sb.root.path().join("cargo-home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join("config.toml"), "# mine\n[net]\nretry = 3\n").unwrap();
    sb.set("CARGO_HOME", home.to_str().unwrap());
    let out = sb.kiln(&["init", "--check"]);
    assert!(out.status.success());
    assert!(text(&out).contains("would set"));
    assert!(
        !std::fs::read_to_string(home.join("config.toml"))
            .unwrap()
            .contains("rustc-wrapper")
    );
    assert!(sb.kiln(&["init"]).status.success());
    let cfg = std::fs::read_to_string(home.join("config.toml")).unwrap();
    assert!(
        cfg.contains("# mine") && cfg.contains("rustc-wrapper"),
        "{cfg}"
    );
    assert!(sb.kiln(&["init", "--undo"]).status.success());
    let cfg = std::fs::read_to_string(home.join("config.toml")).unwrap();
    assert!(
        !cfg.contains("rustc-wrapper") && cfg.contains("retry = 3"),
        "{cfg}"
    );
}

#[test]
fn gc_and_clean() {
    let mut sb = Sandbox::new();
    let ws = sb.workspace("basic", "ws");
    sb.cargo(&ws, &["build", "--release"]);
    sb.set("KILN_CACHE_SIZE", "1K");
    let out = sb.kiln(&["gc"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("removed"), "{}", text(&out));
    let out = sb.kiln(&["clean"]);
    assert!(out.status.success());
    sb.unset("KILN_CACHE_SIZE");
    sb.cargo(&ws, &["clean"]);
    sb.take_stats();
    sb.cargo(&ws, &["build", "--release"]);
    assert_eq!(sb.take_stats()["hits"], 0, "clean emptied the store");
}

#[test]
fn a_closed_pipe_ends_a_command_quietly() {
    let sb = Sandbox::new();
    let ws = sb.workspace("basic", "ws");
    sb.cargo(&ws, &["build", "--release"]);
    let mut child = sb
        .command(common::kiln_bin(), sb.root.path())
        .args(["history", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}
