//! Reading a trace file back.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::{Component, Path, PathBuf};

use crate::TraceError;

/// What a traced process tree did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trace {
    /// Files opened for reading only (and never for writing).
    pub reads: BTreeSet<PathBuf>,
    /// Files opened for writing or created.
    pub writes: BTreeSet<PathBuf>,
    /// Files looked for and missing.
    pub absent: BTreeSet<PathBuf>,
    /// Environment variables looked up.
    pub env: BTreeSet<String>,
    /// Programs executed, as absolute paths.
    pub execs: BTreeSet<PathBuf>,
}

/// Parses the trace at `path`. Bare program names are resolved on `path_var`
/// (the `PATH` the traced processes had). A missing file is an empty trace.
pub fn parse_trace(path: &Path, path_var: Option<&OsStr>) -> Result<Trace, TraceError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(source) => {
            return Err(TraceError::Io {
                action: "read trace",
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let text = String::from_utf8_lossy(&bytes);
    let mut t = Trace::default();
    for line in text.lines() {
        let Some((kind, rest)) = line.split_once(' ') else {
            continue;
        };
        match kind {
            "R" => {
                t.reads.insert(lexical(Path::new(rest)));
            }
            "W" => {
                t.writes.insert(lexical(Path::new(rest)));
            }
            "A" => {
                t.absent.insert(lexical(Path::new(rest)));
            }
            "E" => {
                t.env.insert(rest.to_owned());
            }
            "X" => {
                if let Some(p) = resolve(rest, path_var) {
                    t.execs.insert(p);
                }
            }
            _ => {}
        }
    }
    let writes = t.writes.clone();
    t.reads.retain(|p| !writes.contains(p));
    t.absent
        .retain(|p| !writes.contains(p) && !t.reads.contains(p));
    Ok(t)
}

fn resolve(prog: &str, path_var: Option<&OsStr>) -> Option<PathBuf> {
    if prog.contains('/') {
        return Some(lexical(Path::new(prog)));
    }
    for dir in std::env::split_paths(path_var?) {
        let candidate = dir.join(prog);
        if candidate.is_file() {
            return Some(lexical(&candidate));
        }
    }
    None
}

/// Removes `.` and resolves `..` without touching the filesystem.
fn lexical(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalizes() {
        let d = tempfile::tempdir().unwrap();
        let bin = d.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::write(bin.join("cc"), "").unwrap();
        let f = d.path().join("trace");
        std::fs::write(
            &f,
            "R /a/./b/../c.rs\nW /out/x.o\nR /out/x.o\nA /missing\nA /a/c.rs\nE FOO\nE FOO\nX cc\nX /usr/bin/../bin/ld\nX nowhere\ngarbage\n",
        )
        .unwrap();
        let t = parse_trace(&f, Some(bin.as_os_str())).unwrap();
        assert_eq!(
            t.reads.into_iter().collect::<Vec<_>>(),
            [PathBuf::from("/a/c.rs")]
        );
        assert_eq!(
            t.writes.into_iter().collect::<Vec<_>>(),
            [PathBuf::from("/out/x.o")]
        );
        assert_eq!(
            t.absent.into_iter().collect::<Vec<_>>(),
            [PathBuf::from("/missing")]
        );
        assert_eq!(t.env.into_iter().collect::<Vec<_>>(), ["FOO"]);
        assert_eq!(
            t.execs.into_iter().collect::<Vec<_>>(),
            [bin.join("cc"), PathBuf::from("/usr/bin/ld")]
        );
    }

    #[test]
    fn missing_trace_is_empty() {
        assert_eq!(
            parse_trace(Path::new("/nonexistent/trace"), None).unwrap(),
            Trace::default()
        );
    }
}
