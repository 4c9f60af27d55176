//! Build-script runs as cached actions, on a `-sys`-style fixture: a crate
//! whose build script compiles C with the system compiler, generates Rust
//! into `OUT_DIR`, reads files and variables, and hands `links` metadata to
//! a dependent's build script.
//!
//! The differential tests change one input, `cargo clean`, build through
//! kiln and compare the program with a plain cargo build of the same inputs;
//! then they go back and expect every unit, build-script runs included, to
//! hit.

#![allow(clippy::unwrap_used)]

#[path = "../common/mod.rs"]
mod common;
mod path;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{Sandbox, records};
use serde_json::Value;

struct Fixture {
    sb: Sandbox,
    ws: PathBuf,
    plain_target: PathBuf,
}

impl Fixture {
    fn new() -> Self {
        let sb = Sandbox::new();
        let ws = sb.workspace("native", "ws");
        let plain_target = sb.root.path().join("plain-target");
        Self {
            sb,
            ws,
            plain_target,
        }
    }

    /// `kiln run -- cargo build` after `cargo clean`; the program's output
    /// and this build's build-script run records.
    fn kiln_build(&self) -> (String, Vec<Value>) {
        self.clean();
        let before = records(&self.sb.kiln_dir).len();
        let out = self.sb.cargo(&self.ws, &["build", "--locked"]);
        assert_no_kiln_warning(&out);
        let runs = records(&self.sb.kiln_dir)
            .into_iter()
            .skip(before)
            .collect::<Vec<_>>();
        (self.run_app(&self.ws.join("target/debug/app")), runs)
    }

    fn clean(&self) {
        let out = self
            .sb
            .command("cargo", &self.ws)
            .args(["clean", "-q"])
            .output()
            .unwrap();
        assert!(out.status.success());
    }

    /// A plain cargo build of the same workspace, no wrapper, after
    /// `cargo clean`.
    fn plain_build(&self) -> String {
        let _ = std::fs::remove_dir_all(&self.plain_target);
        let out = self
            .sb
            .command("cargo", &self.ws)
            .args(["build", "--locked", "--target-dir"])
            .arg(&self.plain_target)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.run_app(&self.plain_target.join("debug/app"))
    }

    fn run_app(&self, path: &Path) -> String {
        self.sb.run_program(path).trim().to_owned()
    }

    fn edit(&self, file: &str, from: &str, to: &str) {
        let p = self.ws.join(file);
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains(from), "{file} has no `{from}`");
        std::fs::write(&p, text.replace(from, to)).unwrap();
    }

    /// Builds, applies `change`, checks kiln against plain cargo and that
    /// the changed build-script runs missed, undoes it and expects all hits.
    fn differential(&mut self, change: impl Fn(&mut Self), undo: impl Fn(&mut Self)) -> String {
        let (first, _) = self.kiln_build();
        change(self);
        let (changed, recs) = self.kiln_build();
        assert_eq!(changed, self.plain_build(), "kiln and plain cargo differ");
        assert_ne!(changed, first, "the change must show in the program");
        assert!(
            script_runs(&recs).iter().any(|r| r["outcome"] == "miss"),
            "a build-script run missed: {recs:#?}"
        );
        undo(self);
        let (back, recs) = self.kiln_build();
        assert_eq!(back, first);
        assert_all_hit(&recs);
        changed
    }
}

fn script_runs(recs: &[Value]) -> Vec<&Value> {
    recs.iter()
        .filter(|r| r["kind"] == "build_script_run")
        .collect()
}

/// The record of `package`'s build-script run among `recs`.
fn run_of(recs: &[Value], package: &str) -> Value {
    script_runs(recs)
        .into_iter()
        .find(|r| r["package"] == package)
        .unwrap()
        .clone()
}

fn assert_all_hit(recs: &[Value]) {
    let cached: Vec<_> = recs.iter().filter(|r| r["outcome"] != "probe").collect();
    assert!(
        script_runs(recs).len() == 2,
        "both build scripts ran through kiln: {recs:#?}"
    );
    for r in cached {
        assert_eq!(r["outcome"], "hit", "{r:#}");
    }
}

fn assert_no_kiln_warning(out: &Output) {
    let w = common::kiln_warnings(out);
    assert!(w.is_empty(), "{w:?}");
}

#[test]
fn a_warm_build_hits_every_build_script_run_and_the_program_is_the_same() {
    let f = Fixture::new();
    let (first, recs) = f.kiln_build();
    assert_eq!(
        first,
        "value=42 data=alpha mode=plain extra= tag=alpha-plain"
    );
    assert_eq!(script_runs(&recs).len(), 2);
    let (second, recs) = f.kiln_build();
    assert_eq!(second, first);
    assert_all_hit(&recs);
    // cargo's own files about the run are as a real run leaves them.
    let output = std::fs::read_dir(f.ws.join("target/debug/build"))
        .unwrap()
        .flatten()
        .map(|e| e.path().join("output"))
        .find(|p| {
            p.exists()
                && std::fs::read_to_string(p)
                    .unwrap()
                    .contains("rustc-link-lib=static=value")
        })
        .expect("csys's output file");
    let text = std::fs::read_to_string(&output).unwrap();
    let out_dir = output.parent().unwrap().join("out");
    assert!(
        text.contains(&format!(
            "cargo:rustc-link-search=native={}",
            out_dir.display()
        )),
        "{text}"
    );
    assert!(out_dir.join("libvalue.a").is_file());
    assert!(out_dir.join("gen/consts.rs").is_file());
}

#[test]
fn a_c_header_change_reruns_the_build_script() {
    let mut f = Fixture::new();
    let changed = f.differential(
        |f| f.edit("csys/c/value.h", "40", "50"),
        |f| f.edit("csys/c/value.h", "50", "40"),
    );
    assert!(changed.starts_with("value=52"), "{changed}");
}

#[test]
fn a_c_source_change_reruns_the_build_script() {
    let mut f = Fixture::new();
    let changed = f.differential(
        |f| f.edit("csys/c/value.c", "#define CSYS_ADD 2", "#define CSYS_ADD 3"),
        |f| f.edit("csys/c/value.c", "#define CSYS_ADD 3", "#define CSYS_ADD 2"),
    );
    assert!(changed.starts_with("value=43"), "{changed}");
}

#[test]
fn cflags_are_keyed() {
    let mut f = Fixture::new();
    f.differential(
        |f| f.sb.set("CFLAGS", "-DCSYS_ADD=7"),
        |f| f.sb.unset("CFLAGS"),
    );
}

#[test]
fn the_compiler_named_by_cc_is_keyed_by_content() {
    let mut f = Fixture::new();
    let bin = f.sb.root.path().join("tools");
    std::fs::create_dir_all(&bin).unwrap();
    let wrapper = bin.join("my-cc");
    std::fs::write(&wrapper, "#!/bin/sh\nexec cc -DCSYS_ADD=5 \"$@\"\n").unwrap();
    make_executable(&wrapper);
    let cc = wrapper.to_str().unwrap().to_owned();
    f.differential(move |f| f.sb.set("CC", &cc), |f| f.sb.unset("CC"));
    // Same name, new content: the wrapper itself is an input.
    f.sb.set("CC", wrapper.to_str().unwrap());
    let (five, _) = f.kiln_build();
    assert!(five.starts_with("value=45"), "{five}");
    std::fs::write(&wrapper, "#!/bin/sh\nexec cc -DCSYS_ADD=6 \"$@\"\n").unwrap();
    let (six, _) = f.kiln_build();
    assert_eq!(six, f.plain_build());
    assert!(six.starts_with("value=46"), "{six}");
}

#[test]
fn a_feature_of_the_sys_crate_is_keyed() {
    let mut f = Fixture::new();
    let changed = f.differential(
        |f| {
            f.edit(
                "app/Cargo.toml",
                "path = \"../csys\" }",
                "path = \"../csys\", features = [\"extra\"] }",
            );
        },
        |f| {
            f.edit(
                "app/Cargo.toml",
                "path = \"../csys\", features = [\"extra\"] }",
                "path = \"../csys\" }",
            );
        },
    );
    assert!(changed.starts_with("value=140"), "{changed}");
}

#[test]
fn variables_read_with_and_without_rerun_if_env_changed_are_keyed() {
    let mut f = Fixture::new();
    let changed = f.differential(
        |f| f.sb.set("CSYS_MODE", "fancy"),
        |f| f.sb.unset("CSYS_MODE"),
    );
    assert!(
        changed.contains("mode=fancy extra= tag=alpha-fancy"),
        "{changed}"
    );
    let changed = f.differential(
        |f| f.sb.set("CSYS_EXTRA", "yes"),
        |f| f.sb.unset("CSYS_EXTRA"),
    );
    assert!(changed.contains("extra=yes"), "{changed}");
}

#[test]
fn a_file_read_without_rerun_if_changed_and_the_links_metadata_it_feeds_are_keyed() {
    let mut f = Fixture::new();
    let changed = f.differential(
        |f| f.edit("csys/data.txt", "alpha", "beta"),
        |f| f.edit("csys/data.txt", "beta", "alpha"),
    );
    // The dependent's build script read `DEP_CSYS_TAG`: it ran again too.
    assert!(
        changed.contains("data=beta") && changed.contains("tag=beta-plain"),
        "{changed}"
    );
}

#[test]
fn a_failing_build_script_fails_the_same_and_is_never_stored() {
    let mut f = Fixture::new();
    f.sb.set("CSYS_FAIL", "1");
    for _ in 0..2 {
        f.clean();
        let out = f.sb.cargo_unchecked(&f.ws, &["build", "--locked"]);
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("csys: failing on purpose"), "{stderr}");
        assert!(stderr.contains("exit status: 3"), "{stderr}");
    }
    let recs = records(&f.sb.kiln_dir);
    let failed: Vec<_> = script_runs(&recs)
        .into_iter()
        .filter(|r| r["package"] == "csys")
        .collect();
    assert_eq!(failed.len(), 2);
    assert!(
        failed
            .iter()
            .all(|r| r["outcome"] == "compile_error" && r["exit_code"] == 3)
    );
    f.sb.unset("CSYS_FAIL");
    let (ok, _) = f.kiln_build();
    assert_eq!(ok, f.plain_build());
}

#[test]
fn warnings_of_a_build_script_are_replayed_on_a_hit() {
    let mut f = Fixture::new();
    f.sb.set("CSYS_WARN", "hello");
    for _ in 0..2 {
        f.clean();
        let out = f.sb.cargo(&f.ws, &["build", "--locked"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("warning: csys@0.1.0: csys says hello"),
            "{stderr}"
        );
    }
    let recs = records(&f.sb.kiln_dir);
    let last = script_runs(&recs)
        .into_iter()
        .rfind(|r| r["package"] == "csys")
        .unwrap()
        .clone();
    assert_eq!(last["outcome"], "hit");
}

#[test]
fn a_build_script_running_a_shell_is_keyed_by_the_whole_environment() {
    let mut f = Fixture::new();
    f.edit(
        "csys/build.rs",
        "let data = std::fs::read_to_string(\"data.txt\").unwrap();",
        "let data = String::from_utf8(Command::new(\"sh\").arg(\"-c\").arg(\"echo alpha$SHELL_ONLY\").output().unwrap().stdout).unwrap();",
    );
    let changed = f.differential(
        |f| f.sb.set("SHELL_ONLY", "-from-sh"),
        |f| f.sb.unset("SHELL_ONLY"),
    );
    assert!(changed.contains("data=alpha-from-sh"), "{changed}");
}

/// The `native` fixture with `csys` as a registry package: vendored under
/// `CARGO_HOME` and found through a directory source, as `cargo vendor`
/// leaves it, so its package id (and cargo's hashes) do not depend on where
/// it is.
fn vendored_layout(root: &Path) -> (PathBuf, PathBuf) {
    let home = root.join("cargo-home");
    let vendor = home.join("vendor");
    let ws = root.join("ws");
    common::copy_fixture("native", &ws);
    std::fs::create_dir_all(&vendor).unwrap();
    std::fs::rename(ws.join("csys"), vendor.join("csys-0.1.0")).unwrap();
    std::fs::write(
        vendor.join("csys-0.1.0/.cargo-checksum.json"),
        r#"{"files":{},"package":null}"#,
    )
    .unwrap();
    std::fs::remove_file(ws.join("Cargo.lock")).unwrap();
    for (file, from, to) in [
        (
            "Cargo.toml",
            r#"members = ["csys", "app"]"#,
            r#"members = ["app"]"#,
        ),
        (
            "app/Cargo.toml",
            r#"csys = { path = "../csys" }"#,
            r#"csys = "0.1.0""#,
        ),
    ] {
        let p = ws.join(file);
        let text = std::fs::read_to_string(&p).unwrap();
        std::fs::write(&p, text.replace(from, to)).unwrap();
    }
    std::fs::create_dir_all(ws.join(".cargo")).unwrap();
    std::fs::write(
        ws.join(".cargo/config.toml"),
        format!(
            "[source.crates-io]\nreplace-with = \"vendored\"\n[source.vendored]\ndirectory = {:?}\n",
            vendor.to_str().unwrap()
        ),
    )
    .unwrap();
    (ws, home)
}

#[test]
fn sys_crates_from_cargo_home_hit_from_another_checkout_and_cargo_home() {
    let mut sb = Sandbox::new();
    let mut seen = Vec::new();
    let path = std::env::var("PATH").unwrap();
    for layout in ["one", "two/deeper"] {
        let (ws, home) = vendored_layout(&sb.root.path().join(layout));
        sb.set("CARGO_HOME", home.to_str().unwrap());
        // As rustup runs cargo: `CARGO_HOME/bin` first on `PATH`.
        std::fs::create_dir_all(home.join("bin")).unwrap();
        sb.set("PATH", &format!("{}:{path}", home.join("bin").display()));
        let before = records(&sb.kiln_dir).len();
        sb.cargo(&ws, &["build", "--offline"]);
        let recs: Vec<Value> = records(&sb.kiln_dir).into_iter().skip(before).collect();
        let csys: Vec<Value> = recs
            .iter()
            .filter(|r| {
                r["package"] == "csys" && r["outcome"] != "probe" && r["kind"] != "c_compile"
            })
            .cloned()
            .collect();
        assert_eq!(
            csys.len(),
            3,
            "compile of the script, its run, the lib: {csys:#?}"
        );
        seen.push((sb.run_program(&ws.join("target/debug/app")), csys));
    }
    assert_eq!(seen[0].0, seen[1].0);
    assert!(seen[0].1.iter().all(|r| r["outcome"] == "miss"));
    for r in &seen[1].1 {
        assert_eq!(
            r["outcome"], "hit",
            "another checkout and CARGO_HOME: {r:#}"
        );
    }
}

fn make_executable(p: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn c_compiles(recs: &[Value]) -> Vec<&Value> {
    recs.iter().filter(|r| r["kind"] == "c_compile").collect()
}

#[test]
fn a_build_script_that_runs_again_gets_its_unchanged_objects_from_the_cache() {
    let f = Fixture::new();
    let (first, recs) = f.kiln_build();
    let compiles = c_compiles(&recs);
    assert_eq!(compiles.len(), 1, "{recs:#?}");
    assert_eq!(compiles[0]["outcome"], "miss");
    assert_eq!(compiles[0]["crate_name"], "c/value.c");
    // A file the script reads changes, so the run misses; the C source and
    // its flags did not, so its object comes back from the cache.
    f.edit("csys/data.txt", "alpha", "gamma");
    let (changed, recs) = f.kiln_build();
    assert_eq!(changed, f.plain_build());
    assert!(changed.contains("data=gamma"), "{changed}");
    let compiles = c_compiles(&recs);
    assert_eq!(compiles.len(), 1, "{recs:#?}");
    assert_eq!(compiles[0]["outcome"], "hit", "{:#}", compiles[0]);
    // And a changed header makes the compile miss, as plain cargo sees it.
    f.edit("csys/c/value.h", "40", "60");
    let (header, recs) = f.kiln_build();
    assert_eq!(header, f.plain_build());
    assert!(header.starts_with("value=62"), "{header}");
    assert_eq!(c_compiles(&recs)[0]["outcome"], "miss");
    assert_ne!(first, header);
}

#[test]
fn a_c_compile_kiln_does_not_cache_runs_as_is() {
    let mut f = Fixture::new();
    // `-save-temps` writes the preprocessed source and assembly beside the
    // object: not a compile kiln stores.
    f.sb.set("CFLAGS", "-save-temps=obj");
    let (out, recs) = f.kiln_build();
    assert!(c_compiles(&recs).is_empty(), "{recs:#?}");
    assert_eq!(out, f.plain_build());
}

#[test]
fn c_compiles_are_counted_apart_from_rustc_calls() {
    let f = Fixture::new();
    f.kiln_build();
    f.edit("csys/data.txt", "alpha", "delta");
    f.kiln_build();
    let out = f.sb.kiln(&["stats", "--json"]);
    let stats: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stats["c_compiles"]["hits"], 1, "{stats:#}");
    assert_eq!(stats["c_compiles"]["misses"], 1, "{stats:#}");
    let text = f.sb.kiln(&["stats"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("C compiles"), "{text}");
    assert!(text.contains("build-script runs"), "{text}");
}

#[test]
fn a_directory_listed_by_find_is_keyed() {
    let mut f = Fixture::new();
    std::fs::create_dir_all(f.ws.join("csys/assets")).unwrap();
    std::fs::write(f.ws.join("csys/assets/a.txt"), "a").unwrap();
    f.sb.set("CSYS_FIND", "assets");
    let changed = f.differential(
        |f| std::fs::write(f.ws.join("csys/assets/b.txt"), "b").unwrap(),
        |f| std::fs::remove_file(f.ws.join("csys/assets/b.txt")).unwrap(),
    );
    assert!(changed.contains("assets/b.txt"), "{changed}");
}

#[test]
fn a_c_compile_naming_the_time_is_not_stored() {
    let mut f = Fixture::new();
    let header = f.sb.root.path().join("stamp.h");
    std::fs::write(
        &header,
        "static const char *csys_stamp = __DATE__ \" \" __TIME__;\n",
    )
    .unwrap();
    f.sb.set("CFLAGS", &format!("-include {}", header.display()));
    let (out, recs) = f.kiln_build();
    assert_eq!(out, f.plain_build());
    let compiles = c_compiles(&recs);
    assert_eq!(compiles.len(), 1, "{recs:#?}");
    assert_eq!(compiles[0]["outcome"], "not_cacheable", "{:#}", compiles[0]);
    assert_eq!(compiles[0]["reason"], "clock", "{:#}", compiles[0]);
    // Nor is the run around it: its objects hold the time too.
    let run = script_runs(&recs)
        .into_iter()
        .find(|r| r["package"] == "csys")
        .unwrap();
    assert_eq!(run["outcome"], "not_cacheable", "{run:#}");
    assert_eq!(run["reason"], "clock", "{run:#}");
    // With SOURCE_DATE_EPOCH the time is an input like any other.
    f.sb.set("SOURCE_DATE_EPOCH", "1700000000");
    let (_, recs) = f.kiln_build();
    assert_eq!(c_compiles(&recs)[0]["outcome"], "miss");
}

#[test]
fn a_clock_macro_in_an_argument_or_timestamp_is_not_stored() {
    let mut f = Fixture::new();
    // In an argument: the sources never name it.
    f.sb.set("CFLAGS", "-DCSYS_UNUSED_STAMP=__TIME__");
    let (out, recs) = f.kiln_build();
    assert_eq!(out, f.plain_build());
    let compiles = c_compiles(&recs);
    assert_eq!(compiles[0]["reason"], "clock", "{:#}", compiles[0]);
    // `__TIMESTAMP__` is the source's change time: SOURCE_DATE_EPOCH does
    // not fix it.
    let header = f.sb.root.path().join("stamp.h");
    std::fs::write(&header, "static const char *csys_ts = __TIMESTAMP__;\n").unwrap();
    f.sb.set("CFLAGS", &format!("-include {}", header.display()));
    f.sb.set("SOURCE_DATE_EPOCH", "1700000000");
    let (_, recs) = f.kiln_build();
    let compiles = c_compiles(&recs);
    assert_eq!(compiles[0]["reason"], "clock", "{:#}", compiles[0]);
}

#[test]
fn a_build_script_that_reads_the_clock_is_not_stored() {
    let f = Fixture::new();
    f.edit(
        "app/build.rs",
        "fn main() {",
        "fn main() {\n    let now = std::time::SystemTime::now();\n    println!(\"cargo:rustc-env=APP_BUILT={:?}\", now);",
    );
    let (_, recs) = f.kiln_build();
    let app = run_of(&recs, "app");
    assert_eq!(app["outcome"], "not_cacheable", "{app:#}");
    assert_eq!(app["reason"], "clock", "{app:#}");
    let csys = run_of(&recs, "csys");
    assert_eq!(
        csys["outcome"], "miss",
        "a script that does not is: {csys:#}"
    );
}

#[test]
fn a_binary_named_like_a_build_script_is_built_as_plain_cargo_builds_it() {
    let mut f = Fixture::new();
    let bin = f.ws.join("app/src/bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::write(
        bin.join("build-script-tool.rs"),
        "fn main() { println!(\"tool\"); }\n",
    )
    .unwrap();
    f.sb.set("CARGO_PROFILE_DEV_STRIP", "true");
    f.kiln_build();
    let tool = f.ws.join("target/debug/build-script-tool");
    assert!(
        std::fs::read(&tool).unwrap().starts_with(b"\x7fELF"),
        "not a launcher"
    );
    assert_eq!(f.run_app(&tool), "tool");
}

#[test]
fn a_scratch_directory_made_and_removed_outside_out_dir_does_not_stop_caching() {
    let f = Fixture::new();
    f.edit(
        "app/build.rs",
        "fn main() {",
        "fn main() {\n    let scratch = std::path::Path::new(\"rmeta-scratch\");\n    std::fs::create_dir_all(scratch).unwrap();\n    std::fs::write(scratch.join(\"full.rmeta\"), b\"x\").unwrap();\n    std::fs::remove_dir_all(scratch).unwrap();",
    );
    let (first, recs) = f.kiln_build();
    let app = run_of(&recs, "app");
    assert_eq!(app["outcome"], "miss", "{app:#}");
    let (again, recs) = f.kiln_build();
    assert_eq!(again, first);
    assert_all_hit(&recs);
}

#[test]
fn a_build_script_that_reads_the_time_since_boot_is_not_stored() {
    let f = Fixture::new();
    f.edit(
        "app/build.rs",
        "fn main() {",
        "fn main() {\n    let up = std::fs::read_to_string(\"/proc/uptime\").unwrap_or_default();\n    println!(\"cargo:rustc-env=APP_UP={}\", up.split(' ').next().unwrap_or(\"\"));",
    );
    let (_, recs) = f.kiln_build();
    let app = run_of(&recs, "app");
    assert_eq!(app["outcome"], "not_cacheable", "{app:#}");
    assert_eq!(app["reason"], "clock", "{app:#}");
}

/// A build script that asks the compiler, as autocfg and proc-macro2's do:
/// one probe from standard input under a name that changes every run, one
/// from a file in `OUT_DIR` that fails on purpose.
const PROBING_BUILD_RS: &str = r#"
use std::io::Write;
use std::process::{Command, Stdio};

fn rustc() -> Command {
    let rustc = std::env::var("RUSTC").unwrap();
    match std::env::var_os("RUSTC_WRAPPER").filter(|w| !w.is_empty()) {
        Some(w) => {
            let mut c = Command::new(w);
            c.arg(rustc);
            c
        }
        None => Command::new(rustc),
    }
}

fn main() {
    let out = std::env::var("OUT_DIR").unwrap();
    let name = format!("probe_{}", std::process::id());
    let mut child = rustc()
        .args(["--crate-name", &name, "--crate-type", "lib", "--emit", "metadata", "--out-dir", &out, "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"pub fn f() {}").unwrap();
    if child.wait().unwrap().success() {
        println!("cargo:rustc-cfg=has_f");
    }
    let file = std::path::Path::new(&out).join("probe.rs");
    std::fs::write(&file, "this is not rust").unwrap();
    let ok = rustc()
        .args(["--crate-name", "probe_file", "--crate-type", "lib", "--emit", "metadata", "--out-dir", &out])
        .arg(&file)
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success();
    std::fs::remove_file(&file).unwrap();
    if !ok {
        println!("cargo:rustc-cfg=no_bad");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
"#;

#[test]
fn compiles_a_build_script_runs_are_probes_not_units_or_errors() {
    let sb = Sandbox::new();
    let ws = sb.root.path().join("probing");
    std::fs::create_dir_all(ws.join("src")).unwrap();
    std::fs::write(
        ws.join("Cargo.toml"),
        "[package]\nname = \"probing\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    std::fs::write(ws.join("build.rs"), PROBING_BUILD_RS).unwrap();
    std::fs::write(
        ws.join("src/lib.rs"),
        "#[cfg(all(has_f, no_bad))]\npub fn probed() -> bool {\n    true\n}\n",
    )
    .unwrap();
    let out = sb.cargo(&ws, &["build"]);
    let summary = String::from_utf8_lossy(&out.stderr);
    assert!(!summary.contains("compile error"), "{summary}");
    let stats = sb.take_stats();
    assert_eq!(stats["compile_errors"], 0, "{stats:#}");
    assert_eq!(stats["build_script_probes"], 2, "{stats:#}");
    assert_eq!(stats["not_cacheable_total"], 0, "{stats:#}");
    // Again after `cargo clean`: the run hits, so nothing probes, and the
    // probes' random names cost no miss.
    sb.cargo(&ws, &["clean"]);
    sb.cargo(&ws, &["build"]);
    let again = sb.take_stats();
    assert_eq!(common::counts(&again), (3, 0, 0), "{again:#}");
    assert_eq!(again["build_script_probes"], 0);
    let text = sb.kiln(&["stats"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("requests"));
}
