//! Build scripts and proc macros keep their symbol table.
//!
//! kiln reads a build script's and a proc macro's machine code to tell
//! whether it iterates the environment (`unseen.rs`); a stripped one must be
//! assumed to, which keys it by every variable and makes it miss whenever
//! any differs (another checkout's `OUT_DIR`, a CI run id). Neither is ever
//! shipped (cargo runs the one, rustc loads the other), so where the profile
//! strips symbols (`-C strip=symbols`, `strip = true`) kiln compiles them
//! with `-C strip=debuginfo` instead. What they do is the same.

use std::ffi::OsString;

/// `args` with `strip=symbols` made `strip=debuginfo` when they compile a
/// build script or a proc macro; `None` when nothing changes.
pub(crate) fn keep_symbols(args: &[OsString]) -> Option<Vec<OsString>> {
    let after = |flag: &str| {
        args.windows(2)
            .find(|w| w[0] == flag)
            .map(|w| w[1].to_string_lossy().into_owned())
    };
    let build_script = after("--crate-name").is_some_and(|n| n.starts_with("build_script_"))
        && after("--out-dir")
            .is_some_and(|d| kiln_rustc::args::in_build_dir(std::path::Path::new(&d)));
    let proc_macro = args
        .windows(2)
        .any(|w| w[0] == "--crate-type" && w[1] == "proc-macro")
        || args.iter().any(|a| a == "--crate-type=proc-macro");
    if !build_script && !proc_macro {
        return None;
    }
    let mut changed = false;
    let mut out = Vec::with_capacity(args.len());
    let mut after_c = false;
    for a in args {
        let replaced = if after_c && a == "strip=symbols" {
            Some(OsString::from("strip=debuginfo"))
        } else if a == "-Cstrip=symbols" {
            Some(OsString::from("-Cstrip=debuginfo"))
        } else {
            None
        };
        after_c = a == "-C";
        changed |= replaced.is_some();
        out.push(replaced.unwrap_or_else(|| a.clone()));
    }
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<OsString> {
        s.split_whitespace().map(OsString::from).collect()
    }

    #[test]
    fn build_scripts_and_proc_macros_keep_symbols_others_do_not() {
        let script = args(
            "--crate-name build_script_build --crate-type bin -C strip=symbols --out-dir /t/release/build/p-1 build.rs",
        );
        assert_eq!(
            keep_symbols(&script),
            Some(args(
                "--crate-name build_script_build --crate-type bin -C strip=debuginfo --out-dir /t/release/build/p-1 build.rs"
            ))
        );
        // A binary a user named `build-script-tool` is shipped stripped.
        let named = args(
            "--crate-name build_script_tool --crate-type bin -C strip=symbols --out-dir /t/release/deps src/bin/build-script-tool.rs",
        );
        assert_eq!(keep_symbols(&named), None);
        let mac = args("--crate-name mac --crate-type proc-macro -Cstrip=symbols src/lib.rs");
        assert_eq!(
            keep_symbols(&mac),
            Some(args(
                "--crate-name mac --crate-type proc-macro -Cstrip=debuginfo src/lib.rs"
            ))
        );
        let bin = args("--crate-name app --crate-type bin -C strip=symbols src/main.rs");
        assert_eq!(
            keep_symbols(&bin),
            None,
            "what is shipped is stripped as asked"
        );
        let unstripped = args("--crate-name build_script_build --crate-type bin build.rs");
        assert_eq!(keep_symbols(&unstripped), None);
    }
}
