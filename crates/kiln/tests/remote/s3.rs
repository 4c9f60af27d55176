//! S3 against s3s-fs on 127.0.0.1, behind a fault-injecting proxy where a
//! test needs one: cold fill, fresh runners, read-only, signing, faults,
//! sccache's settings.

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

/// A bucket filled by a release build of `basic` (signed with `key`, if
/// any): the sandbox, the server, the workspace, the misses and the
/// program's output.
fn filled_bucket(key: Option<&str>) -> (Sandbox, S3Server, std::path::PathBuf, u64, String) {
    let mut sb = Sandbox::new();
    let s3 = S3Server::start(&sb.root.path().join("s3"), BUCKET);
    use_s3(&mut sb, &s3);
    if let Some(k) = key {
        sb.set("KILN_SIGNING_KEY", k);
    }
    let ws = sb.workspace("basic", "ws");
    sb.cargo(&ws, &["build", "--release"]);
    let (_, misses, _) = counts(&sb.take_stats());
    let expected = sb.run_program(&ws.join("target/release/app"));
    (sb, s3, ws, misses, expected)
}

/// The object name of a file of the server's bucket directory.
fn object_name(s3: &S3Server, p: &Path) -> String {
    p.strip_prefix(s3.root.join(format!("{BUCKET}/kiln")))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// The entry `from` holds (`bytes`), sealed unsigned as the object `to`:
/// what anyone who may write an unsigned bucket can do.
fn reseal(s3: &S3Server, from: &Path, bytes: Vec<u8>, to: &Path) {
    let payload = kiln_remote::frame::open(&object_name(s3, from), bytes, None)
        .unwrap()
        .entry_file()
        .unwrap()
        .into_owned();
    std::fs::write(
        to,
        kiln_remote::frame::seal(&object_name(s3, to), &payload, None),
    )
    .unwrap();
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
    // Fetched entries stay compressed on disk, a third of their size (all
    // but the smallest: bodies under 4 KiB travel as they are).
    let local_entries = walk_files(&sb.kiln_dir.join("entries"));
    assert_eq!(local_entries.len(), misses as usize);
    let zstd = |e: &std::path::PathBuf| {
        std::fs::read(e)
            .unwrap()
            .starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
    };
    for e in &local_entries {
        let len = std::fs::metadata(e).unwrap().len();
        assert!(
            zstd(e) || len <= 4096 + 256,
            "{} ({len} bytes)",
            e.display()
        );
    }
    let local_entries: Vec<_> = local_entries.into_iter().filter(|e| zstd(e)).collect();
    assert!(local_entries.len() + 1 >= misses as usize);

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
    // proc-macro2's build script is restored, so the two probes it
    // compiles through kiln (probes, not units) do not run again.
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
    // The wrappers (and the build-script run) share the verdict through the
    // local store: the build stops asking after the first few failures, not
    // per process.
    assert!(proxy.connections() <= 15, "{}", proxy.connections());
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

#[test]
fn hostile_objects_in_an_unsigned_bucket_are_refused_and_the_build_is_right() {
    let (mut sb, s3, ws, misses, expected) = filled_bucket(None);
    // Every entry re-sealed as the next one's; one of them, instead, larger
    // than any entry may be.
    let objects = s3.objects(&format!("{BUCKET}/kiln/entries"));
    let contents: Vec<Vec<u8>> = objects.iter().map(|o| std::fs::read(o).unwrap()).collect();
    for (i, o) in objects.iter().enumerate() {
        let j = (i + 1) % objects.len();
        reseal(&s3, &objects[j], contents[j].clone(), o);
    }
    std::fs::File::create(&objects[0])
        .unwrap()
        .set_len(600 << 20)
        .unwrap();
    sb.set("KILN_REMOTE_READ_ONLY", "1");
    let out = rebuild_on_fresh_runner(&mut sb, &ws, "runner-2");
    let warm = sb.take_stats();
    assert_eq!(counts(&warm).0, 0, "nothing restored: {warm}");
    assert_eq!(counts(&warm).1, misses, "{warm}");
    assert_eq!(sb.run_program(&ws.join("target/release/app")), expected);
    assert!(
        common::kiln_warnings(&out).len() <= 2,
        "one warning per fault: {}",
        stderr(&out)
    );
    let rss = common::records(&sb.kiln_dir)
        .iter()
        .filter_map(|r| r["wrapper_max_rss_kb"].as_u64())
        .max()
        .unwrap();
    assert!(rss < 1024 * 1024, "peak RSS {rss} KiB");
}

/// A fork's pull request runs with `KILN_REMOTE_READ_ONLY=1` and no signing
/// key; its code may ignore both. Whatever it writes (entries, manifests,
/// the prefetch index, run records and branch pointers, or any object
/// replaced by its own), a trusted build that signs restores none of it.
#[test]
fn an_untrusted_job_cannot_make_a_trusted_build_restore_what_it_wrote() {
    const KEY: &str = "the-trusted-main-branch-signing-key";
    let (mut sb, s3, ws, misses, expected) = filled_bucket(Some(KEY));

    // The fork, as configured: reads, writes nothing.
    sb.unset("KILN_SIGNING_KEY");
    sb.set("KILN_REMOTE_READ_ONLY", "1");
    let before = s3.objects(BUCKET);
    let lib = ws.join("shared/src/lib.rs");
    let clean = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(&lib, clean.replace("hello", "pwned")).unwrap();
    rebuild_on_fresh_runner(&mut sb, &ws, "fork-1");
    assert_eq!(s3.objects(BUCKET), before, "a read-only job wrote");

    // The fork ignoring its settings: uploads its build, then puts its
    // entries, unsigned, under every name the trusted build wrote.
    sb.unset("KILN_REMOTE_READ_ONLY");
    let fork = rebuild_on_fresh_runner(&mut sb, &ws, "fork-2");
    let forked = sb.take_stats();
    let root = s3.root.join(format!("{BUCKET}/kiln"));
    let planted: Vec<_> = s3
        .objects(&format!("{BUCKET}/kiln/entries"))
        .into_iter()
        .filter(|p| !before.contains(p))
        .collect();
    assert!(!planted.is_empty(), "{forked}\n{}", stderr(&fork));
    let evil = std::fs::read(&planted[0]).unwrap();
    for o in before.iter().filter(|p| p.starts_with(&root)) {
        let n = object_name(&s3, o);
        if n.starts_with("entries/") {
            reseal(&s3, &planted[0], evil.clone(), o);
        } else {
            std::fs::write(o, kiln_remote::frame::seal(&n, b"{}", None)).unwrap();
        }
    }

    // The trusted build, on a fresh runner, from the clean source.
    std::fs::write(&lib, &clean).unwrap();
    sb.set("KILN_SIGNING_KEY", KEY);
    let out = rebuild_on_fresh_runner(&mut sb, &ws, "main-2");
    let warm = sb.take_stats();
    assert_eq!(counts(&warm).0, 0, "restored what the fork wrote: {warm}");
    assert_eq!(counts(&warm).1, misses, "{warm}");
    assert_eq!(sb.run_program(&ws.join("target/release/app")), expected);
    assert!(remote_report(&sb.kiln_dir)["rejected"].as_u64().unwrap() >= 1);
    assert!(common::kiln_warnings(&out).len() <= 1, "{}", stderr(&out));
    // Nor does its history show the fork's runs.
    let history = sb.kiln_in(&ws, &["history", "--remote", "--json"]);
    let text = String::from_utf8_lossy(&history.stdout);
    assert!(!text.contains("fork"), "{text}");
}
