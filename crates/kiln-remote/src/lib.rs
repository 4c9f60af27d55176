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

/// Why a request failed: what decides whether the store as a whole is
/// given up, matched by kind, never by the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Cause {
    /// The service cannot be reached (the detail: refused, no such host).
    #[error("unreachable ({0})")]
    Unreachable(String),
    /// No answer in time.
    #[error("timed out")]
    TimedOut,
    /// The credentials are refused or unusable (the detail: what to check).
    #[error("access denied: {0}")]
    Denied(String),
    /// The bucket or container is missing.
    #[error("the bucket does not exist")]
    NoBucket,
    /// The settings are wrong for the service.
    #[error("invalid settings: {0}")]
    InvalidSettings(String),
    /// The service asks to slow down.
    #[error("rate limited (429/503)")]
    RateLimited,
    /// Anything else, about one request.
    #[error("{0}")]
    Other(String),
}

impl Cause {
    /// The store as a whole is unusable, not just one request.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            Self::Unreachable(_)
                | Self::TimedOut
                | Self::Denied(_)
                | Self::NoBucket
                | Self::InvalidSettings(_)
        )
    }

    /// Reads as it is in a sentence ("remote `x` unreachable (…)"); other
    /// causes read "failed: …".
    pub fn reads_alone(&self) -> bool {
        matches!(self, Self::Unreachable(_) | Self::TimedOut)
    }
}

/// A remote store problem.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RemoteError {
    /// The client could not be set up (settings, missing feature).
    #[error("{0}")]
    Setup(String),
    /// A request failed.
    #[error("{0}")]
    Failed(Cause),
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
            Self::Failed(cause) => matches!(cause, Cause::Denied(_)),
            _ => false,
        }
    }

    /// Whether the store as a whole is unusable (not just one object).
    pub fn is_fatal(&self) -> bool {
        match self {
            Self::Setup(_) => true,
            Self::Failed(cause) => cause.is_fatal(),
            Self::Rejected { .. } | Self::ReadOnly => false,
        }
    }

    /// The warning's wording: "unreachable (…)" as it is, others
    /// "failed: …".
    pub fn phrase(&self) -> String {
        match self {
            Self::Failed(c) if c.reads_alone() => c.to_string(),
            other => format!("failed: {other}"),
        }
    }
}

#[cfg(test)]
mod cause_tests {
    use super::*;

    #[test]
    fn the_kind_of_a_cause_decides_not_its_words() {
        let lookalike = RemoteError::Failed(Cause::Other("unreachable (or so it says)".into()));
        assert!(!lookalike.is_fatal());
        assert_eq!(lookalike.phrase(), "failed: unreachable (or so it says)");
        let down = RemoteError::Failed(Cause::Unreachable("connection refused".into()));
        assert!(down.is_fatal() && !down.only_writes());
        assert_eq!(down.phrase(), "unreachable (connection refused)");
        let denied = RemoteError::Failed(Cause::Denied("check the credentials".into()));
        assert!(denied.is_fatal() && denied.only_writes());
        assert_eq!(denied.to_string(), "access denied: check the credentials");
    }
}
