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
