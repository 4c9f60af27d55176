//! Why a snapshot did not travel through the GitHub Actions cache.
//!
//! Every message leaves the signed URLs out. Each cause says what to do
//! about it through [`CacheError::hint`]; the job goes on either way.

use kiln_store::StoreError;

/// A snapshot not restored or not saved.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// The service's address and token are not in the environment.
    #[error(
        "the GitHub Actions cache is out of reach: `ACTIONS_RESULTS_URL` and \
         `ACTIONS_RUNTIME_TOKEN` are unset"
    )]
    OutOfReach,
    /// The HTTP client could not be set up.
    #[error("cannot make an HTTP client: {0}")]
    Client(String),
    /// The service asks this job to wait.
    #[error("{what}: the cache service's rate limit is reached (it asks to wait {after} s)")]
    RateLimited {
        /// The request.
        what: String,
        /// Its `retry-after`, in seconds (`?` when it gave none).
        after: String,
    },
    /// The service or the blob store answered with an error status.
    #[error("{what}: {by} answered {status}{msg}")]
    Answered {
        /// The request.
        what: String,
        /// Who answered: the cache service or the blob store.
        by: &'static str,
        /// The status line.
        status: String,
        /// The service's own words, with a leading space, or nothing.
        msg: String,
    },
    /// A request got no usable answer (connection, timeout, not JSON).
    #[error("{what}: {detail}")]
    Transfer {
        /// The request.
        what: String,
        /// What went wrong.
        detail: String,
    },
    /// The snapshot offered is larger than this job's store may hold.
    #[error("download: the snapshot is larger than the {limit} bytes allowed")]
    TooLarge {
        /// The bound, bytes.
        limit: u64,
    },
    /// The service did not create or did not finalize the entry.
    #[error("the cache service did not {} `{key}`: {msg}", if *.kept { "keep" } else { "take" })]
    Refused {
        /// The entry's key.
        key: String,
        /// Whether it was the finalize step (the bytes were sent).
        kept: bool,
        /// The service's reason.
        msg: String,
    },
    /// The snapshot file or the store on this machine.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl CacheError {
    /// What to do about it.
    pub fn hint(&self) -> Option<&'static str> {
        Some(match self {
            Self::OutOfReach => {
                "they reach the kiln Action's own steps only; elsewhere use `--file`"
            }
            Self::RateLimited { .. } | Self::Answered { .. } | Self::Transfer { .. } => {
                "the job goes on without it; the next job tries again"
            }
            Self::TooLarge { .. } => {
                "give every job the same `KILN_CACHE_SIZE`: a job with a smaller store \
                 refuses the snapshots of one with a larger"
            }
            Self::Refused { kept: false, .. } => {
                "an entry of this key exists already (one save per job and attempt), or \
                 this job's token may not write the cache"
            }
            Self::Refused { kept: true, .. } | Self::Client(_) | Self::Store(_) => return None,
        })
    }
}
