//! The observer on real programs: a Rust program compiled here, and rustc
//! itself compiling and linking a binary.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use kiln_trace::{Tracer, parse_trace};

fn tracer(dir: &Path) -> Tracer {
    Tracer::install(&dir.join("lib"))
        .unwrap()
        .expect("observer available on Linux/glibc")
}

fn rustc() -> String {
    std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into())
}

#[test]
fn sees_reads_writes_env_and_missing_files_of_a_program() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("probe.rs");
    std::fs::write(
        &src,
        r#"fn main() {
            let dir = std::env::args().nth(1).unwrap();
            let _ = std::fs::read_to_string(format!("{dir}/input.txt")).unwrap();
            let _ = std::fs::read(format!("{dir}/missing.txt"));
            for _ in 0..1000 { let _ = std::env::var("KILN_PROBE_VAR"); }
            std::fs::write(format!("{dir}/output.txt"), "x").unwrap();
        }"#,
    )
    .unwrap();
    let exe = d.path().join("probe");
    assert!(
        Command::new(rustc())
            .arg(&src)
            .arg("-o")
            .arg(&exe)
            .status()
            .unwrap()
            .success()
    );
    std::fs::write(d.path().join("input.txt"), "in").unwrap();
    let t = tracer(d.path());
    let trace_file = d.path().join("trace");
    let mut cmd = Command::new(&exe);
    cmd.arg(d.path());
    t.inject(&mut cmd, &trace_file);
    assert!(cmd.status().unwrap().success());
    let raw = std::fs::read_to_string(&trace_file).unwrap();
    assert_eq!(
        raw.matches("E KILN_PROBE_VAR\n").count(),
        1,
        "env lookups are logged once per process"
    );
    let trace = parse_trace(&trace_file, None).unwrap();
    assert!(
        trace.reads.contains(&d.path().join("input.txt")),
        "{trace:?}"
    );
    assert!(
        trace.absent.contains(&d.path().join("missing.txt")),
        "{trace:?}"
    );
    assert!(
        trace.writes.contains(&d.path().join("output.txt")),
        "{trace:?}"
    );
    assert!(trace.env.contains("KILN_PROBE_VAR"));
}

#[test]
fn sees_rustc_sources_the_linker_and_its_inputs() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("main.rs");
    std::fs::write(&src, "fn main() { println!(\"hi\"); }").unwrap();
    let t = tracer(d.path());
    let trace_file = d.path().join("trace");
    let mut cmd = Command::new(rustc());
    cmd.arg(&src).arg("-o").arg(d.path().join("main"));
    t.inject(&mut cmd, &trace_file);
    assert!(cmd.status().unwrap().success());
    let trace = parse_trace(&trace_file, std::env::var_os("PATH").as_deref()).unwrap();
    assert!(trace.reads.contains(&src));
    assert!(
        trace
            .execs
            .iter()
            .any(|p| p.ends_with("cc") || p.ends_with("collect2")),
        "{:?}",
        trace.execs
    );
    assert!(
        trace
            .reads
            .iter()
            .any(|p| p.to_string_lossy().contains("crt")),
        "linker inputs seen"
    );
    assert!(
        trace.writes.iter().any(|p| p.starts_with(d.path())),
        "output seen"
    );
}

#[test]
fn no_trace_file_means_no_output() {
    let d = tempfile::tempdir().unwrap();
    let t = tracer(d.path());
    let mut cmd = Command::new("true");
    t.inject(&mut cmd, &d.path().join("trace"));
    cmd.env_remove("KILN_TRACE_FILE");
    assert!(cmd.status().unwrap().success());
    assert!(!d.path().join("trace").exists());
}
