//! Whether a program may read its environment without asking `getenv`.
//!
//! The observer sees `getenv` lookups. A program can also walk `environ`
//! itself (a shell imports every variable as a shell variable, `make` as a
//! make variable, Rust's `std::env::vars` iterates it), and what it finds
//! there is invisible. Such a run is keyed by its whole environment.
//!
//! The rules, all erring towards "may walk":
//! - a file that is not ELF (a script) may: its interpreter gets everything;
//! - an ELF program that never names `environ` cannot (its reads go through
//!   libc's `getenv`, which the observer answers);
//! - an ELF program that names it may, unless it is one of the toolchain
//!   programs in [`GETENV_ONLY`] (compilers, assemblers, linkers, archivers,
//!   `pkg-config`) or of [`GETENV_SETTINGS`] (`git`), which hand `environ`
//!   to the programs they start and read their own settings with `getenv`;
//! - a Rust program ([`rust_walks_environ`]) names `environ` whenever it
//!   starts processes; whether its own code iterates the environment is read
//!   off its machine code (see [`crate::refs`]). Where that cannot be done
//!   (no symbol table, another architecture) it may.

use std::path::Path;

/// Programs known to read their own settings only through `getenv`,
/// matched by file name without a target prefix or version suffix.
pub const GETENV_ONLY: &[&str] = &[
    "cc",
    "c++",
    "cpp",
    "gcc",
    "g++",
    "cc1",
    "cc1plus",
    "cc1obj",
    "collect2",
    "lto-wrapper",
    "lto1",
    "ld",
    "ld.bfd",
    "ld.gold",
    "ld.lld",
    "lld",
    "mold",
    "as",
    "ar",
    "ranlib",
    "nm",
    "objcopy",
    "objdump",
    "strip",
    "clang",
    "clang++",
    "rustc",
    "rustdoc",
    "clippy-driver",
    "pkg-config",
    "pkgconf",
    "nasm",
    "yasm",
];

/// Programs that are no toolchain (their lookups of `HOME`, `TZ` and the
/// like are inputs) but read their settings with `getenv` too, copying
/// `environ` only to hand it to the programs they start (which are observed
/// themselves): git (`GIT_DIR`, `GIT_CONFIG_*`, …; hooks, a pager), which
/// build scripts and proc macros run for `git describe` (`vergen`,
/// `git-version`). Each name comes with text every build of the program
/// holds, by which it is told from another program given that name (a
/// wrapper script, a compiled program that prints its environment).
pub const GETENV_SETTINGS: &[(&str, &[&[u8]])] =
    &[("git", &[b"GIT_EXEC_PATH\0", b"GIT_DIR\0", b"git-core"])];

/// Libraries that make a program an interpreter of scripts.
const INTERPRETER_LIBS: &[&[u8]] = &[
    b"\0libpython",
    b"\0libperl",
    b"\0libtcl",
    b"\0libruby",
    b"\0liblua",
    b"\0libnode",
    b"\0libguile",
];

/// Largest program read whole to look for symbols; bigger ones may walk.
const MAX_READ: u64 = 512 << 20;

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(hay, needle).is_some()
}

fn read(program: &Path) -> Option<Vec<u8>> {
    let md = std::fs::metadata(program).ok()?;
    if md.len() > MAX_READ {
        return None;
    }
    std::fs::read(program).ok()
}

/// `gcc-12` → `gcc`, `x86_64-linux-gnu-ld.bfd` → `ld.bfd`.
fn tool_name(file_name: &str) -> &str {
    let unversioned = match file_name.rsplit_once('-') {
        Some((head, v)) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit() || b == b'.') => {
            head
        }
        _ => file_name,
    };
    if GETENV_ONLY.contains(&unversioned) {
        return unversioned;
    }
    unversioned
        .rsplit_once('-')
        .map_or(unversioned, |(_, tool)| tool)
}

/// Whether `program` is one of the toolchain programs of [`GETENV_ONLY`]
/// (by file name), which use `PATH` only to find the programs they run.
pub fn is_toolchain_program(program: &Path) -> bool {
    program
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| GETENV_ONLY.contains(&tool_name(n)))
}

/// Whether `program` reads `PATH` only to find the programs it runs: a
/// toolchain program of [`GETENV_ONLY`], or a build of one of
/// [`GETENV_SETTINGS`] (git puts its own exec dir in front and searches for
/// its subcommands and helpers). What it then runs or looks for is observed
/// as searches, probes and executions, so the text of `PATH` itself is no
/// input of its output.
pub fn uses_path_only_to_search(program: &Path) -> bool {
    is_toolchain_program(program) || is_settings_program(program)
}

/// Whether `program` is an ELF build of one of [`GETENV_SETTINGS`]: named
/// so, and holding the text every build of it holds.
fn is_settings_program(program: &Path) -> bool {
    let Some(name) = program.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let Some((_, marks)) = GETENV_SETTINGS.iter().find(|(n, _)| *n == name) else {
        return false;
    };
    is_elf(program) && read(program).is_some_and(|bytes| marks.iter().all(|m| contains(&bytes, m)))
}

/// Whether an executed `program` may read environment variables without
/// `getenv`.
pub fn walks_environ(program: &Path) -> bool {
    if is_toolchain_program(program) {
        // Its settings come through `getenv` whatever it names: only a
        // script under that name (a wrapper) may walk.
        return !is_elf(program);
    }
    if is_settings_program(program) {
        return false;
    }
    let Some(bytes) = read(program) else {
        return true;
    };
    if !bytes.starts_with(b"\x7fELF") {
        return true;
    }
    // An interpreter whose code lives in a library (tclsh, python3 or perl
    // built shared): the library reads the environment.
    if INTERPRETER_LIBS.iter().any(|l| contains(&bytes, l)) {
        return true;
    }
    [&b"\0environ\0"[..], b"\0__environ\0", b"\0_environ\0"]
        .iter()
        .any(|n| contains(&bytes, n))
}

/// Whether `program` starts with the ELF magic.
fn is_elf(program: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    std::fs::File::open(program)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok_and(|()| &magic == b"\x7fELF")
}

/// libc functions that read `TZ` or the locale variables internally.
const LIBC_ENV_READERS: &[&[u8]] = &[
    b"\0tzset\0",
    b"\0localtime\0",
    b"\0localtime_r\0",
    b"\0mktime\0",
    b"\0timelocal\0",
    b"\0ctime\0",
    b"\0ctime_r\0",
    b"\0strftime\0",
    b"\0strftime_l\0",
    b"\0setlocale\0",
    b"\0newlocale\0",
];

/// Whether `program` (an executable or a library) may read `TZ` or the
/// locale variables through libc, which looks them up without `getenv`: it
/// names one of the functions that do (`localtime`, `strftime`, `tzset`,
/// `setlocale`, …), or it cannot be read.
pub fn reads_libc_env(program: &Path) -> bool {
    let Some(bytes) = read(program) else {
        return true;
    };
    !bytes.starts_with(b"\x7fELF") || LIBC_ENV_READERS.iter().any(|n| contains(&bytes, n))
}

/// Traces of crates that make system calls with their own instructions
/// instead of through libc: the source paths their panic messages carry.
const RAW_SYSCALL_CRATES: &[(&[u8], &str)] = &[
    (b"/src/backend/linux_raw/", "rustix"),
    (b"/syscalls-0.", "syscalls"),
    (b"/sc-0.", "sc"),
];

/// Which crate in `program` (an executable or a library) makes system calls
/// without libc, so that the observer cannot see what they read; `None`
/// when none is found. A file that cannot be read counts.
pub fn raw_syscalls(program: &Path) -> Option<&'static str> {
    let Some(bytes) = read(program) else {
        return Some("an unreadable program");
    };
    if !bytes.starts_with(b"\x7fELF") {
        return None;
    }
    RAW_SYSCALL_CRATES
        .iter()
        .find(|(marker, _)| contains(&bytes, marker))
        .map(|(_, name)| *name)
}

/// The crates of Rust's standard library, as mangled path roots.
const STD_ROOTS: [&str; 3] = ["3std", "4core", "5alloc"];

/// Whether the mangled name (legacy or v0) is a function of the standard
/// library: its path starts at `std`, `core` or `alloc` (a module a crate
/// names `std` is not), or it is a trait impl between their types.
pub(crate) fn in_std(name: &str) -> bool {
    in_crates(name, &STD_ROOTS)
}

/// Whether the mangled name is a function of one of the crates `roots`
/// (mangled: `3std`), or a trait impl between the standard library's types.
fn in_crates(name: &str, roots: &[&str]) -> bool {
    let root = |rest: &str| roots.iter().any(|r| rest.starts_with(r));
    if let Some(rest) = name.strip_prefix("_ZN") {
        if root(rest) {
            return true;
        }
        let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
        let std_type = |t: &str| {
            ["std..", "core..", "alloc.."]
                .iter()
                .any(|p| t.starts_with(p))
        };
        return rest.strip_prefix("_$LT$").is_some_and(|t| {
            std_type(t)
                && t.find("$u20$as$u20$")
                    .is_none_or(|i| std_type(&t[i + "$u20$as$u20$".len()..]))
        });
    }
    if let Some(rest) = name.strip_prefix("_R") {
        // The first crate root of the path: `C`, an optional disambiguator
        // `s<base62>_`, then the crate's name.
        let mut i = 0;
        let b = rest.as_bytes();
        while i < b.len() {
            if b[i] == b'C' {
                let mut j = i + 1;
                if b.get(j) == Some(&b's') {
                    j += 1;
                    while b.get(j).is_some_and(u8::is_ascii_alphanumeric) {
                        j += 1;
                    }
                    if b.get(j) == Some(&b'_') {
                        j += 1;
                    }
                }
                if b.get(j).is_some_and(u8::is_ascii_digit) {
                    return root(&rest[j..]);
                }
            }
            i += 1;
        }
    }
    false
}

/// Whether a mangled name is `std::env::vars` or `std::env::vars_os`.
fn is_env_iteration(name: &str) -> bool {
    in_std(name)
        && ["3std3env4vars", "3std3env7vars_os"].iter().any(|f| {
            name.find(f).is_some_and(|i| {
                let rest = &name[i + f.len()..];
                rest.is_empty() || rest.starts_with("17h") || rest.starts_with('E')
            })
        })
}

/// Whether a Rust program (a build script, a proc macro) may iterate its
/// environment.
///
/// On x86-64, with a symbol table, the answer is read off the code: the
/// program walks only if something other than std's own process spawning
/// (which merges the environment for a child it changes it for, and hands it
/// on) calls `std::env::vars`/`vars_os`, or code outside std refers to
/// `environ`. Without a symbol table it may if it names `environ` at all.
/// Everywhere else, and when the code cannot be followed, it may.
pub fn rust_walks_environ(program: &Path) -> bool {
    let Some(bytes) = read(program) else {
        return true;
    };
    let Some(p) = crate::refs::Program::parse(&bytes) else {
        // No symbol table (stripped): code that never names `environ`
        // among the symbols it imports cannot read it.
        return [&b"\0environ\0"[..], b"\0__environ\0", b"\0_environ\0"]
            .iter()
            .any(|n| contains(&bytes, n))
            || !bytes.starts_with(b"\x7fELF");
    };
    let iterators: Vec<&crate::refs::Func> = p
        .funcs
        .iter()
        .filter(|f| is_env_iteration(&f.name))
        .collect();
    let addrs: Vec<u64> = iterators.iter().map(|f| f.addr).collect();
    let calls = crate::refs::find_refs(&p, &addrs, &[]);
    let spawning = |n: &str| in_std(n) && n.contains("11capture_env");
    if calls.escapes
        || calls
            .from
            .iter()
            .any(|n| !is_env_iteration(n) && !spawning(n))
    {
        return true;
    }
    let raw = crate::refs::find_refs(&p, &[], &["environ", "__environ", "_environ"]);
    // Only std itself names `environ` (core and alloc cannot; a closure of
    // crate code inlined into their generics could).
    raw.escapes || raw.from.iter().any(|n| !in_crates(n, &["3std"]))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn std_is_told_from_a_module_named_std() {
        assert!(in_std("_ZN3std3env4vars17h0123456789abcdefE"));
        assert!(in_std("_ZN4core3ptr13drop_in_place17h0123456789abcdefE"));
        assert!(in_std(
            "_ZN76_$LT$std..env..Vars$u20$as$u20$core..iter..traits..iterator..Iterator$GT$4next17h0123456789abcdefE"
        ));
        assert!(in_std("_RNvNtCs1234_3std3env4vars"));
        assert!(!in_std("_ZN7mycrate3std3env4vars17h0123456789abcdefE"));
        assert!(!in_std(
            "_ZN50_$LT$std..env..Vars$u20$as$u20$mycrate..Walk$GT$4walk17h0123456789abcdefE"
        ));
        assert!(!in_std("_RNvNtNtCs1234_7mycrate3std3env4vars"));
        assert!(!is_env_iteration(
            "_ZN7mycrate3std3env4vars17h0123456789abcdefE"
        ));
    }

    #[test]
    fn tool_names_lose_prefix_and_version() {
        assert_eq!(tool_name("gcc-12"), "gcc");
        assert_eq!(tool_name("x86_64-linux-gnu-ld.bfd"), "ld.bfd");
        assert_eq!(tool_name("x86_64-linux-gnu-g++-12"), "g++");
        assert_eq!(tool_name("clang-14"), "clang");
        assert_eq!(tool_name("c++"), "c++");
        assert_eq!(tool_name("bash"), "bash");
    }

    #[test]
    fn shells_and_scripts_may_walk_and_compilers_do_not() {
        assert!(walks_environ(Path::new("/bin/sh")), "a shell");
        let d = tempfile::tempdir().unwrap();
        let script = d.path().join("gen.sh");
        std::fs::write(&script, "#!/bin/sh\necho $X\n").unwrap();
        assert!(walks_environ(&script), "a script");
        assert!(walks_environ(&d.path().join("missing")), "unreadable");
        let fake_tclsh = d.path().join("tclsh");
        let mut elf = b"\x7fELF".to_vec();
        elf.extend_from_slice(b"\0libtcl8.6.so\0");
        std::fs::write(&fake_tclsh, elf).unwrap();
        assert!(walks_environ(&fake_tclsh), "an interpreter in a library");
        let git = Path::new("/usr/bin/git");
        if git.is_file() {
            assert!(!walks_environ(git), "git reads its settings with getenv");
            assert!(!is_toolchain_program(git), "git's other lookups are inputs");
            assert!(uses_path_only_to_search(git), "git searches PATH");
        }
        let fake_git = d.path().join("git");
        std::fs::write(&fake_git, "#!/bin/sh\necho $PATH\n").unwrap();
        assert!(!uses_path_only_to_search(&fake_git), "a script named git");
        std::fs::create_dir(d.path().join("elf")).unwrap();
        let elf_git = d.path().join("elf/git");
        std::fs::write(&elf_git, b"\x7fELF\0getenv\0PATH\0").unwrap();
        assert!(
            !uses_path_only_to_search(&elf_git),
            "another program named git"
        );
        assert!(!uses_path_only_to_search(Path::new("/bin/sh")), "a shell");
        for cc in ["/usr/bin/gcc", "/usr/bin/cc"] {
            let p = std::fs::canonicalize(cc).unwrap();
            assert!(!walks_environ(&p), "{}", p.display());
        }
    }

    fn build_rust(d: &Path, name: &str, body: &str, strip: bool) -> std::path::PathBuf {
        let src = d.join(format!("{name}.rs"));
        std::fs::write(&src, body).unwrap();
        let out = d.join(name);
        let mut c = std::process::Command::new("rustc");
        c.arg(&src).arg("-o").arg(&out).arg("-Copt-level=0");
        if strip {
            c.arg("-Cstrip=symbols");
        }
        assert!(c.status().unwrap().success());
        out
    }

    #[test]
    fn rust_programs_walk_only_through_std_env_vars() {
        let d = tempfile::tempdir().unwrap();
        let getenv = build_rust(
            d.path(),
            "getenv",
            "fn main() { let _ = std::process::Command::new(\"true\").status(); println!(\"{:?}\", std::env::var(\"X\")); }",
            false,
        );
        assert!(!rust_walks_environ(&getenv), "spawns and asks getenv");
        let vars = build_rust(
            d.path(),
            "vars",
            "fn main() { for (k, _) in std::env::vars() { println!(\"{k}\"); } }",
            false,
        );
        assert!(rust_walks_environ(&vars), "iterates the environment");
        let spawn_env = build_rust(
            d.path(),
            "spawn_env",
            "fn main() { let _ = std::process::Command::new(\"true\").env(\"A\", \"b\").status(); }",
            false,
        );
        assert!(
            !rust_walks_environ(&spawn_env),
            "std merges the environment for a child: handed on, not read"
        );
        let raw = build_rust(
            d.path(),
            "raw",
            "unsafe extern \"C\" { static environ: *const *const u8; } fn main() { println!(\"{:?}\", unsafe { environ }); }",
            false,
        );
        assert!(rust_walks_environ(&raw), "reads environ itself");
        let stripped = build_rust(
            d.path(),
            "stripped",
            "fn main() { let _ = std::process::Command::new(\"true\").env(\"A\", \"b\").status(); }",
            true,
        );
        assert!(
            rust_walks_environ(&stripped),
            "no symbols and names `environ`: may walk"
        );
        let quiet = build_rust(d.path(), "quiet", "fn main() { println!(\"hi\"); }", true);
        let names = contains(&std::fs::read(&quiet).unwrap(), b"\0environ\0");
        assert_eq!(
            rust_walks_environ(&quiet),
            names,
            "no symbols: walks only if it imports `environ`"
        );
    }
}
