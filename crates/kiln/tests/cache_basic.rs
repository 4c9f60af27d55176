//! The cache on a small workspace with a build script, a proc macro and a
//! binary: cold fills, warm hits, hits from another checkout, the programs
//! behave the same.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Sandbox, counts};

#[test]
fn cold_then_warm_after_clean_hits_everything() {
    let sb = Sandbox::new();
    let ws = sb.workspace("basic", "ws");
    let out = sb.cargo(&ws, &["build", "--release"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("kiln: "),
        "kiln run prints a summary: {stderr}"
    );
    let cold = sb.take_stats();
    let (h, m, n) = counts(&cold);
    assert_eq!((h, n), (0, 0), "{cold}");
    assert!(m >= 4, "build script, shared, macros, app all miss: {cold}");
    let expected = sb.run_program(&ws.join("target/release/app"));

    sb.cargo(&ws, &["clean"]);
    let out = sb.cargo(&ws, &["build", "--release"]);
    let warm = sb.take_stats();
    assert_eq!(counts(&warm), (m, 0, 0), "{warm}");
    assert_eq!(sb.run_program(&ws.join("target/release/app")), expected);
    // Warnings of the cached compile are replayed on a hit.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unused variable"),
        "warning replayed: {stderr}"
    );
}

#[test]
fn another_checkout_target_dir_and_cargo_home_hit() {
    let mut sb = Sandbox::new();
    let a = sb.workspace("basic", "first/checkout");
    sb.cargo(&a, &["build", "--release"]);
    let cold = sb.take_stats();
    let expected = sb.run_program(&a.join("target/release/app"));

    let b = sb.workspace("basic", "elsewhere/deeper/other-checkout");
    let home = sb.root.path().join("other-cargo-home");
    std::fs::create_dir_all(&home).unwrap();
    sb.set("CARGO_HOME", home.to_str().unwrap());
    let target = sb.root.path().join("custom-target");
    sb.set("CARGO_TARGET_DIR", target.to_str().unwrap());
    sb.cargo(&b, &["build", "--release"]);
    let warm = sb.take_stats();
    // Every unit hits except the three whose work sees their own location,
    // a value that can end up in the program: `shared` reads `OUT_DIR` with
    // `env!` (to include generated code), `app`'s proc macro reads
    // `CARGO_MANIFEST_DIR`, and the run of `shared`'s build script is given
    // both. kiln keys those values as they are for workspace crates (macros
    // such as rstest's `#[files]` bake them into programs).
    assert_eq!(counts(&warm), (counts(&cold).1 - 3, 3, 0), "{warm}");
    let since = warm["since_ms"].as_u64().unwrap();
    let mut missed: Vec<_> = common::records(&sb.kiln_dir)
        .into_iter()
        .filter(|r| r["started_ms"].as_u64().unwrap() >= since && r["outcome"] == "miss")
        .map(|r| r["crate_name"].as_str().unwrap().to_owned())
        .collect();
    missed.sort();
    assert_eq!(missed, ["app", "build_script_build", "shared"]);
    assert_eq!(sb.run_program(&target.join("release/app")), expected);

    // Cargo sees the restored dep-info as valid here: a second build is a no-op.
    sb.cargo(&b, &["build", "--release"]);
    assert_eq!(sb.take_stats()["requests"], 0);
}

#[test]
fn incremental_calls_pass_through_with_a_reason() {
    let mut sb = Sandbox::new();
    sb.unset("CARGO_INCREMENTAL");
    let ws = sb.workspace("basic", "ws");
    sb.cargo(&ws, &["build"]);
    let s = sb.take_stats();
    assert!(
        s["not_cacheable"]["incremental"].as_u64().unwrap() >= 3,
        "{s}"
    );
    assert_eq!(s["compile_errors"], 0);
    assert!(
        sb.run_program(&ws.join("target/debug/app"))
            .contains("hello from shared")
    );
}

#[test]
fn probes_are_not_requests() {
    let sb = Sandbox::new();
    let ws = sb.workspace("basic", "ws");
    sb.cargo(&ws, &["build", "--release", "-p", "macros"]);
    let s = sb.take_stats();
    // cargo's `-vV` and `--print` calls went through kiln but are not counted.
    assert_eq!(s["requests"], 1, "{s}");
    let recs = common::records(&sb.kiln_dir);
    assert!(recs.iter().any(|r| r["outcome"] == "probe"));
}

#[test]
fn test_harnesses_and_c_libraries_are_cached() {
    let sb = Sandbox::new();
    let ws = sb.workspace("basic", "ws");
    let out = sb.cargo(&ws, &["test", "--release", "--workspace"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("test tests::adds ... ok"));
    let cold = sb.take_stats();
    let (_, misses, uncached) = counts(&cold);
    assert_eq!(uncached, 0, "{cold}");
    let recs = common::records(&sb.kiln_dir);
    let kinds: Vec<String> = recs
        .iter()
        .filter_map(|r| r["crate_types"].as_array())
        .flatten()
        .filter_map(|t| t.as_str())
        .map(str::to_owned)
        .collect();
    for kind in ["cdylib", "staticlib", "proc-macro", "bin", "lib"] {
        assert!(
            kinds.iter().any(|k| k == kind),
            "{kind} compiled: {kinds:?}"
        );
    }
    let c_libs = |ws: &std::path::Path| {
        let names: Vec<String> = std::fs::read_dir(ws.join("target/release/deps"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names
            .iter()
            .any(|n| n.starts_with("libffi") && n.ends_with(".so"))
            && names
                .iter()
                .any(|n| n.starts_with("libffi") && n.ends_with(".a"))
    };
    assert!(c_libs(&ws));

    sb.cargo(&ws, &["clean"]);
    let out = sb.cargo(&ws, &["test", "--release", "--workspace"]);
    assert_eq!(counts(&sb.take_stats()), (misses, 0, 0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("test tests::adds ... ok") && stdout.contains("test tests::greets ... ok"),
        "{stdout}"
    );
    assert!(c_libs(&ws), "cdylib and staticlib restored");
}

#[test]
fn check_builds_are_cached() {
    let sb = Sandbox::new();
    let ws = sb.workspace("basic", "ws");
    sb.cargo(&ws, &["check", "--release", "--workspace"]);
    let (_, misses, uncached) = counts(&sb.take_stats());
    assert_eq!(uncached, 0);
    sb.cargo(&ws, &["clean"]);
    let out = sb.cargo(&ws, &["check", "--release", "--workspace"]);
    assert_eq!(counts(&sb.take_stats()), (misses, 0, 0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unused variable"));
}
