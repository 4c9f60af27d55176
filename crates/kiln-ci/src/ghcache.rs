//! The GitHub Actions cache as the carrier of one store snapshot per job.
//!
//! A job restores one snapshot at its start and saves one at its end: two
//! requests to the cache service whatever the number of units, where a
//! cache entry per compile would run into the service's limit on new
//! entries (about 200 a minute per repository) and lose writes.
//!
//! The service (its v2 API) takes JSON over Twirp at `ACTIONS_RESULTS_URL`
//! with the job's `ACTIONS_RUNTIME_TOKEN`, which only JavaScript actions
//! receive (the kiln Action hands them to kiln); its answers carry signed
//! Azure Blob URLs that the data goes to and comes from. Those URLs are
//! secrets: no message here prints one.
//!
//! Keys are per job (`GITHUB_JOB`), OS and architecture, so each job gets
//! back what it used; a job restores the newest snapshot of its branch,
//! else of the default branch, else any.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use kiln_store::StoreError;
use kiln_store::snapshot::{self, Keep, Report};

mod error;
mod http;

pub use error::CacheError;
pub use http::Service;

/// Looks a variable of the job's environment up.
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The namespace of kiln's entries in the cache service (a 64-digit hex
/// digest, as the service expects): snapshots of another format version
/// never match.
fn version() -> String {
    blake3::hash(b"kiln store snapshot, format 1")
        .to_hex()
        .to_string()
}

/// The key a job saves under and the prefixes it restores from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    /// This run's key (unique per run attempt; entries cannot be replaced).
    pub key: String,
    /// Prefixes tried in order, newest entry first within each.
    pub restore: Vec<String>,
}

/// The keys of this job, from the variables GitHub Actions sets:
/// `kiln-store.<os>.<arch>.<workflow>.<job>[.<key>].<branch>.<run>.<attempt>.<nonce>`.
/// Parts are joined with `.`, which job ids cannot hold, so no job's
/// prefix is another's; the workflow is a short digest of its file; the
/// nonce keeps the jobs of a matrix (one job id) from claiming one key.
pub fn keys(lookup: Lookup<'_>) -> Keys {
    let get = |k: &str| lookup(k).filter(|v| !v.is_empty());
    let clean = |s: String, max: usize| {
        let s: String = s
            .replace([',', ' ', '\n', '.'], "_")
            .chars()
            .take(max)
            .collect();
        s
    };
    let os = get("RUNNER_OS")
        .unwrap_or_else(|| "linux".into())
        .to_lowercase();
    let arch = get("RUNNER_ARCH")
        .unwrap_or_else(|| "x64".into())
        .to_lowercase();
    let workflow = get("GITHUB_WORKFLOW_REF")
        .map(|w| w.split('@').next().unwrap_or_default().to_owned())
        .or_else(|| get("GITHUB_WORKFLOW"))
        .unwrap_or_default();
    let workflow = &blake3::hash(workflow.as_bytes()).to_hex()[..8];
    let job = clean(get("GITHUB_JOB").unwrap_or_else(|| "job".into()), 100);
    let mut prefix = format!(
        "kiln-store.{}.{}.{workflow}.{job}",
        clean(os, 20),
        clean(arch, 20)
    );
    if let Some(extra) = get("KILN_CI_CACHE_KEY") {
        prefix = format!("{prefix}.{}", clean(extra, 100));
    }
    let branch = clean(
        get("GITHUB_HEAD_REF")
            .or_else(|| get("GITHUB_REF_NAME"))
            .unwrap_or_else(|| "detached".into()),
        150,
    );
    let default = clean(default_branch(lookup).unwrap_or_else(|| "main".into()), 150);
    let run = clean(get("GITHUB_RUN_ID").unwrap_or_else(|| "0".into()), 20);
    let attempt = clean(get("GITHUB_RUN_ATTEMPT").unwrap_or_else(|| "1".into()), 10);
    let mut restore = vec![format!("{prefix}.{branch}.")];
    if default != branch {
        restore.push(format!("{prefix}.{default}."));
    }
    restore.push(format!("{prefix}."));
    Keys {
        key: format!("{prefix}.{branch}.{run}.{attempt}.{}", nonce()),
        restore,
    }
}

/// Six hex digits that differ between processes.
fn nonce() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let seed = format!("{nanos}.{}", std::process::id());
    blake3::hash(seed.as_bytes()).to_hex()[..6].to_owned()
}

/// The repository's default branch, from the event payload.
fn default_branch(lookup: Lookup<'_>) -> Option<String> {
    let path = lookup("GITHUB_EVENT_PATH")?;
    let file = File::open(path).ok()?;
    let event: serde_json::Value = serde_json::from_reader(file.take(16 << 20)).ok()?;
    event
        .pointer("/repository/default_branch")?
        .as_str()
        .map(str::to_owned)
}

/// A scratch file in the store's staging directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(dir: &Path, what: &str) -> Result<(Self, File), StoreError> {
        let staging = dir.join("staging");
        std::fs::create_dir_all(&staging).map_err(|e| StoreError::io("create", &staging, e))?;
        let path = staging.join(format!("entry-{}-{what}", kiln_store::local::staging_tag()));
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(|e| StoreError::io("create", &path, e))?;
        Ok((Self(path), file))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Restores the newest snapshot for this job into the store at `dir`.
/// `None` when the cache has none yet.
///
/// # Errors
/// When the service or the data cannot be reached or the snapshot is
/// unusable (no message holds a signed URL).
pub fn restore(
    dir: &Path,
    max_bytes: u64,
    secret: Option<&[u8]>,
    lookup: Lookup<'_>,
) -> Result<Option<(String, Report)>, CacheError> {
    let service = Service::from_env(lookup)?;
    let keys = keys(lookup);
    let Some((matched, url)) = service.find(&keys, &version())? else {
        return Ok(None);
    };
    let (scratch, mut file) = Scratch::new(dir, "snapshot-in")?;
    // A snapshot is at most the store's bound plus what is not an entry.
    let limit = max_bytes.saturating_add(256 << 20);
    service.download(&url, &mut file, limit)?;
    let report = snapshot::restore(dir, &mut file, max_bytes, secret)?;
    drop(scratch);
    Ok(Some((
        format!("the GitHub Actions cache (`{matched}`)"),
        report,
    )))
}

/// Saves a snapshot of what `keep` selects under this job's key; returns
/// where it went, what it held and its compressed size.
///
/// # Errors
/// When the snapshot cannot be written or the service refuses or cannot
/// take it.
pub fn save(
    dir: &Path,
    keep: Keep,
    secret: Option<&[u8]>,
    lookup: Lookup<'_>,
) -> Result<(String, Report, u64), CacheError> {
    let service = Service::from_env(lookup)?;
    let keys = keys(lookup);
    let (scratch, mut file) = Scratch::new(dir, "snapshot-out")?;
    let report = snapshot::save(dir, keep, &file, secret)?;
    let size = file
        .metadata()
        .map_err(|e| StoreError::io("read", &scratch.0, e))?
        .len();
    service.upload(&keys.key, &version(), &mut file, size)?;
    Ok((
        format!("the GitHub Actions cache (`{}`)", keys.key),
        report,
        size,
    ))
}

/// How long one request may wait for an answer or the next bytes.
pub const READ_TIMEOUT: Duration = Duration::from_secs(60);

#[cfg(test)]
mod tests;
