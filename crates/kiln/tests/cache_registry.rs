//! Real registry crates (serde with its derive proc macro and build script,
//! itoa), and `cargo clippy` through kiln.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Sandbox, counts};

#[test]
fn registry_crates_hit_from_another_checkout_and_cargo_home() {
    let mut sb = Sandbox::new();
    let a = sb.workspace("registry", "a");
    sb.cargo(&a, &["build", "--locked"]);
    let cold = sb.take_stats();
    let (_, misses, uncached) = counts(&cold);
    assert_eq!(uncached, 0, "{cold}");
    assert!(
        misses >= 6,
        "serde, serde_core, serde_derive, proc-macro2, quote, syn, build scripts...: {cold}"
    );
    let expected = sb.run_program(&a.join("target/debug/regapp"));

    let b = sb.workspace("registry", "b/c");
    let home = sb.root.path().join("home2");
    std::fs::create_dir_all(&home).unwrap();
    sb.set("CARGO_HOME", home.to_str().unwrap());
    sb.cargo(&b, &["build", "--locked"]);
    let warm = sb.take_stats();
    // Everything hits, build-script runs included. The two probes that
    // proc-macro2's build script compiles through kiln are probes, not
    // units, and do not run again: the script's run is restored instead.
    assert!(cold["build_script_probes"].as_u64().unwrap() >= 2, "{cold}");
    assert_eq!(cold["compile_errors"], 0, "{cold}");
    assert_eq!(counts(&warm), (misses, 0, 0), "{warm}");
    assert_eq!(warm["build_script_probes"], 0, "{warm}");
    assert_eq!(sb.run_program(&b.join("target/debug/regapp")), expected);
}

#[test]
fn clippy_runs_are_cached_and_replay_lints() {
    let sb = Sandbox::new();
    let ws = sb.workspace("basic", "ws");
    let first = sb.cargo(&ws, &["clippy", "--release"]);
    let cold = sb.take_stats();
    let (_, misses, uncached) = counts(&cold);
    assert_eq!(uncached, 0, "{cold}");
    assert!(misses >= 4, "{cold}");
    let recs = common::records(&sb.kiln_dir);
    assert!(
        recs.iter()
            .any(|r| r["clippy"] == true && r["outcome"] == "miss"),
        "clippy-driver calls are cached"
    );
    let lint = "unused variable";
    assert!(String::from_utf8_lossy(&first.stderr).contains(lint));

    sb.cargo(&ws, &["clean"]);
    let second = sb.cargo(&ws, &["clippy", "--release"]);
    let warm = sb.take_stats();
    assert_eq!(counts(&warm), (misses, 0, 0), "{warm}");
    assert!(
        String::from_utf8_lossy(&second.stderr).contains(lint),
        "lints replayed on hits"
    );
}
