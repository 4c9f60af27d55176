//! The envelope of every remote object: a checksum always, a signature when
//! a signing key is configured, zstd compression for anything but tiny
//! payloads (build outputs shrink about 4×, and the network is what a remote
//! hit waits for).
//!
//! ```text
//! "KILNOBJ2"  magic ("KILNOBJ1": written by versions before zstd, read)
//! flags       1 byte: bit 0 = signed, bit 1 = body is LZ4 (refused: only
//!             unreleased versions wrote it), bit 2 = body is one zstd frame
//! checksum    32 bytes: BLAKE3 of (name, 0, flags, body)
//! tag         32 bytes: HMAC-SHA256 of (name, 0, flags, body) under the
//!             signing key, or zeros when unsigned
//! body
//! ```
//! Both digests cover the object's name (its path below the store prefix),
//! so a valid object copied to another key is rejected like a damaged one;
//! they are checked before the body is decompressed.
//!
//! The magic changed with zstd so that a kiln from before refuses these
//! objects (as it refuses any damaged one) instead of taking a zstd body for
//! a plain payload; this kiln still reads the objects those versions wrote.
//!
//! A compressed entry is kept compressed in the local store
//! ([`kiln_store::packed`]): [`Object::entry_file`] hands over the body as
//! received, and a local entry file that is already compressed is sent as it
//! is.

use std::borrow::Cow;
use std::io::Read;

use hmac::{Hmac, Mac};
use kiln_store::packed;
use sha2::Sha256;

const MAGIC: &[u8; 8] = b"KILNOBJ2";
/// The magic of objects written before zstd (plain or LZ4 bodies).
const MAGIC_V1: &[u8; 8] = b"KILNOBJ1";
const HEADER: usize = 8 + 1 + 32 + 32;
const SIGNED: u8 = 1;
const LZ4: u8 = 2;
const ZSTD: u8 = 4;
/// zstd's default level: about 4× on build outputs at several hundred MB/s.
const ZSTD_LEVEL: i32 = 3;
/// Payloads below this size are stored as they are.
const COMPRESS_FROM: usize = 4096;
/// The largest payload decompressed in memory (manifests, indexes, records;
/// entries are decompressed while restoring, straight to their files).
const MAX_INFLATED: u64 = 256 << 20;

/// Why an object was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Not a kiln object, or cut short.
    #[error("not a kiln object or truncated")]
    Malformed,
    /// The checksum does not match: damaged in transit or at rest.
    #[error("checksum mismatch")]
    Checksum,
    /// A signing key is configured and the object carries no signature.
    #[error("unsigned object in a signed store")]
    Unsigned,
    /// The signature does not match the key.
    #[error("signature mismatch")]
    BadSignature,
    /// The body does not decompress.
    #[error("cannot decompress")]
    Decompress,
    /// The object is larger than an object of its kind may be.
    #[error("larger than an object may be")]
    TooLarge,
    /// Not a regular file of a shared directory (a link, a FIFO, a device).
    #[error("not a regular file")]
    NotAFile,
}

fn checksum(name: &str, flags: u8, payload: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(name.as_bytes());
    h.update(&[0, flags]);
    h.update(payload);
    *h.finalize().as_bytes()
}

fn mac(key: &[u8], name: &str, flags: u8, payload: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail.
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any size"));
    m.update(name.as_bytes());
    m.update(&[0, flags]);
    m.update(payload);
    m
}

/// Wraps `payload` for storing under `name`. A payload that is already a
/// zstd frame (a local entry kept compressed) is stored as it is.
pub fn seal(name: &str, payload: &[u8], key: Option<&[u8]>) -> Vec<u8> {
    let compressed;
    let (mut flags, body) = if packed::is_zstd(payload) {
        (ZSTD, payload)
    } else if payload.len() >= COMPRESS_FROM {
        match zstd::bulk::compress(payload, ZSTD_LEVEL) {
            Ok(c) => {
                compressed = c;
                (ZSTD, compressed.as_slice())
            }
            Err(_) => (0, payload),
        }
    } else {
        (0, payload)
    };
    if key.is_some() {
        flags |= SIGNED;
    }
    let mut out = Vec::with_capacity(HEADER + body.len());
    out.extend_from_slice(MAGIC);
    out.push(flags);
    out.extend_from_slice(&checksum(name, flags, body));
    match key {
        Some(k) => out.extend_from_slice(&mac(k, name, flags, body).finalize().into_bytes()),
        None => out.extend_from_slice(&[0; 32]),
    }
    out.extend_from_slice(body);
    out
}

/// An object whose checksum (and signature, when required) held.
#[derive(Debug)]
pub struct Object {
    bytes: Vec<u8>,
}

impl Object {
    /// Bytes as received.
    pub fn wire_len(&self) -> u64 {
        self.bytes.len() as u64
    }

    fn flags(&self) -> u8 {
        self.bytes[8]
    }

    fn body(&self) -> &[u8] {
        &self.bytes[HEADER..]
    }

    /// The payload, decompressed.
    pub fn payload(mut self) -> Result<Vec<u8>, FrameError> {
        let flags = self.flags();
        if flags & ZSTD != 0 {
            return inflate_zstd(self.body(), MAX_INFLATED);
        }
        if flags & LZ4 != 0 {
            return Err(FrameError::Decompress);
        }
        self.bytes.drain(..HEADER);
        Ok(self.bytes)
    }

    /// The bytes to keep as a local entry file: a zstd body as received
    /// (decompressed when restored), anything else plain.
    pub fn entry_file(&self) -> Result<Cow<'_, [u8]>, FrameError> {
        let flags = self.flags();
        if flags & ZSTD != 0 {
            if packed::is_zstd(self.body()) {
                return Ok(Cow::Borrowed(self.body()));
            }
            return Err(FrameError::Decompress);
        }
        if flags & LZ4 != 0 {
            return Err(FrameError::Decompress);
        }
        Ok(Cow::Borrowed(self.body()))
    }
}

fn inflate_zstd(body: &[u8], limit: u64) -> Result<Vec<u8>, FrameError> {
    let decoder = zstd::stream::read::Decoder::new(body).map_err(|_| FrameError::Decompress)?;
    let mut out = Vec::new();
    decoder
        .take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|_| FrameError::Decompress)?;
    if out.len() as u64 > limit {
        return Err(FrameError::Decompress);
    }
    Ok(out)
}

/// Checks an object read from `name`. With `key`, only objects signed with
/// that key are accepted. Decompression comes later ([`Object::payload`],
/// [`Object::entry_file`]), after these checks.
pub fn open(name: &str, object: Vec<u8>, key: Option<&[u8]>) -> Result<Object, FrameError> {
    if object.len() < HEADER || (&object[..8] != MAGIC && &object[..8] != MAGIC_V1) {
        return Err(FrameError::Malformed);
    }
    let flags = object[8];
    let sum = &object[9..41];
    let tag = &object[41..73];
    let body = &object[HEADER..];
    if checksum(name, flags, body) != sum {
        return Err(FrameError::Checksum);
    }
    if let Some(k) = key {
        if flags & SIGNED == 0 {
            return Err(FrameError::Unsigned);
        }
        mac(k, name, flags, body)
            .verify_slice(tag)
            .map_err(|_| FrameError::BadSignature)?;
    }
    Ok(Object { bytes: object })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(name: &str, object: Vec<u8>, key: Option<&[u8]>) -> Result<Vec<u8>, FrameError> {
        open(name, object, key)?.payload()
    }

    #[test]
    fn round_trip_signed_and_unsigned() {
        let o = seal("entries/ab/x", b"payload", None);
        assert_eq!(read("entries/ab/x", o, None).unwrap(), b"payload");
        let s = seal("entries/ab/x", b"payload", Some(b"k1k1k1k1k1k1k1k1"));
        assert_eq!(
            read("entries/ab/x", s.clone(), Some(b"k1k1k1k1k1k1k1k1")).unwrap(),
            b"payload"
        );
        // Readers without the key still verify the checksum.
        assert_eq!(read("entries/ab/x", s, None).unwrap(), b"payload");
    }

    #[test]
    fn large_payloads_are_compressed_and_checked_before_decompression() {
        let payload: Vec<u8> = (0..200_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let o = seal("entries/ab/big", &payload, Some(b"k1k1k1k1k1k1k1k1"));
        assert!(
            o.len() < payload.len() / 2,
            "{} vs {}",
            o.len(),
            payload.len()
        );
        assert_eq!(o[8] & ZSTD, ZSTD);
        let back = read("entries/ab/big", o.clone(), Some(b"k1k1k1k1k1k1k1k1")).unwrap();
        assert_eq!(back.as_slice(), &payload[..]);
        let mut bad = o.clone();
        bad[HEADER + 10] ^= 0xff;
        assert_eq!(read("entries/ab/big", bad, None), Err(FrameError::Checksum));
        // Turning compression off in the flags is tampering too.
        let mut flag = o;
        flag[8] &= !ZSTD;
        assert_eq!(
            read("entries/ab/big", flag, None),
            Err(FrameError::Checksum)
        );
    }

    /// Seals `body` under `flags` as an older kiln would have.
    fn seal_raw(name: &str, flags: u8, body: &[u8]) -> Vec<u8> {
        let mut out = MAGIC_V1.to_vec();
        out.push(flags);
        out.extend_from_slice(&checksum(name, flags, body));
        out.extend_from_slice(&[0; 32]);
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn lz4_bodies_of_unreleased_versions_are_refused() {
        let o = seal_raw("entries/ab/old", LZ4, b"\x10\0\0\0whatever");
        assert_eq!(
            read("entries/ab/old", o.clone(), None),
            Err(FrameError::Decompress)
        );
        let opened = open("entries/ab/old", o, None).unwrap();
        assert_eq!(opened.entry_file().err(), Some(FrameError::Decompress));
    }

    #[test]
    fn a_compressed_entry_travels_and_lands_compressed() {
        let plain = b"KILNENT1".repeat(5000);
        let local = zstd::bulk::compress(&plain, 3).unwrap();
        // Sent as it is, not compressed twice, under the magic that kiln
        // versions from before zstd refuse rather than misread.
        let o = seal("entries/ab/e", &local, None);
        assert_eq!(&o[..8], MAGIC);
        assert_ne!(MAGIC, MAGIC_V1);
        assert_eq!(o.len(), HEADER + local.len());
        let opened = open("entries/ab/e", o.clone(), None).unwrap();
        assert_eq!(opened.wire_len(), o.len() as u64);
        assert_eq!(opened.entry_file().unwrap().as_ref(), &local[..]);
        assert_eq!(opened.payload().unwrap(), plain);
        // A plain entry compressed by `seal` lands as a zstd frame too.
        let opened = open("entries/ab/e", seal("entries/ab/e", &plain, None), None).unwrap();
        let file = opened.entry_file().unwrap().into_owned();
        assert!(packed::is_zstd(&file));
        assert_eq!(zstd::bulk::decompress(&file, plain.len()).unwrap(), plain);
    }

    #[test]
    fn a_zstd_bomb_is_refused_not_inflated() {
        let bomb = zstd::bulk::compress(&vec![0u8; 64 << 20], 3).unwrap();
        assert!(bomb.len() < 1 << 20);
        assert_eq!(inflate_zstd(&bomb, 1 << 20), Err(FrameError::Decompress));
        assert_eq!(
            inflate_zstd(b"not zstd", 1 << 20),
            Err(FrameError::Decompress)
        );
        // A zstd flag over a body that is no zstd frame is refused too.
        let o = seal_raw("entries/ab/z", ZSTD, b"plain bytes, flagged");
        let opened = open("entries/ab/z", o, None).unwrap();
        assert_eq!(opened.entry_file(), Err(FrameError::Decompress));
    }

    #[test]
    fn tampering_moving_and_foreign_keys_are_rejected() {
        let key = Some(&b"k1k1k1k1k1k1k1k1"[..]);
        let s = seal("entries/ab/x", b"payload", key);
        let mut flipped = s.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(
            read("entries/ab/x", flipped.clone(), key),
            Err(FrameError::Checksum)
        );
        assert_eq!(
            read("entries/ab/y", s.clone(), key),
            Err(FrameError::Checksum)
        );
        assert_eq!(
            read("entries/ab/x", s, Some(b"other-key-other-key")),
            Err(FrameError::BadSignature)
        );
        let unsigned = seal("entries/ab/x", b"payload", None);
        assert_eq!(
            read("entries/ab/x", unsigned, key),
            Err(FrameError::Unsigned)
        );
        // A forger who recomputes the checksum still lacks the key.
        let mut forged = seal("entries/ab/x", b"evil", None);
        forged[8] = SIGNED;
        let sum = checksum("entries/ab/x", SIGNED, &forged[HEADER..]);
        forged[9..41].copy_from_slice(&sum);
        assert_eq!(
            read("entries/ab/x", forged.clone(), key),
            Err(FrameError::BadSignature)
        );
        assert_eq!(
            read("entries/ab/x", b"short".to_vec(), None),
            Err(FrameError::Malformed)
        );
    }
}
