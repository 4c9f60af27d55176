//! The benchmark harness still runs: the small workload, kiln only, one
//! repetition. It reports; nothing here asserts a time.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

#[test]
fn bench_harness_runs_on_the_small_workload() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out_dir = tempfile::tempdir().unwrap();
    let out = Command::new("python3")
        .arg(root.join("bench/bench.py"))
        .args([
            "--workload",
            "small",
            "--reps",
            "1",
            "--tools",
            "kiln",
            "--out",
        ])
        .arg(out_dir.path())
        .arg("--kiln")
        .arg(env!("CARGO_BIN_EXE_kiln"))
        .env_remove("RUSTC_WRAPPER")
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("| kiln |"), "{stdout}");
    assert!(stdout.contains("warm_over_cold"), "{stdout}");
    let json = std::fs::read_dir(out_dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "json"))
        .unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    assert_eq!(v["results"][0]["workload"], "small");
}
