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

use std::io::{self, Read, Write};

use serde::{Deserialize, Serialize};

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

/// Hashes what passes through to the writer (an entry's digest).
pub(crate) struct HashingWriter<W: Write> {
    pub(crate) inner: W,
    pub(crate) hasher: blake3::Hasher,
    pub(crate) written: u64,
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

/// Hashes what passes through from the reader.
pub(crate) struct HashingReader<R: Read> {
    pub(crate) inner: R,
    pub(crate) hasher: blake3::Hasher,
    pub(crate) read: u64,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.read += n as u64;
        Ok(n)
    }
}

mod restore;
mod write;

pub use restore::{Restored, restore};
pub use write::{EntryWriter, SourceFile, Written};

#[cfg(test)]
mod tests;
