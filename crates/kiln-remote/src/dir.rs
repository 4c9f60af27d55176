//! A shared directory as the remote store (`file://`).
//!
//! Anyone who can write the directory can plant links, FIFOs, devices or
//! huge files in it, so every object goes through [`kiln_store::nofollow`]:
//! no link is followed below the root, only regular files within their
//! bound are read, opening never blocks, and a write replaces only a
//! regular file. A refused object is [`RemoteError::Rejected`]: a failure
//! of that object alone, never of the store.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use kiln_store::nofollow;

use crate::{Cause, RemoteError};

/// A `file://` store rooted at a directory.
#[derive(Debug, Clone)]
pub struct DirStore {
    root: PathBuf,
}

impl DirStore {
    /// The store at `root` (created on first write).
    pub fn new(root: &str) -> Self {
        Self {
            root: PathBuf::from(root),
        }
    }

    /// Reads the object `name`, at most `max` bytes.
    pub fn read(&self, name: &str, max: u64) -> Result<Option<Vec<u8>>, RemoteError> {
        nofollow::read(&self.root, Path::new(name), max).map_err(|e| self.failed(name, &e))
    }

    /// Writes the object `name`.
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<(), RemoteError> {
        nofollow::write(&self.root, Path::new(name), bytes).map_err(|e| self.failed(name, &e))
    }

    /// Lists the objects below `dir` with their last change and size.
    pub fn list(&self, dir: &str) -> Result<Vec<(String, Option<SystemTime>, u64)>, RemoteError> {
        let listed = nofollow::list(&self.root, Path::new(dir.trim_end_matches('/')))
            .map_err(|e| self.failed(dir, &e))?;
        Ok(listed
            .into_iter()
            .map(|l| (l.path, Some(l.modified), l.size))
            .collect())
    }

    /// Removes the object `name` (a planted link is removed, not followed).
    pub fn delete(&self, name: &str) -> Result<(), RemoteError> {
        nofollow::remove(&self.root, Path::new(name)).map_err(|e| self.failed(name, &e))
    }

    fn failed(&self, name: &str, e: &std::io::Error) -> RemoteError {
        let rejected = |problem| RemoteError::Rejected {
            name: name.to_owned(),
            problem,
        };
        match e.kind() {
            std::io::ErrorKind::InvalidData if e.to_string().contains("more than the") => {
                rejected(crate::frame::FrameError::TooLarge)
            }
            std::io::ErrorKind::InvalidData => rejected(crate::frame::FrameError::NotAFile),
            std::io::ErrorKind::PermissionDenied => RemoteError::Failed(Cause::Denied(format!(
                "check the directory's permissions (`{}`)",
                self.root.display()
            ))),
            std::io::ErrorKind::NotFound => RemoteError::Failed(Cause::Unreachable(format!(
                "`{}` does not exist",
                self.root.display()
            ))),
            _ => RemoteError::Failed(Cause::Other(format!("`{name}`: {e}"))),
        }
    }
}
