//! The fault suite: hostile stores and unlucky machines. Each scenario is
//! real cargo building the `basic` fixture through kiln after the fault was
//! put in place; what it printed and built is compared with plain cargo's.
//! The figures (builds, builds that failed where plain cargo passed,
//! programs that differ from plain cargo's, kiln warnings per build, files
//! left behind, peak RSS of kiln's wrapper) are printed and written to
//! `target/fault-suite.md`; `docs/reliability.md` holds the latest.
#![allow(clippy::unwrap_used)]

mod common;

use std::fmt::Write as _;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use common::{Sandbox, kiln_warnings, records};

/// What one scenario measured.
#[derive(Default)]
struct Figures {
    name: &'static str,
    builds: u32,
    failed: u32,
    differ: u32,
    max_warnings: usize,
    leftovers: usize,
    peak_rss_mb: u64,
    seconds: f64,
    note: String,
}

/// Every regular file below `dir` whose path ends with `suffix`.
fn files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let ft = e.file_type().unwrap();
        if ft.is_dir() {
            out.extend(files(&e.path(), suffix));
        } else if ft.is_file() && e.path().to_string_lossy().ends_with(suffix) {
            out.push(e.path());
        }
    }
    out.sort();
    out
}

fn du(dir: &Path) -> u64 {
    files(dir, "")
        .iter()
        .map(|f| std::fs::metadata(f).map_or(0, |m| m.len()))
        .sum()
}

struct Suite {
    sb: Sandbox,
    ws: PathBuf,
    expected: String,
    rows: Vec<Figures>,
}

impl Suite {
    fn new() -> Self {
        let sb = Sandbox::new();
        let ws = sb.workspace("basic", "ws");
        let plain = sb
            .command("cargo", &ws)
            .args(["build", "--release"])
            .output()
            .unwrap();
        assert!(plain.status.success());
        let expected = sb.run_program(&ws.join("target/release/app"));
        Self {
            sb,
            ws,
            expected,
            rows: Vec::new(),
        }
    }

    /// `cargo clean` and a build through `kiln run`, counted into `f`.
    fn build(&self, f: &mut Figures) -> Output {
        self.sb.cargo(&self.ws, &["clean"]);
        let started = Instant::now();
        let out = self.sb.cargo_unchecked(&self.ws, &["build", "--release"]);
        self.count(f, &out, started);
        out
    }

    fn count(&self, f: &mut Figures, out: &Output, started: Instant) {
        f.builds += 1;
        f.seconds += started.elapsed().as_secs_f64();
        if !out.status.success() {
            f.failed += 1;
            eprintln!(
                "{}: build failed\n{}",
                f.name,
                String::from_utf8_lossy(&out.stderr)
            );
        } else if self.sb.run_program(&self.ws.join("target/release/app")) != self.expected {
            f.differ += 1;
        }
        f.max_warnings = f.max_warnings.max(kiln_warnings(out).len());
        let rss = records(&self.sb.kiln_dir)
            .iter()
            .filter_map(|r| r["wrapper_max_rss_kb"].as_u64())
            .max()
            .unwrap_or(0);
        f.peak_rss_mb = f.peak_rss_mb.max(rss / 1024);
    }

    fn fresh_runner(&mut self, name: &str) {
        self.sb.kiln_dir = self.sb.root.path().join(name);
    }

    /// A shared directory filled by one runner, copied for a scenario.
    fn shared_copy(&self, filled: &Path, name: &str) -> PathBuf {
        let copy = self.sb.root.path().join(name);
        common::copy_dir(filled, &copy);
        copy
    }

    fn report(&self) -> String {
        let mut t = String::from(
            "| fault | builds | failed where plain cargo passed | programs that differ | kiln warnings per build (max) | left behind | wrapper peak RSS | time |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n",
        );
        for f in &self.rows {
            let _ = writeln!(
                t,
                "| {}{} | {} | {} | {} | {} | {} | {} MB | {:.1} s |",
                f.name,
                if f.note.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", f.note)
                },
                f.builds,
                f.failed,
                f.differ,
                f.max_warnings,
                f.leftovers,
                f.peak_rss_mb,
                f.seconds
            );
        }
        t
    }
}

/// Replaces every entry object of the shared directory `dir` by `plant`.
fn plant_entries(dir: &Path, plant: &dyn Fn(&Path)) -> usize {
    let objects = files(&dir.join("entries"), ".kiln");
    for o in &objects {
        std::fs::remove_file(o).unwrap();
        plant(o);
    }
    objects.len()
}

/// The key an object's file name carries.
fn key_of(path: &Path) -> String {
    path.file_stem().unwrap().to_string_lossy().into_owned()
}

/// A zstd frame of an entry whose one file declares `len` bytes of zeros.
fn bomb(key: &str, len: u64) -> Vec<u8> {
    use std::io::Write;
    let header = serde_json::json!({
        "version": 2, "files": [{"name": "libshared.rlib", "mode": 420, "len": len,
        "digest": "00".repeat(32), "text": false}], "stdout_len": 0, "stderr_len": 0,
        "compile_ms": 1, "crate_name": "shared", "writer": "bomb", "key": key
    });
    let json = serde_json::to_vec(&header).unwrap();
    let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 1).unwrap();
    enc.write_all(b"KILNENT1").unwrap();
    enc.write_all(&(json.len() as u32).to_le_bytes()).unwrap();
    enc.write_all(&json).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..len >> 20 {
        enc.write_all(&zeros).unwrap();
    }
    enc.finish().unwrap()
}

#[test]
fn hostile_stores_and_unlucky_machines() {
    let mut s = Suite::new();
    let filled = s.sb.root.path().join("filled");
    s.sb.set("KILN_REMOTE", &format!("file://{}", filled.display()));
    s.fresh_runner("runner-0");
    let mut f = Figures {
        name: "none (a cold build fills the shared directory)",
        ..Figures::default()
    };
    s.build(&mut f);
    s.rows.push(f);

    hostile_objects(&mut s, &filled);
    planted_links(&mut s, &filled);
    s.sb.unset("KILN_REMOTE");
    local_faults(&mut s);
    bare_wrapper_size_bound(&mut s);
    kills_mid_build(&mut s);
    concurrent_builds_with_gc_and_clean(&mut s);
    #[cfg(feature = "s3")]
    s3_faults(&mut s);

    let table = s.report();
    println!("{table}");
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("../fault-suite.md");
    let _ = std::fs::write(&out, &table);
    for f in &s.rows {
        assert_eq!(f.failed, 0, "{}: builds failed\n{table}", f.name);
        assert_eq!(f.differ, 0, "{}: programs differ\n{table}", f.name);
        assert!(
            f.max_warnings <= 2,
            "{}: too many warnings\n{table}",
            f.name
        );
        assert_eq!(f.leftovers, 0, "{}: files left behind\n{table}", f.name);
        assert!(f.peak_rss_mb < 512, "{}: peak RSS\n{table}", f.name);
    }
}

/// Objects in a shared directory that are not what they claim to be.
fn hostile_objects(s: &mut Suite, filled: &Path) {
    type Plant = Box<dyn Fn(&Path)>;
    let kinds: Vec<(&'static str, Plant)> = vec![
        (
            "FIFO in place of each entry",
            Box::new(|o: &Path| {
                let c = std::ffi::CString::new(o.to_str().unwrap()).unwrap();
                // SAFETY: a valid path string.
                assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
            }),
        ),
        (
            "link to /dev/zero as each entry",
            Box::new(|o: &Path| symlink("/dev/zero", o).unwrap()),
        ),
        (
            "3 GB entry objects (sparse)",
            Box::new(|o: &Path| {
                std::fs::File::create(o).unwrap().set_len(3 << 30).unwrap();
            }),
        ),
        (
            "decompression bomb (1 GiB of zeros per entry)",
            Box::new(|o: &Path| {
                let payload = bomb(&key_of(o), 1 << 30);
                let name = format!(
                    "entries/{}",
                    o.strip_prefix(o.parent().unwrap().parent().unwrap())
                        .unwrap()
                        .display()
                );
                std::fs::write(o, kiln_remote::frame::seal(&name, &payload, None)).unwrap();
            }),
        ),
    ];
    for (i, (name, plant)) in kinds.into_iter().enumerate() {
        let dir = s.shared_copy(filled, &format!("shared-{i}"));
        let n = plant_entries(&dir, &*plant);
        s.sb.set("KILN_REMOTE", &format!("file://{}", dir.display()));
        s.sb.set("KILN_REMOTE_READ_ONLY", "1");
        s.fresh_runner(&format!("runner-hostile-{i}"));
        let mut f = Figures {
            name,
            note: format!("{n} objects"),
            ..Figures::default()
        };
        s.build(&mut f);
        f.leftovers = files(&s.sb.kiln_dir.join("staging"), "").len();
        s.rows.push(f);
    }
    s.sb.unset("KILN_REMOTE_READ_ONLY");

    // An entry re-sealed under another key (an unsigned store lets anyone
    // write a valid frame): each object holds the next one's entry.
    let dir = s.shared_copy(filled, "shared-swapped");
    let objects = files(&dir.join("entries"), ".kiln");
    let contents: Vec<Vec<u8>> = objects.iter().map(|o| std::fs::read(o).unwrap()).collect();
    for (i, o) in objects.iter().enumerate() {
        let from = &objects[(i + 1) % objects.len()];
        let name = |p: &Path| {
            format!(
                "entries/{}",
                p.strip_prefix(dir.join("entries")).unwrap().display()
            )
        };
        let object =
            kiln_remote::frame::open(&name(from), contents[(i + 1) % objects.len()].clone(), None)
                .unwrap();
        let payload = object.entry_file().unwrap().into_owned();
        std::fs::write(o, kiln_remote::frame::seal(&name(o), &payload, None)).unwrap();
    }
    s.sb.set("KILN_REMOTE", &format!("file://{}", dir.display()));
    s.fresh_runner("runner-swapped");
    let mut f = Figures {
        name: "entries re-sealed under other keys",
        note: format!("{} objects", objects.len()),
        ..Figures::default()
    };
    s.build(&mut f);
    s.rows.push(f);
}

/// Links planted where a writing runner puts entries, manifests, key
/// components and indexes: nothing outside the store may change.
fn planted_links(s: &mut Suite, filled: &Path) {
    let dir = s.shared_copy(filled, "shared-links");
    let victims = s.sb.root.path().join("victims");
    std::fs::create_dir_all(&victims).unwrap();
    let mut planted = 0;
    for kind in ["entries", "manifests", "keys", "index"] {
        for (i, o) in files(&dir.join(kind), "").iter().enumerate() {
            let victim = victims.join(format!("{kind}-{i}"));
            std::fs::write(&victim, b"precious").unwrap();
            std::fs::remove_file(o).unwrap();
            symlink(&victim, o).unwrap();
            planted += 1;
        }
    }
    // A whole shard directory pointing outside, too.
    let outside = s.sb.root.path().join("outside-dir");
    std::fs::create_dir_all(&outside).unwrap();
    if let Some(shard) = std::fs::read_dir(dir.join("manifests"))
        .unwrap()
        .flatten()
        .next()
    {
        std::fs::remove_dir_all(shard.path()).unwrap();
        symlink(&outside, shard.path()).unwrap();
    }
    s.sb.set("KILN_REMOTE", &format!("file://{}", dir.display()));
    s.fresh_runner("runner-links");
    let mut f = Figures {
        name: "links planted for every object (writing runner)",
        note: format!("{planted} links"),
        ..Figures::default()
    };
    s.build(&mut f);
    let changed = files(&victims, "")
        .iter()
        .filter(|v| std::fs::read(v).unwrap() != b"precious")
        .count()
        + files(&outside, "").len();
    f.differ += u32::try_from(changed).unwrap();
    if changed > 0 {
        f.note = format!("{changed} files outside the store written");
    }
    s.rows.push(f);
}

/// The local store: entries swapped between keys, a damaged tracer.
fn local_faults(s: &mut Suite) {
    s.fresh_runner("runner-local");
    let mut f = Figures {
        name: "local entries swapped between keys",
        ..Figures::default()
    };
    s.build(&mut f);
    let entries = files(&s.sb.kiln_dir.join("entries"), ".kiln");
    let contents: Vec<Vec<u8>> = entries.iter().map(|e| std::fs::read(e).unwrap()).collect();
    for (i, e) in entries.iter().enumerate() {
        std::fs::write(e, &contents[(i + 1) % entries.len()]).unwrap();
    }
    s.build(&mut f);
    f.note = format!("{} entries", entries.len());
    s.rows.push(f);

    let mut f = Figures {
        name: "one flipped bit in the installed tracer",
        ..Figures::default()
    };
    for so in files(&s.sb.kiln_dir.join("lib"), ".so") {
        let mut bytes = std::fs::read(&so).unwrap();
        let at = bytes.len() / 2;
        bytes[at] ^= 0x10;
        std::fs::write(&so, bytes).unwrap();
    }
    s.build(&mut f);
    s.rows.push(f);
}

/// `KILN_CACHE_SIZE` holds with a bare `RUSTC_WRAPPER` (no `kiln run` to
/// collect at the end).
fn bare_wrapper_size_bound(s: &mut Suite) {
    s.fresh_runner("runner-bounded");
    let bound = 100 << 10;
    let mut f = Figures {
        name: "KILN_CACHE_SIZE=100K with a bare RUSTC_WRAPPER",
        ..Figures::default()
    };
    s.sb.cargo(&s.ws, &["clean"]);
    let started = Instant::now();
    let out =
        s.sb.command("cargo", &s.ws)
            .args(["build", "--release"])
            .env("RUSTC_WRAPPER", common::kiln_bin())
            .env("KILN_DIR", &s.sb.kiln_dir)
            .env("KILN_CACHE_SIZE", "100K")
            .output()
            .unwrap();
    s.count(&mut f, &out, started);
    let entries = files(&s.sb.kiln_dir.join("entries"), ".kiln");
    let largest = entries
        .iter()
        .map(|e| std::fs::metadata(e).unwrap().len())
        .max()
        .unwrap_or(0);
    let size = du(&s.sb.kiln_dir.join("entries"));
    f.note = format!("store {} KiB after the build", size >> 10);
    assert!(
        size <= bound + largest,
        "store grew to {size} bytes over a {bound} bound"
    );
    s.rows.push(f);
}

/// `kill -9` of the whole build at points spread over a cold build, then a
/// build that must be right, then `kiln gc` reclaims what the kills left.
fn kills_mid_build(s: &mut Suite) {
    use std::os::unix::process::CommandExt;
    s.fresh_runner("runner-killed");
    let mut f = Figures {
        name: "kill -9 of the build mid-store and mid-restore",
        ..Figures::default()
    };
    let kills = 6;
    for i in 0..kills {
        s.sb.cargo(&s.ws, &["clean"]);
        let mut child =
            s.sb.command(common::kiln_bin(), &s.ws)
                .args(["run", "--", "cargo", "build", "--release"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .process_group(0)
                .spawn()
                .unwrap();
        std::thread::sleep(Duration::from_millis(100 + 250 * i));
        let pgid = i32::try_from(child.id()).unwrap();
        // SAFETY: signalling a process group this test created.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
        let _ = child.wait();
    }
    // Built on top of what the last kill left in `target/`, as a retried CI
    // job would.
    let started = Instant::now();
    let out = s.sb.cargo_unchecked(&s.ws, &["build", "--release"]);
    s.count(&mut f, &out, started);
    let gc = s.sb.kiln(&["gc"]);
    assert!(
        gc.status.success(),
        "{}",
        String::from_utf8_lossy(&gc.stderr)
    );
    let mut left = files(&s.sb.kiln_dir.join("staging"), "");
    left.extend(
        files(&s.ws.join("target"), "")
            .into_iter()
            .filter(|p| p.file_name().unwrap().to_string_lossy().contains(".kiln-")),
    );
    f.leftovers = left.len();
    f.note = format!("{kills} kills");
    if !left.is_empty() {
        eprintln!("left behind: {left:?}");
    }
    s.rows.push(f);
}

/// Four builds at once on one store while `kiln gc` and `kiln clean` run.
fn concurrent_builds_with_gc_and_clean(s: &mut Suite) {
    s.fresh_runner("runner-concurrent");
    let mut f = Figures {
        name: "4 concurrent builds on one store, with gc and clean",
        ..Figures::default()
    };
    let copies: Vec<PathBuf> = (0..4)
        .map(|i| s.sb.workspace("basic", &format!("concurrent-{i}")))
        .collect();
    // Spawned, not waited one by one: build, gc and clean overlap.
    let mut running: Vec<_> = copies
        .iter()
        .map(|ws| {
            s.sb.command(common::kiln_bin(), ws)
                .args(["run", "--quiet", "--", "cargo", "build", "--release"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let gc = s.sb.kiln(&["gc"]);
    let clean = s.sb.kiln(&["clean"]);
    assert!(gc.status.success() && clean.status.success());
    let started = Instant::now();
    for (child, ws) in running.drain(..).zip(&copies) {
        let out = child.wait_with_output().unwrap();
        f.builds += 1;
        if !out.status.success() {
            f.failed += 1;
        } else if s.sb.run_program(&ws.join("target/release/app")) != s.expected {
            f.differ += 1;
        }
        f.max_warnings = f.max_warnings.max(kiln_warnings(&out).len());
    }
    f.seconds = started.elapsed().as_secs_f64();
    s.rows.push(f);
}

/// The same faults where an S3 server holds the store, and the ways a
/// server fails: error statuses, a stall, bytes one at a time, wrong
/// credentials, a server gone.
#[cfg(feature = "s3")]
fn s3_faults(s: &mut Suite) {
    use common::servers::{ACCESS_KEY, Fault, FaultProxy, S3Server, SECRET_KEY};
    let s3 = S3Server::start(&s.sb.root.path().join("s3"), "faults");
    let proxy = FaultProxy::start(s3.port, Fault::Pass);
    for (k, v) in [
        ("KILN_REMOTE", "s3://faults/kiln".to_owned()),
        ("AWS_ENDPOINT_URL", proxy.endpoint()),
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY.to_owned()),
        ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("KILN_REMOTE_TIMEOUT", "3s".to_owned()),
    ] {
        s.sb.set(k, &v);
    }
    s.fresh_runner("runner-s3-fill");
    let mut f = Figures {
        name: "S3: none (a cold build fills the bucket)",
        ..Figures::default()
    };
    s.build(&mut f);
    s.rows.push(f);
    s.sb.set("KILN_REMOTE_READ_ONLY", "1");
    let faults = [
        ("S3: every request answered 503", Fault::Status(503)),
        ("S3: every request answered 500", Fault::Status(500)),
        ("S3: every request answered 429", Fault::Status(429)),
        ("S3: the server stops answering", Fault::Stall),
        ("S3: bodies sent one byte at a time", Fault::Trickle),
    ];
    for (i, (name, fault)) in faults.into_iter().enumerate() {
        proxy.set(fault);
        s.fresh_runner(&format!("runner-s3-{i}"));
        let mut f = Figures {
            name,
            ..Figures::default()
        };
        s.build(&mut f);
        s.rows.push(f);
    }
    proxy.set(Fault::Pass);
    s.sb.set("AWS_SECRET_ACCESS_KEY", "wrong");
    s.fresh_runner("runner-s3-creds");
    let mut f = Figures {
        name: "S3: wrong credentials",
        ..Figures::default()
    };
    s.build(&mut f);
    s.rows.push(f);
    s.sb.set("AWS_SECRET_ACCESS_KEY", SECRET_KEY);

    let entries = s3.objects("faults/kiln/entries");
    let root = s3.root.join("faults/kiln");
    let name = |p: &Path| {
        p.strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned()
    };
    let good: Vec<Vec<u8>> = entries.iter().map(|e| std::fs::read(e).unwrap()).collect();
    let restore_good = || {
        for (e, b) in entries.iter().zip(&good) {
            std::fs::write(e, b).unwrap();
        }
    };
    let hostile: [(&'static str, &dyn Fn()); 3] = [
        ("S3: entries re-sealed under other keys", &|| {
            for (i, e) in entries.iter().enumerate() {
                let j = (i + 1) % entries.len();
                let payload = kiln_remote::frame::open(&name(&entries[j]), good[j].clone(), None)
                    .unwrap()
                    .entry_file()
                    .unwrap()
                    .into_owned();
                std::fs::write(e, kiln_remote::frame::seal(&name(e), &payload, None)).unwrap();
            }
        }),
        ("S3: a 600 MiB entry object", &|| {
            std::fs::File::create(&entries[0])
                .unwrap()
                .set_len(600 << 20)
                .unwrap();
        }),
        ("S3: decompression bombs (1 GiB of zeros)", &|| {
            let payload = bomb(&key_of(&entries[0]), 1 << 30);
            std::fs::write(
                &entries[0],
                kiln_remote::frame::seal(&name(&entries[0]), &payload, None),
            )
            .unwrap();
        }),
    ];
    for (i, (label, plant)) in hostile.into_iter().enumerate() {
        restore_good();
        plant();
        s.fresh_runner(&format!("runner-s3-hostile-{i}"));
        let mut f = Figures {
            name: label,
            ..Figures::default()
        };
        s.build(&mut f);
        s.rows.push(f);
    }
    drop(s3);
    s.fresh_runner("runner-s3-down");
    let mut f = Figures {
        name: "S3: the server is gone",
        ..Figures::default()
    };
    s.build(&mut f);
    s.rows.push(f);
    for k in ["KILN_REMOTE", "KILN_REMOTE_READ_ONLY", "AWS_ENDPOINT_URL"] {
        s.sb.unset(k);
    }
}
