//! Expiry for remote stores without lifecycle rules:
//! `kiln gc --remote --older-than 30d` removes every object kiln wrote that
//! was last written before the cut-off.

use std::time::{Duration, SystemTime};

use crate::object::DIRS;
use crate::{Remote, RemoteError};

/// What a remote gc pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RemoteGcReport {
    /// Objects seen.
    pub objects: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Objects removed.
    pub removed: u64,
    /// Bytes removed.
    pub removed_bytes: u64,
}

/// Removes objects older than `older_than` (objects without a modification
/// time are kept).
pub async fn gc(remote: &Remote, older_than: Duration) -> Result<RemoteGcReport, RemoteError> {
    let cutoff = SystemTime::now()
        .checked_sub(older_than)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let mut report = RemoteGcReport::default();
    for dir in DIRS {
        for (name, modified, size) in remote.list(dir).await? {
            report.objects += 1;
            report.bytes += size;
            if modified.is_some_and(|m| m < cutoff) {
                remote.delete(&name).await?;
                report.removed += 1;
                report.removed_bytes += size;
            }
        }
    }
    Ok(report)
}
