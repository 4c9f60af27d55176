//! The observer on real programs: a Rust probe compiled here with rustc, and
//! rustc itself compiling and linking a binary.
#![allow(clippy::unwrap_used)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use kiln_trace::{Trace, TraceError, Tracer, parse_trace};

/// A program exercising what the observer must see; `MODE DIR` as arguments.
const PROBE: &str = r#"
use std::io::ErrorKind;
use std::os::unix::process::CommandExt;
use std::process::Command;

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap();
    let dir = std::path::PathBuf::from(args.next().unwrap());
    match mode.as_str() {
        "files" => {
            assert_eq!(std::fs::read_to_string(dir.join("input.txt")).unwrap(), "in");
            // errno must survive the observer's own system calls.
            let err = std::fs::read(dir.join("missing.txt")).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::NotFound);
            assert!(!dir.join("probed.txt").exists());
            std::env::set_current_dir(&dir).unwrap();
            assert_eq!(std::fs::read_to_string("sub/../rel.txt").unwrap(), "rel");
            for _ in 0..1000 {
                let _ = std::env::var("KILN_PROBE_VAR");
            }
            std::fs::write(dir.join("output.txt"), "out").unwrap();
            let rw = std::fs::read_to_string(dir.join("rw.txt")).unwrap();
            std::fs::write(dir.join("rw.txt"), rw + "!").unwrap();
            // A child that lost the observer's variables is still observed.
            let status = Command::new("/bin/sh")
                .args(["-c", "exec /bin/cat child.txt > /dev/null"])
                .env_clear()
                .status()
                .unwrap();
            assert!(status.success());
            // Found on PATH by posix_spawnp.
            assert!(Command::new("true").status().unwrap().success());
            // fork + execvp (pre_exec rules out posix_spawn).
            let mut forked = Command::new("/bin/cat");
            forked.arg("forked.txt").stdout(std::process::Stdio::null());
            unsafe { forked.pre_exec(|| Ok(())) };
            assert!(forked.status().unwrap().success());
        }
        "threads" => {
            let threads: Vec<_> = (0..8)
                .map(|t| {
                    let dir = dir.clone();
                    std::thread::spawn(move || {
                        for i in 0..100 {
                            assert!(std::fs::File::open(dir.join(format!("t{t}-{i}"))).is_err());
                        }
                    })
                })
                .collect();
            for t in threads {
                t.join().unwrap();
            }
        }
        other => panic!("unknown mode {other}"),
    }
}
"#;

fn scratch() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("kiln-trace-tests")
}

fn rustc() -> PathBuf {
    std::env::var_os("RUSTC").map_or_else(|| "rustc".into(), PathBuf::from)
}

fn tracer() -> &'static Tracer {
    static TRACER: OnceLock<Tracer> = OnceLock::new();
    TRACER.get_or_init(|| {
        Tracer::install(&scratch().join("lib"))
            .unwrap()
            .expect("the observer is available on Linux")
    })
}

fn probe() -> &'static Path {
    static PROBE_EXE: OnceLock<PathBuf> = OnceLock::new();
    PROBE_EXE.get_or_init(|| {
        let dir = scratch().join("probe");
        std::fs::create_dir_all(&dir).unwrap();
        // Per-process names, then a rename: concurrent test runs share the directory.
        let src = dir.join(format!("probe-{}.rs", std::process::id()));
        std::fs::write(&src, PROBE).unwrap();
        let built = dir.join(format!("probe-{}", std::process::id()));
        let status = Command::new(rustc())
            .args(["--edition", "2024"])
            .arg(&src)
            .arg("-o")
            .arg(&built)
            .status()
            .unwrap();
        assert!(status.success(), "cannot compile the probe");
        let _ = std::fs::remove_file(&src);
        let exe = dir.join("probe");
        std::fs::rename(&built, &exe).unwrap();
        exe
    })
}

/// A fresh directory with the files the probe reads.
fn probe_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for (name, text) in [
        ("input.txt", "in"),
        ("rel.txt", "rel"),
        ("rw.txt", "rw"),
        ("child.txt", "c"),
        ("forked.txt", "f"),
    ] {
        std::fs::write(d.path().join(name), text).unwrap();
    }
    std::fs::create_dir(d.path().join("sub")).unwrap();
    d
}

fn run_traced(cmd: &mut Command, trace_file: &Path) -> Trace {
    tracer().inject(cmd, trace_file);
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stderr.is_empty() || !String::from_utf8_lossy(&out.stderr).contains("LD_PRELOAD"));
    let raw = std::fs::read(trace_file).unwrap();
    for line in raw.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        assert!(
            matches!(
                line,
                [
                    b'R' | b'W' | b'A' | b'P' | b'D' | b'E' | b'X' | b'S' | b'N',
                    b' ',
                    _,
                    ..
                ]
            ),
            "malformed record {:?}",
            String::from_utf8_lossy(line)
        );
    }
    assert!(raw.ends_with(b"\n"));
    parse_trace(trace_file, std::env::var_os("PATH").as_deref()).unwrap()
}

#[test]
fn sees_reads_writes_env_missing_files_and_children_of_a_program() {
    let d = probe_dir();
    let dir = d.path();
    let trace_file = dir.join("trace");
    let t = run_traced(Command::new(probe()).arg("files").arg(dir), &trace_file);

    for read in ["input.txt", "rel.txt", "child.txt", "forked.txt"] {
        assert!(
            t.reads.contains(&dir.join(read)),
            "read of {read} missing: {t:#?}"
        );
    }
    for absent in ["missing.txt", "probed.txt"] {
        assert!(
            t.absent.contains(&dir.join(absent)),
            "{absent} not absent: {t:#?}"
        );
    }
    assert!(t.writes.contains(&dir.join("output.txt")), "{t:#?}");
    assert!(
        t.writes.contains(&dir.join("rw.txt")) && !t.reads.contains(&dir.join("rw.txt")),
        "{t:#?}"
    );
    assert!(t.env.contains("KILN_PROBE_VAR"), "{t:#?}");
    for exe in ["/bin/sh", "/bin/cat"] {
        assert!(
            t.execs.contains(Path::new(exe)),
            "exec of {exe} missing: {t:#?}"
        );
    }
    assert!(
        t.execs
            .iter()
            .any(|p| p.is_absolute() && p.file_name() == Some(OsStr::new("true"))),
        "bare `true` resolved on PATH: {:?}",
        t.execs
    );
    let search = t.searches.iter().find(|s| s.name == "true").unwrap();
    assert_eq!(
        search.path,
        Some(std::env::var_os("PATH")),
        "the search path the program had is recorded"
    );
    assert!(
        !t.reads.iter().chain(&t.writes).any(|p| p == &trace_file),
        "the observer does not observe itself"
    );

    let raw = std::fs::read_to_string(&trace_file).unwrap();
    assert_eq!(
        raw.matches("E KILN_PROBE_VAR\t").count(),
        1,
        "a variable read 1000 times is logged once"
    );
}

#[test]
fn concurrent_threads_write_whole_records() {
    let d = tempfile::tempdir().unwrap();
    let trace_file = d.path().join("trace");
    let t = run_traced(
        Command::new(probe()).arg("threads").arg(d.path()),
        &trace_file,
    );
    for thread in 0..8 {
        for i in 0..100 {
            assert!(
                t.absent.contains(&d.path().join(format!("t{thread}-{i}"))),
                "t{thread}-{i}"
            );
        }
    }
}

#[test]
fn sees_rustc_sources_the_linker_and_its_inputs() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("main.rs");
    std::fs::write(&src, "fn main() { println!(\"hi\"); }\n").unwrap();
    let out = d.path().join("main");
    let trace_file = d.path().join("trace");
    let t = run_traced(
        Command::new(rustc()).arg(&src).arg("-o").arg(&out),
        &trace_file,
    );

    assert!(t.reads.contains(&src), "{:#?}", t.reads);
    assert!(t.writes.contains(&out), "{:#?}", t.writes);
    assert!(
        t.execs.iter().any(|p| p.is_absolute() && p.ends_with("cc")),
        "the linker driver: {:?}",
        t.execs
    );
    let system_lib = |p: &&PathBuf| p.starts_with("/usr/lib") || p.starts_with("/lib");
    let name = |p: &PathBuf| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    assert!(
        t.reads.iter().filter(system_lib).any(|p| {
            let n = name(p);
            n.ends_with("crt1.o") || n == "crti.o" || n.starts_with("libc.so") || n == "libc.a"
        }),
        "the linker's inputs: {:#?}",
        t.reads
    );
    let lines = std::fs::read_to_string(&trace_file)
        .unwrap()
        .lines()
        .count();
    assert!(lines < 1500, "a small compile stays small: {lines} lines");
}

#[test]
fn without_a_trace_file_the_observer_only_forwards() {
    let d = probe_dir();
    let mut cmd = Command::new(probe());
    cmd.arg("files").arg(d.path());
    tracer().inject(&mut cmd, &d.path().join("trace"));
    cmd.env_remove("KILN_TRACE_FILE");
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(d.path().join("output.txt")).unwrap(),
        "out"
    );
    assert!(!d.path().join("trace").exists());
    let err = parse_trace(&d.path().join("trace"), None).unwrap_err();
    assert!(matches!(err, TraceError::NotTraced(_)), "{err}");
}

#[test]
fn a_traced_program_that_does_nothing_still_leaves_a_trace() {
    let d = tempfile::tempdir().unwrap();
    let trace_file = d.path().join("trace");
    let mut cmd = Command::new("/bin/true");
    tracer().inject(&mut cmd, &trace_file);
    assert!(cmd.status().unwrap().success());
    assert!(trace_file.exists(), "the trace proves the observer ran");
    parse_trace(&trace_file, None).unwrap();
}

#[test]
fn sees_what_a_proc_macro_reads_inside_rustc() {
    let d = tempfile::tempdir().unwrap();
    let macro_src = d.path().join("probe_macro.rs");
    std::fs::write(
        &macro_src,
        r#"extern crate proc_macro;
        use proc_macro::TokenStream;
        unsafe extern "C" { fn extra_value() -> i32; }
        #[proc_macro]
        pub fn probe(_: TokenStream) -> TokenStream {
            let extra = std::env::var("KILN_MACRO_VAR").unwrap_or_default();
            let text = std::fs::read_to_string(std::env::var("KILN_MACRO_FILE").unwrap()).unwrap();
            let linked = unsafe { extra_value() } as usize;
            format!("pub const N: usize = {};", text.len() + extra.len() + linked).parse().unwrap()
        }
        "#,
    )
    .unwrap();
    // A C library the proc macro links dynamically: the loader opens it
    // with calls no hook sees.
    let c_src = d.path().join("extra.c");
    std::fs::write(&c_src, "int extra_value(void) { return 7; }\n").unwrap();
    let c_lib = d.path().join("libextra.so");
    let cc = Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&c_lib)
        .arg(&c_src)
        .status()
        .unwrap();
    assert!(cc.success());
    let status = Command::new(rustc())
        .args([
            "--edition",
            "2024",
            "--crate-type",
            "proc-macro",
            "--crate-name",
            "probe_macro",
            "-l",
            "dylib=extra",
            "-L",
        ])
        .arg(d.path())
        .arg(format!("-Clink-arg=-Wl,-rpath,{}", d.path().display()))
        .arg("--out-dir")
        .arg(d.path())
        .arg(&macro_src)
        .status()
        .unwrap();
    assert!(status.success());
    let user = d.path().join("user.rs");
    std::fs::write(&user, "probe_macro::probe!();\n").unwrap();
    let input = d.path().join("macro-input.txt");
    std::fs::write(&input, "data").unwrap();
    let trace_file = d.path().join("trace");
    let mut cmd = Command::new(rustc());
    cmd.args([
        "--edition",
        "2024",
        "--crate-type",
        "lib",
        "--crate-name",
        "user",
        "--out-dir",
    ])
    .arg(d.path().join("out"))
    .arg("--extern")
    .arg(format!(
        "probe_macro={}",
        d.path().join("libprobe_macro.so").display()
    ))
    .arg(&user)
    .env("KILN_MACRO_FILE", &input);
    let t = run_traced(&mut cmd, &trace_file);
    assert!(t.reads.contains(&input), "{:#?}", t.reads);
    assert!(
        t.env.contains("KILN_MACRO_VAR") && t.env.contains("KILN_MACRO_FILE"),
        "{:#?}",
        t.env
    );
    // The libraries loaded for it, and who looked the variable up.
    let macro_lib = d.path().join("libprobe_macro.so");
    assert!(t.reads.contains(&macro_lib), "{:#?}", t.reads);
    assert!(t.reads.contains(&c_lib), "{:#?}", t.reads);
    assert_eq!(
        t.env_objects.get("KILN_MACRO_VAR"),
        Some(&[macro_lib].into_iter().collect()),
        "the proc macro's own code asked"
    );
    assert!(
        t.writes.contains(&d.path().join("out/libuser.rlib")),
        "{:#?}",
        t.writes
    );
}
