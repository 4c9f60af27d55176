//! Where the two lockfiles come from: files, or `Cargo.lock` at git refs.
//!
//! An argument naming an existing file is read as a lockfile (a directory:
//! its `Cargo.lock`); anything else is a git ref, read with `git show
//! REF:<path>` for the workspace's `Cargo.lock`. Without BASE, the merge
//! base of `HEAD` with the first of `main`, `master`, `origin/HEAD` that
//! exists; without HEAD, the work tree.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Cause, Error};

/// Refs tried, in order, as the main branch.
pub const MAIN_REFS: &[&str] = &["main", "master", "origin/HEAD"];

/// What `git args…` printed in `dir`; its error output when it failed.
fn git(dir: &Path, args: &[&str]) -> Result<String, Error> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| {
            Error::new(
                Cause::Git,
                format!("cannot run git: {e}"),
                "install git, or pass paths to two `Cargo.lock` files",
            )
        })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(Error::new(
            Cause::Git,
            String::from_utf8_lossy(&out.stderr).trim(),
            "pass paths to two `Cargo.lock` files",
        ))
    }
}

/// The text of `file`.
fn read(file: &Path, hint: &str) -> Result<String, Error> {
    std::fs::read_to_string(file).map_err(|e| {
        Error::new(
            Cause::Unreadable,
            format!("cannot read `{}`: {e}", file.display()),
            hint,
        )
    })
}

/// The nearest `Cargo.lock` at or above `cwd`.
pub fn workspace_lock(cwd: &Path) -> Option<PathBuf> {
    cwd.ancestors()
        .map(|d| d.join("Cargo.lock"))
        .find(|p| p.is_file())
}

/// A lockfile's text and a label for people.
pub struct Loaded {
    pub label: String,
    pub text: String,
}

/// Reads BASE or HEAD as given on the command line (`None`: the default).
pub fn load(cwd: &Path, arg: Option<&str>, is_base: bool) -> Result<Loaded, Error> {
    if let Some(a) = arg {
        let p = cwd.join(a);
        let file = if p.is_dir() { p.join("Cargo.lock") } else { p };
        if file.is_file() {
            return Ok(Loaded {
                label: a.to_owned(),
                text: read(&file, "check the path")?,
            });
        }
    }
    let lock = workspace_lock(cwd).ok_or_else(|| {
        Error::new(
            Cause::NoLockfile,
            "no `Cargo.lock` in this directory or above",
            "run inside a workspace, or pass two `Cargo.lock` paths",
        )
    })?;
    let reference = match (arg, is_base) {
        (Some(r), _) => r.to_owned(),
        (None, false) => {
            return Ok(Loaded {
                label: "work tree".into(),
                text: read(&lock, "check the file")?,
            });
        }
        (None, true) => default_base(cwd)?,
    };
    if reference.starts_with('-') {
        // git would read it as an option, not a ref.
        return Err(Error::new(
            Cause::NotARef,
            format!("`{reference}` is neither a file nor a git ref"),
            "pass a git ref (a branch, tag or commit) or a path to a `Cargo.lock`",
        ));
    }
    let dir = lock.parent().unwrap_or(cwd);
    let top = git(dir, &["rev-parse", "--show-toplevel"]).map_err(|e| {
        Error::new(
            Cause::Git,
            format!("`{reference}` is not a file, and this is not a git checkout: {e}"),
            "pass paths to two `Cargo.lock` files, or run inside a git checkout",
        )
    })?;
    let canonical = lock.canonicalize().unwrap_or(lock.clone());
    let top = Path::new(top.trim())
        .canonicalize()
        .unwrap_or_else(|_| PathBuf::from(top.trim()));
    let rel = canonical
        .strip_prefix(&top)
        .map_or_else(|_| PathBuf::from("Cargo.lock"), Path::to_owned);
    let spec = format!("{reference}:{}", rel.to_string_lossy());
    let text = git(dir, &["show", &spec]).map_err(|e| {
        Error::new(
            Cause::Git,
            format!("cannot read `Cargo.lock` at `{reference}`: {e}"),
            "pass a git ref that has the lockfile committed, or a path to a `Cargo.lock`",
        )
    })?;
    Ok(Loaded {
        label: reference,
        text,
    })
}

/// The merge base of `HEAD` with the main branch.
fn default_base(cwd: &Path) -> Result<String, Error> {
    for main in MAIN_REFS {
        if git(
            cwd,
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("{main}^{{commit}}"),
            ],
        )
        .is_ok()
            && let Ok(base) = git(cwd, &["merge-base", "HEAD", main])
        {
            let base = base.trim().to_owned();
            return Ok(base);
        }
    }
    Err(Error::new(
        Cause::NoBase,
        "no base to compare with: none of `main`, `master`, `origin/HEAD` exists here",
        "name the base: `kiln deps diff <git-ref>` or `kiln deps diff OLD.lock NEW.lock`",
    ))
}

/// The `targets` of the nearest `rust-toolchain.toml` (what CI installs to
/// build for).
fn toolchain_targets(cwd: &Path) -> Vec<String> {
    let Some(text) = cwd
        .ancestors()
        .find_map(|d| std::fs::read_to_string(d.join("rust-toolchain.toml")).ok())
    else {
        return Vec::new();
    };
    let doc: Option<toml_edit::DocumentMut> = text.parse().ok();
    doc.as_ref()
        .and_then(|d| d.get("toolchain")?.get("targets")?.as_array().cloned())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The packages (name, version) the work tree's workspace compiles on this
/// machine's platform and the toolchain file's targets (`cargo metadata
/// --filter-platform`); `None` when cargo cannot tell (offline with crates
/// not downloaded, no host).
pub fn built_here(cwd: &Path) -> Option<std::collections::BTreeSet<(String, String)>> {
    let run = |program: &str, args: &[&str]| {
        let out = std::process::Command::new(program)
            .args(args)
            .current_dir(cwd)
            .stderr(std::process::Stdio::null())
            .output()
            .ok()?;
        out.status.success().then_some(out.stdout)
    };
    let vv = String::from_utf8(run("rustc", &["-vV"])?).ok()?;
    let host = vv
        .lines()
        .find_map(|l| l.strip_prefix("host: "))?
        .trim()
        .to_owned();
    let mut targets = vec![host];
    targets.extend(toolchain_targets(cwd));
    let mut args = vec!["metadata", "--format-version", "1", "--locked"];
    for t in &targets {
        args.extend(["--filter-platform", t.as_str()]);
    }
    let meta = run("cargo", &args)?;
    let doc: serde_json::Value = serde_json::from_slice(&meta).ok()?;
    let packages = doc.get("packages")?.as_array()?;
    Some(
        packages
            .iter()
            .filter_map(|p| {
                Some((
                    p.get("name")?.as_str()?.to_owned(),
                    p.get("version")?.as_str()?.to_owned(),
                ))
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::load;
    use crate::error::Cause;

    #[test]
    fn refs_that_look_like_options_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("Cargo.lock"), "version = 4\n").unwrap();
        let Err(e) = load(tmp.path(), Some("--output=/tmp/x"), true) else {
            panic!("an option-like ref was accepted");
        };
        assert_eq!(e.cause, Cause::NotARef, "{e}");
        assert_eq!(
            e.to_string(),
            "`--output=/tmp/x` is neither a file nor a git ref"
        );
        assert!(e.hint().contains("git ref"), "{}", e.hint());
        assert!(!tmp.path().join("x").exists());
    }
}
