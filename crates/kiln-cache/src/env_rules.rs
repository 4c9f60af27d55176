//! Which environment variables enter keys, and how their values are treated.
//!
//! Variables read by the compile (dep-info `env-dep` lines and observed
//! lookups) enter the key with a digest of their value, except the ones in
//! [`IGNORED`], which the compiler, linker or C library consult without any
//! effect on the output (or whose effect is keyed another way: `PATH` only
//! chooses the linker, and the linker binary itself is keyed by content).
//! [`ALWAYS`] are keyed even when no read was observed: they change what
//! rustc or clippy do before any crate code runs.

use std::ffi::OsString;

use kiln_config::PathMode;
use kiln_key::Roots;

/// Keyed on every call.
pub const ALWAYS: &[&str] = &[
    "RUSTC_BOOTSTRAP",
    "RUST_TARGET_PATH",
    "RUSTC_FORCE_RUSTC_VERSION",
    "SDKROOT",
    "MACOSX_DEPLOYMENT_TARGET",
    "IPHONEOS_DEPLOYMENT_TARGET",
];

/// Keyed on every clippy call.
pub const CLIPPY: &[&str] = &["CLIPPY_ARGS", "CLIPPY_CONF_DIR", "CARGO_PRIMARY_PACKAGE"];

/// Never keyed.
pub const IGNORED: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "PWD",
    "OLDPWD",
    "SHLVL",
    "TMPDIR",
    "TMP",
    "TEMP",
    "TERM",
    "COLORTERM",
    "COLUMNS",
    "LINES",
    "NO_COLOR",
    "CLICOLOR",
    "CLICOLOR_FORCE",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "LC_MESSAGES",
    "LD_PRELOAD",
    "LD_LIBRARY_PATH",
    "RUST_BACKTRACE",
    "RUST_LIB_BACKTRACE",
    "RUST_LOG",
    "RUSTC_LOG",
    "RUSTC_LOG_COLOR",
    "RUST_MIN_STACK",
    "RUSTC_ICE",
    "RUSTC_CTFE_BACKTRACE",
    "CARGO_MAKEFLAGS",
    "MAKEFLAGS",
    "MFLAGS",
    "CARGO_TERM_COLOR",
    "CARGO_TERM_VERBOSE",
    "CARGO_TERM_PROGRESS_WHEN",
    "CARGO_TERM_PROGRESS_WIDTH",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "CARGO_BUILD_RUSTC_WRAPPER",
    "RUSTUP_HOME",
    "RUSTUP_TOOLCHAIN",
    "RUSTUP_TOOLCHAIN_SOURCE",
    "RUSTUP_AUTO_INSTALL",
    "MALLOC_CONF",
    "MALLOC_ARENA_MAX",
    "GLIBC_TUNABLES",
    "TZ",
    // rustc's own code looks it up; the outputs are the same bytes with and
    // without it (a test builds both).
    "CI",
    "XDG_CACHE_HOME",
    "XDG_RUNTIME_DIR",
    "DEBUGINFOD_URLS",
    "COLLECT_NO_DEMANGLE",
    "GCC_COMPARE_DEBUG",
    "TERMINFO",
];

/// The name under which a run's environment lookup answers with every
/// variable's name (newline-separated, sorted, kiln's own left out). It holds
/// `=`, so no variable can have it.
pub const ALL_NAMES: &str = "=names";

/// Variables that carry cargo's jobserver: which descriptors or which FIFO
/// hands out job tokens changes every build and says nothing about outputs.
const JOBSERVER: &[&str] = &["CARGO_MAKEFLAGS", "MAKEFLAGS", "MFLAGS"];

/// `value` of `name` without the jobserver's address (`--jobserver-auth=…`,
/// `--jobserver-fds=…`); everything else in it is kept.
pub fn without_jobserver<'a>(name: &str, value: &'a str) -> std::borrow::Cow<'a, str> {
    if !JOBSERVER.contains(&name) || !value.contains("--jobserver-") {
        return value.into();
    }
    value
        .split(' ')
        .filter(|w| !w.starts_with("--jobserver-auth=") && !w.starts_with("--jobserver-fds="))
        .collect::<Vec<_>>()
        .join(" ")
        .into()
}

/// This process's environment as keys see it: a variable's value, and under
/// [`ALL_NAMES`] every variable's name.
pub fn lookup(name: &str) -> Option<OsString> {
    if name == ALL_NAMES {
        return Some(all_names(vars().into_iter().map(|(n, _)| n)));
    }
    var(name)
}

/// A variable of this process's environment. The engine reads its
/// environment only here, through [`text`] and [`vars`], and through
/// [`lookup`] where keys see it.
pub fn var(name: &str) -> Option<OsString> {
    std::env::var_os(name)
}

/// A variable's value when it is set, text and not empty.
pub fn text(name: &str) -> Option<String> {
    var(name)?.into_string().ok().filter(|v| !v.is_empty())
}

/// This process's whole environment.
pub fn vars() -> Vec<(OsString, OsString)> {
    std::env::vars_os().collect()
}

/// Names of the environment `vars` yields, as [`ALL_NAMES`] answers.
pub fn all_names(vars: impl Iterator<Item = OsString>) -> OsString {
    let mut names: Vec<String> = vars
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !kiln_internal(n))
        .collect();
    names.sort();
    names.join("\n").into()
}

/// A variable's value as it enters a build-script run's key: for a package
/// from `CARGO_HOME`, with every local root replaced (its outputs are
/// restored for the new location the same way); otherwise as is.
pub fn script_value(value: &str, roots: &Roots, mode: PathMode, from_cargo_home: bool) -> String {
    if mode == PathMode::Normalize && from_cargo_home {
        roots.normalize(value)
    } else {
        value.to_owned()
    }
}

/// Whether an observed lookup of `name` is left out of keys.
pub fn ignored(name: &str) -> bool {
    IGNORED.contains(&name) || kiln_internal(name)
}

/// kiln's own variables (and the observer's), never inputs of a compile.
pub fn kiln_internal(name: &str) -> bool {
    kiln_config::vars::ALL.contains(&name) || name.starts_with("KILN_") || name == "LD_PRELOAD"
}

/// The value of `name` as it enters a key.
///
/// In the default path mode, the locations cargo gives packages compiled from
/// `CARGO_HOME` (registry and git dependencies: manifest dir and `OUT_DIR`)
/// are normalized. Every other value is keyed as is: a workspace crate that
/// bakes `env!("CARGO_MANIFEST_DIR")` or `env!("OUT_DIR")` into a program must
/// not reuse a program that points into another checkout.
pub fn keyed_value(
    name: &str,
    value: &str,
    roots: &Roots,
    mode: PathMode,
    from_cargo_home: bool,
) -> String {
    let paths = crate::paths::PathRule { roots, mode };
    match name {
        "CLIPPY_CONF_DIR" => paths.key_text(value),
        "OUT_DIR" | "CARGO_MANIFEST_DIR" | "CARGO_MANIFEST_PATH" if from_cargo_home => {
            paths.key_text(value)
        }
        _ => value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_jobserver_address_is_not_keyed_and_the_rest_is() {
        let v = "-j --jobserver-fds=3,4 --jobserver-auth=fifo:/tmp/x -j8";
        assert_eq!(without_jobserver("CARGO_MAKEFLAGS", v), "-j -j8");
        assert_eq!(without_jobserver("OTHER", v), v);
        assert_eq!(without_jobserver("MAKEFLAGS", "-j4"), "-j4");
    }

    #[test]
    fn all_names_are_sorted_without_kiln_s_own() {
        let names = all_names(
            ["PATH", "KILN_DIR", "CC", "LD_PRELOAD"]
                .into_iter()
                .map(OsString::from),
        );
        assert_eq!(names, "CC\nPATH");
    }
}
