//! Small team-wide documents beside the cache: run records and summaries,
//! and a pointer to the latest run of each branch. They let a fresh runner
//! explain its misses against the last main-branch build, and everyone see
//! the team's history.
//!
//! ```text
//! runs/<run>.jsonl          unit records of a run (stored by the agent)
//! history/<run>.json        run summaries (`kiln history --remote`)
//! branches/<branch>.json    {"run": "<run>"}: the latest run of a branch
//! ```
//! These calls block, each on its own small runtime, and are bounded by the
//! store's request timeout.

use std::time::Duration;

use kiln_config::RemoteConfig;
use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;

use crate::{Remote, RemoteError};

/// Parallel requests of a batch.
const PARALLELISM: usize = 16;

/// The object name of a run summary.
pub fn history_name(run: &str) -> String {
    format!("history/{run}.json")
}

/// The object name of a branch pointer (`/` in branch names kept apart).
pub fn branch_name(branch: &str) -> String {
    let safe: String = branch
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '~'
            }
        })
        .collect();
    format!("branches/{safe}.json")
}

/// A branch pointer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BranchHead {
    /// The latest run of the branch.
    pub run: String,
    /// When it started (Unix ms).
    pub started_ms: u64,
}

/// Writes `objects` (name, payload), all within `bound`.
pub fn put_all(
    cfg: &RemoteConfig,
    objects: &[(String, Vec<u8>)],
    bound: Duration,
) -> Result<(), RemoteError> {
    let (rt, remote) = Remote::blocking(cfg)?;
    rt.block_on(async {
        let work = async {
            for (name, payload) in objects {
                remote.put(name, payload).await?;
            }
            Ok(())
        };
        tokio::time::timeout(bound, work)
            .await
            .unwrap_or(Err(RemoteError::Failed(crate::Cause::TimedOut)))
    })
}

/// Reads `names` in parallel; a missing object is `None`.
pub fn get_all(cfg: &RemoteConfig, names: &[String]) -> Result<Vec<Option<Vec<u8>>>, RemoteError> {
    let (rt, remote) = Remote::blocking(cfg)?;
    rt.block_on(async {
        let limit = std::sync::Arc::new(tokio::sync::Semaphore::new(PARALLELISM));
        let mut tasks = JoinSet::new();
        for (i, name) in names.iter().enumerate() {
            let remote = remote.clone();
            let name = name.clone();
            let limit = std::sync::Arc::clone(&limit);
            tasks.spawn(async move {
                let _permit = limit.acquire().await;
                (i, remote.get(&name).await)
            });
        }
        let mut out = vec![None; names.len()];
        while let Some(done) = tasks.join_next().await {
            let Ok((i, got)) = done else { continue };
            match got {
                Ok(v) => out[i] = v,
                Err(RemoteError::Rejected { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    })
}

/// Names of the objects below `dir`.
pub fn list(cfg: &RemoteConfig, dir: &str) -> Result<Vec<String>, RemoteError> {
    let (rt, remote) = Remote::blocking(cfg)?;
    rt.block_on(async { remote.list(dir).await })
        .map(|v| v.into_iter().map(|(name, _, _)| name).collect())
}
