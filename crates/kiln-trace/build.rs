//! Compiles the interposer (`src/interposer.c`) into a shared object that the
//! crate embeds. Where that is impossible (not Linux, no C compiler), the crate
//! is built without it and reports the observer as unavailable.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(kiln_trace_unavailable)");
    println!("cargo::rerun-if-changed=src/interposer.c");
    println!("cargo::rerun-if-env-changed=CC");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let so = out.join("kiln-trace.so");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    let gnu = std::env::var("CARGO_CFG_TARGET_ENV").is_ok_and(|env| env == "gnu");
    if !(linux && gnu) {
        println!("cargo::rustc-cfg=kiln_trace_unavailable");
        return;
    }
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(&cc)
        .args(["-shared", "-fPIC", "-O2", "-Wall", "-o"])
        .arg(&so)
        .arg("src/interposer.c")
        .arg("-ldl")
        .status();
    match status {
        Ok(s) if s.success() => {}
        other => {
            println!(
                "cargo::warning=kiln: cannot build the input observer with `{cc}` ({other:?}); linked outputs and proc-macro users will not be cached"
            );
            println!("cargo::rustc-cfg=kiln_trace_unavailable");
        }
    }
}
