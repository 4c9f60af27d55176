//! kiln never breaks a build: corrupt entries, an unusable store, bad
//! settings and concurrent builds all end with correct programs.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::{Sandbox, counts};

fn entries(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(shards) = std::fs::read_dir(dir.join("entries")) else {
        return out;
    };
    for s in shards.flatten() {
        for f in std::fs::read_dir(s.path()).unwrap().flatten() {
            out.push(f.path());
        }
    }
    out
}

#[test]
fn corrupt_and_truncated_entries_are_removed_and_recompiled() {
    let sb = Sandbox::new();
    let ws = sb.workspace("basic", "ws");
    sb.cargo(&ws, &["build", "--release"]);
    let cold = sb.take_stats();
    let expected = sb.run_program(&ws.join("target/release/app"));
    let all = entries(&sb.kiln_dir);
    assert_eq!(all.len() as u64, counts(&cold).1);
    for (i, e) in all.iter().enumerate() {
        let mut bytes = std::fs::read(e).unwrap();
        if i % 2 == 0 {
            let n = bytes.len();
            bytes[n / 2] ^= 0xff;
        } else {
            bytes.truncate(bytes.len() / 3);
        }
        std::fs::write(e, bytes).unwrap();
    }
    sb.cargo(&ws, &["clean"]);
    let out = sb.cargo(&ws, &["build", "--release"]);
    let s = sb.take_stats();
    assert_eq!(
        s["corrupt_entries"].as_u64().unwrap(),
        counts(&cold).1,
        "{s}"
    );
    assert_eq!(counts(&s).1, counts(&cold).1, "every unit recompiled: {s}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning: kiln: corrupt cache entry"));
    assert_eq!(sb.run_program(&ws.join("target/release/app")), expected);
    // The recompiled entries are good again.
    sb.cargo(&ws, &["clean"]);
    sb.cargo(&ws, &["build", "--release"]);
    assert_eq!(counts(&sb.take_stats()).0, counts(&cold).1);
}

#[test]
fn unusable_store_warns_and_builds() {
    let mut sb = Sandbox::new();
    let ws = sb.workspace("basic", "ws");
    // The store path is a regular file: nothing can be created below it.
    let blocker = sb.root.path().join("not-a-dir");
    std::fs::write(&blocker, "x").unwrap();
    sb.set("KILN_DIR", blocker.join("store").to_str().unwrap());
    let out = sb.cargo(&ws, &["build", "--release"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("warning: kiln:"), "{stderr}");
    assert!(
        sb.run_program(&ws.join("target/release/app"))
            .contains("hello from shared")
    );
}

#[test]
fn bad_setting_warns_and_builds_uncached() {
    let mut sb = Sandbox::new();
    let ws = sb.workspace("basic", "ws");
    sb.set("KILN_CACHE_SIZE", "lots");
    let out = sb.cargo(&ws, &["build", "--release"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: kiln: invalid value `lots` for `KILN_CACHE_SIZE`"),
        "{stderr}"
    );
    assert!(
        sb.run_program(&ws.join("target/release/app"))
            .contains("hello from shared")
    );

    // The same with RUSTC_WRAPPER set directly (no `kiln run`): each call warns and compiles.
    let mut c = sb.command("cargo", &ws);
    c.args(["build", "--release"])
        .env("RUSTC_WRAPPER", common::kiln_bin());
    std::fs::remove_dir_all(ws.join("target")).unwrap();
    let out = c.output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning: kiln: invalid value"));
}

#[test]
fn disabled_compiles_everything() {
    let mut sb = Sandbox::new();
    let ws = sb.workspace("basic", "ws");
    sb.set("KILN_DISABLE", "1");
    sb.cargo(&ws, &["build", "--release"]);
    let s = sb.take_stats();
    assert_eq!(s["hits"], 0);
    assert!(s["not_cacheable"]["disabled"].as_u64().unwrap() >= 4, "{s}");
}

#[test]
fn concurrent_builds_share_one_store_and_compile_each_unit_once() {
    let sb = Sandbox::new();
    let a = sb.workspace("basic", "a");
    let b = sb.workspace("basic", "b");
    let c = sb.workspace("basic", "c");
    let spawn = |ws: &Path| {
        let mut cmd = sb.command(common::kiln_bin(), ws);
        cmd.args(["run", "--quiet", "--", "cargo", "build", "--release"]);
        cmd.spawn().unwrap()
    };
    let children = [spawn(&a), spawn(&b), spawn(&c)];
    for mut ch in children {
        assert!(ch.wait().unwrap().success());
    }
    let s = sb.take_stats();
    // 7 units per build (6 compiles and the run of `shared`'s build
    // script). Each runs once and hits in the other two builds, except
    // `shared`, `app` and the build-script run, whose keys hold their
    // checkout paths (`OUT_DIR` read by `env!`, `CARGO_MANIFEST_DIR` read by
    // a proc macro, both handed to the build script): they run in each build.
    assert_eq!(counts(&s), (8, 13, 0), "{s}");
    for ws in [&a, &b, &c] {
        assert!(
            sb.run_program(&ws.join("target/release/app"))
                .contains("hello from shared")
        );
    }
}

#[test]
fn failing_compile_is_not_cached_and_keeps_its_exit_code() {
    let sb = Sandbox::new();
    let ws = sb.workspace("basic", "ws");
    std::fs::write(ws.join("shared/src/lib.rs"), "pub fn broken( {").unwrap();
    let out = sb.cargo_unchecked(&ws, &["build", "--release"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("error"));
    let s = sb.take_stats();
    assert_eq!(s["compile_errors"], 1, "{s}");
}

/// A store on a tiny filesystem: writes fail with "no space left". Mounting
/// one needs root: reported as ignored elsewhere (`scripts/test.sh` runs it
/// when it can).
#[test]
#[ignore = "mounts a tmpfs, which needs root; scripts/test.sh runs it as root"]
fn full_disk_warns_and_builds() {
    let mut sb = Sandbox::new();
    let ws = sb.workspace("basic", "ws");
    let mnt = sb.root.path().join("tiny");
    std::fs::create_dir_all(&mnt).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
        .arg(&mnt)
        .status()
        .is_ok_and(|s| s.success());
    assert!(mounted, "cannot mount a small tmpfs here: run as root");
    sb.set("KILN_DIR", mnt.to_str().unwrap());
    let out = sb.cargo_unchecked(&ws, &["build", "--release"]);
    let _ = std::process::Command::new("umount").arg(&mnt).status();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("warning: kiln:"), "{stderr}");
    assert!(
        sb.run_program(&ws.join("target/release/app"))
            .contains("hello from shared")
    );
}

/// A compiler killed by a signal is reported as cargo reports it without
/// kiln: "signal: 9", not an exit status.
#[test]
fn a_compiler_killed_by_a_signal_is_reported_as_one() {
    use std::os::unix::fs::PermissionsExt;
    let mut sb = Sandbox::new();
    let ws = sb.workspace("basic", "ws");
    let script = sb.root.path().join("dying-rustc");
    std::fs::write(
        &script,
        "#!/bin/sh\ncase \"$*\" in *\"--crate-name app \"*) kill -9 $$;; esac\nexec rustc \"$@\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    sb.set("RUSTC", script.to_str().unwrap());
    let out = sb.cargo_unchecked(&ws, &["build", "--release"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("signal: 9"), "{stderr}");
    assert!(!stderr.contains("exit status: 137"), "{stderr}");
}

/// `KILN_DIR` naming a file: every command says so with a hint and fails;
/// a build warns and compiles uncached.
#[test]
fn a_kiln_dir_that_is_a_file_is_named_everywhere() {
    let mut sb = Sandbox::new();
    let ws = sb.workspace("basic", "ws");
    let file = sb.root.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    sb.kiln_dir = file;
    for args in [&["stats"][..], &["history"], &["explain"], &["gc"]] {
        let out = sb.kiln(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}: {stderr}");
        assert!(
            stderr.contains("error: invalid value")
                && stderr.contains("it is a file, not a directory"),
            "{args:?}: {stderr}"
        );
        assert!(
            stderr.contains("hint: point `KILN_DIR` at a directory"),
            "{args:?}: {stderr}"
        );
    }
    let out = sb.cargo(&ws, &["build", "--release"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: kiln: invalid value") && stderr.contains("it is a file"),
        "{stderr}"
    );
    assert!(
        sb.run_program(&ws.join("target/release/app"))
            .contains("hello from shared")
    );
}
