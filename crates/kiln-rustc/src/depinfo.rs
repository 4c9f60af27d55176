//! rustc's dep-info (`.d`) files.
//!
//! A dep-info file lists, in Makefile syntax, the source files a compile read
//! (`target: a.rs b.rs`, spaces escaped as `\ `), followed by one
//! `# env-dep:NAME=VALUE` line per environment variable read through `env!` or
//! `option_env!` (`# env-dep:NAME` when it was unset; `\n`, `\r` and `\\`
//! escaped in values). kiln reads it to learn a compile's inputs; the file is
//! rewritten on restore by path substitution, not here.

use std::path::PathBuf;

/// What a dep-info file says a compile read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DepInfo {
    /// Every prerequisite file, once, in first-seen order.
    pub files: Vec<PathBuf>,
    /// Environment variables read at compile time, with the value seen
    /// (`None`: unset).
    pub env: Vec<(String, Option<String>)>,
}

/// Parses the text of a dep-info file.
pub fn parse(text: &str) -> DepInfo {
    let mut info = DepInfo::default();
    let mut seen = std::collections::HashSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# env-dep:") {
            let (name, value) = match rest.split_once('=') {
                Some((n, v)) => (n, Some(unescape_env(v))),
                None => (rest, None),
            };
            info.env.push((name.to_owned(), value));
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let Some(colon) = find_rule_colon(line) else {
            continue;
        };
        for dep in split_escaped(&line[colon + 1..]) {
            if seen.insert(dep.clone()) {
                info.files.push(PathBuf::from(dep));
            }
        }
    }
    info
}

/// Finds the `:` that ends a rule's target (not an escaped one, and not a
/// Windows drive letter).
fn find_rule_colon(line: &str) -> Option<usize> {
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b':' if i + 1 == bytes.len() || bytes[i + 1] == b' ' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

fn split_escaped(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&' ') => {
                cur.push(' ');
                chars.next();
            }
            ' ' | '\t' => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            _ => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn unescape_env(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('\\') => out.push('\\'),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_files_and_env() {
        let text = "/t/deps/libfoo-1.rmeta: src/lib.rs src/a\\ b.rs /t/build/foo-2/out/gen.rs\n\n/t/deps/foo-1.d: src/lib.rs src/a\\ b.rs /t/build/foo-2/out/gen.rs\n\nsrc/lib.rs:\nsrc/a\\ b.rs:\n/t/build/foo-2/out/gen.rs:\n\n# env-dep:CARGO_PKG_NAME=foo\n# env-dep:MULTI=a\\nb\\\\c\n# env-dep:UNSET\n";
        let d = parse(text);
        assert_eq!(
            d.files,
            vec![
                PathBuf::from("src/lib.rs"),
                PathBuf::from("src/a b.rs"),
                PathBuf::from("/t/build/foo-2/out/gen.rs")
            ]
        );
        assert_eq!(
            d.env,
            vec![
                ("CARGO_PKG_NAME".into(), Some("foo".into())),
                ("MULTI".into(), Some("a\nb\\c".into())),
                ("UNSET".into(), None)
            ]
        );
    }

    #[test]
    fn empty_rule_has_no_files() {
        assert!(parse("out.rmeta:\n").files.is_empty());
    }
}
