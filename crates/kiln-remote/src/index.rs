//! The prefetch index: which manifests and entries a build used.
//!
//! `kiln run` stores one index per scope when the build ends (scope = the
//! toolchain, the command and the repository, hashed), and the next run of
//! the same scope fetches everything it lists, in parallel, while cargo is
//! still resolving the graph.
//!
//! Since version 2 the index also carries, for each invocation key, the
//! manifest list that answered it. The next run installs those into its
//! local manifests at once, so a build needs one request for all its
//! manifests instead of one each; any other list is still fetched on demand.

use kiln_key::Digest;
use kiln_store::manifest::Candidate;
use serde::{Deserialize, Serialize};

/// Version of the [`Index`] format written.
pub const INDEX_VERSION: u32 = 2;
/// The oldest version still read (without carried manifest lists).
const OLDEST_READ: u32 = 1;

/// Keys one build used.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    /// [`INDEX_VERSION`].
    pub version: u32,
    /// Invocation keys (hex) whose manifests the build read.
    pub manifests: Vec<String>,
    /// Entry keys (hex) the build restored or stored.
    pub entries: Vec<String>,
    /// Invocation key (hex) and the manifest list that answered it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<(String, Candidate)>,
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
            candidates: Vec::new(),
        }
    }

    /// Carries `candidates` (invocation key, the list that answered it).
    #[must_use]
    pub fn with_candidates(mut self, candidates: Vec<(String, Candidate)>) -> Self {
        self.candidates = candidates;
        self
    }

    /// Parses a stored index; anything unreadable is empty.
    pub fn parse(bytes: &[u8]) -> Self {
        serde_json::from_slice::<Self>(bytes)
            .ok()
            .filter(|i| (OLDEST_READ..=INDEX_VERSION).contains(&i.version))
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

    /// The carried manifest lists, by invocation key.
    pub fn candidates(&self) -> Vec<(Digest, Candidate)> {
        self.candidates
            .iter()
            .filter_map(|(k, c)| Some((Digest::from_hex(k)?, c.clone())))
            .collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_store::manifest::Inputs;

    #[test]
    fn first_use_order_carried_lists_and_older_versions() {
        let hex = |b: u8| Digest([b; 32]).to_hex();
        let candidate = Candidate {
            inputs: Inputs {
                files: vec![("src/lib.rs".into(), hex(9))],
                ..Inputs::default()
            },
            key: hex(2),
        };
        let index = Index::new(vec![hex(1), hex(3), hex(1)], vec![hex(2), hex(4), hex(2)])
            .with_candidates(vec![(hex(1), candidate.clone())]);
        assert_eq!(index.manifests, [hex(1), hex(3)]);
        assert_eq!(index.entries, [hex(2), hex(4)]);
        let back = Index::parse(&index.to_bytes());
        assert_eq!(back, index);
        assert_eq!(back.candidates(), [(Digest([1; 32]), candidate)]);
        // An index written before lists were carried still prefetches.
        let v1 = format!(
            r#"{{"version":1,"manifests":["{}"],"entries":["{}"]}}"#,
            hex(1),
            hex(2)
        );
        let old = Index::parse(v1.as_bytes());
        assert_eq!(old.keys(), (vec![Digest([1; 32])], vec![Digest([2; 32])]));
        assert!(old.candidates().is_empty());
        // A newer or unreadable one is empty: nothing is prefetched.
        assert_eq!(
            Index::parse(br#"{"version":3,"manifests":[],"entries":[]}"#),
            Index::default()
        );
        assert_eq!(Index::parse(b"{oops"), Index::default());
    }
}
