//! `kiln init`: set (or, with `--undo`, remove) `build.rustc-wrapper` in the
//! user's cargo config, keeping the file's formatting and comments.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use toml_edit::{DocumentMut, Item, Table, value};

use crate::cli::InitArgs;
use crate::error::hinted;

fn cargo_config_path() -> Result<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::home_dir().map(|h| h.join(".cargo")))
        .ok_or_else(|| hinted("cannot find the cargo home directory", "set `CARGO_HOME`"))?;
    let legacy = home.join("config");
    if legacy.is_file() && !home.join("config.toml").exists() {
        return Ok(legacy);
    }
    Ok(home.join("config.toml"))
}

/// What `kiln init` changes in a config text. Returns the new text, or
/// `None` when nothing changes.
pub fn edit(text: &str, path: &Path, wrapper: &str, undo: bool) -> Result<Option<String>> {
    let mut doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
        hinted(
            format!("cannot parse `{}`: {}", path.display(), e.message()),
            "fix the TOML syntax, then run `kiln init` again",
        )
    })?;
    let current = doc
        .get("build")
        .and_then(|b| b.get("rustc-wrapper"))
        .and_then(Item::as_str)
        .map(str::to_owned);
    if undo {
        let Some(cur) = current else { return Ok(None) };
        if Path::new(&cur).file_stem().is_none_or(|s| s != "kiln") {
            return Err(hinted(
                format!(
                    "`build.rustc-wrapper` in `{}` is `{cur}`, not kiln",
                    path.display()
                ),
                "kiln only removes a wrapper it set; edit the file by hand",
            ));
        }
        if let Some(build) = doc.get_mut("build").and_then(Item::as_table_like_mut) {
            build.remove("rustc-wrapper");
            if build.is_empty() {
                doc.remove("build");
            }
        }
        return Ok(Some(doc.to_string()));
    }
    if current.as_deref() == Some(wrapper) {
        return Ok(None);
    }
    if let Some(cur) = &current
        && Path::new(cur).file_stem().is_none_or(|s| s != "kiln")
    {
        kiln_diag::warn(&format!("replacing `build.rustc-wrapper = \"{cur}\"`"));
    }
    let build = doc.entry("build").or_insert(Item::Table(Table::new()));
    let Some(build) = build.as_table_like_mut() else {
        return Err(hinted(
            format!("`build` in `{}` is not a table", path.display()),
            "make `build` a table",
        ));
    };
    build.insert("rustc-wrapper", value(wrapper));
    Ok(Some(doc.to_string()))
}

pub fn init(args: &InitArgs) -> Result<ExitCode> {
    let path = cargo_config_path()?;
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read `{}`", path.display())),
    };
    let exe = std::env::current_exe().context("cannot locate the kiln executable")?;
    let wrapper = exe.to_string_lossy().into_owned();
    let Some(new) = edit(&text, &path, &wrapper, args.undo)? else {
        if args.undo {
            println!(
                "kiln: `{}` does not set kiln as the wrapper; nothing to undo",
                path.display()
            );
        } else {
            println!("kiln: `{}` already uses kiln (`{wrapper}`)", path.display());
        }
        return Ok(ExitCode::SUCCESS);
    };
    let action = if args.undo { "remove" } else { "set" };
    if args.check {
        println!(
            "kiln: would {action} `build.rustc-wrapper` in `{}`; the file would read:\n{new}",
            path.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create `{}`", parent.display()))?;
    }
    std::fs::write(&path, new).with_context(|| format!("cannot write `{}`", path.display()))?;
    if args.undo {
        println!(
            "kiln: removed kiln as `build.rustc-wrapper` from `{}`",
            path.display()
        );
    } else {
        println!(
            "kiln: cargo builds now use `{wrapper}` as `build.rustc-wrapper` (set in `{}`)",
            path.display()
        );
        println!("kiln: undo with `kiln init --undo`");
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_keeps_comments_and_undo_restores() {
        let p = Path::new("config.toml");
        let text = "# my settings\n[net]\nretry = 3 # keep\n";
        let set = edit(text, p, "/bin/kiln", false).unwrap().unwrap();
        assert!(set.contains("# my settings") && set.contains("retry = 3 # keep"));
        assert!(set.contains("rustc-wrapper = \"/bin/kiln\""));
        assert!(
            edit(&set, p, "/bin/kiln", false).unwrap().is_none(),
            "second init changes nothing"
        );
        let undone = edit(&set, p, "/bin/kiln", true).unwrap().unwrap();
        assert_eq!(undone.trim(), text.trim());
    }

    #[test]
    fn undo_leaves_foreign_wrappers() {
        let text = "[build]\nrustc-wrapper = \"sccache\"\n";
        assert!(edit(text, Path::new("c"), "/bin/kiln", true).is_err());
        assert!(edit("[[bad", Path::new("c"), "/bin/kiln", false).is_err());
    }
}
