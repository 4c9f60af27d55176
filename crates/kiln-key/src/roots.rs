//! Machine-specific directories and their placeholders.
//!
//! The same sources built from `/home/a/app` with target dir `/home/a/app/target`
//! and from `/ci/run-7/app` with `CARGO_HOME=/ci/cargo` must produce the same
//! key. [`Roots`] knows the local values of the checkout (the compiler's
//! working directory), the target dir, `CARGO_HOME` and the sysroot, and
//! replaces them by placeholders in paths and text, and back.
//!
//! Placeholders in stored text are bracketed by NUL bytes, which never occur
//! in paths, dep-info or diagnostics, so restoring is exact. Replacement only
//! happens at a path-component boundary: `/w/app` never matches inside
//! `/w/application`.

use std::path::{Path, PathBuf};

/// One root: its local value and its placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Root {
    path: String,
    token: &'static str,
}

/// The machine-specific directories of one compiler call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Roots {
    /// Longest first, so nested roots win (target dir inside the checkout).
    roots: Vec<Root>,
}

/// Placeholder for the target directory.
pub const TARGET: &str = "\0kiln:target\0";
/// Placeholder for the compiler's working directory (workspace root for local
/// packages, the package root for registry and git packages).
pub const CWD: &str = "\0kiln:cwd\0";
/// Placeholder for `CARGO_HOME`.
pub const CARGO_HOME: &str = "\0kiln:cargo-home\0";
/// Placeholder for the compiler's sysroot.
pub const SYSROOT: &str = "\0kiln:sysroot\0";

impl Roots {
    /// Roots from their local values. `None` and `/` are ignored.
    pub fn new(
        cwd: &Path,
        target_dir: Option<&Path>,
        cargo_home: Option<&Path>,
        sysroot: Option<&Path>,
    ) -> Self {
        let mut roots = Vec::new();
        let mut add = |p: Option<&Path>, token| {
            let Some(p) = p else { return };
            let s = p.to_string_lossy().trim_end_matches('/').to_owned();
            if s.is_empty() || !p.is_absolute() {
                return;
            }
            roots.push(Root { path: s, token });
        };
        add(target_dir, TARGET);
        add(Some(cwd), CWD);
        add(cargo_home, CARGO_HOME);
        add(sysroot, SYSROOT);
        roots.sort_by_key(|r| std::cmp::Reverse(r.path.len()));
        Self { roots }
    }

    /// Replaces every root in `text` by its placeholder.
    pub fn normalize(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for r in &self.roots {
            out = replace_at_boundary(&out, &r.path, r.token);
        }
        out
    }

    /// Whether `text` can be normalized reversibly (it holds no NUL byte).
    pub fn reversible(text: &[u8]) -> bool {
        !text.contains(&0)
    }

    /// Replaces placeholders in `text` by the local roots. Placeholders of
    /// roots unknown here are left in place.
    pub fn restore(&self, text: &[u8]) -> Vec<u8> {
        if !text.contains(&0) {
            return text.to_vec();
        }
        let mut out = text.to_vec();
        for r in &self.roots {
            out = replace_bytes(&out, r.token.as_bytes(), r.path.as_bytes());
        }
        out
    }

    /// Placeholders made readable for people: `{cwd}/src/lib.rs`.
    pub fn display(text: &str) -> String {
        text.replace(TARGET, "{target}")
            .replace(CWD, "{cwd}")
            .replace(CARGO_HOME, "{cargo_home}")
            .replace(SYSROOT, "{sysroot}")
    }

    /// A path made relative to the placeholders (for keys and manifests):
    /// relative paths are relative to the working directory.
    pub fn normalize_path(&self, p: &Path) -> String {
        let s = p.to_string_lossy();
        if p.is_absolute() {
            self.normalize(&s)
        } else {
            format!("{CWD}/{s}")
        }
    }

    /// The local path for a normalized path.
    pub fn local_path(&self, normalized: &str) -> PathBuf {
        PathBuf::from(String::from_utf8_lossy(&self.restore(normalized.as_bytes())).into_owned())
    }

    /// Whether `p` lies under the root with `token`.
    pub fn is_under(&self, p: &Path, token: &str) -> bool {
        self.roots
            .iter()
            .any(|r| r.token == token && p.starts_with(&r.path))
    }

    /// The local value of the root with `token`.
    pub fn get(&self, token: &str) -> Option<&Path> {
        self.roots
            .iter()
            .find(|r| r.token == token)
            .map(|r| Path::new(r.path.as_str()))
    }
}

/// Whether `b` continues a path component where roots are replaced: a root
/// matches only where the bytes around it are not such characters.
pub fn is_path_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'+' | b'@' | b'~')
}

fn replace_at_boundary(text: &str, from: &str, to: &str) -> String {
    if from.is_empty() || !text.contains(from) {
        return text.to_owned();
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (i, _) in text.match_indices(from) {
        if i < last {
            continue;
        }
        let end = i + from.len();
        let next_ok = end == bytes.len() || !is_path_char(bytes[end]);
        let prev_ok = i == 0 || !is_path_char(bytes[i - 1]) || bytes[i - 1] == b'=';
        if next_ok && prev_ok {
            out.push_str(&text[last..i]);
            out.push_str(to);
            last = end;
        }
    }
    out.push_str(&text[last..]);
    out
}

fn replace_bytes(text: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(text[i]);
            i += 1;
        }
    }
    out
}

/// Finds the target directory from a compiler output directory: the nearest
/// ancestor (up to five levels) holding cargo's `CACHEDIR.TAG`, else the
/// directory above the profile directory (`deps`, `examples`, a build
/// script's directory or its `out`; `cargo install` builds in a temporary
/// target dir without the tag).
pub fn find_target_dir(out_dir: &Path) -> Option<PathBuf> {
    for dir in out_dir.ancestors().take(6) {
        if dir.join("CACHEDIR.TAG").is_file() {
            return Some(dir.to_path_buf());
        }
    }
    let mut comps: Vec<_> = out_dir.ancestors().collect();
    comps.truncate(5);
    let name = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    if name(out_dir) == "deps" || name(out_dir) == "examples" {
        return out_dir.parent()?.parent().map(Path::to_path_buf);
    }
    if comps.len() > 2 && name(comps[1]) == "build" {
        return comps[2].parent().map(Path::to_path_buf);
    }
    if comps.len() > 3 && name(out_dir) == "out" && name(comps[2]) == "build" {
        return comps[3].parent().map(Path::to_path_buf);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roots() -> Roots {
        Roots::new(
            Path::new("/w/app"),
            Some(Path::new("/w/app/target")),
            Some(Path::new("/h/.cargo")),
            None,
        )
    }

    #[test]
    fn nested_roots_use_the_longest() {
        let r = roots();
        assert_eq!(
            r.normalize("/w/app/target/debug/deps"),
            format!("{TARGET}/debug/deps")
        );
        assert_eq!(
            r.normalize("/w/app/src/lib.rs"),
            format!("{CWD}/src/lib.rs")
        );
        assert_eq!(
            r.normalize("dependency=/w/app/target/x"),
            format!("dependency={TARGET}/x")
        );
        assert_eq!(
            r.normalize("/h/.cargo/registry/src/x"),
            format!("{CARGO_HOME}/registry/src/x")
        );
    }

    #[test]
    fn only_whole_components_match() {
        let r = roots();
        assert_eq!(r.normalize("/w/application/src"), "/w/application/src");
        assert_eq!(r.normalize("/w/app"), CWD);
        assert_eq!(
            r.normalize("\"/w/app/src/a.rs\""),
            format!("\"{CWD}/src/a.rs\"")
        );
    }

    #[test]
    fn restore_round_trips_on_another_machine() {
        let here = roots();
        let there = Roots::new(
            Path::new("/ci/x"),
            Some(Path::new("/ci/x/t")),
            Some(Path::new("/ci/cargo")),
            None,
        );
        let text = "/w/app/target/debug/deps/libfoo.rmeta: src/lib.rs /h/.cargo/registry/a.rs\n";
        let stored = here.normalize(text);
        assert_eq!(
            String::from_utf8(there.restore(stored.as_bytes())).unwrap(),
            "/ci/x/t/debug/deps/libfoo.rmeta: src/lib.rs /ci/cargo/registry/a.rs\n"
        );
    }

    #[test]
    fn relative_paths_are_relative_to_cwd() {
        assert_eq!(
            roots().normalize_path(Path::new("src/lib.rs")),
            format!("{CWD}/src/lib.rs")
        );
    }

    #[test]
    fn target_dir_is_found() {
        let d = tempfile::tempdir().unwrap();
        let t = d.path().join("tgt");
        std::fs::create_dir_all(t.join("debug/build/foo-1")).unwrap();
        std::fs::write(t.join("CACHEDIR.TAG"), "").unwrap();
        assert_eq!(
            find_target_dir(&t.join("debug/build/foo-1")),
            Some(t.clone())
        );
        assert_eq!(
            find_target_dir(Path::new("/x/t/release/deps")),
            Some(PathBuf::from("/x/t"))
        );
        assert_eq!(
            find_target_dir(Path::new("/x/t/release/build/foo-1/out")),
            Some(PathBuf::from("/x/t"))
        );
    }
}
