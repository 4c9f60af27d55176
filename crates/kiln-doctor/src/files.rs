//! Reading the workspace's own files: TOML with line numbers, text, paths
//! relative to the report root.
//!
//! A file that cannot be parsed turns into a `malformed-file` finding here;
//! callers get `None` and carry on.

use std::path::{Path, PathBuf};

use toml_edit::{Document, Item, TableLike};

use crate::finding::{Finding, Rule, Severity};

/// A parsed TOML file that keeps its source, for line numbers.
#[derive(Debug)]
pub(crate) struct TomlFile {
    /// Path relative to the report root.
    pub rel: PathBuf,
    pub doc: Document<String>,
}

impl TomlFile {
    /// Reads and parses `path`. Missing: `None`. Unreadable or malformed:
    /// `None` and a `malformed-file` finding in `problems`.
    pub fn load(root: &Path, path: &Path, problems: &mut Vec<Finding>) -> Option<Self> {
        let text = read_text(root, path, problems)?;
        let rel = relative(root, path);
        match Document::parse(text.clone()) {
            Ok(doc) => Some(Self { rel, doc }),
            Err(e) => {
                let line = e.span().map(|s| line_at(&text, s.start));
                problems.push(malformed(&rel, line, e.message().trim()));
                None
            }
        }
    }

    /// The item at a dotted path of keys, through tables and inline tables.
    pub fn get(&self, keys: &[&str]) -> Option<&Item> {
        let mut item = self.doc.as_item();
        for key in keys {
            item = item.as_table_like()?.get(key)?;
        }
        Some(item)
    }

    /// The table-like item at `keys`.
    pub fn table(&self, keys: &[&str]) -> Option<&dyn TableLike> {
        self.get(keys)?.as_table_like()
    }

    /// The line of the last key of `keys` (a `key = ...` line or a
    /// `[table]` header).
    pub fn line_of(&self, keys: &[&str]) -> Option<u32> {
        let (last, parents) = keys.split_last()?;
        let parent = if parents.is_empty() {
            self.doc.as_table() as &dyn TableLike
        } else {
            self.table(parents)?
        };
        let (key, item) = parent.get_key_value(last)?;
        let span = key.span().or_else(|| item.span())?;
        Some(line_at(self.doc.raw(), span.start))
    }

    /// A string value at `keys`.
    pub fn str(&self, keys: &[&str]) -> Option<&str> {
        self.get(keys)?.as_str()
    }
}

/// Reads a text file; unreadable (not missing) files become findings.
pub(crate) fn read_text(root: &Path, path: &Path, problems: &mut Vec<Finding>) -> Option<String> {
    match fs_err::read_to_string(path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            problems.push(malformed(&relative(root, path), None, &e.to_string()));
            None
        }
    }
}

/// The `malformed-file` finding for `rel`.
pub(crate) fn malformed(rel: &Path, line: Option<u32>, message: &str) -> Finding {
    let shown = rel.display().to_string().replace('\\', "/");
    Finding::new(
        Rule::MalformedFile,
        Severity::Error,
        format!("cannot parse `{shown}`: {}", first_line(message)),
    )
    .at(rel, line)
    .why("the checks that read this file were skipped, so the report is incomplete")
    .fix(format!(
        "fix the syntax of `{shown}` and run `kiln doctor` again"
    ))
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

/// The 1-based line of byte `offset` in `text`.
pub(crate) fn line_at(text: &str, offset: usize) -> u32 {
    let end = offset.min(text.len());
    let newlines = text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count();
    u32::try_from(newlines + 1).unwrap_or(u32::MAX)
}

/// `path` relative to `root` when it is inside it; otherwise as given.
pub(crate) fn relative(root: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(root)
        .map_or_else(|_| path.to_path_buf(), Path::to_path_buf)
}

/// The directory whose `.git` holds the workspace, or the workspace root.
/// CI files live there and report paths are relative to it.
pub(crate) fn project_root(workspace_root: &Path) -> PathBuf {
    workspace_root
        .ancestors()
        .find(|dir| dir.join(".git").exists())
        .unwrap_or(workspace_root)
        .to_path_buf()
}

/// Directories from the workspace root up to the project root, nearest
/// first: where rustup and cargo look for their files.
pub(crate) fn search_dirs<'a>(workspace_root: &'a Path, project_root: &'a Path) -> Vec<&'a Path> {
    let mut dirs = Vec::new();
    for dir in workspace_root.ancestors() {
        dirs.push(dir);
        if dir == project_root {
            break;
        }
    }
    dirs
}

/// `.rs` files under `dir`, sorted, skipping `target` directories.
pub(crate) fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if is_dir {
                if path.file_name().is_some_and(|n| n != "target") {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        assert_eq!(line_at("a\nb\nc", 0), 1);
        assert_eq!(line_at("a\nb\nc", 2), 2);
        assert_eq!(line_at("a\nb\nc", 99), 3);
    }
}
