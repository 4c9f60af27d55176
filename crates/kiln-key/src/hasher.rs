//! The key hasher: BLAKE3 over labelled, length-prefixed fields, so that no
//! two different field sequences can produce the same byte stream.

use std::fmt;

/// A 256-bit content or key digest.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// Digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(*blake3::hash(bytes).as_bytes())
    }

    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        let mut s = String::with_capacity(64);
        for b in self.0 {
            s.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
            s.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
        }
        s
    }

    /// Parses 64 hex digits.
    pub fn from_hex(s: &str) -> Option<Self> {
        if s.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
            let hi = char::from(chunk[0]).to_digit(16)?;
            let lo = char::from(chunk[1]).to_digit(16)?;
            out[i] = u8::try_from(hi * 16 + lo).ok()?;
        }
        Some(Self(out))
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", &self.to_hex()[..16])
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// Builds a key from labelled fields.
pub struct KeyHasher(blake3::Hasher);

impl KeyHasher {
    /// A hasher for the key domain `domain` (e.g. `kiln-invocation-v1`).
    pub fn new(domain: &str) -> Self {
        let mut h = blake3::Hasher::new();
        h.update(domain.as_bytes());
        h.update(&[0]);
        Self(h)
    }

    /// Adds a field: label and value, both length-prefixed.
    pub fn field(&mut self, label: &str, value: impl AsRef<[u8]>) -> &mut Self {
        let v = value.as_ref();
        self.0.update(&(label.len() as u64).to_le_bytes());
        self.0.update(label.as_bytes());
        self.0.update(&(v.len() as u64).to_le_bytes());
        self.0.update(v);
        self
    }

    /// The key.
    pub fn finish(&self) -> Digest {
        Digest(*self.0.finalize().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_unambiguous() {
        let a = KeyHasher::new("d").field("a", "bc").finish();
        let b = KeyHasher::new("d").field("ab", "c").finish();
        let c = KeyHasher::new("e").field("a", "bc").finish();
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_eq!(Digest::from_hex(&a.to_hex()), Some(a));
    }
}
