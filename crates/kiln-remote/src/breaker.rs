//! Stop using a failing remote store for the rest of a build.
//!
//! A store that is unreachable, refuses the credentials, lacks its bucket or
//! times out is given up at once; other failures (a 500, a damaged object)
//! after [`MAX_FAILURES`]. Giving up prints the one warning of the build.
//!
//! Inside `kiln run` the agent holds one [`Breaker`]. Without it, every rustc
//! call is its own process: [`FileBreaker`] shares the decision through a
//! marker file in the local store for [`MARKER_TTL`].

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use crate::RemoteError;

/// Failures tolerated before the remote is given up.
pub const MAX_FAILURES: u32 = 3;
/// How long a given-up remote stays given up for calls without an agent.
pub const MARKER_TTL: Duration = Duration::from_secs(120);

/// `phrased` is [`RemoteError::phrase`]: "unreachable (…)", "failed: …".
fn warn(url: &str, phrased: &str) {
    warn_then(url, phrased, "compiling without it");
}

fn warn_then(url: &str, phrased: &str, then: &str) {
    kiln_diag::warn(&format!("remote `{url}` {phrased}; {then}"));
}

/// In-process failure counter.
#[derive(Debug, Default)]
pub struct Breaker {
    failures: AtomicU32,
    open: AtomicBool,
    cause: Mutex<Option<String>>,
    /// Counts uploads: giving up stops writes only.
    writes: bool,
}

impl Breaker {
    /// A breaker for uploads: giving up stops writing, reads go on.
    pub fn for_writes() -> Self {
        Self {
            writes: true,
            ..Self::default()
        }
    }

    /// Whether the remote is still in use.
    pub fn allows(&self) -> bool {
        !self.open.load(Ordering::Relaxed)
    }

    /// Counts a failure; gives up (and warns once) when it is fatal or one
    /// too many. Returns whether the remote was given up by this call.
    pub fn failed(&self, url: &str, e: &RemoteError) -> bool {
        let n = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
        if !(e.is_fatal() || n >= MAX_FAILURES) {
            return false;
        }
        if self.open.swap(true, Ordering::Relaxed) {
            return false;
        }
        let phrased = e.phrase();
        if self.writes {
            warn_then(url, &phrased, "not uploading to it");
        } else {
            warn(url, &phrased);
        }
        if let Ok(mut c) = self.cause.lock() {
            *c = Some(e.to_string());
        }
        true
    }

    /// Why the remote was given up, if it was.
    pub fn cause(&self) -> Option<String> {
        self.cause.lock().ok().and_then(|c| c.clone())
    }
}

/// A breaker shared by the processes of one build through a marker file.
#[derive(Debug)]
pub struct FileBreaker {
    marker: PathBuf,
    url: String,
    local: Breaker,
    /// Whether this process may announce a quiet failure (its stderr is seen).
    announces: bool,
    /// Counts uploads: giving up stops writes only.
    writes: bool,
}

impl FileBreaker {
    /// A breaker for reads from the store at `url`, whose marker lives in
    /// `dir` (one marker per store URL).
    pub fn new(dir: &Path, url: &str) -> Self {
        let id = &blake3::hash(url.as_bytes()).to_hex()[..12];
        Self {
            marker: dir.join(format!("remote-down-{id}")),
            url: url.to_owned(),
            local: Breaker::default(),
            announces: true,
            writes: false,
        }
    }

    /// A breaker for uploads to the store at `url`: giving up stops writes,
    /// reads go on (credentials that may only read).
    pub fn for_writes(dir: &Path, url: &str) -> Self {
        let id = &blake3::hash(url.as_bytes()).to_hex()[..12];
        Self {
            marker: dir.join(format!("remote-write-down-{id}")),
            writes: true,
            ..Self::new(dir, url)
        }
    }

    /// The same breaker for a process whose stderr nobody sees (the detached
    /// uploader): it leaves announcing failures to the next compiler call.
    pub fn silent(self) -> Self {
        Self {
            announces: false,
            ..self
        }
    }

    fn warn(&self, phrased: &str) {
        if self.writes {
            warn_then(&self.url, phrased, "not uploading to it");
        } else {
            warn(&self.url, phrased);
        }
    }

    /// Counts a failure that alone does not give the store up, across the
    /// processes of a build (each rustc call is a process of its own and
    /// makes only a request or two). Returns the count within the window.
    fn count_shared_failure(&self) -> u32 {
        let tally = self.marker.with_extension("failures");
        let stale = std::fs::metadata(&tally)
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .is_none_or(|age| age >= MARKER_TTL);
        if stale {
            let _ = std::fs::remove_file(&tally);
        }
        // kiln's own file, never followed through a link or a FIFO.
        let Ok(mut f) = kiln_store::nofollow::open_state(&tally, true) else {
            return 0;
        };
        use std::io::Seek;
        if f.seek(std::io::SeekFrom::End(0)).is_err() || f.write_all(b"x").is_err() {
            return 0;
        }
        f.metadata()
            .map_or(0, |m| u32::try_from(m.len()).unwrap_or(u32::MAX))
    }

    /// Whether the remote is in use: not given up here, nor recently by
    /// another process.
    pub fn allows(&self) -> bool {
        if !self.local.allows() {
            return false;
        }
        if self.announces {
            self.announce();
        } else if self.unannounced().exists() {
            return false;
        }
        let Ok(md) = std::fs::metadata(&self.marker) else {
            return true;
        };
        let age = md
            .modified()
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok());
        match age {
            Some(a) if a < MARKER_TTL => false,
            _ => {
                let _ = std::fs::remove_file(&self.marker);
                true
            }
        }
    }

    /// Counts a failure. Only the process that creates the marker warns.
    pub fn failed(&self, e: &RemoteError) {
        if let Some(dir) = self.marker.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let n = self.local.failures.fetch_add(1, Ordering::Relaxed) + 1;
        if !(e.is_fatal() || n >= MAX_FAILURES || self.count_shared_failure() >= MAX_FAILURES) {
            return;
        }
        self.local.open.store(true, Ordering::Relaxed);
        let created = std::fs::File::options()
            .write(true)
            .create_new(true)
            .open(&self.marker);
        if let Ok(mut f) = created {
            let _ = writeln!(f, "{e}");
            if self.announces {
                self.warn(&e.to_string());
            }
        }
    }
}

impl FileBreaker {
    fn unannounced(&self) -> PathBuf {
        self.marker.with_extension("new")
    }

    /// Records a failure of a process that cannot warn (its stderr goes
    /// nowhere): the next call that sees the marker warns in its place.
    pub fn failed_quietly(&self, e: &RemoteError) {
        if let Some(dir) = self.marker.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        if !e.is_fatal() && self.count_shared_failure() < MAX_FAILURES {
            return;
        }
        if self.marker.exists() {
            return;
        }
        // The warning's words, so the process announcing it needs no
        // reading of the cause.
        let _ = std::fs::write(self.unannounced(), format!("{}\n", e.phrase()));
    }

    /// Turns an unannounced marker into an announced one; the one process
    /// whose rename succeeds prints the warning.
    fn announce(&self) {
        let pending = self.unannounced();
        let Ok(cause) = std::fs::read_to_string(&pending) else {
            return;
        };
        // A hard link, unlike a rename, fails when another process created
        // the marker (and warned) meanwhile: exactly one warning either way.
        let linked = std::fs::hard_link(&pending, &self.marker).is_ok();
        let _ = std::fs::remove_file(&pending);
        if linked {
            self.warn(cause.trim());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fatal_errors_open_at_once_others_after_a_few() {
        let b = Breaker::default();
        let soft = RemoteError::Failed(crate::Cause::Other("500 internal error".into()));
        assert!(!b.failed("s3://b", &soft));
        assert!(!b.failed("s3://b", &soft));
        assert!(b.allows());
        assert!(b.failed("s3://b", &soft));
        assert!(!b.allows());
        let b = Breaker::default();
        assert!(b.failed(
            "s3://b",
            &RemoteError::Failed(crate::Cause::Unreachable("connection refused".into()))
        ));
        assert_eq!(
            b.cause().as_deref(),
            Some("unreachable (connection refused)")
        );
    }

    #[test]
    fn a_quiet_failure_is_announced_once_even_when_another_call_warned() {
        let d = tempfile::tempdir().unwrap();
        let quiet = FileBreaker::new(d.path(), "s3://b").silent();
        let loud = FileBreaker::new(d.path(), "s3://b");
        let fatal = RemoteError::Failed(crate::Cause::Denied("x".into()));
        quiet.failed_quietly(&fatal);
        // Another call gives up (and warns) before anyone announced.
        loud.failed(&fatal);
        assert!(loud.marker.exists());
        let next = FileBreaker::new(d.path(), "s3://b");
        assert!(!next.allows(), "given up");
        assert!(!next.unannounced().exists(), "the pending note is gone");
    }

    #[test]
    fn the_marker_is_shared_between_breakers() {
        let d = tempfile::tempdir().unwrap();
        let a = FileBreaker::new(d.path(), "s3://b");
        let b = FileBreaker::new(d.path(), "s3://b");
        assert!(a.allows() && b.allows());
        a.failed(&RemoteError::Failed(crate::Cause::Denied("x".into())));
        assert!(!a.allows());
        assert!(!b.allows());
    }

    #[test]
    fn soft_failures_add_up_across_processes() {
        let d = tempfile::tempdir().unwrap();
        let soft = RemoteError::Failed(crate::Cause::Other("503".into()));
        for _ in 0..MAX_FAILURES - 1 {
            // Each call is a process of its own: a fresh breaker.
            let b = FileBreaker::new(d.path(), "s3://b");
            b.failed(&soft);
            assert!(FileBreaker::new(d.path(), "s3://b").allows());
        }
        FileBreaker::new(d.path(), "s3://b").failed(&soft);
        assert!(!FileBreaker::new(d.path(), "s3://b").allows());
        assert!(
            FileBreaker::new(d.path(), "s3://other").allows(),
            "per store"
        );
    }

    #[test]
    fn a_quiet_failure_is_announced_once() {
        let d = tempfile::tempdir().unwrap();
        let uploader = FileBreaker::new(d.path(), "s3://b");
        uploader.failed_quietly(&RemoteError::Failed(crate::Cause::Unreachable(
            "connection refused".into(),
        )));
        let a = FileBreaker::new(d.path(), "s3://b");
        assert!(!a.allows());
        assert!(!a.unannounced().exists());
        assert!(a.marker.exists());
    }
}
