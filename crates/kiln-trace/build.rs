//! Compiles the interposer (`src/interposer.c`) into a shared object in
//! `OUT_DIR` that the crate embeds, with the compiler the `cc` crate picks.
//! Where that is impossible (not Linux, no working C compiler), the crate is
//! built without it (`kiln_trace_unavailable`) and reports the observer as
//! unavailable.

use std::path::PathBuf;

fn unavailable(why: &str) {
    println!(
        "cargo::warning=kiln-trace: {why}; the input observer is unavailable, so linked outputs and proc-macro users will not be cached"
    );
    println!("cargo::rustc-cfg=kiln_trace_unavailable");
}

fn main() {
    println!("cargo::rustc-check-cfg=cfg(kiln_trace_unavailable)");
    println!("cargo::rerun-if-changed=src/interposer.c");
    println!("cargo::rerun-if-changed=build.rs");
    let Some(out) = std::env::var_os("OUT_DIR").map(PathBuf::from) else {
        unavailable("cargo did not set OUT_DIR");
        return;
    };
    if std::env::var("CARGO_CFG_TARGET_OS").ok().as_deref() != Some("linux") {
        println!("cargo::rustc-cfg=kiln_trace_unavailable");
        return;
    }
    // The `cc` crate picks the compiler and its flags as every `-sys` crate
    // does: `CC`/`TARGET_CC`, `CFLAGS`, the cross-compiler for `TARGET`.
    let tool = match cc::Build::new()
        .cargo_warnings(false)
        .debug(false)
        .opt_level(2)
        .warnings(false)
        .try_get_compiler()
    {
        Ok(tool) => tool,
        Err(e) => {
            unavailable(&format!("no C compiler found: {e}"));
            return;
        }
    };
    let cc = tool.path().display().to_string();
    let so = out.join("kiln-trace.so");
    let result = tool
        .to_command()
        .args([
            "-shared",
            "-fPIC",
            "-O2",
            "-Wall",
            "-Wextra",
            "-fvisibility=hidden",
            "-U_FORTIFY_SOURCE",
            "-o",
        ])
        .arg(&so)
        .arg("src/interposer.c")
        .arg("-ldl")
        .output();
    match result {
        Ok(o) if o.status.success() => {
            for line in String::from_utf8_lossy(&o.stderr)
                .lines()
                .filter(|l| l.contains("warning"))
            {
                println!("cargo::warning=kiln-trace: {line}");
            }
        }
        Ok(o) => {
            let stderr = String::from_utf8_lossy(&o.stderr);
            let first = stderr
                .lines()
                .find(|l| l.contains("error"))
                .unwrap_or("no diagnostic");
            unavailable(&format!(
                "`{cc}` failed to build src/interposer.c ({}): {first}",
                o.status
            ));
        }
        Err(e) => unavailable(&format!("cannot run `{cc}`: {e}")),
    }
}
