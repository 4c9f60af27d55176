//! The invocation key of a C or C++ compile: what is known before it runs.
//!
//! The compiler driver by content, the arguments and the working directory
//! (paths normalized for a package from `CARGO_HOME`, exact otherwise), and
//! the host CPU always: `-march=native` can come from places no argument
//! shows (a clang configuration file, gcc's specs, `CCC_OVERRIDE_OPTIONS`),
//! and the run around a compile is keyed by it anyway. What the
//! compile reads (the source, every header, the compiler's own programs and
//! files, the variables it looks up) is observed and keyed through the
//! manifest, like every other action.

use std::ffi::OsString;
use std::path::Path;

use kiln_config::PathMode;
use kiln_key::{Digest, FileHasher, KeyHasher, Roots};

use crate::env_rules;
use crate::unreadable::Unreadable;

/// What the invocation key of a compile is made of.
pub struct CompileKeyInputs<'a> {
    /// The compiler driver, resolved.
    pub compiler: &'a Path,
    /// The name it was started under (`argv[0]`): one binary can be
    /// several compilers (clang and clang++, a ccache link farm).
    pub argv0: &'a std::ffi::OsStr,
    /// Its arguments.
    pub args: &'a [OsString],
    /// The working directory.
    pub cwd: &'a Path,
    /// Local roots.
    pub roots: &'a Roots,
    /// Path mode.
    pub mode: PathMode,
    /// The package comes from `CARGO_HOME`.
    pub from_cargo_home: bool,
    /// Content hashing.
    pub hasher: &'a FileHasher,
}

/// An argument of a compile as it is keyed: paths normalized as in a
/// build-script value, also a path joined to its option (`-I/…`, `-L/…`,
/// `-isystem/…`, as cmake writes them), which no boundary sets apart.
///
/// An argument holding a path not in normal form (a `..`, `.` or empty
/// component) is keyed exactly: `{cargo_home}/../inc` names a directory
/// outside every root, whose files are keyed by their absolute paths, so
/// the argument must not key the same from another `CARGO_HOME`.
pub(crate) fn arg_value(
    text: &str,
    roots: &Roots,
    mode: PathMode,
    from_cargo_home: bool,
) -> String {
    if !normal_form(text) {
        return text.to_owned();
    }
    let value = |v: &str| env_rules::script_value(v, roots, mode, from_cargo_home);
    let joined = text.find('/').filter(|&i| {
        let option = &text[..i];
        option.len() >= 2
            && option.starts_with('-')
            && option[1..]
                .bytes()
                .all(|b| b.is_ascii_alphabetic() || b == b'-')
    });
    match joined {
        Some(i) => format!("{}{}", &text[..i], value(&text[i..])),
        None => value(text),
    }
}

/// Whether no path in `text` has a `..`, `.` or empty component: no `//`,
/// and no `.` or `..` between slashes or after the last one.
fn normal_form(text: &str) -> bool {
    // A component ends where root replacement sees a boundary.
    let ends = |b: Option<&u8>| b.is_none_or(|b| !kiln_key::roots::is_path_char(*b));
    let bytes = text.as_bytes();
    !text.contains("//")
        && !bytes.iter().enumerate().any(|(i, b)| {
            *b == b'/'
                && ((bytes[i + 1..].starts_with(b"..") && ends(bytes.get(i + 3)))
                    || (bytes[i + 1..].starts_with(b".") && ends(bytes.get(i + 2))))
        })
}

/// Computes the invocation key of a compile.
pub fn invocation_key(k: &CompileKeyInputs<'_>) -> Result<Digest, Unreadable> {
    let value = |v: &str| env_rules::script_value(v, k.roots, k.mode, k.from_cargo_home);
    let mut h = KeyHasher::new("kiln-c-compile-v1");
    h.field("paths", k.mode.key_name());
    let compiler = k
        .hasher
        .hash(k.compiler)
        .map_err(|e| Unreadable::new("compiler", k.compiler, e))?;
    h.field("compiler", compiler.0);
    h.field("argv0", k.argv0.as_encoded_bytes());
    // Every name on the way to the file: a driver may act on the name of
    // the link it was started through.
    let mut at = k.compiler.to_path_buf();
    for _ in 0..16 {
        h.field(
            "name",
            at.file_name().unwrap_or_default().as_encoded_bytes(),
        );
        match std::fs::read_link(&at) {
            Ok(next) => at = at.parent().unwrap_or(Path::new("/")).join(next),
            Err(_) => break,
        }
    }
    h.field("cwd", value(&k.cwd.to_string_lossy()));
    for a in k.args {
        match a.to_str() {
            Some(text) => h.field("arg", arg_value(text, k.roots, k.mode, k.from_cargo_home)),
            None => h.field("raw", a.as_encoded_bytes()),
        };
    }
    h.field("host-cpu", crate::invocation::host_cpu());
    Ok(h.finish())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    struct Setup {
        dir: tempfile::TempDir,
        hasher: FileHasher,
    }

    impl Setup {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("gcc"), "compiler one").unwrap();
            Self {
                dir,
                hasher: FileHasher::new(None),
            }
        }

        fn key(&self, home: &str, args: &str, from_cargo_home: bool) -> Digest {
            let home = self.dir.path().join(home);
            let pkg = home.join("registry/src/x/csys-0.1.0");
            let ws = self.dir.path().join("ws");
            let roots = Roots::new(&ws, Some(&ws.join("target")), Some(&home), None);
            let args: Vec<OsString> = args
                .replace("$PKG", &pkg.to_string_lossy())
                .split_whitespace()
                .map(OsString::from)
                .collect();
            invocation_key(&CompileKeyInputs {
                compiler: &self.dir.path().join("gcc"),
                argv0: std::ffi::OsStr::new("gcc"),
                args: &args,
                cwd: &pkg,
                roots: &roots,
                mode: PathMode::Normalize,
                from_cargo_home,
                hasher: &self.hasher,
            })
            .unwrap()
        }
    }

    #[test]
    fn a_registry_package_keys_the_same_from_another_cargo_home() {
        let s = Setup::new();
        let args = "-O2 -I $PKG/include -c $PKG/src/a.c -o a.o";
        assert_eq!(s.key("home1", args, true), s.key("home2", args, true));
        // A path out of a root through `..` (or spelled with `//`) names
        // another directory from another `CARGO_HOME`: keyed exactly.
        for odd in [
            "-I$PKG/../../inc",
            "-I $PKG/../inc",
            "-I$PKG//x",
            "-I$PKG/./x",
        ] {
            let args = format!("{odd} -c $PKG/src/a.c -o a.o");
            assert_ne!(
                s.key("home1", &args, true),
                s.key("home2", &args, true),
                "{odd}"
            );
        }
        // Joined to the option, as cmake writes include directories.
        let args = "-O2 -I$PKG/include -isystem$PKG/sys -c $PKG/src/a.c -o a.o";
        assert_eq!(s.key("home1", args, true), s.key("home2", args, true));
        assert_ne!(
            s.key("home1", args, true),
            s.key(
                "home1",
                "-O2 -I$PKG/other -isystem$PKG/sys -c $PKG/src/a.c -o a.o",
                true
            )
        );
        assert_ne!(
            s.key("home1", args, false),
            s.key("home2", args, false),
            "a workspace package keys its paths exactly"
        );
    }

    #[test]
    fn arguments_and_the_compiler_change_the_key() {
        let s = Setup::new();
        let base = s.key("h", "-O2 -c a.c -o a.o", true);
        assert_ne!(base, s.key("h", "-O3 -c a.c -o a.o", true));
        assert_ne!(base, s.key("h", "-O2 -c a.c -o b.o", true));
        std::fs::write(s.dir.path().join("gcc"), "compiler two").unwrap();
        assert_ne!(base, s.key("h", "-O2 -c a.c -o a.o", true));
    }

    #[test]
    fn the_name_a_driver_is_started_under_changes_the_key() {
        let s = Setup::new();
        let dir = s.dir.path();
        std::os::unix::fs::symlink(dir.join("gcc"), dir.join("g++")).unwrap();
        let hasher = FileHasher::new(None);
        let roots = Roots::new(dir, None, None, None);
        let args: Vec<OsString> = vec!["-c".into(), "x.c".into()];
        let key = |compiler: &Path, argv0: &str| {
            invocation_key(&CompileKeyInputs {
                compiler,
                argv0: std::ffi::OsStr::new(argv0),
                args: &args,
                cwd: dir,
                roots: &roots,
                mode: PathMode::Normalize,
                from_cargo_home: false,
                hasher: &hasher,
            })
            .unwrap()
        };
        let gcc = key(&dir.join("gcc"), "gcc");
        assert_ne!(gcc, key(&dir.join("gcc"), "g++"), "argv[0]");
        assert_ne!(gcc, key(&dir.join("g++"), "gcc"), "the link's name");
    }
}
