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
//! - a Rust program names `environ` whenever it starts processes; whether
//!   its own code iterates the environment is read off its machine code
//!   ([`crate::rust_walk`]).

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
/// `git-version`).
pub const GETENV_SETTINGS: &[&str] = &["git"];

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

pub(crate) fn contains(hay: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(hay, needle).is_some()
}

pub(crate) fn read(program: &Path) -> Option<Vec<u8>> {
    let md = std::fs::metadata(program).ok()?;
    if md.len() > MAX_READ {
        return None;
    }
    std::fs::read(program).ok()
}

/// Whether `program`'s file holds any of `needles` (a name its code may
/// look up), or cannot be read.
pub fn names_any(program: &Path, needles: &[&str]) -> bool {
    read(program).is_none_or(|b| needles.iter().any(|n| contains(&b, n.as_bytes())))
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

/// Whether an executed `program` may read environment variables without
/// `getenv`.
pub fn walks_environ(program: &Path) -> bool {
    let settings_by_getenv = program
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| GETENV_SETTINGS.contains(&n));
    if is_toolchain_program(program) || settings_by_getenv {
        // Its settings come through `getenv` whatever it names: only a
        // script under that name (a wrapper) may walk.
        return !is_elf(program);
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

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
        }
        for cc in ["/usr/bin/gcc", "/usr/bin/cc"] {
            let p = std::fs::canonicalize(cc).unwrap();
            assert!(!walks_environ(&p), "{}", p.display());
        }
    }
}
