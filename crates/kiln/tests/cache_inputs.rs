//! Every input that changes the compiler's output changes the key: after
//! each change the changed unit and its dependents miss, the rest hit, and
//! the program behaves exactly as a build without kiln.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::{Sandbox, counts, records};

/// Builds, returns the set of crate names that missed and the program output.
fn build(sb: &Sandbox, ws: &Path, extra: &[&str]) -> (Vec<String>, String) {
    let mut args = vec!["build", "--release"];
    args.extend_from_slice(extra);
    sb.cargo(ws, &args);
    let stats = sb.take_stats();
    let since = stats["since_ms"].as_u64().unwrap();
    let mut missed: Vec<String> = records(&sb.kiln_dir)
        .into_iter()
        .filter(|r| r["started_ms"].as_u64().unwrap() >= since && r["outcome"] == "miss")
        .map(|r| r["crate_name"].as_str().unwrap().to_owned())
        .collect();
    missed.sort();
    missed.dedup();
    assert_eq!(counts(&stats).2, 0, "nothing uncacheable: {stats}");
    (missed, sb.run_program(&ws.join("target/release/app")))
}

fn primed() -> (Sandbox, std::path::PathBuf) {
    let sb = Sandbox::new();
    let ws = sb.workspace("basic", "ws");
    build(&sb, &ws, &[]);
    (sb, ws)
}

fn rebuild_from_scratch(sb: &Sandbox, ws: &Path, extra: &[&str]) -> (Vec<String>, String) {
    sb.cargo(ws, &["clean"]);
    build(sb, ws, extra)
}

#[test]
fn source_edit_misses_the_crate_and_its_dependents() {
    let (sb, ws) = primed();
    let lib = ws.join("shared/src/lib.rs");
    let text = std::fs::read_to_string(&lib)
        .unwrap()
        .replace("hello from shared", "hi from shared");
    std::fs::write(&lib, text).unwrap();
    let (missed, out) = rebuild_from_scratch(&sb, &ws, &[]);
    assert_eq!(missed, ["app", "shared"]);
    assert!(out.contains("hi from shared"));
}

#[test]
fn mtime_only_change_still_hits() {
    let (sb, ws) = primed();
    let lib = ws.join("shared/src/lib.rs");
    let text = std::fs::read(&lib).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&lib, text).unwrap();
    let (missed, _) = rebuild_from_scratch(&sb, &ws, &[]);
    assert!(missed.is_empty(), "{missed:?}");
}

#[test]
fn feature_flag_changes_the_key() {
    let (sb, ws) = primed();
    let (missed, out) = rebuild_from_scratch(&sb, &ws, &["--features", "shared/extra"]);
    // Cargo compiles a package's build script with its features too.
    assert_eq!(missed, ["app", "build_script_build", "shared"]);
    assert!(out.contains("extra=7"));
}

#[test]
fn rustflags_change_every_unit() {
    let (mut sb, ws) = primed();
    sb.set("RUSTFLAGS", "--cfg kiln_test_flag");
    let (missed, _) = rebuild_from_scratch(&sb, &ws, &[]);
    assert_eq!(
        missed,
        ["app", "build_script_build", "ffi", "macros", "shared"]
    );
}

#[test]
fn profile_setting_changes_the_key() {
    let (sb, ws) = primed();
    let manifest = ws.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("opt-level = 1", "opt-level = 2");
    std::fs::write(&manifest, text).unwrap();
    let (missed, _) = rebuild_from_scratch(&sb, &ws, &[]);
    assert!(
        missed.contains(&"shared".to_owned()) && missed.contains(&"app".to_owned()),
        "{missed:?}"
    );
}

#[test]
fn env_var_read_by_option_env_changes_only_its_crate() {
    let (mut sb, ws) = primed();
    sb.set("FIXTURE_ENV_DEP", "from-env");
    let (missed, out) = rebuild_from_scratch(&sb, &ws, &[]);
    assert_eq!(missed, ["app"]);
    assert!(out.contains("env_dep=from-env"));
}

#[test]
fn build_script_output_change_misses_the_crate_and_dependents() {
    let (mut sb, ws) = primed();
    sb.set("FIXTURE_BUILD_VALUE", "changed");
    let (missed, out) = rebuild_from_scratch(&sb, &ws, &[]);
    // The build script's compile is unchanged (hit); its run reads the
    // variable (miss), and what it generated changed.
    assert_eq!(missed, ["app", "build_script_build", "shared"]);
    assert!(
        out.contains("stamp=stamp-changed") && out.contains("(changed)"),
        "{out}"
    );
}

#[test]
fn env_var_read_by_a_proc_macro_changes_the_key() {
    let (mut sb, ws) = primed();
    sb.set("FIXTURE_ANSWER", "from-proc-macro");
    let (missed, out) = rebuild_from_scratch(&sb, &ws, &[]);
    assert_eq!(missed, ["app"]);
    assert!(out.contains("env_answer=from-proc-macro"), "{out}");
}

#[test]
fn file_read_by_a_proc_macro_changes_the_key() {
    let (sb, ws) = primed();
    std::fs::write(ws.join("app/answer.txt"), "changed answer\n").unwrap();
    let (missed, out) = rebuild_from_scratch(&sb, &ws, &[]);
    assert_eq!(missed, ["app"]);
    assert!(out.contains("file_answer=changed answer"), "{out}");
}

#[test]
fn dependency_change_misses_dependents_only() {
    let (sb, ws) = primed();
    let lib = ws.join("macros/src/lib.rs");
    let text = std::fs::read_to_string(&lib)
        .unwrap()
        .replace("\"unset\"", "\"not set\"");
    std::fs::write(&lib, text).unwrap();
    let (missed, out) = rebuild_from_scratch(&sb, &ws, &[]);
    assert_eq!(missed, ["app", "macros"]);
    assert!(out.contains("env_answer=not set"), "{out}");
}

/// A linker driver found first on `PATH` on one machine and not on another:
/// the key holds where `cc` resolves, not the `PATH` of the first build.
#[test]
fn the_linker_a_path_resolves_to_is_keyed_not_the_path_text() {
    let (mut sb, ws) = {
        let mut sb = Sandbox::new();
        let ws = sb.workspace("basic", "ws");
        let quiet = sb.root.path().join("quiet-tools");
        std::fs::create_dir_all(&quiet).unwrap();
        let path = format!("{}:{}", quiet.display(), std::env::var("PATH").unwrap());
        sb.set("PATH", &path);
        build(&sb, &ws, &[]);
        (sb, ws)
    };
    // Another machine: another directory in front, holding a `cc` that links
    // in an object printing a banner.
    let loud = sb.root.path().join("loud-tools");
    std::fs::create_dir_all(&loud).unwrap();
    let banner = loud.join("banner.c");
    std::fs::write(
        &banner,
        "#include <stdio.h>\n__attribute__((constructor)) static void b(void) { puts(\"banner\"); }\n",
    )
    .unwrap();
    let obj = loud.join("banner.o");
    let cc_out = std::process::Command::new("cc")
        .args(["-c", "-fPIC", "-o"])
        .arg(&obj)
        .arg(&banner)
        .output()
        .unwrap();
    assert!(cc_out.status.success());
    let shim = loud.join("cc");
    std::fs::write(
        &shim,
        format!("#!/bin/sh\nexec /usr/bin/cc \"$@\" {}\n", obj.display()),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let original = std::env::var("PATH").unwrap();
    sb.set("PATH", &format!("{}:{original}", loud.display()));
    let (missed, out) = rebuild_from_scratch(&sb, &ws, &[]);
    assert!(out.contains("banner"), "linked by the shim: {out}");
    assert!(missed.contains(&"app".to_owned()), "{missed:?}");
    // And a `PATH` that differs only in directories holding no `cc` hits.
    let elsewhere = sb.root.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    sb.set("PATH", &format!("{}:{original}", elsewhere.display()));
    let (missed, out) = rebuild_from_scratch(&sb, &ws, &[]);
    assert!(!out.contains("banner"), "{out}");
    assert!(missed.is_empty(), "{missed:?}");
}
