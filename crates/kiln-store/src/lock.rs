//! Per-key locks between processes (single flight).
//!
//! When two cargo processes need the same unit at the same moment, the first
//! takes the key's lock and compiles; the second waits on the lock, then finds
//! the entry and restores it. Locks are `flock`s on files under `locks/`, so a
//! crashed holder releases its lock with its process.

use std::fs::File;
use std::path::Path;
use std::time::{Duration, Instant};

use kiln_key::Digest;

/// A held lock; released on drop.
#[derive(Debug)]
pub struct KeyLock {
    _file: File,
}

/// How taking a lock went.
#[derive(Debug)]
pub enum Locked {
    /// Taken at once.
    Free(KeyLock),
    /// Taken after another process released it: check the store again.
    AfterWait(KeyLock, Duration),
    /// Could not be taken within the bound; go on without it.
    TimedOut(Duration),
}

/// Takes the lock for `key` under `dir`, waiting at most `bound`.
pub fn lock_key(dir: &Path, key: &Digest, bound: Duration) -> std::io::Result<Locked> {
    std::fs::create_dir_all(dir)?;
    let hex = key.to_hex();
    let file = crate::nofollow::open_state(&dir.join(&hex[..32]), true)?;
    match file.try_lock() {
        Ok(()) => return Ok(Locked::Free(KeyLock { _file: file })),
        Err(std::fs::TryLockError::WouldBlock) => {}
        Err(std::fs::TryLockError::Error(e)) => return Err(e),
    }
    let start = Instant::now();
    let mut pause = Duration::from_millis(5);
    loop {
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(100));
        match file.try_lock() {
            Ok(()) => return Ok(Locked::AfterWait(KeyLock { _file: file }, start.elapsed())),
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(e)) => return Err(e),
        }
        if start.elapsed() > bound {
            return Ok(Locked::TimedOut(start.elapsed()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_taker_waits_for_release() {
        let d = tempfile::tempdir().unwrap();
        let key = Digest([5; 32]);
        let Locked::Free(first) = lock_key(d.path(), &key, Duration::from_secs(5)).unwrap() else {
            panic!()
        };
        let dir = d.path().to_path_buf();
        let t = std::thread::spawn(move || lock_key(&dir, &key, Duration::from_secs(5)).unwrap());
        std::thread::sleep(Duration::from_millis(50));
        drop(first);
        assert!(matches!(t.join().unwrap(), Locked::AfterWait(..)));
        let _held = lock_key(d.path(), &key, Duration::from_secs(5)).unwrap();
        assert!(matches!(
            lock_key(d.path(), &key, Duration::from_millis(30)).unwrap(),
            Locked::TimedOut(_)
        ));
    }
}
