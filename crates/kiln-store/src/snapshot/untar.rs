//! The members of a tar stream, read without trusting it: plain 512-byte
//! headers only, each checked by its checksum; extension headers (GNU long
//! names, pax) are skipped, never held in memory, since kiln's own names
//! fit a plain header.

use std::io::{self, Read};

/// One member's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Header {
    /// `prefix/name` as stored.
    pub name: String,
    /// The type flag (`b'0'` or `0` for a regular file).
    pub kind: u8,
    /// Bytes of data that follow.
    pub size: u64,
    /// Modification time, seconds.
    pub mtime: u64,
}

impl Header {
    pub fn is_file(&self) -> bool {
        self.kind == b'0' || self.kind == 0
    }
}

fn bad(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("not a tar archive: {what}"),
    )
}

fn octal(field: &[u8]) -> io::Result<u64> {
    let text: Vec<u8> = field
        .iter()
        .copied()
        .take_while(|b| *b != 0)
        .filter(|b| *b != b' ')
        .collect();
    if text.is_empty() {
        return Ok(0);
    }
    let s = std::str::from_utf8(&text).map_err(|_| bad("a number is not octal"))?;
    u64::from_str_radix(s, 8).map_err(|_| bad("a number is not octal"))
}

fn text(field: &[u8]) -> String {
    let end = field.iter().position(|b| *b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// Reads the next header; `None` at the end of the archive.
pub(super) fn next(r: &mut impl Read) -> io::Result<Option<Header>> {
    let mut block = [0u8; 512];
    if let Err(e) = r.read_exact(&mut block) {
        return if e.kind() == io::ErrorKind::UnexpectedEof {
            Err(bad("cut short"))
        } else {
            Err(e)
        };
    }
    if block.iter().all(|b| *b == 0) {
        return Ok(None);
    }
    let stored = octal(&block[148..156])?;
    let sum: u64 = block
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u64::from(*b)
            }
        })
        .sum();
    if sum != stored {
        return Err(bad("a header fails its checksum"));
    }
    let mut name = text(&block[..100]);
    if &block[257..262] == b"ustar" {
        let prefix = text(&block[345..500]);
        if !prefix.is_empty() {
            name = format!("{prefix}/{name}");
        }
    }
    Ok(Some(Header {
        name,
        kind: block[156],
        size: octal(&block[124..136])?,
        mtime: octal(&block[136..148])?,
    }))
}

/// Reads past a member's data and its padding.
pub(super) fn skip(r: &mut impl Read, size: u64) -> io::Result<()> {
    let padded = size.div_ceil(512) * 512;
    let copied = io::copy(&mut r.take(padded), &mut io::sink())?;
    if copied != padded {
        return Err(bad("cut short"));
    }
    Ok(())
}

/// Reads past the padding after `size` bytes of data were read.
pub(super) fn skip_padding(r: &mut impl Read, size: u64) -> io::Result<()> {
    let pad = size.div_ceil(512) * 512 - size;
    skip_exact(r, pad)
}

fn skip_exact(r: &mut impl Read, n: u64) -> io::Result<()> {
    let copied = io::copy(&mut r.take(n), &mut io::sink())?;
    if copied != n {
        return Err(bad("cut short"));
    }
    Ok(())
}
