//! The prefetch index: which manifests and entries a build used.
//!
//! `kiln run` stores one index per scope when the build ends (scope = the
//! toolchain, the command and the repository, hashed), and the next run of
//! the same scope fetches everything it lists, in parallel, while cargo is
//! still resolving the graph.

use kiln_key::Digest;
use serde::{Deserialize, Serialize};

/// Version of the [`Index`] format.
pub const INDEX_VERSION: u32 = 1;

/// Keys one build used.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    /// [`INDEX_VERSION`].
    pub version: u32,
    /// Invocation keys (hex) whose manifests the build read.
    pub manifests: Vec<String>,
    /// Entry keys (hex) the build restored or stored.
    pub entries: Vec<String>,
}

impl Index {
    /// An index of the given keys in the order the build first used them
    /// (duplicates dropped): the prefetch then brings the units cargo asks
    /// for first (build scripts, proc macros) first.
    pub fn new(manifests: Vec<String>, entries: Vec<String>) -> Self {
        fn first_use(keys: Vec<String>) -> Vec<String> {
            let mut seen = std::collections::HashSet::new();
            keys.into_iter()
                .filter(|k| seen.insert(k.clone()))
                .collect()
        }
        let (manifests, entries) = (first_use(manifests), first_use(entries));
        Self {
            version: INDEX_VERSION,
            manifests,
            entries,
        }
    }

    /// Parses a stored index; anything unreadable is empty.
    pub fn parse(bytes: &[u8]) -> Self {
        serde_json::from_slice::<Self>(bytes)
            .ok()
            .filter(|i| i.version == INDEX_VERSION)
            .unwrap_or_default()
    }

    /// Serializes it.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The keys as digests, manifests then entries.
    pub fn keys(&self) -> (Vec<Digest>, Vec<Digest>) {
        let parse = |v: &[String]| v.iter().filter_map(|h| Digest::from_hex(h)).collect();
        (parse(&self.manifests), parse(&self.entries))
    }
}

/// The scope of a build: what must match for its index to be worth
/// prefetching. `parts` are e.g. `rustc -vV`, the command, the repository.
pub fn scope(parts: &[&[u8]]) -> String {
    let mut h = blake3::Hasher::new();
    for p in parts {
        h.update(&(p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.finalize().to_hex()[..32].to_owned()
}
