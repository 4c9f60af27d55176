//! The envelope of every remote object: a checksum always, a signature when
//! a signing key is configured, LZ4 compression for anything but tiny
//! payloads (build outputs shrink about 2×, and the network is what a remote
//! hit waits for).
//!
//! ```text
//! "KILNOBJ1"  magic
//! flags       1 byte: bit 0 = signed, bit 1 = body is LZ4 (size-prefixed)
//! checksum    32 bytes: BLAKE3 of (name, 0, flags, body)
//! tag         32 bytes: HMAC-SHA256 of (name, 0, flags, body) under the
//!             signing key, or zeros when unsigned
//! body
//! ```
//! Both digests cover the object's name (its path below the store prefix),
//! so a valid object copied to another key is rejected like a damaged one;
//! they are checked before the body is decompressed.

use hmac::{Hmac, Mac};
use sha2::Sha256;

const MAGIC: &[u8; 8] = b"KILNOBJ1";
const HEADER: usize = 8 + 1 + 32 + 32;
const SIGNED: u8 = 1;
const LZ4: u8 = 2;
/// Payloads below this size are stored as they are.
const COMPRESS_FROM: usize = 4096;

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

/// Wraps `payload` for storing under `name`.
pub fn seal(name: &str, payload: &[u8], key: Option<&[u8]>) -> Vec<u8> {
    let compressed;
    let (mut flags, body) = if payload.len() >= COMPRESS_FROM {
        compressed = lz4_flex::compress_prepend_size(payload);
        (LZ4, compressed.as_slice())
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

/// A checked payload: in place in the received object, or decompressed.
#[derive(Debug)]
pub enum Payload {
    /// The object's bytes from [`HEADER`] on.
    InPlace(Vec<u8>),
    /// Decompressed.
    Owned(Vec<u8>),
}

impl Payload {
    /// The payload bytes.
    pub fn as_slice(&self) -> &[u8] {
        match self {
            Self::InPlace(object) => &object[HEADER..],
            Self::Owned(v) => v,
        }
    }

    /// The payload, owned.
    pub fn into_vec(self) -> Vec<u8> {
        match self {
            Self::InPlace(mut object) => {
                object.drain(..HEADER);
                object
            }
            Self::Owned(v) => v,
        }
    }
}

/// Checks an object read from `name` and returns its payload. With `key`,
/// only objects signed with that key are accepted.
pub fn open(name: &str, object: Vec<u8>, key: Option<&[u8]>) -> Result<Payload, FrameError> {
    if object.len() < HEADER || &object[..8] != MAGIC {
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
    if flags & LZ4 != 0 {
        // LZ4 expands at most 255×: a larger declared size is a crafted
        // object, refused before anything is allocated.
        let declared = body.get(..4).map_or(u64::MAX, |b| {
            u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        });
        if declared > (body.len() as u64).saturating_mul(255) {
            return Err(FrameError::Decompress);
        }
        return lz4_flex::decompress_size_prepended(body)
            .map(Payload::Owned)
            .map_err(|_| FrameError::Decompress);
    }
    Ok(Payload::InPlace(object))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_signed_and_unsigned() {
        let o = seal("entries/ab/x", b"payload", None);
        assert_eq!(
            open("entries/ab/x", o, None).unwrap().into_vec(),
            b"payload"
        );
        let s = seal("entries/ab/x", b"payload", Some(b"k1k1k1k1k1k1k1k1"));
        assert_eq!(
            open("entries/ab/x", s.clone(), Some(b"k1k1k1k1k1k1k1k1"))
                .unwrap()
                .into_vec(),
            b"payload"
        );
        // Readers without the key still verify the checksum.
        assert_eq!(
            open("entries/ab/x", s, None).unwrap().into_vec(),
            b"payload"
        );
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
        assert_eq!(o[8] & LZ4, LZ4);
        let back = open("entries/ab/big", o.clone(), Some(b"k1k1k1k1k1k1k1k1")).unwrap();
        assert_eq!(back.as_slice(), &payload[..]);
        let mut bad = o.clone();
        bad[HEADER + 10] ^= 0xff;
        assert_eq!(
            open("entries/ab/big", bad, None).map(Payload::into_vec),
            Err(FrameError::Checksum)
        );
        // Turning compression off in the flags is tampering too.
        let mut flag = o;
        flag[8] &= !LZ4;
        assert_eq!(
            open("entries/ab/big", flag, None).map(Payload::into_vec),
            Err(FrameError::Checksum)
        );
    }

    #[test]
    fn tampering_moving_and_foreign_keys_are_rejected() {
        let key = Some(&b"k1k1k1k1k1k1k1k1"[..]);
        let s = seal("entries/ab/x", b"payload", key);
        let mut flipped = s.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(
            open("entries/ab/x", flipped.clone(), key).map(Payload::into_vec),
            Err(FrameError::Checksum)
        );
        assert_eq!(
            open("entries/ab/y", s.clone(), key).map(Payload::into_vec),
            Err(FrameError::Checksum)
        );
        assert_eq!(
            open("entries/ab/x", s, Some(b"other-key-other-key")).map(Payload::into_vec),
            Err(FrameError::BadSignature)
        );
        let unsigned = seal("entries/ab/x", b"payload", None);
        assert_eq!(
            open("entries/ab/x", unsigned, key).map(Payload::into_vec),
            Err(FrameError::Unsigned)
        );
        // A forger who recomputes the checksum still lacks the key.
        let mut forged = seal("entries/ab/x", b"evil", None);
        forged[8] = SIGNED;
        let sum = checksum("entries/ab/x", SIGNED, &forged[HEADER..]);
        forged[9..41].copy_from_slice(&sum);
        assert_eq!(
            open("entries/ab/x", forged.clone(), key).map(Payload::into_vec),
            Err(FrameError::BadSignature)
        );
        assert_eq!(
            open("entries/ab/x", b"short".to_vec(), None).map(Payload::into_vec),
            Err(FrameError::Malformed)
        );
    }
}
