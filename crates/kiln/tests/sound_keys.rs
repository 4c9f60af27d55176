//! What a proc macro observed is keyed by what it got back: one
//! differential test per way a compile can depend on something rustc's
//! dep-info does not list.
//!
//! Fixture `observed`: a proc macro whose `probe!("kind", "arg")` expands to a
//! string computed while rustc runs (a variable read, the environment
//! walked, a shell run, `date`, a file's size, `git describe --dirty`), and
//! a program printing it. Each test builds, changes one input, `cargo
//! clean`s, builds through kiln and compares the program with a plain cargo
//! build of the same inputs; then it goes back and expects every unit to
//! hit.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{Sandbox, records};
use serde_json::Value;

struct Probe {
    sb: Sandbox,
    ws: PathBuf,
    /// Extra `cargo build` arguments.
    args: Vec<&'static str>,
}

impl Probe {
    fn new(kind: &str, arg: &str) -> Self {
        let sb = Sandbox::new();
        let ws = sb.workspace("observed", "ws");
        std::fs::write(
            ws.join("app/src/main.rs"),
            format!("fn main() {{\n    println!(\"{{}}\", mac::probe!({kind:?}, {arg:?}));\n}}\n"),
        )
        .unwrap();
        Self {
            sb,
            ws,
            args: Vec::new(),
        }
    }

    /// `cargo clean`, a build through kiln; the program's output and the
    /// build's records.
    fn kiln_build(&self) -> (String, Vec<Value>) {
        let clean = self
            .sb
            .command("cargo", &self.ws)
            .args(["clean", "-q"])
            .output()
            .unwrap();
        assert!(clean.status.success());
        let before = records(&self.sb.kiln_dir).len();
        let mut args = vec!["build", "--locked"];
        args.extend(&self.args);
        let out = self.sb.cargo(&self.ws, &args);
        let warnings = common::kiln_warnings(&out);
        assert!(warnings.is_empty(), "{warnings:?}");
        let recs = records(&self.sb.kiln_dir)
            .into_iter()
            .skip(before)
            .collect();
        let app = self.sb.run_program(&self.ws.join("target/debug/app"));
        (app.trim().to_owned(), recs)
    }

    /// The same build without kiln, in its own target dir.
    fn plain_build(&self) -> String {
        let target = self.sb.root.path().join("plain-target");
        let _ = std::fs::remove_dir_all(&target);
        let out = self
            .sb
            .command("cargo", &self.ws)
            .args(["build", "--locked", "--target-dir"])
            .arg(&target)
            .args(&self.args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.sb
            .run_program(&target.join("debug/app"))
            .trim()
            .to_owned()
    }

    /// Builds, applies `change`, checks kiln against plain cargo, undoes it
    /// and expects every unit to hit. Returns the two outputs.
    fn differential(
        &mut self,
        change: impl Fn(&mut Self),
        undo: impl Fn(&mut Self),
    ) -> (String, String) {
        let (first, _) = self.kiln_build();
        change(self);
        let (changed, recs) = self.kiln_build();
        assert_eq!(changed, self.plain_build(), "kiln and plain cargo differ");
        assert_ne!(changed, first, "the change must show in the program");
        assert!(
            recs.iter()
                .any(|r| r["crate_name"] == "app" && r["outcome"] == "miss"),
            "the program missed: {recs:#?}"
        );
        undo(self);
        let (back, recs) = self.kiln_build();
        assert_eq!(back, first);
        for r in recs.iter().filter(|r| r["outcome"] != "probe") {
            assert_eq!(r["outcome"], "hit", "{r:#}");
        }
        (first, changed)
    }
}

#[test]
fn a_variable_found_by_walking_the_environment_is_keyed() {
    let mut p = Probe::new("vars", "PROBE_X");
    p.args = vec!["--features", "walk"];
    p.sb.set("PROBE_X", "one");
    p.differential(
        |p| p.sb.set("PROBE_X", "two"),
        |p| p.sb.set("PROBE_X", "one"),
    );
}

#[test]
fn a_variable_compilers_ignore_is_keyed_when_a_proc_macro_reads_it() {
    let mut p = Probe::new("var", "USER");
    p.sb.set("USER", "alice");
    let (first, changed) =
        p.differential(|p| p.sb.set("USER", "bob"), |p| p.sb.set("USER", "alice"));
    assert_eq!((first.as_str(), changed.as_str()), ("alice", "bob"));
}

#[test]
fn a_shell_a_proc_macro_runs_reads_the_environment() {
    let mut p = Probe::new("sh", "PROBE_X");
    p.sb.set("PROBE_X", "one");
    p.differential(
        |p| p.sb.set("PROBE_X", "two"),
        |p| p.sb.set("PROBE_X", "one"),
    );
}

#[test]
fn the_time_zone_a_program_reads_inside_libc_is_keyed() {
    let mut p = Probe::new("tz", "");
    p.sb.set("TZ", "UTC0");
    let (first, changed) = p.differential(|p| p.sb.set("TZ", "JST-9"), |p| p.sb.set("TZ", "UTC0"));
    assert_eq!((first.as_str(), changed.as_str()), ("UTC", "JST"));
}

#[test]
fn a_proc_macro_that_reads_the_clock_or_runs_date_is_not_cached() {
    for (kind, features) in [("now", vec!["--features", "clock"]), ("date", vec![])] {
        let mut p = Probe::new(kind, "");
        p.args = features;
        let (first, recs) = p.kiln_build();
        let app = recs.iter().find(|r| r["crate_name"] == "app").unwrap();
        assert_eq!(app["outcome"], "not_cacheable", "{kind}: {app:#}");
        assert_eq!(app["reason"], "clock", "{kind}: {app:#}");
        if kind == "now" {
            let (second, _) = p.kiln_build();
            assert_ne!(first, second, "a new time each build, as with plain cargo");
        }
    }
    // Code that could read the clock but did not (rustversion reads it only
    // for an error message) is cached.
    let mut p = Probe::new("var", "PROBE_X");
    p.args = vec!["--features", "clock"];
    let (_, recs) = p.kiln_build();
    let app = recs.iter().find(|r| r["crate_name"] == "app").unwrap();
    assert_eq!(app["outcome"], "miss", "{app:#}");
}

#[test]
fn the_size_of_a_file_a_proc_macro_only_stats_is_keyed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data.bin");
    std::fs::write(&data, "abc").unwrap();
    let mut p = Probe::new("len", data.to_str().unwrap());
    let d = data.clone();
    let (first, changed) = p.differential(
        move |_| std::fs::write(&d, "abcdef").unwrap(),
        move |_| std::fs::write(&data, "abc").unwrap(),
    );
    assert_eq!((first.as_str(), changed.as_str()), ("3", "6"));
}

fn git(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@t"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A probe whose proc macro runs `git describe --dirty` on a fresh checkout
/// of its own workspace, committed once.
fn git_probe() -> Probe {
    let p = Probe::new("git", "");
    let ws = p.ws.clone();
    std::fs::write(
        ws.join("app/src/main.rs"),
        format!(
            "fn main() {{\n    println!(\"{{}}\", mac::probe!(\"git\", {:?}));\n}}\n",
            ws.to_str().unwrap()
        ),
    )
    .unwrap();
    std::fs::write(ws.join(".gitignore"), "target/\n").unwrap();
    std::fs::write(ws.join("notes.txt"), "aaaa\n").unwrap();
    git(&ws, &["init", "-q"]);
    git(&ws, &["add", "."]);
    git(&ws, &["commit", "-q", "-m", "first"]);
    settle(&ws);
    p
}

/// A checkout's index made fresh (as after a clone): a describe reads it and
/// writes nothing.
fn settle(ws: &Path) {
    // Past git's racy window (whole seconds): the index then trusts the
    // times it records.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let _ = std::process::Command::new("git")
        .args(["update-index", "-q", "--refresh"])
        .current_dir(ws)
        .output();
}

#[test]
fn a_checkout_made_dirty_by_a_same_size_edit_is_seen() {
    let p = git_probe();
    let ws = p.ws.clone();
    // git keys what it reads (its index, rewritten by every refresh), so
    // only the programs are compared here, not the hits.
    let (first, _) = p.kiln_build();
    std::fs::write(ws.join("notes.txt"), "bbbb\n").unwrap();
    settle(&ws);
    let (changed, _) = p.kiln_build();
    assert_eq!(changed, p.plain_build());
    std::fs::write(ws.join("notes.txt"), "aaaa\n").unwrap();
    settle(&ws);
    let (back, _) = p.kiln_build();
    assert_eq!(back, first);
    assert_eq!(back, p.plain_build());
    assert!(changed.ends_with("-dirty"), "{changed}");
    assert!(!first.ends_with("-dirty"), "{first}");
}

/// git reads `PATH` to find its helpers: what it found is keyed, the text of
/// `PATH` is not (rustup puts each `CARGO_HOME`'s `bin` in front of it).
#[test]
fn git_run_by_a_proc_macro_is_keyed_by_the_git_found_not_by_path_text() {
    let mut p = git_probe();
    let path = std::env::var("PATH").unwrap();
    let (first, _) = p.kiln_build();
    let empty = p.sb.root.path().join("other-home/bin");
    std::fs::create_dir_all(&empty).unwrap();
    p.sb.set("PATH", &format!("{}:{path}", empty.display()));
    let (same, recs) = p.kiln_build();
    assert_eq!(same, first);
    let app = recs.iter().find(|r| r["crate_name"] == "app").unwrap();
    assert_eq!(app["outcome"], "hit", "{app:#}");
    // Another git first on PATH is another input.
    let fake = p.sb.root.path().join("fake-bin");
    std::fs::create_dir_all(&fake).unwrap();
    let script = fake.join("git");
    std::fs::write(&script, "#!/bin/sh\necho v9.9-fake\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    p.sb.set("PATH", &format!("{}:{path}", fake.display()));
    let (faked, recs) = p.kiln_build();
    assert_eq!(faked, "v9.9-fake");
    assert_eq!(faked, p.plain_build());
    let app = recs.iter().find(|r| r["crate_name"] == "app").unwrap();
    assert_eq!(app["outcome"], "miss", "{app:#}");
    p.sb.set("PATH", &path);
    let (back, recs) = p.kiln_build();
    assert_eq!(back, first);
    let app = recs.iter().find(|r| r["crate_name"] == "app").unwrap();
    assert_eq!(app["outcome"], "hit", "{app:#}");
}

/// A compiled program `dir/name` whose `main` is `body` (a shell script
/// would read `PATH` itself).
fn put_program(dir: &Path, name: &str, body: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let src = dir.join(format!("{name}.c"));
    std::fs::write(
        &src,
        format!("#include <stdio.h>\n#include <stdlib.h>\nint main(void) {{ {body} return 0; }}\n"),
    )
    .unwrap();
    let cc = std::process::Command::new("cc")
        .arg(&src)
        .arg("-o")
        .arg(dir.join(name))
        .status()
        .unwrap();
    assert!(cc.success());
}

/// A build of `app` with `PATH` set to `path`: its output matches plain
/// cargo's, and its outcome is `outcome`.
fn build_on_path(p: &mut Probe, path: &str, outcome: &str) -> String {
    p.sb.set("PATH", path);
    let (out, recs) = p.kiln_build();
    assert_eq!(out, p.plain_build(), "PATH={path}");
    let app = recs.iter().find(|r| r["crate_name"] == "app").unwrap();
    assert_eq!(app["outcome"], outcome, "PATH={path}: {app:#}");
    out
}

/// git finds its helpers by probing each directory of `PATH` itself: a
/// directory put in front that holds the helper is another input.
#[test]
fn a_git_helper_first_on_a_longer_path_is_another_input() {
    let mut p = Probe::new("gitargs", "hello");
    let path = std::env::var("PATH").unwrap();
    let (b1, b2) = (p.sb.root.path().join("b1"), p.sb.root.path().join("b2"));
    put_program(&b1, "git-hello", r#"puts("one");"#);
    put_program(&b2, "git-hello", r#"puts("two");"#);
    let first = format!("{}:{path}", b1.display());
    assert_eq!(build_on_path(&mut p, &first, "miss"), "one");
    let longer = format!("{}:{first}", b2.display());
    assert_eq!(build_on_path(&mut p, &longer, "miss"), "two");
    assert_eq!(build_on_path(&mut p, &first, "hit"), "one");
}

/// A directory of `PATH` spelled with `..` names the directory git probes.
#[test]
fn a_path_directory_spelled_with_dot_dot_is_the_one_probed() {
    let mut p = Probe::new("gitargs", "hello");
    let path = std::env::var("PATH").unwrap();
    let root = p.sb.root.path().to_path_buf();
    put_program(&root.join("b1"), "git-hello", r#"puts("one");"#);
    put_program(&root.join("b2"), "git-hello", r#"puts("two");"#);
    std::fs::create_dir_all(root.join("x")).unwrap();
    let via = |d: &str| format!("{}/x/../{d}", root.display());
    let first = format!("{}:{path}", via("b1"));
    assert_eq!(build_on_path(&mut p, &first, "miss"), "one");
    let longer = format!("{}:{first}", via("b2"));
    assert_eq!(build_on_path(&mut p, &longer, "miss"), "two");
    assert_eq!(build_on_path(&mut p, &first, "hit"), "one");
}

/// A relative directory put in front of `PATH` names a directory below the
/// working directory, where git finds its helper first.
#[test]
fn a_relative_path_directory_put_in_front_is_seen() {
    let mut p = Probe::new("gitargs", "hello");
    let path = std::env::var("PATH").unwrap();
    let b1 = p.sb.root.path().join("b1");
    put_program(&b1, "git-hello", r#"puts("one");"#);
    put_program(&p.ws.join("rel"), "git-hello", r#"puts("two");"#);
    let first = format!("{}:{path}", b1.display());
    assert_eq!(build_on_path(&mut p, &first, "miss"), "one");
    let longer = format!("rel:{first}");
    assert_eq!(build_on_path(&mut p, &longer, "not_cacheable"), "two");
    assert_eq!(build_on_path(&mut p, &first, "hit"), "one");
}

/// `git --list-cmds=others` lists every directory of `PATH`: a directory
/// put in front is another input even when nothing in it was looked for.
#[test]
fn git_listing_the_directories_of_path_keys_path() {
    let mut p = Probe::new("gitargs", "--list-cmds=others");
    let path = std::env::var("PATH").unwrap();
    let (b1, b2) = (p.sb.root.path().join("b1"), p.sb.root.path().join("b2"));
    put_program(&b1, "git-one", "");
    put_program(&b2, "git-two", "");
    let first = format!("{}:{path}", b1.display());
    let listed = build_on_path(&mut p, &first, "miss");
    assert!(
        listed.contains("one") && !listed.contains("two"),
        "{listed}"
    );
    let longer = format!("{}:{first}", b2.display());
    assert!(build_on_path(&mut p, &longer, "miss").contains("two"));
    build_on_path(&mut p, &first, "hit");
}

/// A compiled program named `git` is trusted as git only when it is one.
#[test]
fn another_program_named_git_is_keyed_by_path() {
    let mut p = Probe::new("gitargs", "");
    let path = std::env::var("PATH").unwrap();
    let fake = p.sb.root.path().join("fake");
    put_program(&fake, "git", r#"puts(getenv("PATH"));"#);
    let first = format!("{}:{path}", fake.display());
    let empty = p.sb.root.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let longer = format!("{}:{first}", empty.display());
    build_on_path(&mut p, &first, "miss");
    build_on_path(&mut p, &longer, "miss");
    build_on_path(&mut p, &first, "hit");
}

#[test]
fn ci_is_read_only_by_the_compiler_and_changes_nothing() {
    let mut p = Probe::new("var", "PROBE_X");
    p.sb.unset("CI");
    let (first, _) = p.kiln_build();
    let plain = p.plain_build();
    p.sb.set("CI", "true");
    let (with_ci, recs) = p.kiln_build();
    assert_eq!(with_ci, first);
    assert_eq!(p.plain_build(), plain);
    for r in recs.iter().filter(|r| r["outcome"] != "probe") {
        assert_eq!(r["outcome"], "hit", "{r:#}");
    }
    // The outputs themselves do not depend on it: plain cargo builds the
    // same bytes with and without it.
    let target = p.sb.root.path().join("plain-target/debug/app");
    let with = std::fs::read(&target).unwrap();
    p.sb.unset("CI");
    p.plain_build();
    assert_eq!(std::fs::read(&target).unwrap(), with);
}

#[test]
fn a_proc_macro_reading_with_its_own_system_calls_is_not_cached() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("raw.txt");
    std::fs::write(&data, "first").unwrap();
    let mut p = Probe::new("raw", data.to_str().unwrap());
    p.args = vec!["--features", "raw"];
    let (first, recs) = p.kiln_build();
    assert_eq!(first, "first");
    let app = recs.iter().find(|r| r["crate_name"] == "app").unwrap();
    assert_eq!(app["outcome"], "not_cacheable", "{app:#}");
    assert_eq!(app["reason"], "raw_syscalls", "{app:#}");
    std::fs::write(&data, "second").unwrap();
    let (second, _) = p.kiln_build();
    assert_eq!(second, "second");
    assert_eq!(second, p.plain_build());
}

#[test]
fn a_profile_that_strips_symbols_does_not_key_proc_macro_users_by_everything() {
    let mut p = Probe::new("var", "PROBE_X");
    // `strip = true` in the profile: the shipped program is stripped; the
    // proc macro keeps the symbols kiln reads its code by.
    p.sb.set("CARGO_PROFILE_DEV_STRIP", "true");
    let (first, _) = p.kiln_build();
    p.sb.set("SOME_CI_RUN_ID", "12345");
    let (again, recs) = p.kiln_build();
    assert_eq!(again, first);
    for r in recs.iter().filter(|r| r["outcome"] != "probe") {
        assert_eq!(r["outcome"], "hit", "{r:#}");
    }
    let app = std::fs::read(p.ws.join("target/debug/app")).unwrap();
    let plain = p.plain_build();
    assert_eq!(plain, first);
    let plain_app = std::fs::read(p.sb.root.path().join("plain-target/debug/app")).unwrap();
    assert_eq!(
        app, plain_app,
        "the program is stripped as plain cargo strips it"
    );
}
