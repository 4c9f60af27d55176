//! The envelope of every remote object: a checksum always, a signature when
//! a signing key is configured.
//!
//! ```text
//! "KILNOBJ1"  magic
//! flags       1 byte: bit 0 = signed
//! checksum    32 bytes: BLAKE3 of (name, 0, payload)
//! tag         32 bytes: HMAC-SHA256 of (name, 0, payload) under the signing
//!             key, or zeros when unsigned
//! payload
//! ```
//! Both digests cover the object's name (its path below the store prefix),
//! so a valid object copied to another key is rejected like a damaged one.

use hmac::{Hmac, Mac};
use sha2::Sha256;

const MAGIC: &[u8; 8] = b"KILNOBJ1";
const HEADER: usize = 8 + 1 + 32 + 32;
const SIGNED: u8 = 1;

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
}

fn checksum(name: &str, payload: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(name.as_bytes());
    h.update(&[0]);
    h.update(payload);
    *h.finalize().as_bytes()
}

fn mac(key: &[u8], name: &str, payload: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail.
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any size"));
    m.update(name.as_bytes());
    m.update(&[0]);
    m.update(payload);
    m
}

/// Wraps `payload` for storing under `name`.
pub fn seal(name: &str, payload: &[u8], key: Option<&[u8]>) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(MAGIC);
    out.push(if key.is_some() { SIGNED } else { 0 });
    out.extend_from_slice(&checksum(name, payload));
    match key {
        Some(k) => out.extend_from_slice(&mac(k, name, payload).finalize().into_bytes()),
        None => out.extend_from_slice(&[0; 32]),
    }
    out.extend_from_slice(payload);
    out
}

/// Where the payload starts in an object.
pub const PAYLOAD_START: usize = HEADER;

/// Checks an object read from `name` and returns its payload. With `key`,
/// only objects signed with that key are accepted.
pub fn open<'a>(name: &str, object: &'a [u8], key: Option<&[u8]>) -> Result<&'a [u8], FrameError> {
    if object.len() < HEADER || &object[..8] != MAGIC {
        return Err(FrameError::Malformed);
    }
    let flags = object[8];
    let sum = &object[9..41];
    let tag = &object[41..73];
    let payload = &object[HEADER..];
    if checksum(name, payload) != sum {
        return Err(FrameError::Checksum);
    }
    if let Some(k) = key {
        if flags & SIGNED == 0 {
            return Err(FrameError::Unsigned);
        }
        mac(k, name, payload)
            .verify_slice(tag)
            .map_err(|_| FrameError::BadSignature)?;
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_signed_and_unsigned() {
        let o = seal("entries/ab/x", b"payload", None);
        assert_eq!(open("entries/ab/x", &o, None).unwrap(), b"payload");
        let s = seal("entries/ab/x", b"payload", Some(b"k1k1k1k1k1k1k1k1"));
        assert_eq!(
            open("entries/ab/x", &s, Some(b"k1k1k1k1k1k1k1k1")).unwrap(),
            b"payload"
        );
        // Readers without the key still verify the checksum.
        assert_eq!(open("entries/ab/x", &s, None).unwrap(), b"payload");
    }

    #[test]
    fn tampering_moving_and_foreign_keys_are_rejected() {
        let key = Some(&b"k1k1k1k1k1k1k1k1"[..]);
        let s = seal("entries/ab/x", b"payload", key);
        let mut flipped = s.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(
            open("entries/ab/x", &flipped, key),
            Err(FrameError::Checksum)
        );
        assert_eq!(open("entries/ab/y", &s, key), Err(FrameError::Checksum));
        assert_eq!(
            open("entries/ab/x", &s, Some(b"other-key-other-key")),
            Err(FrameError::BadSignature)
        );
        let unsigned = seal("entries/ab/x", b"payload", None);
        assert_eq!(
            open("entries/ab/x", &unsigned, key),
            Err(FrameError::Unsigned)
        );
        // A forger who recomputes the checksum still lacks the key.
        let mut forged = seal("entries/ab/x", b"evil", None);
        forged[8] = SIGNED;
        assert_eq!(
            open("entries/ab/x", &forged, key),
            Err(FrameError::BadSignature)
        );
        assert_eq!(
            open("entries/ab/x", b"short", None),
            Err(FrameError::Malformed)
        );
    }
}
