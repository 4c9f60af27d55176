//! Where cached compiles live.
//!
//! - [`Store`]: the storage trait every backend implements (open an entry,
//!   put a finished entry file, remove, list for eviction).
//! - [`entry`]: the entry format: one file per key holding the compile's
//!   output files, stdout and stderr, with a digest per file and one over the
//!   whole entry, verified while restoring.
//! - [`local`]: the local disk backend with least-recently-used eviction.
//! - [`packed`]: entry files kept zstd-compressed (fetched from a remote
//!   store), read back transparently.
//! - [`manifest`]: per-invocation lists of the inputs earlier compiles read,
//!   which turn an invocation key into an entry key without running rustc.
//! - [`lock`]: per-key locks so that one compile serves concurrent callers.
//! - [`nofollow`]: files below a store root, reached without following
//!   links and opened only when regular and within their bound.
//! - [`usage`]: the store's running size, so the bound holds after every
//!   write.
//! - [`tree`]: a directory tree as one file (a build script's `OUT_DIR`).
//! - [`snapshot`]: the store as one archive, pruned to what a CI job used,
//!   for caches that hold whole files (the GitHub Actions cache).
//!
//! Invariant: a store failure is an error value, never a panic; callers turn
//! it into a warning and compile.

pub mod entry;
pub mod local;
pub mod lock;
pub mod manifest;
pub mod nofollow;
pub mod packed;
pub mod snapshot;
pub mod tree;
pub mod usage;

use std::io::Read;
use std::path::{Path, PathBuf};

use kiln_key::Digest;

pub use local::LocalStore;

/// A store problem.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An I/O error on a path.
    #[error("{action} `{path}`: {source}")]
    Io {
        /// What kiln was doing.
        action: &'static str,
        /// Where.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A snapshot refused whole (not one, or not signed with this key).
    #[error("{0}")]
    Refused(String),
    /// An entry failed its integrity check or is malformed.
    #[error("corrupt cache entry `{key}`: {detail}")]
    Corrupt {
        /// Its key.
        key: String,
        /// What was wrong.
        detail: String,
    },
}

impl StoreError {
    /// Wraps an I/O error with the action and path.
    pub fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// One stored entry, for listing and eviction.
#[derive(Debug, Clone)]
pub struct EntryInfo {
    /// Its key.
    pub key: Digest,
    /// Size in bytes.
    pub size: u64,
    /// Last use, in seconds since the epoch.
    pub last_used: u64,
}

/// A place that holds cache entries.
pub trait Store: Send + Sync {
    /// A short description for messages (`local `/path``).
    fn describe(&self) -> String;
    /// Opens the entry for `key` for reading, if present. Marks it used.
    fn open(&self, key: &Digest) -> Result<Option<Box<dyn Read + Send>>, StoreError>;
    /// Moves a complete entry file (written by [`entry::EntryWriter`] in
    /// [`Store::staging_dir`]) into the store under `key`, atomically.
    fn put(&self, key: &Digest, entry_file: &Path) -> Result<u64, StoreError>;
    /// Removes the entry for `key` (e.g. after a failed integrity check).
    fn remove(&self, key: &Digest) -> Result<(), StoreError>;
    /// Where entry files are staged before [`Store::put`].
    fn staging_dir(&self) -> PathBuf;
}
