//! Whether a Rust program (a build script, a proc macro) may iterate its
//! environment, read off its machine code.
//!
//! Rust code reads a variable by name through `std::env::var`, which asks
//! libc's `getenv` (observed). It walks the environment through
//! `std::env::vars`/`vars_os`, or by naming `environ` itself (not observed).
//! std's own process spawning copies the environment to hand it to a child
//! it changes the environment of: handed on, not read (the child is
//! observed). One crate is known by name: the `cc` crate (from 1.11) copies
//! the environment once into a snapshot and then looks variables up in that
//! copy by name, names of its own vocabulary (`CC`, `CFLAGS_<target>`,
//! `CARGO_CFG_*`, …), and hands the copy to the compilers it runs. Its walk
//! is told apart ([`RustWalk::CcSnapshot`]) so that keys can leave out what
//! such a lookup can never name (the variables that name a CI job).

use std::path::Path;

use crate::environ::{contains, read};

/// How a Rust program may read its environment besides `getenv`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum RustWalk {
    /// Only through `getenv`.
    #[default]
    No,
    /// Only the `cc` crate's snapshot walks it: reads by name from cc's own
    /// vocabulary of names.
    CcSnapshot,
    /// It may read anything.
    Yes,
}

impl RustWalk {
    /// `0`, `c` or `1`.
    pub fn as_char(self) -> char {
        match self {
            Self::No => '0',
            Self::CcSnapshot => 'c',
            Self::Yes => '1',
        }
    }

    /// The inverse of [`RustWalk::as_char`].
    pub fn from_char(c: char) -> Option<Self> {
        match c {
            '0' => Some(Self::No),
            'c' => Some(Self::CcSnapshot),
            '1' => Some(Self::Yes),
            _ => None,
        }
    }
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

/// Whether a mangled name (legacy or v0) is a function of the `cc` crate's
/// `build_env` module, where its environment snapshot is taken
/// (`EnvSnapshot::capture`, or a function it was inlined into).
fn is_cc_snapshot(name: &str) -> bool {
    if let Some(rest) = name.strip_prefix("_ZN2cc9build_env") {
        return !rest.is_empty();
    }
    name.starts_with("_R") && in_crates(name, &["2cc9build_env"])
}

/// How a Rust program (a build script, a proc macro) may read its
/// environment besides `getenv`.
///
/// On x86-64, with a symbol table, the answer is read off the code: the
/// program walks only if something other than std's own process spawning
/// (which merges the environment for a child it changes it for, and hands it
/// on) calls `std::env::vars`/`vars_os`, or code outside std refers to
/// `environ`; if the only other caller is the `cc` crate's snapshot, it is
/// [`RustWalk::CcSnapshot`]. Without a symbol table it may if it names
/// `environ` at all. Everywhere else, and when the code cannot be followed,
/// it may.
pub fn rust_walk(program: &Path) -> RustWalk {
    let walk = |yes: bool| if yes { RustWalk::Yes } else { RustWalk::No };
    let Some(bytes) = read(program) else {
        return RustWalk::Yes;
    };
    let Some(p) = crate::refs::Program::parse(&bytes) else {
        // No symbol table (stripped): code that never names `environ`
        // among the symbols it imports cannot read it.
        return walk(
            [&b"\0environ\0"[..], b"\0__environ\0", b"\0_environ\0"]
                .iter()
                .any(|n| contains(&bytes, n))
                || !bytes.starts_with(b"\x7fELF"),
        );
    };
    let iterators: Vec<&crate::refs::Func> = p
        .funcs
        .iter()
        .filter(|f| is_env_iteration(&f.name))
        .collect();
    let addrs: Vec<u64> = iterators.iter().map(|f| f.addr).collect();
    let calls = crate::refs::find_refs(&p, &addrs, &[]);
    let spawning = |n: &str| in_std(n) && n.contains("11capture_env");
    let walkers: Vec<&String> = calls
        .from
        .iter()
        .filter(|n| !is_env_iteration(n) && !spawning(n))
        .collect();
    if calls.escapes || walkers.iter().any(|n| !is_cc_snapshot(n)) {
        return RustWalk::Yes;
    }
    let raw = crate::refs::find_refs(&p, &[], &["environ", "__environ", "_environ"]);
    // Only std itself names `environ` (core and alloc cannot; a closure of
    // crate code inlined into their generics could).
    if raw.escapes || raw.from.iter().any(|n| !in_crates(n, &["3std"])) {
        return RustWalk::Yes;
    }
    if walkers.is_empty() {
        RustWalk::No
    } else {
        RustWalk::CcSnapshot
    }
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
        assert!(rust_walk(&getenv) == RustWalk::No, "spawns and asks getenv");
        let vars = build_rust(
            d.path(),
            "vars",
            "fn main() { for (k, _) in std::env::vars() { println!(\"{k}\"); } }",
            false,
        );
        assert!(
            rust_walk(&vars) == RustWalk::Yes,
            "iterates the environment"
        );
        let spawn_env = build_rust(
            d.path(),
            "spawn_env",
            "fn main() { let _ = std::process::Command::new(\"true\").env(\"A\", \"b\").status(); }",
            false,
        );
        assert!(
            rust_walk(&spawn_env) == RustWalk::No,
            "std merges the environment for a child: handed on, not read"
        );
        let raw = build_rust(
            d.path(),
            "raw",
            "unsafe extern \"C\" { static environ: *const *const u8; } fn main() { println!(\"{:?}\", unsafe { environ }); }",
            false,
        );
        assert!(rust_walk(&raw) == RustWalk::Yes, "reads environ itself");
        let stripped = build_rust(
            d.path(),
            "stripped",
            "fn main() { let _ = std::process::Command::new(\"true\").env(\"A\", \"b\").status(); }",
            true,
        );
        assert!(
            rust_walk(&stripped) == RustWalk::Yes,
            "no symbols and names `environ`: may walk"
        );
        let quiet = build_rust(d.path(), "quiet", "fn main() { println!(\"hi\"); }", true);
        let names = contains(&std::fs::read(&quiet).unwrap(), b"\0environ\0");
        assert_eq!(
            rust_walk(&quiet) == RustWalk::Yes,
            names,
            "no symbols: walks only if it imports `environ`"
        );
    }

    /// A library named `cc` whose `build_env::EnvSnapshot::capture` copies
    /// the environment, and a program using it.
    fn with_cc_snapshot(d: &Path, main: &str, v0: bool) -> std::path::PathBuf {
        let lib = d.join("cc.rs");
        std::fs::write(
            &lib,
            "pub mod build_env { pub struct EnvSnapshot(pub Vec<(std::ffi::OsString, std::ffi::OsString)>); \
             impl EnvSnapshot { #[inline(never)] pub fn capture() -> Self { Self(std::env::vars_os().collect()) } \
             pub fn get(&self, k: &str) -> Option<&std::ffi::OsString> { self.0.iter().find(|(n, _)| n == k).map(|(_, v)| v) } } }",
        )
        .unwrap();
        let mangling = if v0 {
            "-Csymbol-mangling-version=v0"
        } else {
            "-Copt-level=0"
        };
        let status = std::process::Command::new("rustc")
            .args([
                "--crate-type=rlib",
                "--crate-name=cc",
                "--edition=2021",
                mangling,
            ])
            .arg(&lib)
            .arg("--out-dir")
            .arg(d)
            .status()
            .unwrap();
        assert!(status.success());
        let src = d.join("main.rs");
        std::fs::write(&src, main).unwrap();
        let out = d.join(if v0 { "main-v0" } else { "main" });
        let status = std::process::Command::new("rustc")
            .args(["--edition=2021", mangling, "--extern"])
            .arg(format!("cc={}", d.join("libcc.rlib").display()))
            .arg(&src)
            .arg("-o")
            .arg(&out)
            .status()
            .unwrap();
        assert!(status.success());
        out
    }

    #[test]
    fn the_cc_crates_snapshot_is_told_apart() {
        let main = "fn main() { let s = cc::build_env::EnvSnapshot::capture(); \
                    let _ = std::process::Command::new(\"true\").env(\"A\", \"b\").status(); \
                    println!(\"{:?}\", s.get(\"CC\")); }";
        for v0 in [false, true] {
            let d = tempfile::tempdir().unwrap();
            let p = with_cc_snapshot(d.path(), main, v0);
            assert_eq!(rust_walk(&p), RustWalk::CcSnapshot, "v0 {v0}");
        }
        let d = tempfile::tempdir().unwrap();
        let both = "fn main() { let s = cc::build_env::EnvSnapshot::capture(); \
                    println!(\"{:?} {}\", s.get(\"CC\"), std::env::vars().count()); }";
        let p = with_cc_snapshot(d.path(), both, false);
        assert_eq!(rust_walk(&p), RustWalk::Yes, "its own code walks too");
        assert!(is_cc_snapshot(
            "_ZN2cc9build_env11EnvSnapshot7capture17h9761a724b5f8c7f9E"
        ));
        assert!(!is_cc_snapshot("_ZN2cc5Build6getenv17h9761a724b5f8c7f9E"));
        assert!(!is_cc_snapshot(
            "_ZN3foo2cc9build_env7capture17h9761a724b5f8c7f9E"
        ));
    }
}
