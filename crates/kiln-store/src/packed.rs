//! Entries kept compressed.
//!
//! An entry fetched from a remote store arrives zstd-compressed and is kept
//! that way in the local store (a third of the bytes to write, and to keep);
//! reading it decompresses on the fly while the entry's own digests are
//! checked. An entry file is therefore either the plain entry format
//! (starting `KILNENT1`) or one zstd frame holding it. No other kiln payload
//! starts with the zstd magic: entries start with `KILNENT1`, everything
//! else kiln stores is JSON.

use std::io::{self, BufRead, BufReader, Read};

/// The first four bytes of a zstd frame.
pub const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// Whether `bytes` start a zstd frame.
pub fn is_zstd(bytes: &[u8]) -> bool {
    bytes.starts_with(&ZSTD_MAGIC)
}

/// How many times its compressed size an entry may decompress to. Build
/// outputs compress three to ten times; a larger ratio is a decompression
/// bomb, and reading stops there (the entry then fails its checks).
pub const MAX_RATIO: u64 = 200;

/// A reader of the plain entry bytes of `source`, an entry file of `len`
/// bytes that is plain or compressed. The first read of the file tells
/// which: it is buffered, not read twice. A compressed entry yields at
/// most [`MAX_RATIO`] times its length (plus a megabyte).
pub fn reader<R: Read + Send + 'static>(source: R, len: u64) -> io::Result<Box<dyn Read + Send>> {
    let mut buffered = BufReader::with_capacity(256 * 1024, source);
    if is_zstd(buffered.fill_buf()?) {
        let bound = len.saturating_mul(MAX_RATIO).saturating_add(1 << 20);
        Ok(Box::new(
            zstd::stream::read::Decoder::with_buffer(buffered)?.take(bound),
        ))
    } else {
        Ok(Box::new(buffered.take(len)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(bytes: Vec<u8>) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        let len = bytes.len() as u64;
        reader(io::Cursor::new(bytes), len)?.read_to_end(&mut out)?;
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
    fn a_decompression_bomb_stops_at_its_bound() {
        let bomb = zstd::bulk::compress(&vec![0u8; 64 << 20], 19).unwrap();
        let got = read_all(bomb.clone()).unwrap();
        let bound = (bomb.len() as u64 * MAX_RATIO + (1 << 20)) as usize;
        assert_eq!(got.len(), bound.min(64 << 20));
        assert!(got.len() < 64 << 20, "{} of {}", got.len(), bomb.len());
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
