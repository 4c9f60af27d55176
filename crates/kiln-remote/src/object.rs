//! What the remote store holds and where: object kinds and their names below
//! the store prefix.
//!
//! ```text
//! entries/ab/<key>.kiln      cache entries (the local entry format)
//! manifests/ab/<key>.json    manifests of invocation keys
//! keys/ab/<key>.json         key components of entries, for `kiln explain`
//! index/<scope>.json         keys a run used, for the next run's prefetch
//! runs/<id>.jsonl            unit records of a run, for `kiln explain`
//! history/<id>.json          run summaries, for `kiln history --remote`
//! branches/<branch>.json     the latest run of a branch
//! ```

use kiln_key::Digest;

/// A kind of remote object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A cache entry.
    Entry,
    /// A manifest.
    Manifest,
    /// Key components of an entry.
    Components,
}

impl Kind {
    /// The protocol and directory name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Entry => "entry",
            Self::Manifest => "manifest",
            Self::Components => "keys",
        }
    }

    /// Parses [`Kind::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "entry" => Some(Self::Entry),
            "manifest" => Some(Self::Manifest),
            "keys" => Some(Self::Components),
            _ => None,
        }
    }

    /// The object name of `key`.
    pub fn name(self, key: &Digest) -> String {
        let hex = key.to_hex();
        match self {
            Self::Entry => format!("entries/{}/{hex}.kiln", &hex[..2]),
            Self::Manifest => format!("manifests/{}/{hex}.json", &hex[..2]),
            Self::Components => format!("keys/{}/{hex}.json", &hex[..2]),
        }
    }
}

/// The object name of a prefetch index.
pub fn index_name(scope: &str) -> String {
    format!("index/{scope}.json")
}

/// The object name of a run's records.
pub fn run_name(run: &str) -> String {
    format!("runs/{run}.jsonl")
}

/// Top-level directories kiln writes, for `gc`.
pub const DIRS: &[&str] = &[
    "entries/",
    "manifests/",
    "keys/",
    "index/",
    "runs/",
    "history/",
    "branches/",
];
