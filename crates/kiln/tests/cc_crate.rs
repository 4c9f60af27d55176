//! C++ compiled by the `cc` crate from the registry (how most `-sys` crates
//! build): the compiles are cached one by one, keyed by `CXX` and
//! `CXXFLAGS` as the `cc` crate reads them, and a build script that runs
//! again gets its unchanged objects back.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;

use common::{Sandbox, records};
use serde_json::Value;

struct Fixture {
    sb: Sandbox,
    ws: PathBuf,
}

impl Fixture {
    fn new() -> Self {
        let sb = Sandbox::new();
        let ws = sb.workspace("cc-crate", "ws");
        Self { sb, ws }
    }

    fn kiln_build(&self) -> (String, Vec<Value>) {
        let clean = self
            .sb
            .command("cargo", &self.ws)
            .args(["clean", "-q"])
            .output()
            .unwrap();
        assert!(clean.status.success());
        let before = records(&self.sb.kiln_dir).len();
        let out = self.sb.cargo(&self.ws, &["build", "--locked"]);
        let w = common::kiln_warnings(&out);
        assert!(w.is_empty(), "{w:?}");
        let recs = records(&self.sb.kiln_dir)
            .into_iter()
            .skip(before)
            .collect();
        let app = self.sb.run_program(&self.ws.join("target/debug/app"));
        (app.trim().to_owned(), recs)
    }

    fn plain_build(&self) -> String {
        self.sb.plain_build(&self.ws, "app")
    }
}

fn of_kind<'a>(recs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    recs.iter().filter(|r| r["kind"] == kind).collect()
}

#[test]
fn cxx_compiles_are_cached_and_keyed_by_the_variables_cc_reads() {
    let mut f = Fixture::new();
    let (first, recs) = f.kiln_build();
    assert_eq!(first, "cpp=30");
    let compiles = of_kind(&recs, "c_compile");
    assert!(
        compiles
            .iter()
            .any(|r| r["crate_name"] == "src/value.cpp" && r["outcome"] == "miss"),
        "{recs:#?}"
    );
    // Warm: the run hits, nothing compiles.
    let (warm, recs) = f.kiln_build();
    assert_eq!(warm, first);
    assert!(of_kind(&recs, "c_compile").is_empty(), "{recs:#?}");
    assert!(
        of_kind(&recs, "build_script_run")
            .iter()
            .all(|r| r["outcome"] == "hit")
    );
    // CXXFLAGS, read by the cc crate: the run and the compile miss, and the
    // program is the one plain cargo builds.
    f.sb.set("CXXFLAGS", "-DCPP_ADD=5");
    let (flagged, recs) = f.kiln_build();
    assert_eq!(flagged, "cpp=35");
    assert_eq!(flagged, f.plain_build());
    assert!(
        of_kind(&recs, "c_compile")
            .iter()
            .any(|r| r["crate_name"] == "src/value.cpp" && r["outcome"] == "miss"),
        "{recs:#?}"
    );
    // CXX naming a wrapper: a compiler of its own.
    f.sb.unset("CXXFLAGS");
    let bin = f.sb.root.path().join("tools");
    std::fs::create_dir_all(&bin).unwrap();
    let wrapper = bin.join("my-c++");
    std::fs::write(&wrapper, "#!/bin/sh\nexec c++ -DCPP_ADD=7 \"$@\"\n").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    f.sb.set("CXX", wrapper.to_str().unwrap());
    let (wrapped, _) = f.kiln_build();
    assert_eq!(wrapped, "cpp=37");
    assert_eq!(wrapped, f.plain_build());
    // Back to the first inputs: everything hits.
    f.sb.unset("CXX");
    let (back, recs) = f.kiln_build();
    assert_eq!(back, first);
    for r in recs.iter().filter(|r| r["outcome"] != "probe") {
        assert_eq!(r["outcome"], "hit", "{r:#}");
    }
}

#[test]
fn a_run_that_must_run_again_gets_its_cxx_objects_from_the_cache() {
    let f = Fixture::new();
    f.kiln_build();
    // The build script changes: the run misses, the C++ does not.
    let script = f.ws.join("cppsys/build.rs");
    let text = std::fs::read_to_string(&script).unwrap().replace(
        "fn main() {",
        "fn main() {\n    println!(\"cargo:rustc-env=CPPSYS_NOTE=x\");",
    );
    std::fs::write(&script, text).unwrap();
    let (out, recs) = f.kiln_build();
    assert_eq!(out, "cpp=30");
    let runs = of_kind(&recs, "build_script_run");
    assert!(runs.iter().any(|r| r["outcome"] == "miss"), "{recs:#?}");
    let value = of_kind(&recs, "c_compile")
        .into_iter()
        .find(|r| r["crate_name"] == "src/value.cpp")
        .unwrap();
    assert_eq!(value["outcome"], "hit", "{value:#}");
}

/// The fixture on `cc` 1.11, which copies the whole environment into a
/// snapshot and reads its variables from the copy, where no lookup is seen.
fn on_cc_with_snapshot() -> Fixture {
    let f = Fixture::new();
    let manifest = f.ws.join("cppsys/Cargo.toml");
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("cc = \"=1.2.41\"", "cc = \"=1.11.3\"");
    std::fs::write(&manifest, text).unwrap();
    let out =
        f.sb.command("cargo", &f.ws)
            .args(["update", "-q", "-p", "cc"])
            .output()
            .unwrap();
    assert!(out.status.success(), "{out:?}");
    f
}

fn run_outcome(recs: &[Value]) -> String {
    let runs = of_kind(recs, "build_script_run");
    assert_eq!(runs.len(), 1, "{recs:#?}");
    runs[0]["outcome"].as_str().unwrap().to_owned()
}

fn cxx_outcome(recs: &[Value]) -> String {
    let compiles = of_kind(recs, "c_compile");
    let value = compiles
        .iter()
        .find(|r| r["crate_name"] == "src/value.cpp")
        .unwrap_or_else(|| panic!("{recs:#?}"));
    value["outcome"].as_str().unwrap().to_owned()
}

/// cc's copy of the environment is a walk: any variable may flow out of it
/// (a name the script builds at run time, the `Command`s cc hands out), so
/// the run is keyed by all of them, those naming a CI job too. The C++
/// compile it starts is keyed by what the compiler reads and still hits.
#[test]
fn a_cc_snapshot_is_keyed_by_the_whole_environment_and_its_compiles_still_hit() {
    let mut f = on_cc_with_snapshot();
    let (first, _) = f.kiln_build();
    assert_eq!(first, "cpp=30");
    f.sb.set("GITHUB_RUN_ID", "1001");
    let (job, recs) = f.kiln_build();
    assert_eq!(job, first);
    assert_eq!(run_outcome(&recs), "miss");
    assert_eq!(cxx_outcome(&recs), "hit");
    // A variable cc reads from its copy: the run misses and builds what
    // plain cargo builds.
    f.sb.set("CXXFLAGS_x86_64_unknown_linux_gnu", "-DCPP_ADD=5");
    let (flagged, recs) = f.kiln_build();
    assert_eq!(flagged, "cpp=35");
    assert_eq!(flagged, f.plain_build());
    assert_eq!(run_outcome(&recs), "miss");
    f.sb.unset("CXXFLAGS_x86_64_unknown_linux_gnu");
    // Back to the first inputs: everything hits.
    f.sb.unset("GITHUB_RUN_ID");
    let (back, recs) = f.kiln_build();
    assert_eq!(back, first);
    for r in recs.iter().filter(|r| r["outcome"] != "probe") {
        assert_eq!(r["outcome"], "hit", "{r:#}");
    }
}

/// A name built at run time and read from cc's copy: the file never spells
/// it, and the variable still changes the compile.
#[test]
fn a_name_built_at_run_time_and_read_from_the_copy_is_keyed() {
    let mut f = on_cc_with_snapshot();
    let script = f.ws.join("cppsys/build.rs");
    let text = std::fs::read_to_string(&script).unwrap();
    let text = text.replace(
        "    cc::Build::new()\n        .cpp(true)\n        .file(\"src/value.cpp\")\n        .compile(\"cppval\");",
        "    let mut b = cc::Build::new();\n    b.cpp(true).file(\"src/value.cpp\");\n    let key = format!(\"{}_CXXFLAGS\", \"ci_cppsys\".to_uppercase());\n    let _ = b.try_flags_from_environment(&key);\n    b.compile(\"cppval\");",
    );
    assert!(text.contains("try_flags_from_environment"), "{text}");
    std::fs::write(&script, text).unwrap();
    let (first, _) = f.kiln_build();
    assert_eq!(first, "cpp=30");
    f.sb.set("CI_CPPSYS_CXXFLAGS", "-DCPP_ADD=5");
    let (flagged, recs) = f.kiln_build();
    assert_eq!(flagged, "cpp=35");
    assert_eq!(flagged, f.plain_build());
    assert_eq!(run_outcome(&recs), "miss");
}

/// The copy read back through the `Command` cc hands out
/// (`Command::get_envs`, no walk of its own): keyed like any walk.
#[test]
fn the_copy_read_back_through_a_command_is_keyed() {
    let mut f = on_cc_with_snapshot();
    let script = f.ws.join("cppsys/build.rs");
    let text = std::fs::read_to_string(&script).unwrap().replace(
        "fn main() {",
        "fn main() {\n    let cmd = cc::Build::new().cpp(true).get_compiler().to_command();\n    let run = cmd.get_envs().find(|(k, _)| k.to_str().is_some_and(|k| k.ends_with(\"RUN_ID\"))).and_then(|(_, v)| v).map(|v| v.to_string_lossy().into_owned());\n    println!(\"cargo:warning=run {run:?}\");",
    );
    std::fs::write(&script, text).unwrap();
    f.sb.set("GITHUB_RUN_ID", "1000");
    f.kiln_build();
    f.sb.set("GITHUB_RUN_ID", "1001");
    let (_, recs) = f.kiln_build();
    assert_eq!(run_outcome(&recs), "miss");
}

#[test]
fn a_build_script_that_walks_the_environment_itself_is_keyed_by_all_of_it() {
    let mut f = on_cc_with_snapshot();
    let script = f.ws.join("cppsys/build.rs");
    let text = std::fs::read_to_string(&script).unwrap().replace(
        "fn main() {",
        "fn main() {\n    let run = std::env::vars().find(|(k, _)| k.ends_with(\"RUN_ID\")).map(|(_, v)| v);\n    println!(\"cargo:rustc-env=CPPSYS_RUN={run:?}\");",
    );
    std::fs::write(&script, text).unwrap();
    f.kiln_build();
    f.sb.set("GITHUB_RUN_ID", "1001");
    let (_, recs) = f.kiln_build();
    assert_eq!(run_outcome(&recs), "miss");
    // A script that spells a CI job's variable is not given the exception.
    let script_text = std::fs::read_to_string(&script).unwrap().replace(
        "let run = std::env::vars().find(|(k, _)| k.ends_with(\"RUN_ID\")).map(|(_, v)| v);",
        "let run = Some(\"GITHUB_\");",
    );
    std::fs::write(&script, script_text).unwrap();
    f.kiln_build();
    f.sb.set("GITHUB_RUN_ID", "1002");
    let (_, recs) = f.kiln_build();
    assert_eq!(run_outcome(&recs), "miss");
}

/// A registry package's compile keys a path joined to its option
/// (`-I/…`, as cmake writes include directories) with `CARGO_HOME`
/// normalized: another such path is another key, the same one hits.
#[test]
fn a_registry_compile_keys_an_include_path_joined_to_its_option() {
    let mut sb = Sandbox::new();
    let ws = sb.workspace("registry-c", "ws");
    let home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap()).join(".cargo"));
    let flags = |dir: &str| format!("-I{}/registry/{dir}", home.display());
    let build = |sb: &Sandbox| {
        let clean = sb
            .command("cargo", &ws)
            .args(["clean", "-q"])
            .output()
            .unwrap();
        assert!(clean.status.success());
        let before = records(&sb.kiln_dir).len();
        sb.cargo(&ws, &["build", "--locked"]);
        let recs: Vec<Value> = records(&sb.kiln_dir).into_iter().skip(before).collect();
        let outcomes = |kind: &str| -> Vec<String> {
            of_kind(&recs, kind)
                .iter()
                .filter(|r| r["package"] == "psm")
                .map(|r| r["outcome"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(sb.run_program(&ws.join("target/debug/regc")).trim(), "true");
        (outcomes("build_script_run"), outcomes("c_compile"))
    };
    let (miss, hit) = (vec!["miss".to_owned()], vec!["hit".to_owned()]);
    sb.set("CFLAGS", &flags("kiln-probe-a"));
    assert_eq!(build(&sb), (miss.clone(), miss.clone()));
    sb.set("CFLAGS", &flags("kiln-probe-b"));
    assert_eq!(
        build(&sb),
        (miss.clone(), miss),
        "another include directory"
    );
    sb.set("CFLAGS", &flags("kiln-probe-a"));
    assert_eq!(
        build(&sb),
        (hit, Vec::new()),
        "the first one again: the run hits"
    );
}
