//! The snapshot file's envelope: a header with a signature over everything
//! after it.
//!
//! ```text
//! "KILNSNP1"  magic
//! flags       1 byte: bit 0 = signed
//! tag         32 bytes: keyed BLAKE3 of the rest of the file under a key
//!             derived from `KILN_SIGNING_KEY`, or zeros when unsigned
//! body        one zstd stream of a tar archive
//! ```
//! An entry's own digests only show damage: whoever writes an archive
//! writes them too. With a signing key, a snapshot restores only when it
//! was saved with the same key, so a cache scope that someone else could
//! write (another branch's job, a pull request) cannot plant object code.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};

/// The bytes before the body.
pub(super) const HEADER: u64 = 8 + 1 + 32;
const MAGIC: &[u8; 8] = b"KILNSNP1";
const SIGNED: u8 = 1;

/// The key snapshot tags are made with.
fn tag_key(secret: &[u8]) -> [u8; 32] {
    blake3::derive_key("kiln 2026 store snapshot tag", secret)
}

/// Writes through to a file while hashing what passes.
pub(super) struct Sealing<'a> {
    out: io::BufWriter<&'a File>,
    hasher: Option<blake3::Hasher>,
}

impl<'a> Sealing<'a> {
    /// Starts a snapshot at the beginning of `file` (truncated).
    pub fn start(file: &'a File, secret: Option<&[u8]>) -> io::Result<Self> {
        let mut f = file;
        f.set_len(0)?;
        f.seek(SeekFrom::Start(0))?;
        let mut out = io::BufWriter::new(file);
        out.write_all(MAGIC)?;
        out.write_all(&[u8::from(secret.is_some()) * SIGNED])?;
        out.write_all(&[0; 32])?;
        Ok(Self {
            out,
            hasher: secret.map(|s| blake3::Hasher::new_keyed(&tag_key(s))),
        })
    }

    /// Writes the tag into the header.
    pub fn finish(mut self) -> io::Result<()> {
        self.out.flush()?;
        let Some(hasher) = self.hasher.take() else {
            return Ok(());
        };
        let mut f = self
            .out
            .into_inner()
            .map_err(io::IntoInnerError::into_error)?;
        f.seek(SeekFrom::Start(9))?;
        f.write_all(hasher.finalize().as_bytes())?;
        f.flush()
    }
}

impl Write for Sealing<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        if let Some(h) = &mut self.hasher {
            h.update(&buf[..n]);
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Why a snapshot file is refused before its body is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not a kiln snapshot (or one of another format).
    NotASnapshot,
    /// A signing key is set and the snapshot carries no signature.
    Unsigned,
    /// The signature is not this key's: made with another key, or the
    /// file was changed.
    BadSignature,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::NotASnapshot => "not a kiln snapshot",
            Self::Unsigned => "the snapshot is not signed, and `KILN_SIGNING_KEY` is set: refused",
            Self::BadSignature => {
                "the snapshot's signature is not this `KILN_SIGNING_KEY`'s: refused"
            }
        })
    }
}

/// Checks the header (and with `secret`, the signature over the whole
/// body) and leaves `file` at the start of the body.
pub(super) fn open(file: &mut File, secret: Option<&[u8]>) -> io::Result<Result<(), Refusal>> {
    file.seek(SeekFrom::Start(0))?;
    let mut head = [0u8; HEADER as usize];
    if file.read_exact(&mut head).is_err() || &head[..8] != MAGIC {
        return Ok(Err(Refusal::NotASnapshot));
    }
    if let Some(secret) = secret {
        if head[8] & SIGNED == 0 {
            return Ok(Err(Refusal::Unsigned));
        }
        let mut hasher = blake3::Hasher::new_keyed(&tag_key(secret));
        io::copy(file, &mut hasher)?;
        let expected: [u8; 32] = head[9..41].try_into().unwrap_or([0; 32]);
        // `Hash` compares in constant time.
        if hasher.finalize() != blake3::Hash::from(expected) {
            return Ok(Err(Refusal::BadSignature));
        }
        file.seek(SeekFrom::Start(HEADER))?;
    }
    Ok(Ok(()))
}
