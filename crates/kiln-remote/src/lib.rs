//! The remote tier: a store shared by every CI runner and developer.
//!
//! Local disk stays the first tier; the remote store (S3 and S3-compatibles,
//! Redis, a shared directory) is the second. A remote hit is written to the
//! local store and restored from there; a miss is compiled, stored locally,
//! then uploaded without holding up the build.
//!
//! - [`backend`]: the opendal operator of each service (cargo features).
//! - [`dir`]: a shared directory as a store (`file://`), links refused.
//! - [`frame`]: checksum and HMAC signature around every object.
//! - [`client`]: [`Remote`], async get/put/list/delete of framed objects.
//! - [`object`]: what lives where in the store.
//! - [`local`]: moving objects between the remote and the local store.
//! - [`breaker`]: stop using a failing remote for the rest of a build.
//! - [`agent`]: the server `kiln run` keeps for its build (one connection
//!   pool, prefetch, background uploads) and its client in the wrapper.
//! - [`tier`]: what the wrapper calls: the agent when there is one, the
//!   store directly otherwise.
//! - [`index`]: the keys a run used, fetched ahead by the next run.
//! - [`gc`]: expiry for stores without lifecycle rules.
//! - [`shared`]: run records, summaries and branch pointers beside the cache.
//!
//! Invariant: no remote failure fails a build. Every error becomes a miss
//! (or a skipped upload), is counted, and at most one warning per build
//! names its cause.

pub mod agent;
pub mod backend;
pub mod breaker;
pub mod client;
pub mod dir;
pub mod frame;
pub mod gc;
pub mod index;
pub mod local;
pub mod object;
pub mod shared;
pub mod tier;

pub use client::{Object, Remote};
pub use object::Kind;
pub use tier::{Fetched, Tier};

/// A remote store problem.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RemoteError {
    /// The client could not be set up (settings, missing feature).
    #[error("{0}")]
    Setup(String),
    /// A request failed; the text names the cause.
    #[error("{0}")]
    Failed(String),
    /// An object failed its checksum or signature check.
    #[error("rejected `{name}`: {problem}")]
    Rejected {
        /// The object.
        name: String,
        /// What was wrong.
        problem: frame::FrameError,
    },
    /// A write to a read-only remote.
    #[error("the remote store is read-only")]
    ReadOnly,
}

impl RemoteError {
    /// Whether the error concerns writing only (credentials that may read
    /// but not write): reads can go on.
    pub fn only_writes(&self) -> bool {
        match self {
            Self::ReadOnly => true,
            Self::Failed(cause) => cause.starts_with("access denied"),
            _ => false,
        }
    }

    /// Whether the store as a whole is unusable (not just one object).
    pub fn is_fatal(&self) -> bool {
        match self {
            Self::Setup(_) => true,
            Self::Failed(cause) => {
                cause.starts_with("unreachable")
                    || cause.starts_with("access denied")
                    || cause.starts_with("the bucket")
                    || cause.starts_with("invalid settings")
                    || cause.starts_with("timed out")
            }
            Self::Rejected { .. } | Self::ReadOnly => false,
        }
    }
}
