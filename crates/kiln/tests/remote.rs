//! The remote tier against real servers on 127.0.0.1: an S3-compatible
//! server (`s3s-fs`) and Redis. Builds are real cargo builds of fixture
//! workspaces; a "fresh runner" is a new, empty `KILN_DIR`.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::{Sandbox, counts};

/// Switches to an empty local store, like a new CI runner.
fn fresh_runner(sb: &mut Sandbox, name: &str) {
    sb.kiln_dir = sb.root.path().join(name);
}

/// `cargo clean` and a release build on a new runner.
fn rebuild_on_fresh_runner(sb: &mut Sandbox, ws: &Path, name: &str) -> std::process::Output {
    fresh_runner(sb, name);
    sb.cargo(ws, &["clean"]);
    sb.cargo(ws, &["build", "--release"])
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The build's only remote warning (it must have exactly one).
fn one_remote_warning(out: &std::process::Output) -> String {
    let mut warnings = remote_warnings(out);
    assert_eq!(warnings.len(), 1, "{}", stderr(out));
    warnings.remove(0)
}

fn remote_warnings(out: &std::process::Output) -> Vec<String> {
    stderr(out)
        .lines()
        .filter(|l| l.starts_with("warning: kiln: remote"))
        .map(str::to_owned)
        .collect()
}

#[cfg(feature = "s3")]
mod s3 {
    use super::*;
    use common::servers::{ACCESS_KEY, Fault, FaultProxy, S3Server, SECRET_KEY};
    use serde_json::Value;

    const BUCKET: &str = "team-cache";

    /// A sandbox using a real S3 server behind a proxy that injects `fault`.
    fn behind_proxy(fault: Fault) -> (Sandbox, S3Server, FaultProxy) {
        let mut sb = Sandbox::new();
        let s3 = S3Server::start(&sb.root.path().join("s3"), BUCKET);
        let proxy = FaultProxy::start(s3.port, fault);
        use_s3(&mut sb, &s3);
        sb.set("AWS_ENDPOINT_URL", &proxy.endpoint());
        (sb, s3, proxy)
    }

    fn use_s3(sb: &mut Sandbox, s3: &S3Server) {
        sb.set("KILN_REMOTE", &format!("s3://{BUCKET}/kiln"));
        sb.set("AWS_ENDPOINT_URL", &s3.endpoint());
        sb.set("AWS_ACCESS_KEY_ID", ACCESS_KEY);
        sb.set("AWS_SECRET_ACCESS_KEY", SECRET_KEY);
        sb.set("AWS_REGION", "us-east-1");
        sb.set("KILN_REMOTE_TIMEOUT", "5s");
    }

    fn entries(s3: &S3Server) -> usize {
        s3.objects(&format!("{BUCKET}/kiln/entries")).len()
    }

    fn remote_report(kiln_dir: &Path) -> Value {
        let dir = kiln_dir.join("records");
        let f = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .find(|f| f.file_name().to_string_lossy().ends_with(".remote.json"))
            .expect("a remote report");
        serde_json::from_slice(&std::fs::read(f.path()).unwrap()).unwrap()
    }

    #[test]
    fn a_cold_run_fills_the_bucket_and_fresh_runners_hit_with_and_without_prefetch() {
        let mut sb = Sandbox::new();
        let s3 = S3Server::start(&sb.root.path().join("s3"), BUCKET);
        use_s3(&mut sb, &s3);
        let ws = sb.workspace("basic", "ws");
        let out = sb.cargo(&ws, &["build", "--release"]);
        let cold = sb.take_stats();
        let (_, misses, uncached) = counts(&cold);
        assert_eq!(uncached, 0, "{cold}");
        assert!(misses >= 4, "{cold}");
        assert!(remote_warnings(&out).is_empty(), "{}", stderr(&out));
        assert_eq!(entries(&s3), misses as usize, "every miss uploaded");
        assert_eq!(cold["remote"]["uploads"], misses * 3, "{cold}");
        assert!(!s3.objects(&format!("{BUCKET}/kiln/index")).is_empty());
        assert!(!s3.objects(&format!("{BUCKET}/kiln/runs")).is_empty());
        let expected = sb.run_program(&ws.join("target/release/app"));

        // A new runner, same checkout path: everything comes from the bucket,
        // fetched ahead of cargo from the previous build's index.
        let out = rebuild_on_fresh_runner(&mut sb, &ws, "runner-2");
        let warm = sb.take_stats();
        assert_eq!(counts(&warm), (misses, 0, 0), "{warm}\n{}", stderr(&out));
        assert_eq!(warm["remote"]["hits"], misses, "{warm}");
        assert_eq!(sb.run_program(&ws.join("target/release/app")), expected);
        let report = remote_report(&sb.kiln_dir);
        assert_eq!(report["prefetched_entries"], misses, "{report}");
        assert_eq!(report["errors"], 0, "{report}");
        assert_eq!(report["fetched"], 0, "nothing waited for: {report}");
        // The index carries the manifests: one request for it, one per
        // entry, then the new index and the run's records.
        assert_eq!(report["requests"], misses + 3, "{report}");
        // Fetched entries stay compressed on disk, a third of their size.
        let local_entries = walk_files(&sb.kiln_dir.join("entries"));
        assert_eq!(local_entries.len(), misses as usize);
        for e in &local_entries {
            let head = std::fs::read(e).unwrap();
            assert!(
                head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]),
                "{}",
                e.display()
            );
        }

        // A damaged compressed entry is caught while restoring, removed, and
        // fetched again: every unit still hits, the program is the same.
        let mut bytes = std::fs::read(&local_entries[0]).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0x55;
        std::fs::write(&local_entries[0], bytes).unwrap();
        sb.set("KILN_REMOTE_READ_ONLY", "1");
        sb.cargo(&ws, &["clean"]);
        let out = sb.cargo(&ws, &["build", "--release"]);
        let again = sb.take_stats();
        assert_eq!(counts(&again), (misses, 0, 0), "{again}");
        assert_eq!(again["remote"]["hits"], 1, "{again}");
        assert!(stderr(&out).contains("removed it"), "{}", stderr(&out));
        assert_eq!(sb.run_program(&ws.join("target/release/app")), expected);
        sb.unset("KILN_REMOTE_READ_ONLY");

        // Without prefetch each unit asks for its manifest and its entry.
        fresh_runner(&mut sb, "runner-3");
        sb.set("KILN_PREFETCH", "0");
        sb.cargo(&ws, &["clean"]);
        sb.cargo(&ws, &["build", "--release"]);
        let warm = sb.take_stats();
        assert_eq!(counts(&warm), (misses, 0, 0), "{warm}");
        assert_eq!(warm["remote"]["hits"], misses, "{warm}");
        let report = remote_report(&sb.kiln_dir);
        assert_eq!(report["prefetched_entries"], 0, "{report}");
        assert_eq!(report["fetched_entries"], misses, "{report}");
    }

    #[test]
    fn registry_crates_hit_from_the_bucket_in_another_checkout() {
        let mut sb = Sandbox::new();
        let s3 = S3Server::start(&sb.root.path().join("s3"), BUCKET);
        use_s3(&mut sb, &s3);
        let a = sb.workspace("registry", "a");
        sb.cargo(&a, &["build", "--locked"]);
        let (_, misses, _) = counts(&sb.take_stats());
        let expected = sb.run_program(&a.join("target/debug/regapp"));

        fresh_runner(&mut sb, "runner-2");
        let b = sb.workspace("registry", "elsewhere/b");
        sb.cargo(&b, &["build", "--locked"]);
        let warm = sb.take_stats();
        assert_eq!(counts(&warm), (misses, 0, 0), "{warm}");
        assert_eq!(sb.run_program(&b.join("target/debug/regapp")), expected);
    }

    #[test]
    fn read_only_runs_read_and_never_write() {
        let mut sb = Sandbox::new();
        let s3 = S3Server::start(&sb.root.path().join("s3"), BUCKET);
        use_s3(&mut sb, &s3);
        sb.set("KILN_REMOTE_READ_ONLY", "1");
        let ws = sb.workspace("basic", "ws");
        sb.cargo(&ws, &["build", "--release"]);
        let (_, misses, _) = counts(&sb.take_stats());
        assert!(misses > 0);
        assert!(
            s3.objects(BUCKET).is_empty(),
            "read-only wrote {:?}",
            s3.objects(BUCKET)
        );

        // The trusted main-branch build writes; a read-only PR build then hits.
        sb.unset("KILN_REMOTE_READ_ONLY");
        rebuild_on_fresh_runner(&mut sb, &ws, "main-runner");
        sb.take_stats();
        let written = s3.objects(BUCKET).len();
        sb.set("KILN_REMOTE_READ_ONLY", "1");
        rebuild_on_fresh_runner(&mut sb, &ws, "pr-runner");
        let warm = sb.take_stats();
        assert_eq!(counts(&warm), (misses, 0, 0), "{warm}");
        assert_eq!(s3.objects(BUCKET).len(), written, "nothing new written");
    }

    #[test]
    fn a_signed_store_rejects_tampered_and_unsigned_entries() {
        let mut sb = Sandbox::new();
        let s3 = S3Server::start(&sb.root.path().join("s3"), BUCKET);
        use_s3(&mut sb, &s3);
        sb.set("KILN_SIGNING_KEY", "a-long-random-secret-for-the-test");
        let ws = sb.workspace("basic", "ws");
        sb.cargo(&ws, &["build", "--release"]);
        let (_, misses, _) = counts(&sb.take_stats());
        let expected = sb.run_program(&ws.join("target/release/app"));

        // Flip one byte of one stored entry, the way an attacker with write
        // access to the bucket (but not the key) would change it.
        let entry_files = s3.objects(&format!("{BUCKET}/kiln/entries"));
        let victim = &entry_files[0];
        let mut bytes = std::fs::read(victim).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x55;
        std::fs::write(victim, bytes).unwrap();

        let out = rebuild_on_fresh_runner(&mut sb, &ws, "runner-2");
        let warm = sb.take_stats();
        assert_eq!(
            counts(&warm),
            (misses - 1, 1, 0),
            "{warm}\n{}",
            stderr(&out)
        );
        assert_eq!(sb.run_program(&ws.join("target/release/app")), expected);
        assert_eq!(remote_report(&sb.kiln_dir)["rejected"], 1);

        // A reader with another key trusts nothing in the store.
        sb.set("KILN_SIGNING_KEY", "another-secret-another-secret!!");
        sb.set("KILN_REMOTE_READ_ONLY", "1");
        rebuild_on_fresh_runner(&mut sb, &ws, "runner-3");
        let other = sb.take_stats();
        assert_eq!(counts(&other), (0, misses, 0), "{other}");
    }

    #[test]
    fn a_signing_reader_ignores_unsigned_entries() {
        let mut sb = Sandbox::new();
        let s3 = S3Server::start(&sb.root.path().join("s3"), BUCKET);
        use_s3(&mut sb, &s3);
        let ws = sb.workspace("basic", "ws");
        sb.cargo(&ws, &["build", "--release"]);
        let (_, misses, _) = counts(&sb.take_stats());
        assert!(entries(&s3) > 0);

        // Written without a key; read by a build that requires signatures.
        sb.set("KILN_SIGNING_KEY", "a-long-random-secret-for-the-test");
        sb.set("KILN_REMOTE_READ_ONLY", "1");
        rebuild_on_fresh_runner(&mut sb, &ws, "runner-2");
        let stats = sb.take_stats();
        assert_eq!(counts(&stats), (0, misses, 0), "{stats}");
        assert!(remote_report(&sb.kiln_dir)["rejected"].as_u64().unwrap() >= 1);
        sb.run_program(&ws.join("target/release/app"));
    }

    #[test]
    fn wrong_credentials_warn_once_and_the_build_succeeds() {
        let mut sb = Sandbox::new();
        let s3 = S3Server::start(&sb.root.path().join("s3"), BUCKET);
        use_s3(&mut sb, &s3);
        sb.set("AWS_SECRET_ACCESS_KEY", "not-the-secret");
        let ws = sb.workspace("basic", "ws");
        let out = sb.cargo(&ws, &["build", "--release"]);
        let warning = one_remote_warning(&out);
        assert!(warning.contains("access denied"), "{warning}");
        let stats = sb.take_stats();
        assert!(counts(&stats).1 > 0, "compiled and cached locally: {stats}");
        assert!(s3.objects(BUCKET).is_empty());
        sb.run_program(&ws.join("target/release/app"));
    }

    #[test]
    fn a_missing_bucket_is_named_once_and_the_build_succeeds() {
        // s3s-fs creates buckets on write, so S3's answer for a bucket that
        // does not exist comes from the proxy.
        let (sb, _s3, _proxy) = behind_proxy(Fault::Status(404));
        let ws = sb.workspace("basic", "ws");
        let out = sb.cargo(&ws, &["build", "--release"]);
        let warning = one_remote_warning(&out);
        assert!(
            warning.contains(&format!("s3://{BUCKET}/kiln"))
                && warning.contains("the bucket does not exist"),
            "{warning}"
        );
        let stats = sb.take_stats();
        assert!(counts(&stats).1 > 0, "compiled and cached locally: {stats}");
        sb.run_program(&ws.join("target/release/app"));
    }

    #[test]
    fn an_unreachable_store_is_given_up_at_once() {
        let mut sb = Sandbox::new();
        let mut s3 = S3Server::start(&sb.root.path().join("s3"), BUCKET);
        use_s3(&mut sb, &s3);
        s3.kill();
        let ws = sb.workspace("basic", "ws");
        let out = sb.cargo(&ws, &["build", "--release"]);
        let warning = one_remote_warning(&out);
        assert!(warning.contains("unreachable"), "{warning}");
        let stats = sb.take_stats();
        assert_eq!(counts(&stats).2, 0, "{stats}");
        sb.run_program(&ws.join("target/release/app"));
    }

    #[test]
    fn a_server_killed_mid_build_leaves_a_good_build_and_one_warning() {
        let mut sb = Sandbox::new();
        let mut s3 = S3Server::start(&sb.root.path().join("s3"), BUCKET);
        use_s3(&mut sb, &s3);
        let ws = sb.workspace("basic", "ws");
        let mut c = sb.command(common::kiln_bin(), &ws);
        c.args(["run", "--", "cargo", "build", "--release"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let child = c.spawn().unwrap();
        // Kill the server as soon as the first upload has landed.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while entries(&s3) == 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        s3.kill();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let warnings = remote_warnings(&out);
        assert_eq!(warnings.len(), 1, "{}", stderr(&out));
        let plain = {
            let mut sb2 = Sandbox::new();
            sb2.set("KILN_DISABLE", "1");
            let ws2 = sb2.workspace("basic", "ws");
            sb2.cargo(&ws2, &["build", "--release"]);
            sb2.run_program(&ws2.join("target/release/app"))
        };
        assert_eq!(sb.run_program(&ws.join("target/release/app")), plain);
    }

    #[test]
    fn a_throttling_store_is_given_up_after_a_few_failures() {
        for code in [503, 429, 500] {
            let (sb, s3, proxy) = behind_proxy(Fault::Status(code));
            let ws = sb.workspace("basic", "ws");
            let out = sb.cargo(&ws, &["build", "--release"]);
            let warnings = remote_warnings(&out);
            assert_eq!(warnings.len(), 1, "{code}: {}", stderr(&out));
            // Given up after three failed requests (each tried three times),
            // whatever else the build would have asked: a few in flight at
            // that moment may still go out.
            assert!(proxy.connections() <= 12, "{code}: {}", proxy.connections());
            let stats = sb.take_stats();
            assert!(stats["remote"]["errors"].as_u64().unwrap() >= 1, "{stats}");
            assert!(counts(&stats).1 > 0, "compiled and cached locally: {stats}");
            assert!(s3.objects(BUCKET).is_empty(), "nothing got through");
            sb.run_program(&ws.join("target/release/app"));
        }
    }

    #[test]
    fn a_store_that_stops_answering_times_out_and_the_build_goes_on() {
        let (mut sb, _s3, proxy) = behind_proxy(Fault::Pass);
        sb.set("KILN_REMOTE_TIMEOUT", "1s");
        sb.set("KILN_UPLOAD_WAIT", "5s");
        let ws = sb.workspace("basic", "ws");
        sb.cargo(&ws, &["build", "--release"]);
        let (_, misses, _) = counts(&sb.take_stats());

        // The server now accepts connections and never answers.
        proxy.set(Fault::Stall);
        let out = rebuild_on_fresh_runner(&mut sb, &ws, "runner-2");
        let warning = one_remote_warning(&out);
        assert!(warning.contains("timed out"), "{warning}");
        let stats = sb.take_stats();
        assert_eq!(counts(&stats), (0, misses, 0), "{stats}");
        sb.run_program(&ws.join("target/release/app"));
    }

    #[test]
    fn a_store_that_trickles_bytes_is_bounded_with_and_without_the_agent() {
        let (mut sb, _s3, _proxy) = behind_proxy(Fault::Trickle);
        sb.set("KILN_REMOTE_TIMEOUT", "1s");
        sb.set("KILN_UPLOAD_WAIT", "5s");
        let ws = sb.workspace("basic", "ws");
        let out = sb.cargo(&ws, &["build", "--release"]);
        let warning = one_remote_warning(&out);
        assert!(warning.contains("timed out"), "{warning}");
        sb.run_program(&ws.join("target/release/app"));

        // Each compiler call on its own (no agent): the first that times out
        // gives the store up for the others.
        fresh_runner(&mut sb, "bare");
        sb.cargo(&ws, &["clean"]);
        sb.set("RUSTC_WRAPPER", common::kiln_bin().to_str().unwrap());
        let out = sb
            .command("cargo", &ws)
            .args(["build", "--release"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(remote_warnings(&out).len(), 1, "{}", stderr(&out));
    }

    #[test]
    fn bare_calls_give_a_throttling_store_up_together() {
        let (mut sb, _s3, proxy) = behind_proxy(Fault::Status(503));
        sb.set("RUSTC_WRAPPER", common::kiln_bin().to_str().unwrap());
        let ws = sb.workspace("basic", "ws");
        let out = sb
            .command("cargo", &ws)
            .args(["build", "--release", "-j1"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(remote_warnings(&out).len(), 1, "{}", stderr(&out));
        // The wrappers share the verdict through the local store: the build
        // stops asking after the first few failures, not per process.
        assert!(proxy.connections() <= 12, "{}", proxy.connections());
    }

    #[test]
    fn a_bare_wrapper_uploads_in_the_background_and_hits_from_the_bucket() {
        let mut sb = Sandbox::new();
        let s3 = S3Server::start(&sb.root.path().join("s3"), BUCKET);
        use_s3(&mut sb, &s3);
        sb.set("RUSTC_WRAPPER", common::kiln_bin().to_str().unwrap());
        let ws = sb.workspace("basic", "ws");
        let build = |sb: &Sandbox| {
            let out = sb
                .command("cargo", &ws)
                .args(["build", "--release"])
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", stderr(&out));
        };
        build(&sb);
        let (_, misses, _) = counts(&sb.take_stats());
        // Uploads run detached from the compile; wait for them.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while s3.objects(&format!("{BUCKET}/kiln/manifests")).len() < misses as usize
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        fresh_runner(&mut sb, "runner-2");
        sb.command("cargo", &ws).arg("clean").output().unwrap();
        build(&sb);
        let warm = sb.take_stats();
        assert_eq!(counts(&warm), (misses, 0, 0), "{warm}");
        assert_eq!(warm["remote"]["hits"], misses, "{warm}");
    }

    #[test]
    fn sccache_bucket_settings_are_reused() {
        let mut sb = Sandbox::new();
        let s3 = S3Server::start(&sb.root.path().join("s3"), BUCKET);
        sb.set("SCCACHE_BUCKET", BUCKET);
        sb.set("SCCACHE_S3_KEY_PREFIX", "sccache-prefix");
        sb.set("SCCACHE_ENDPOINT", &format!("127.0.0.1:{}", s3.port));
        sb.set("SCCACHE_S3_NO_SSL", "true");
        sb.set("SCCACHE_REGION", "us-east-1");
        sb.set("AWS_ACCESS_KEY_ID", ACCESS_KEY);
        sb.set("AWS_SECRET_ACCESS_KEY", SECRET_KEY);
        let ws = sb.workspace("basic", "ws");
        sb.cargo(&ws, &["build", "--release"]);
        let (_, misses, _) = counts(&sb.take_stats());
        assert_eq!(
            s3.objects(&format!("{BUCKET}/sccache-prefix/entries"))
                .len(),
            misses as usize
        );
    }
}

#[test]
fn a_shared_directory_from_kiln_toml_and_remote_expiry() {
    let mut sb = Sandbox::new();
    let shared = sb.root.path().join("nfs/kiln");
    let ws = sb.workspace("basic", "ws");
    std::fs::write(
        ws.join("kiln.toml"),
        format!("[remote]\nurl = \"file://{}\"\n", shared.display()),
    )
    .unwrap();
    sb.cargo(&ws, &["build", "--release"]);
    let (_, misses, _) = counts(&sb.take_stats());
    rebuild_on_fresh_runner(&mut sb, &ws, "runner-2");
    assert_eq!(counts(&sb.take_stats()), (misses, 0, 0));

    let gc = |age: &str| {
        let out = sb
            .command(common::kiln_bin(), &ws)
            .args(["gc", "--remote", "--older-than", age])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(
        gc("30d").contains("removed 0 older than 30d"),
        "{}",
        gc("30d")
    );
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let all = gc("1s");
    assert!(!all.contains("removed 0 "), "{all}");
    let left: usize = walk_count(&shared.join("entries"));
    assert_eq!(left, 0, "{all}");
}

fn walk_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.path().is_dir() {
                out.extend(walk_files(&e.path()));
            } else {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

fn walk_count(dir: &Path) -> usize {
    walk_files(dir).len()
}

/// A cold build that fills the configured store, then a fresh runner that
/// gets every unit from it and builds the same program. Returns the units
/// and the workspace.
#[cfg(any(
    feature = "redis",
    feature = "webdav",
    feature = "azblob",
    feature = "gcs"
))]
fn fills_the_store_and_serves_a_fresh_runner(sb: &mut Sandbox) -> (u64, std::path::PathBuf) {
    let ws = sb.workspace("basic", "ws");
    let out = sb.cargo(&ws, &["build", "--release"]);
    assert!(remote_warnings(&out).is_empty(), "{}", stderr(&out));
    let (_, misses, _) = counts(&sb.take_stats());
    let expected = sb.run_program(&ws.join("target/release/app"));
    let out = rebuild_on_fresh_runner(sb, &ws, "runner-2");
    let warm = sb.take_stats();
    assert_eq!(counts(&warm), (misses, 0, 0), "{warm}\n{}", stderr(&out));
    assert_eq!(warm["remote"]["hits"], misses, "{warm}");
    assert_eq!(sb.run_program(&ws.join("target/release/app")), expected);
    (misses, ws)
}

#[cfg(feature = "webdav")]
#[test]
fn a_webdav_server_holds_a_shared_cache_too() {
    use common::servers::WebdavServer;
    let mut sb = Sandbox::new();
    let dav = WebdavServer::start(&sb.root.path().join("dav"));
    sb.set("KILN_REMOTE", &dav.url("team/kiln"));
    sb.set("KILN_REMOTE_USERNAME", WebdavServer::USER);
    sb.set("KILN_REMOTE_PASSWORD", WebdavServer::PASSWORD);
    let (misses, ws) = fills_the_store_and_serves_a_fresh_runner(&mut sb);
    assert!(walk_count(&dav.root.join("team/kiln/entries")) >= misses as usize);

    // A wrong password is one warning naming the cause; the build goes on.
    sb.set("KILN_REMOTE_PASSWORD", "wrong");
    let out = rebuild_on_fresh_runner(&mut sb, &ws, "runner-3");
    let warning = one_remote_warning(&out);
    assert!(warning.contains("access denied"), "{warning}");
}

#[cfg(feature = "azblob")]
#[test]
fn an_azure_blob_container_holds_a_shared_cache_too() {
    use common::servers::AzuriteServer;
    let mut sb = Sandbox::new();
    let azure = AzuriteServer::start(&sb.root.path().join("azurite"), "builds");
    sb.set("KILN_REMOTE", "azblob://builds/kiln");
    sb.set("KILN_REMOTE_ENDPOINT", &azure.endpoint());
    sb.set("AZURE_STORAGE_ACCOUNT", AzuriteServer::ACCOUNT);
    sb.set("AZURE_STORAGE_KEY", AzuriteServer::KEY);
    let (_, ws) = fills_the_store_and_serves_a_fresh_runner(&mut sb);

    // Another account key: refused, one warning naming what to check.
    sb.set(
        "AZURE_STORAGE_KEY",
        "d3JvbmctYnV0LXdlbGwtZm9ybWVkLWJhc2U2NC1rZXktZm9yLXRoZS10ZXN0cy0hIQ==",
    );
    let out = rebuild_on_fresh_runner(&mut sb, &ws, "runner-3");
    let warning = one_remote_warning(&out);
    assert!(
        warning.contains("access denied") && warning.contains("AZURE_STORAGE_KEY"),
        "{warning}"
    );
}

#[cfg(feature = "gcs")]
#[test]
fn a_google_cloud_storage_bucket_holds_a_shared_cache_too() {
    use common::servers::GcsServer;
    let mut sb = Sandbox::new();
    let gcs = GcsServer::start(&sb.root.path().join("gcs"), "builds");
    sb.set("KILN_REMOTE", "gcs://builds/kiln");
    sb.set("KILN_REMOTE_ENDPOINT", &gcs.endpoint());
    let (misses, ws) = fills_the_store_and_serves_a_fresh_runner(&mut sb);
    assert!(gcs.objects("builds").len() >= misses as usize);

    // A credentials file that is not there: one warning naming the
    // variable; the build runs on the local store.
    sb.set(
        "GOOGLE_APPLICATION_CREDENTIALS",
        &sb.root
            .path()
            .join("no-such-key.json")
            .display()
            .to_string(),
    );
    let out = rebuild_on_fresh_runner(&mut sb, &ws, "runner-3");
    let warning = one_remote_warning(&out);
    assert!(
        warning.contains("GOOGLE_APPLICATION_CREDENTIALS"),
        "{warning}"
    );
    let (_, cold_misses, _) = counts(&sb.take_stats());
    assert_eq!(cold_misses, misses);

    // Credentials that do not sign: a key file that is no key.
    let bad_key = sb.root.path().join("bad-key.json");
    std::fs::write(&bad_key, r#"{"type": "service_account", "client_email": "ci@example.iam.gserviceaccount.com", "private_key": "not a key"}"#).unwrap();
    sb.set(
        "GOOGLE_APPLICATION_CREDENTIALS",
        &bad_key.display().to_string(),
    );
    let out = rebuild_on_fresh_runner(&mut sb, &ws, "runner-4");
    let warning = one_remote_warning(&out);
    assert!(
        warning.contains("GOOGLE_APPLICATION_CREDENTIALS"),
        "{warning}"
    );
    sb.unset("GOOGLE_APPLICATION_CREDENTIALS");

    // A bucket that does not exist is named once.
    sb.set("KILN_REMOTE", "gcs://no-such-bucket/kiln");
    let out = rebuild_on_fresh_runner(&mut sb, &ws, "runner-5");
    let warning = one_remote_warning(&out);
    assert!(warning.contains("the bucket does not exist"), "{warning}");
}

#[cfg(feature = "redis")]
#[test]
fn redis_holds_a_shared_cache_too() {
    let mut sb = Sandbox::new();
    let redis = common::servers::RedisServer::start(&sb.root.path().join("redis"));
    sb.set("KILN_REMOTE", &redis.url());
    let (_, ws) = fills_the_store_and_serves_a_fresh_runner(&mut sb);

    // Redis cannot list keys by age: `gc --remote` says so and what to do.
    let out = sb
        .command(common::kiln_bin(), &ws)
        .args(["gc", "--remote", "--older-than", "30d"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let text = stderr(&out);
    assert!(
        text.starts_with("error: a Redis store cannot list its objects")
            && text.contains("hint: bound Redis's memory instead"),
        "{text}"
    );
}

#[cfg(not(all(feature = "s3", feature = "redis")))]
#[test]
fn a_store_left_out_of_the_build_is_one_warning() {
    let mut sb = Sandbox::new();
    let url = if cfg!(feature = "s3") {
        "redis://127.0.0.1:1/0"
    } else {
        "s3://bucket/prefix"
    };
    sb.set("KILN_REMOTE", url);
    let ws = sb.workspace("basic", "ws");
    let out = sb.cargo(&ws, &["build", "--release"]);
    let warning = one_remote_warning(&out);
    assert!(warning.contains("built without"), "{warning}");
    assert!(counts(&sb.take_stats()).1 > 0);
}

#[test]
fn a_fresh_runner_explains_its_misses_against_the_last_main_build() {
    let mut sb = Sandbox::new();
    let shared = sb.root.path().join("team-store");
    sb.set("KILN_REMOTE", &format!("file://{}", shared.display()));
    sb.set("GITHUB_REF_NAME", "main");
    let ws = sb.workspace("basic", "ws");
    sb.set("FIXTURE_ANSWER", "1");
    sb.cargo(&ws, &["build", "--release"]);
    sb.take_stats();

    // Another machine, another branch, another value of an env var a proc
    // macro reads: it misses, and explains why against main's last run.
    fresh_runner(&mut sb, "runner-2");
    sb.set("GITHUB_REF_NAME", "topic");
    sb.set("FIXTURE_ANSWER", "2");
    sb.cargo(&ws, &["clean"]);
    let out = sb.cargo(&ws, &["build", "--release"]);
    // `kiln run` itself explains against main: this runner has no history.
    let err = stderr(&out);
    assert!(
        err.contains("kiln: root cause: env `FIXTURE_ANSWER` changed"),
        "{err}"
    );
    let out = sb
        .command(common::kiln_bin(), &ws)
        .args(["explain", "--against", "latest-main", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("FIXTURE_ANSWER"), "{text}");
    // Main's run is kept apart: this runner's records are its own.
    let own: Vec<_> = std::fs::read_dir(sb.kiln_dir.join("records"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "jsonl"))
        .collect();
    assert_eq!(own.len(), 1, "{own:?}");

    let out = sb
        .command(common::kiln_bin(), &ws)
        .args(["history", "--remote", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let runs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(runs.as_array().unwrap().len(), 2, "{runs}");

    // The fresh runner's report has a baseline: main's run from the store.
    let out = sb
        .command(common::kiln_bin(), &ws)
        .args(["report", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["baseline"]["branch"], "main", "{report}");
    assert_eq!(
        report["baseline"]["runs"].as_array().unwrap().len(),
        1,
        "{report}"
    );

    let out = sb
        .command(common::kiln_bin(), &ws)
        .args(["explain", "--against", "latest-nobranch"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("hint:"), "{}", stderr(&out));
}

#[test]
fn bad_remote_settings_cost_the_remote_only_and_warn_once() {
    let mut sb = Sandbox::new();
    let shared = sb.root.path().join("team-store");
    sb.set("KILN_REMOTE", &format!("file://{}", shared.display()));
    sb.set("KILN_REMOTE_TIMEOUT", "soon");
    let ws = sb.workspace("basic", "ws");
    let out = sb.cargo(&ws, &["build", "--release"]);
    let text = stderr(&out);
    let warnings: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("warning: kiln:"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", stderr(&out));
    assert!(
        warnings[0].contains("KILN_REMOTE_TIMEOUT"),
        "{}",
        warnings[0]
    );
    let (_, misses, _) = counts(&sb.take_stats());
    assert!(misses > 0, "the local cache works");
    sb.cargo(&ws, &["clean"]);
    sb.cargo(&ws, &["build", "--release"]);
    assert_eq!(counts(&sb.take_stats()), (misses, 0, 0));
    assert!(!shared.exists(), "nothing written to the remote");

    // Without `kiln run`, one warning for the whole build too.
    sb.cargo(&ws, &["clean"]);
    sb.set("RUSTC_WRAPPER", common::kiln_bin().to_str().unwrap());
    let out = sb
        .command("cargo", &ws)
        .args(["build", "--release"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let n = stderr(&out)
        .lines()
        .filter(|l| l.starts_with("warning: kiln:"))
        .count();
    assert_eq!(n, 1, "{}", stderr(&out));
}

#[test]
fn an_empty_signing_key_never_means_unsigned() {
    let mut sb = Sandbox::new();
    let shared = sb.root.path().join("team-store");
    sb.set("KILN_REMOTE", &format!("file://{}", shared.display()));
    sb.set("KILN_SIGNING_KEY", "");
    let ws = sb.workspace("basic", "ws");
    let out = sb.cargo(&ws, &["build", "--release"]);
    let text = stderr(&out);
    assert!(text.contains("`KILN_SIGNING_KEY`: set but empty"), "{text}");
    assert!(!shared.exists(), "nothing unsigned was written");
}

#[test]
fn a_dependency_cannot_redirect_the_cache_with_its_own_kiln_toml() {
    let mut sb = Sandbox::new();
    let root = sb.root.path().to_path_buf();
    let evil = root.join("evil-store");
    let dep = root.join("outside/dep");
    std::fs::create_dir_all(dep.join("src")).unwrap();
    std::fs::write(
        dep.join("Cargo.toml"),
        "[package]\nname = \"dep\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    std::fs::write(dep.join("src/lib.rs"), "pub fn answer() -> u32 { 42 }\n").unwrap();
    std::fs::write(
        dep.join("kiln.toml"),
        format!("[remote]\nurl = \"file://{}\"\n", evil.display()),
    )
    .unwrap();
    let app = root.join("app");
    std::fs::create_dir_all(app.join("src")).unwrap();
    std::fs::write(
        app.join("Cargo.toml"),
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[dependencies]\ndep = { path = \"../outside/dep\" }\n[workspace]\n",
    )
    .unwrap();
    std::fs::write(
        app.join("src/main.rs"),
        "fn main() { println!(\"{}\", dep::answer()); }\n",
    )
    .unwrap();
    sb.set("RUSTC_WRAPPER", common::kiln_bin().to_str().unwrap());
    let out = sb
        .command("cargo", &app)
        .args(["build", "--release"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!evil.exists(), "the dependency's kiln.toml was used");
    assert!(
        counts(&sb.take_stats()).1 >= 2,
        "both crates cached locally"
    );
}
