//! Writing an entry: outputs, streams and digests into one file in the
//! staging directory.

use crate::StoreError;
use kiln_key::Digest;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::*;

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
