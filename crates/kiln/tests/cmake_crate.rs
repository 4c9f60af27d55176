//! A build script that drives CMake (the `cmake` crate from the registry):
//! the whole run is cached, and each input CMake and its compiler read (a
//! header, `CMakeLists.txt`, a source) changes it. Changed, the cached build
//! behaves as plain cargo's; changed back, everything hits again.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{Sandbox, records};
use serde_json::Value;

fn need_cmake() {
    let found = std::process::Command::new("cmake")
        .arg("--version")
        .output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "`cmake` not found: this test needs it. Install Debian's `cmake` (scripts/test-tools.sh does, as root)"
    );
}

struct Fixture {
    sb: Sandbox,
    ws: PathBuf,
}

impl Fixture {
    fn new() -> Self {
        need_cmake();
        let sb = Sandbox::new();
        let ws = sb.workspace("cmake-crate", "ws");
        Self { sb, ws }
    }

    fn native(&self, name: &str) -> PathBuf {
        self.ws.join("cmakesys/native").join(name)
    }

    /// A kiln build after `cargo clean`: the program's output and the
    /// build-script run's record.
    fn kiln_build(&self) -> (String, Value) {
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
        let run = records(&self.sb.kiln_dir)
            .into_iter()
            .skip(before)
            .find(|r| r["kind"] == "build_script_run" && r["package"] == "cmakesys")
            .expect("the cmakesys run");
        let app = self.sb.run_program(&self.ws.join("target/debug/app"));
        (app.trim().to_owned(), run)
    }

    fn plain_build(&self) -> String {
        self.sb.plain_build(&self.ws, "app")
    }
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{}: no `{from}`", path.display());
    std::fs::write(path, text.replace(from, to)).unwrap();
}

#[test]
fn a_cmake_run_is_cached_and_each_input_it_read_changes_it() {
    let f = Fixture::new();
    let (first, run) = f.kiln_build();
    assert_eq!(first, "answer=42");
    assert_eq!(run["outcome"], "miss", "{run:#}");
    let (again, run) = f.kiln_build();
    assert_eq!(again, "answer=42");
    assert_eq!(run["outcome"], "hit", "CMake did not run again: {run:#}");

    // Each input: changed, the run happens again and the program is plain
    // cargo's; every change is kept for the next.
    let steps: [(&str, &str, &str, &str); 3] = [
        ("value.h", "ANSWER_VALUE 42", "ANSWER_VALUE 43", "answer=43"),
        (
            "CMakeLists.txt",
            "add_library(answer STATIC answer.c)",
            "add_library(answer STATIC answer.c)\ntarget_compile_definitions(answer PRIVATE BONUS=100)",
            "answer=143",
        ),
        (
            "answer.c",
            "ANSWER_VALUE + BONUS",
            "ANSWER_VALUE + BONUS + 1",
            "answer=144",
        ),
    ];
    for (file, from, to, expected) in steps {
        edit(&f.native(file), from, to);
        let (out, run) = f.kiln_build();
        assert_eq!(run["outcome"], "miss", "{file}: {run:#}");
        assert_eq!(out, expected, "{file}");
        assert_eq!(f.plain_build(), expected, "{file}: plain cargo");
    }
    // Back to the start: every run of the way hits again.
    for (file, from, to, _) in steps.iter().rev() {
        edit(&f.native(file), to, from);
    }
    let (back, run) = f.kiln_build();
    assert_eq!(back, "answer=42");
    assert_eq!(run["outcome"], "hit", "{run:#}");
}
