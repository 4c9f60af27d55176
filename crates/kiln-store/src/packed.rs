//! Entries kept compressed.
//!
//! An entry fetched from a remote store arrives zstd-compressed and is kept
//! that way in the local store (a third of the bytes to write, and to keep);
//! reading it decompresses on the fly while the entry's own digests are
//! checked. An entry file is therefore either the plain entry format
//! (starting `KILNENT1`) or one zstd frame holding it. No other kiln payload
//! starts with the zstd magic: entries start with `KILNENT1`, everything
//! else kiln stores is JSON.

use std::io::{self, Read};

/// The first four bytes of a zstd frame.
pub const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// Whether `bytes` start a zstd frame.
pub fn is_zstd(bytes: &[u8]) -> bool {
    bytes.starts_with(&ZSTD_MAGIC)
}

/// A reader of the plain entry bytes of `source`, an entry file that is
/// plain or compressed.
pub fn reader<R: Read + Send + 'static>(mut source: R) -> io::Result<Box<dyn Read + Send>> {
    let mut head = [0u8; 4];
    let mut got = 0;
    while got < head.len() {
        match source.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let whole = io::Cursor::new(head[..got].to_vec()).chain(source);
    if is_zstd(&head[..got]) {
        Ok(Box::new(zstd::stream::read::Decoder::new(whole)?))
    } else {
        Ok(Box::new(whole))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(bytes: Vec<u8>) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        reader(io::Cursor::new(bytes))?.read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn plain_and_compressed_files_read_the_same() {
        let plain: Vec<u8> = b"KILNENT1"
            .iter()
            .copied()
            .chain((0..100_000u32).flat_map(|i| (i % 97).to_le_bytes()))
            .collect();
        let packed = zstd::bulk::compress(&plain, 3).unwrap();
        assert!(is_zstd(&packed) && !is_zstd(&plain));
        assert_eq!(read_all(plain.clone()).unwrap(), plain);
        assert_eq!(read_all(packed).unwrap(), plain);
        assert_eq!(read_all(b"KI".to_vec()).unwrap(), b"KI");
        assert_eq!(read_all(Vec::new()).unwrap(), b"");
    }

    #[test]
    fn a_damaged_compressed_file_is_an_error_not_a_panic() {
        let mut packed = zstd::bulk::compress(&[7u8; 50_000], 3).unwrap();
        packed.truncate(packed.len() / 2);
        assert!(read_all(packed.clone()).is_err());
        // A flipped byte may decode to other bytes: the entry's digests,
        // checked while restoring, are what catch that.
        let n = packed.len();
        packed[n - 3] ^= 0xff;
        let _ = read_all(packed);
    }
}
