//! A directory tree as one file: how a build script's `OUT_DIR` is stored.
//!
//! ```text
//! "KILNTRE1"            magic
//! records, until the end:
//!   u8                  kind: 0 directory, 1 file, 2 file with path placeholders
//!   u32 LE              Unix permission bits
//!   u32 LE              length of the relative path
//!   path bytes          components separated by `/`
//!   u64 LE              content length (files only)
//!   content
//! ```
//!
//! A tree file sits inside an entry, whose digests cover it; this module only
//! guards the layout. [`pack`] takes regular files and directories and
//! refuses anything else (symlinks, FIFOs, sockets), so a stored tree never
//! points outside itself. [`unpack`] writes into a directory that must not
//! exist yet, creates every path exclusively, and rejects absolute paths,
//! `..`, `.` and empty components: a tree can never write elsewhere.
//! Text files (marked when packed) go through a rewrite on both sides, which
//! is how absolute paths are replaced by placeholders and restored.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

const MAGIC: &[u8; 8] = b"KILNTRE1";
const MAX_PATH: u32 = 4096;
const MAX_TEXT: u64 = 64 << 20;

/// Why a tree could not be packed or unpacked.
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    /// The tree holds something a cache cannot replay.
    #[error("`{0}` is not a regular file or directory")]
    Special(PathBuf),
    /// The stored tree is malformed.
    #[error("malformed tree: {0}")]
    Malformed(String),
    /// A file operation failed.
    #[error("cannot {action} `{path}`: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path concerned.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> TreeError + 'a {
    move |source| TreeError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// Rewrites a text file's content, or says it is not to be rewritten.
pub type Rewrite<'a> = &'a dyn Fn(&[u8]) -> Option<Vec<u8>>;

/// Counts of what a tree holds.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TreeSize {
    /// Regular files.
    pub files: u64,
    /// Bytes of file content.
    pub bytes: u64,
}

/// Writes the tree under `root` to `dest`. Files for which `normalize`
/// returns new content (at most 64 MiB of text) are stored with it and
/// marked as text.
pub fn pack(root: &Path, dest: &Path, normalize: Rewrite<'_>) -> Result<TreeSize, TreeError> {
    let out = File::create(dest).map_err(io_err("create", dest))?;
    let mut w = BufWriter::with_capacity(256 * 1024, out);
    w.write_all(MAGIC).map_err(io_err("write", dest))?;
    let mut size = TreeSize::default();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let dir = root.join(&rel);
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .map_err(io_err("list", &dir))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()
            .map_err(io_err("list", &dir))?;
        names.sort();
        for name in names {
            let rel = rel.join(&name);
            let path = root.join(&rel);
            let md = std::fs::symlink_metadata(&path).map_err(io_err("read", &path))?;
            let mode = md.permissions().mode() & 0o7777 & !0o6000;
            if md.is_dir() {
                put_head(&mut w, 0, mode, &rel).map_err(io_err("write", dest))?;
                stack.push(rel);
            } else if md.is_file() {
                size.files += 1;
                size.bytes += md.len();
                put_file(&mut w, &path, &rel, mode, md.len(), normalize)?;
            } else {
                return Err(TreeError::Special(path));
            }
        }
    }
    w.into_inner()
        .map_err(|e| io_err("write", dest)(e.into_error()))?;
    Ok(size)
}

fn put_head(w: &mut impl Write, kind: u8, mode: u32, rel: &Path) -> io::Result<()> {
    let bytes = rel.as_os_str().as_bytes();
    let len = u32::try_from(bytes.len())
        .ok()
        .filter(|n| *n <= MAX_PATH)
        .ok_or_else(|| io::Error::other("path too long"))?;
    w.write_all(&[kind])?;
    w.write_all(&mode.to_le_bytes())?;
    w.write_all(&len.to_le_bytes())?;
    w.write_all(bytes)
}

fn put_file(
    w: &mut impl Write,
    path: &Path,
    rel: &Path,
    mode: u32,
    len: u64,
    normalize: Rewrite<'_>,
) -> Result<(), TreeError> {
    let wr = |e| TreeError::Io {
        action: "write tree for",
        path: path.to_path_buf(),
        source: e,
    };
    if len <= MAX_TEXT {
        let content = std::fs::read(path).map_err(io_err("read", path))?;
        let (kind, bytes) = match normalize(&content) {
            Some(text) => (2, text),
            None => (1, content),
        };
        put_head(w, kind, mode, rel).map_err(wr)?;
        w.write_all(&(bytes.len() as u64).to_le_bytes())
            .map_err(wr)?;
        return w.write_all(&bytes).map_err(wr);
    }
    put_head(w, 1, mode, rel).map_err(wr)?;
    w.write_all(&len.to_le_bytes()).map_err(wr)?;
    let mut src = File::open(path).map_err(io_err("read", path))?;
    let n = io::copy(&mut (&mut src).take(len), w).map_err(wr)?;
    if n != len {
        return Err(wr(io::Error::other("file changed while storing")));
    }
    Ok(())
}

/// A relative path made only of plain components.
fn safe_relative(bytes: &[u8]) -> Option<PathBuf> {
    let p = Path::new(std::ffi::OsStr::from_bytes(bytes));
    let plain = !bytes.is_empty()
        && !bytes.contains(&0)
        && !bytes.starts_with(b"/")
        && !bytes.ends_with(b"/")
        && !bytes.windows(2).any(|w| w == b"//")
        && p.components().all(|c| matches!(c, Component::Normal(_)))
        && !bytes.split(|b| *b == b'/').any(|c| c == b"." || c == b"..");
    plain.then(|| p.to_path_buf())
}

/// Unpacks the tree read from `source` into `dest`, which must not exist.
/// Text files go through `restore`. On error, `dest` may hold part of the
/// tree: the caller removes it.
pub fn unpack(
    source: impl Read,
    dest: &Path,
    restore: &dyn Fn(&[u8]) -> Vec<u8>,
) -> Result<TreeSize, TreeError> {
    let bad = |s: &str| TreeError::Malformed(s.to_owned());
    let mut r = BufReader::with_capacity(256 * 1024, source);
    let mut magic = [0u8; 8];
    r.read_exact(&mut magic).map_err(|_| bad("no header"))?;
    if &magic != MAGIC {
        return Err(bad("not a kiln tree"));
    }
    std::fs::create_dir(dest).map_err(io_err("create", dest))?;
    let mut size = TreeSize::default();
    // Directory modes are set last: a read-only directory still takes its
    // files first.
    let mut dirs = Vec::new();
    loop {
        let mut kind = [0u8; 1];
        if r.read(&mut kind).map_err(io_err("read tree for", dest))? == 0 {
            break;
        }
        let mut word = [0u8; 4];
        r.read_exact(&mut word).map_err(|_| bad("cut short"))?;
        let mode = u32::from_le_bytes(word) & 0o1777;
        r.read_exact(&mut word).map_err(|_| bad("cut short"))?;
        let len = u32::from_le_bytes(word);
        if len > MAX_PATH {
            return Err(bad("path too long"));
        }
        let mut name = vec![0u8; len as usize];
        r.read_exact(&mut name).map_err(|_| bad("cut short"))?;
        let rel = safe_relative(&name).ok_or_else(|| bad("unsafe path"))?;
        let path = dest.join(&rel);
        match kind[0] {
            0 => {
                std::fs::create_dir(&path).map_err(io_err("create", &path))?;
                dirs.push((path, mode));
            }
            1 | 2 => {
                size.files += 1;
                size.bytes += take_file(&mut r, &path, mode, kind[0] == 2, restore)?;
            }
            _ => return Err(bad("unknown record")),
        }
    }
    for (path, mode) in dirs.iter().rev() {
        std::fs::set_permissions(path, PermissionsExt::from_mode(*mode))
            .map_err(io_err("set mode of", path))?;
    }
    Ok(size)
}

fn take_file(
    r: &mut impl Read,
    path: &Path,
    mode: u32,
    text: bool,
    restore: &dyn Fn(&[u8]) -> Vec<u8>,
) -> Result<u64, TreeError> {
    let bad = |s: &str| TreeError::Malformed(s.to_owned());
    let mut word = [0u8; 8];
    r.read_exact(&mut word).map_err(|_| bad("cut short"))?;
    let len = u64::from_le_bytes(word);
    let mut out = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode | 0o600)
        .open(path)
        .map_err(io_err("create", path))?;
    if text {
        if len > MAX_TEXT {
            return Err(bad("text file too large"));
        }
        let mut content = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        r.take(len)
            .read_to_end(&mut content)
            .map_err(io_err("read tree for", path))?;
        if content.len() as u64 != len {
            return Err(bad("cut short"));
        }
        out.write_all(&restore(&content))
            .map_err(io_err("write", path))?;
    } else {
        let n = io::copy(&mut r.take(len), &mut out).map_err(io_err("write", path))?;
        if n != len {
            return Err(bad("cut short"));
        }
    }
    std::fs::set_permissions(path, PermissionsExt::from_mode(mode))
        .map_err(io_err("set mode of", path))?;
    Ok(len)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn no_text(_: &[u8]) -> Option<Vec<u8>> {
        None
    }

    #[test]
    fn round_trips_files_dirs_and_modes() {
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("src");
        std::fs::create_dir_all(src.join("obj/deep")).unwrap();
        std::fs::create_dir(src.join("empty")).unwrap();
        std::fs::write(src.join("gen.rs"), "pub const X: u8 = 1;").unwrap();
        std::fs::write(src.join("obj/deep/a.o"), [0u8, 1, 2, 255]).unwrap();
        std::fs::write(src.join("tool.sh"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(src.join("tool.sh"), PermissionsExt::from_mode(0o755)).unwrap();
        let packed = d.path().join("tree");
        let size = pack(&src, &packed, &no_text).unwrap();
        assert_eq!(size.files, 3);
        let dest = d.path().join("dest");
        let back = unpack(File::open(&packed).unwrap(), &dest, &|b| b.to_vec()).unwrap();
        assert_eq!(back, size);
        assert_eq!(
            std::fs::read(dest.join("obj/deep/a.o")).unwrap(),
            [0u8, 1, 2, 255]
        );
        assert!(dest.join("empty").is_dir());
        let mode = std::fs::metadata(dest.join("tool.sh"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
    }

    #[test]
    fn text_files_are_rewritten_both_ways() {
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("src");
        std::fs::create_dir(&src).unwrap();
        std::fs::write(src.join("paths.txt"), "/old/root/include").unwrap();
        let packed = d.path().join("tree");
        let normalize = |b: &[u8]| {
            let s = std::str::from_utf8(b).ok()?;
            s.contains("/old/root")
                .then(|| s.replace("/old/root", "{ROOT}").into_bytes())
        };
        pack(&src, &packed, &normalize).unwrap();
        let dest = d.path().join("dest");
        let restore = |b: &[u8]| {
            String::from_utf8_lossy(b)
                .replace("{ROOT}", "/new/root")
                .into_bytes()
        };
        unpack(File::open(&packed).unwrap(), &dest, &restore).unwrap();
        assert_eq!(
            std::fs::read_to_string(dest.join("paths.txt")).unwrap(),
            "/new/root/include"
        );
    }

    #[test]
    fn symlinks_are_refused_when_packing() {
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("src");
        std::fs::create_dir(&src).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", src.join("link")).unwrap();
        let err = pack(&src, &d.path().join("tree"), &no_text).unwrap_err();
        assert!(matches!(err, TreeError::Special(_)), "{err}");
    }

    fn record(kind: u8, path: &[u8], content: &[u8]) -> Vec<u8> {
        let mut v = vec![kind];
        v.extend_from_slice(&0o644u32.to_le_bytes());
        v.extend_from_slice(&(path.len() as u32).to_le_bytes());
        v.extend_from_slice(path);
        if kind != 0 {
            v.extend_from_slice(&(content.len() as u64).to_le_bytes());
            v.extend_from_slice(content);
        }
        v
    }

    #[test]
    fn paths_that_leave_the_tree_are_refused() {
        for path in [
            &b"../x"[..],
            b"/abs",
            b"a/../../x",
            b"a//b",
            b"./a",
            b"",
            b"a/",
            b"a\0b",
        ] {
            let d = tempfile::tempdir().unwrap();
            let mut bytes = MAGIC.to_vec();
            bytes.extend(record(1, path, b"x"));
            let err = unpack(&bytes[..], &d.path().join("dest"), &|b| b.to_vec()).unwrap_err();
            assert!(matches!(err, TreeError::Malformed(_)), "{path:?}: {err}");
            assert!(!d.path().join("x").exists());
        }
    }

    #[test]
    fn a_path_given_twice_or_under_a_file_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        let mut bytes = MAGIC.to_vec();
        bytes.extend(record(1, b"a", b"x"));
        bytes.extend(record(1, b"a", b"y"));
        assert!(unpack(&bytes[..], &d.path().join("one"), &|b| b.to_vec()).is_err());
        let mut bytes = MAGIC.to_vec();
        bytes.extend(record(1, b"a", b"x"));
        bytes.extend(record(1, b"a/b", b"y"));
        assert!(unpack(&bytes[..], &d.path().join("two"), &|b| b.to_vec()).is_err());
    }

    #[test]
    fn a_cut_tree_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        let mut bytes = MAGIC.to_vec();
        bytes.extend(record(1, b"a", b"content"));
        bytes.truncate(bytes.len() - 3);
        let err = unpack(&bytes[..], &d.path().join("dest"), &|b| b.to_vec()).unwrap_err();
        assert!(matches!(err, TreeError::Malformed(_)), "{err}");
    }
}
