//! The entry format.
//!
//! ```text
//! "KILNENT1"                 magic
//! u32 LE                     header length
//! header                     JSON: EntryHeader
//! stdout bytes, stderr bytes
//! file contents, in header order
//! 32 bytes                   BLAKE3 of everything above
//! ```
//!
//! Restoring streams each file into a temporary name next to its destination
//! while hashing, checks every file digest and the trailing digest, and only
//! then renames the files into place: a truncated or corrupt entry leaves no
//! file behind and is reported as [`StoreError::Corrupt`].
//! File names are plain names inside the unit's output directory: names with
//! a separator, `..` or a leading `.` are rejected, so an entry can never write
//! elsewhere.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use kiln_key::Digest;
use serde::{Deserialize, Serialize};

use crate::StoreError;

const MAGIC: &[u8; 8] = b"KILNENT1";
/// Version of the header format.
pub const ENTRY_VERSION: u32 = 2;
const MAX_HEADER: u32 = 16 << 20;

/// One file in an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryFile {
    /// Plain file name in the output directory.
    pub name: String,
    /// Unix permission bits.
    pub mode: u32,
    /// Length in bytes.
    pub len: u64,
    /// BLAKE3 of the content, hex.
    pub digest: String,
    /// Holds path placeholders to replace on restore (dep-info).
    #[serde(default)]
    pub text: bool,
}

/// What an entry holds besides the file contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryHeader {
    /// [`ENTRY_VERSION`].
    pub version: u32,
    /// The files.
    pub files: Vec<EntryFile>,
    /// Length of the compiler's stdout.
    pub stdout_len: u64,
    /// Length of the compiler's stderr (placeholders for paths).
    pub stderr_len: u64,
    /// How long the compile took, in ms (what a hit saves).
    pub compile_ms: u64,
    /// Crate name, for listings.
    pub crate_name: String,
    /// kiln version that wrote it.
    pub writer: String,
    /// The key it was stored under, hex: an entry copied or renamed to
    /// another key is refused.
    pub key: String,
}

/// Checks that an entry file name stays inside its directory.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.contains('/')
        && !name.contains('\\')
        && !name.starts_with('.')
        && name != ".."
        && !name.contains('\0')
}

/// Writes an entry file.
pub struct EntryWriter {
    path: PathBuf,
}

/// A file to put into an entry.
pub struct SourceFile<'a> {
    /// Name in the entry.
    pub name: String,
    /// Where it is now.
    pub path: &'a Path,
    /// Replacement content (normalized dep-info), instead of the file's.
    pub content: Option<Vec<u8>>,
}

/// A finished entry file, ready for [`crate::Store::put`].
#[derive(Debug)]
pub struct Written {
    /// Where it is (in the staging directory).
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// Content digest of each source file, in order (`None` for files stored
    /// with replacement content).
    pub digests: Vec<Option<Digest>>,
}

impl EntryWriter {
    /// Writes the entry of `key` into `staging`.
    pub fn write(
        staging: &Path,
        key: &Digest,
        files: &[SourceFile<'_>],
        stdout: &[u8],
        stderr: &[u8],
        compile_ms: u64,
        crate_name: &str,
    ) -> Result<Written, StoreError> {
        std::fs::create_dir_all(staging).map_err(|e| StoreError::io("create", staging, e))?;
        let path = staging.join(format!(
            "entry-{}-{}.tmp",
            crate::local::staging_tag(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        let w = Self { path };
        match w.write_inner(key, files, stdout, stderr, compile_ms, crate_name) {
            Ok((size, digests)) => Ok(Written {
                path: w.path,
                size,
                digests,
            }),
            Err(e) => {
                let _ = std::fs::remove_file(&w.path);
                Err(e)
            }
        }
    }

    fn write_inner(
        &self,
        key: &Digest,
        files: &[SourceFile<'_>],
        stdout: &[u8],
        stderr: &[u8],
        compile_ms: u64,
        crate_name: &str,
    ) -> Result<(u64, Vec<Option<Digest>>), StoreError> {
        let io = |e| StoreError::io("read output", &self.path, e);
        let mut digests = Vec::with_capacity(files.len());
        let mut header = EntryHeader {
            version: ENTRY_VERSION,
            files: Vec::with_capacity(files.len()),
            stdout_len: stdout.len() as u64,
            stderr_len: stderr.len() as u64,
            compile_ms,
            crate_name: crate_name.to_owned(),
            writer: concat!("kiln ", env!("CARGO_PKG_VERSION")).to_owned(),
            key: key.to_hex(),
        };
        for f in files {
            if !valid_name(&f.name) {
                return Err(StoreError::Corrupt {
                    key: String::new(),
                    detail: format!("invalid file name `{}`", f.name),
                });
            }
            let md =
                std::fs::metadata(f.path).map_err(|e| StoreError::io("read output", f.path, e))?;
            let (len, digest) = match &f.content {
                Some(c) => (c.len() as u64, Digest::of(c)),
                None => {
                    let mut file =
                        File::open(f.path).map_err(|e| StoreError::io("read output", f.path, e))?;
                    (
                        md.len(),
                        kiln_key::filehash::hash_reader(&mut file)
                            .map_err(|e| StoreError::io("read output", f.path, e))?,
                    )
                }
            };
            digests.push(f.content.is_none().then_some(digest));
            header.files.push(EntryFile {
                name: f.name.clone(),
                mode: md.permissions().mode() & 0o777,
                len,
                digest: digest.to_hex(),
                text: f.content.is_some(),
            });
        }
        let json = serde_json::to_vec(&header).map_err(|e| io(io::Error::other(e)))?;
        let out = File::create(&self.path).map_err(|e| StoreError::io("create", &self.path, e))?;
        let mut w = HashingWriter {
            inner: BufWriter::with_capacity(256 * 1024, out),
            hasher: blake3::Hasher::new(),
            written: 0,
        };
        let wr = |e| StoreError::io("write", &self.path, e);
        w.write_all(MAGIC).map_err(wr)?;
        w.write_all(&u32::try_from(json.len()).unwrap_or(u32::MAX).to_le_bytes())
            .map_err(wr)?;
        w.write_all(&json).map_err(wr)?;
        w.write_all(stdout).map_err(wr)?;
        w.write_all(stderr).map_err(wr)?;
        for (f, meta) in files.iter().zip(&header.files) {
            if let Some(c) = &f.content {
                w.write_all(c).map_err(wr)?;
                continue;
            }
            let mut src =
                File::open(f.path).map_err(|e| StoreError::io("read output", f.path, e))?;
            let n = io::copy(&mut src, &mut w).map_err(wr)?;
            if n != meta.len {
                return Err(StoreError::io(
                    "read output",
                    f.path,
                    io::Error::other("file changed while storing"),
                ));
            }
        }
        let digest = w.hasher.finalize();
        w.inner.write_all(digest.as_bytes()).map_err(wr)?;
        // No fsync: a torn entry after a crash fails its digest check on
        // read and is removed, which costs a compile, never a wrong hit.
        w.inner.into_inner().map_err(|e| wr(e.into_error()))?;
        Ok((w.written + 32, digests))
    }
}

struct HashingWriter<W: Write> {
    inner: W,
    hasher: blake3::Hasher,
    written: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

struct HashingReader<R: Read> {
    inner: R,
    hasher: blake3::Hasher,
    read: u64,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.read += n as u64;
        Ok(n)
    }
}

/// Whether `path` holds something other than a regular file or a link.
fn special(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| !m.is_file() && !m.file_type().is_symlink())
}

/// What restoring an entry produced.
#[derive(Debug)]
pub struct Restored {
    /// The compiler's stdout.
    pub stdout: Vec<u8>,
    /// The compiler's stderr, placeholders still in it.
    pub stderr: Vec<u8>,
    /// The restored files: name, destination and content digest (`None` for
    /// text rewritten on restore, whose content differs from the entry's).
    pub files: Vec<(String, PathBuf, Option<Digest>)>,
    /// Entry size in bytes.
    pub bytes: u64,
    /// Compile time the entry saves, in ms.
    pub compile_ms: u64,
}

/// Restores the entry read from `source` into `dest_dir`. Files marked as text
/// go through `fix_text` (placeholder replacement). Nothing is left behind in
/// `dest_dir` unless every check passes.
pub fn restore(
    key: &Digest,
    source: impl Read,
    dest_dir: &Path,
    fix_text: &dyn Fn(&[u8]) -> Vec<u8>,
) -> Result<Restored, StoreError> {
    let corrupt = |detail: String| StoreError::Corrupt {
        key: key.to_hex(),
        detail,
    };
    let mut r = HashingReader {
        inner: BufReader::with_capacity(256 * 1024, source),
        hasher: blake3::Hasher::new(),
        read: 0,
    };
    let mut magic = [0u8; 8];
    r.read_exact(&mut magic)
        .map_err(|e| corrupt(format!("header: {e}")))?;
    if &magic != MAGIC {
        return Err(corrupt("not a kiln entry".into()));
    }
    let mut len = [0u8; 4];
    r.read_exact(&mut len)
        .map_err(|e| corrupt(format!("header: {e}")))?;
    let len = u32::from_le_bytes(len);
    if len > MAX_HEADER {
        return Err(corrupt("header too large".into()));
    }
    let mut json = vec![0u8; len as usize];
    r.read_exact(&mut json)
        .map_err(|e| corrupt(format!("header: {e}")))?;
    let header: EntryHeader =
        serde_json::from_slice(&json).map_err(|e| corrupt(format!("header: {e}")))?;
    if header.version != ENTRY_VERSION {
        return Err(corrupt(format!(
            "unsupported entry version {}",
            header.version
        )));
    }
    if header.key != key.to_hex() {
        return Err(corrupt(format!(
            "it was stored under another key ({})",
            header.key
        )));
    }
    let limit = |n: u64| usize::try_from(n).ok().filter(|n| *n < (256 << 20));
    let mut stdout =
        vec![0u8; limit(header.stdout_len).ok_or_else(|| corrupt("stdout too large".into()))?];
    r.read_exact(&mut stdout)
        .map_err(|e| corrupt(format!("stdout: {e}")))?;
    let mut stderr =
        vec![0u8; limit(header.stderr_len).ok_or_else(|| corrupt("stderr too large".into()))?];
    r.read_exact(&mut stderr)
        .map_err(|e| corrupt(format!("stderr: {e}")))?;

    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::with_capacity(header.files.len());
    let result = (|| {
        let mut files = Vec::with_capacity(header.files.len());
        for f in &header.files {
            if !valid_name(&f.name) {
                return Err(corrupt(format!(
                    "file name `{}` escapes the output directory",
                    f.name
                )));
            }
            let dest = dest_dir.join(&f.name);
            // One name per output, not per process: what a killed restore
            // left is removed by the next restore of the same output (cargo
            // never builds one output twice at once).
            let tmp = dest_dir.join(format!(".{}.kiln-part", f.name));
            let mut limited = (&mut r).take(f.len);
            let digest = if f.text {
                // Text is held in memory to replace placeholders: bounded
                // like the streams (dep-info files are kilobytes).
                if limit(f.len).is_none() {
                    return Err(corrupt(format!("{} is too large for text", f.name)));
                }
                let mut buf = Vec::new();
                limited
                    .read_to_end(&mut buf)
                    .map_err(|e| corrupt(format!("{}: {e}", f.name)))?;
                let d = Digest::of(&buf);
                write_new(&tmp, &fix_text(&buf)).map_err(|e| StoreError::io("write", &tmp, e))?;
                d
            } else {
                let out = create_fresh(&tmp).map_err(|e| StoreError::io("write", &tmp, e))?;
                staged.push((tmp.clone(), dest.clone()));
                let mut w = HashingWriter {
                    inner: BufWriter::with_capacity(256 * 1024, out),
                    hasher: blake3::Hasher::new(),
                    written: 0,
                };
                io::copy(&mut limited, &mut w).map_err(|e| corrupt(format!("{}: {e}", f.name)))?;
                w.flush().map_err(|e| StoreError::io("write", &tmp, e))?;
                Digest(*w.hasher.finalize().as_bytes())
            };
            if f.text {
                staged.push((tmp.clone(), dest.clone()));
            }
            let mut got_len = std::fs::metadata(&tmp).map_or(0, |m| m.len());
            if f.text {
                got_len = f.len;
            }
            if got_len != f.len {
                return Err(corrupt(format!("{} is truncated", f.name)));
            }
            if digest.to_hex() != f.digest {
                return Err(corrupt(format!("{} does not match its digest", f.name)));
            }
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(f.mode & 0o777))
                .map_err(|e| StoreError::io("set mode of", &tmp, e))?;
            files.push((f.name.clone(), dest, (!f.text).then_some(digest)));
        }
        let expected = r.hasher.finalize();
        let mut trailer = [0u8; 32];
        r.inner
            .read_exact(&mut trailer)
            .map_err(|e| corrupt(format!("trailer: {e}")))?;
        if &trailer != expected.as_bytes() {
            return Err(corrupt("entry digest mismatch".into()));
        }
        let mut extra = [0u8; 1];
        if r.inner
            .read(&mut extra)
            .map_err(|e| corrupt(format!("trailer: {e}")))?
            != 0
        {
            return Err(corrupt("trailing bytes after the entry".into()));
        }
        Ok(files)
    })();
    // A device, FIFO or directory where an output goes (`-o /dev/null`) is
    // left alone: renaming over it would replace it.
    let result = result.and_then(|files| match staged.iter().find(|(_, d)| special(d)) {
        Some((_, d)) => Err(StoreError::io(
            "restore over",
            d,
            io::Error::other("not a regular file; left as it is"),
        )),
        None => Ok(files),
    });
    match result {
        Ok(files) => {
            for (tmp, dest) in &staged {
                std::fs::rename(tmp, dest)
                    .map_err(|e| StoreError::io("move into place", dest, e))?;
            }
            Ok(Restored {
                stdout,
                stderr,
                files,
                bytes: r.read + 32,
                compile_ms: header.compile_ms,
            })
        }
        Err(e) => {
            for (tmp, _) in &staged {
                let _ = std::fs::remove_file(tmp);
            }
            Err(e)
        }
    }
}

fn write_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = create_fresh(path)?;
    f.write_all(bytes)
}

/// Creates `path` as a new regular file: whatever was there (a leftover, a
/// link planted to redirect the write) is removed first, and the open fails
/// rather than follow anything created in between.
fn create_fresh(path: &Path) -> io::Result<File> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    File::options().write(true).create_new(true).open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(dir: &Path) -> (PathBuf, u64) {
        let w = sample_written(dir);
        (w.path, w.size)
    }

    fn sample_written(dir: &Path) -> Written {
        let src = dir.join("src");
        std::fs::create_dir_all(&src).unwrap();
        std::fs::write(src.join("libfoo.rlib"), vec![3u8; 300_000]).unwrap();
        std::fs::write(src.join("prog"), b"\x7fELF...").unwrap();
        std::fs::set_permissions(src.join("prog"), std::fs::Permissions::from_mode(0o755)).unwrap();
        let files = [
            SourceFile {
                name: "libfoo.rlib".into(),
                path: &src.join("libfoo.rlib"),
                content: None,
            },
            SourceFile {
                name: "prog".into(),
                path: &src.join("prog"),
                content: None,
            },
            SourceFile {
                name: "foo.d".into(),
                path: &src.join("prog"),
                content: Some(b"\0kiln:cwd\0/src/lib.rs".to_vec()),
            },
        ];
        EntryWriter::write(
            &dir.join("staging"),
            &Digest([0; 32]),
            &files,
            b"out",
            b"err",
            1234,
            "foo",
        )
        .unwrap()
    }

    #[test]
    fn round_trip_restores_files_modes_and_streams() {
        let d = tempfile::tempdir().unwrap();
        let (entry, size) = sample(d.path());
        assert_eq!(std::fs::metadata(&entry).unwrap().len(), size);
        let dest = d.path().join("dest");
        std::fs::create_dir_all(&dest).unwrap();
        let key = Digest([0; 32]);
        let fix = |b: &[u8]| {
            String::from_utf8_lossy(b)
                .replace("\0kiln:cwd\0", "/here")
                .into_bytes()
        };
        let r = restore(&key, File::open(&entry).unwrap(), &dest, &fix).unwrap();
        assert_eq!(r.stdout, b"out");
        assert_eq!(r.stderr, b"err");
        assert_eq!(r.compile_ms, 1234);
        assert_eq!(
            std::fs::read(dest.join("libfoo.rlib")).unwrap(),
            vec![3u8; 300_000]
        );
        assert_eq!(
            std::fs::metadata(dest.join("prog"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o755
        );
        assert_eq!(
            std::fs::read_to_string(dest.join("foo.d")).unwrap(),
            "/here/src/lib.rs"
        );
    }

    #[test]
    fn any_flipped_or_missing_byte_is_caught_and_leaves_nothing() {
        let d = tempfile::tempdir().unwrap();
        let (entry, _) = sample(d.path());
        let good = std::fs::read(&entry).unwrap();
        let key = Digest([0; 32]);
        for (i, mutate) in [
            Box::new(|v: &mut Vec<u8>| v.truncate(v.len() - 100)) as Box<dyn Fn(&mut Vec<u8>)>,
            Box::new(|v: &mut Vec<u8>| {
                let n = v.len();
                v[n / 2] ^= 1;
            }),
            Box::new(|v: &mut Vec<u8>| {
                let n = v.len();
                v[n - 1] ^= 1;
            }),
            Box::new(|v: &mut Vec<u8>| v.truncate(10)),
            Box::new(|v: &mut Vec<u8>| v.push(0)),
        ]
        .iter()
        .enumerate()
        {
            let mut bad = good.clone();
            mutate(&mut bad);
            let dest = d.path().join(format!("dest{i}"));
            std::fs::create_dir_all(&dest).unwrap();
            let err = restore(&key, &bad[..], &dest, &|b| b.to_vec()).unwrap_err();
            assert!(matches!(err, StoreError::Corrupt { .. }), "case {i}: {err}");
            assert_eq!(
                std::fs::read_dir(&dest).unwrap().count(),
                0,
                "case {i} left files behind"
            );
        }
    }

    #[test]
    fn a_compressed_entry_restores_the_same_and_damage_is_caught() {
        let d = tempfile::tempdir().unwrap();
        let (entry, size) = sample(d.path());
        let packed = zstd::bulk::compress(&std::fs::read(&entry).unwrap(), 3).unwrap();
        assert!(crate::packed::is_zstd(&packed));
        let key = Digest([0; 32]);
        let dest = d.path().join("dest");
        std::fs::create_dir_all(&dest).unwrap();
        let source =
            crate::packed::reader(std::io::Cursor::new(packed.clone()), packed.len() as u64)
                .unwrap();
        let r = restore(&key, source, &dest, &|b| b.to_vec()).unwrap();
        assert_eq!(r.bytes, size);
        assert_eq!(
            std::fs::read(dest.join("libfoo.rlib")).unwrap(),
            vec![3u8; 300_000]
        );
        for (i, cut) in [packed.len() / 2, packed.len() - 1, 5]
            .into_iter()
            .enumerate()
        {
            let mut bad = packed.clone();
            bad.truncate(cut);
            let dest = d.path().join(format!("cut{i}"));
            std::fs::create_dir_all(&dest).unwrap();
            let source =
                crate::packed::reader(std::io::Cursor::new(bad.clone()), bad.len() as u64).unwrap();
            let err = restore(&key, source, &dest, &|b| b.to_vec()).unwrap_err();
            assert!(matches!(err, StoreError::Corrupt { .. }), "cut {i}: {err}");
            assert_eq!(std::fs::read_dir(&dest).unwrap().count(), 0, "cut {i}");
        }
        for at in [packed.len() / 3, packed.len() / 2, packed.len() - 8] {
            let mut bad = packed.clone();
            bad[at] ^= 0x55;
            let dest = d.path().join(format!("flip{at}"));
            std::fs::create_dir_all(&dest).unwrap();
            let Ok(source) =
                crate::packed::reader(std::io::Cursor::new(bad.clone()), bad.len() as u64)
            else {
                continue;
            };
            let err = restore(&key, source, &dest, &|b| b.to_vec()).unwrap_err();
            assert!(
                matches!(err, StoreError::Corrupt { .. }),
                "flip {at}: {err}"
            );
            assert_eq!(std::fs::read_dir(&dest).unwrap().count(), 0, "flip {at}");
        }
    }

    #[test]
    fn a_device_or_fifo_at_a_destination_is_left_alone() {
        let d = tempfile::tempdir().unwrap();
        let (entry, _) = sample(d.path());
        let dest = d.path().join("dest");
        std::fs::create_dir_all(&dest).unwrap();
        let fifo = std::ffi::CString::new(dest.join("prog").to_str().unwrap()).unwrap();
        // SAFETY: a valid path.
        assert_eq!(unsafe { libc_mkfifo(fifo.as_ptr(), 0o644) }, 0);
        let key = Digest([0; 32]);
        let err = restore(&key, File::open(&entry).unwrap(), &dest, &|b| b.to_vec()).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        let kinds: Vec<_> = std::fs::read_dir(&dest)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(kinds, vec!["prog".to_owned()], "nothing else left behind");
        assert!(
            !std::fs::symlink_metadata(dest.join("prog"))
                .unwrap()
                .is_file()
        );
    }

    unsafe extern "C" {
        #[link_name = "mkfifo"]
        fn libc_mkfifo(path: *const std::ffi::c_char, mode: u32) -> i32;
    }

    #[test]
    fn an_entry_under_another_key_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let (entry, _) = sample(d.path());
        let dest = d.path().join("dest");
        std::fs::create_dir_all(&dest).unwrap();
        let other = Digest([7; 32]);
        let err = restore(&other, File::open(&entry).unwrap(), &dest, &|b| b.to_vec()).unwrap_err();
        assert!(err.to_string().contains("another key"), "{err}");
        assert_eq!(std::fs::read_dir(&dest).unwrap().count(), 0);
    }

    #[test]
    fn a_text_file_too_large_to_hold_is_refused_before_it_is_read() {
        let header = EntryHeader {
            version: ENTRY_VERSION,
            files: vec![EntryFile {
                name: "huge.d".into(),
                mode: 0o644,
                len: 1 << 40,
                digest: "00".repeat(32),
                text: true,
            }],
            stdout_len: 0,
            stderr_len: 0,
            compile_ms: 0,
            crate_name: "bomb".into(),
            writer: "test".into(),
            key: Digest([0; 32]).to_hex(),
        };
        let json = serde_json::to_vec(&header).unwrap();
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&(json.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&json);
        // What follows would expand to a terabyte of zeros.
        let source = std::io::Read::chain(&bytes[..], std::io::repeat(0));
        let d = tempfile::tempdir().unwrap();
        let err = restore(&Digest([0; 32]), source, d.path(), &|b| b.to_vec()).unwrap_err();
        assert!(err.to_string().contains("too large"), "{err}");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_killed_restore_s_leftover_is_reclaimed_by_the_next() {
        let d = tempfile::tempdir().unwrap();
        let (entry, _) = sample(d.path());
        let dest = d.path().join("out");
        std::fs::create_dir_all(&dest).unwrap();
        std::fs::write(dest.join(".libfoo.rlib.kiln-part"), b"half").unwrap();
        let key = Digest([0; 32]);
        restore(&key, File::open(&entry).unwrap(), &dest, &|b| b.to_vec()).unwrap();
        let mut names: Vec<_> = std::fs::read_dir(&dest)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["foo.d", "libfoo.rlib", "prog"]);
    }

    #[test]
    fn restoring_never_writes_through_a_planted_link() {
        let d = tempfile::tempdir().unwrap();
        let (entry, _) = sample(d.path());
        let dest = d.path().join("out");
        std::fs::create_dir_all(&dest).unwrap();
        let outside = d.path().join("outside");
        std::fs::write(&outside, b"untouched").unwrap();
        for name in ["libfoo.rlib", "prog", "foo.d"] {
            std::os::unix::fs::symlink(&outside, dest.join(name)).unwrap();
            let tmp = format!(".{name}.kiln-part");
            std::os::unix::fs::symlink(&outside, dest.join(tmp)).unwrap();
        }
        let key = Digest([0; 32]);
        restore(&key, File::open(&entry).unwrap(), &dest, &|b| b.to_vec()).unwrap();
        assert_eq!(std::fs::read(&outside).unwrap(), b"untouched");
        assert!(!dest.join("prog").is_symlink());
    }

    #[test]
    fn names_cannot_escape() {
        for bad in ["../x", "/etc/passwd", "a/b", ".hidden", "", ".."] {
            assert!(!valid_name(bad), "{bad}");
        }
        assert!(valid_name("libfoo-123.rlib"));
    }
}
