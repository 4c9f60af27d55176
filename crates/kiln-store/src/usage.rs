//! The store's running size, so the size bound holds after every write.
//!
//! Listing every entry to learn the size costs a directory walk; doing it
//! on every write is too slow and doing it now and then lets the store
//! outgrow its bound between walks. Instead each write adds its bytes to a
//! small ledger (`usage`, eight bytes, updated under a lock), and a walk
//! (`gc`) runs only when the ledger says the bound is passed; the walk
//! writes the exact size back. A missing or damaged ledger reads as
//! unknown, which asks for a walk.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};

use std::path::{Path, PathBuf};

/// Where the ledger of the store at `root` lives.
pub fn path(root: &Path) -> PathBuf {
    root.join("usage")
}

/// How long a write waits for the ledger: past it, the ledger is left as
/// it is (its size then reads as unknown at worst, which asks for a walk).
const LOCK_BOUND: std::time::Duration = std::time::Duration::from_millis(200);

/// The ledger, opened without following a link or blocking on a FIFO, and
/// locked within [`LOCK_BOUND`].
fn open(root: &Path) -> Option<File> {
    std::fs::create_dir_all(root).ok()?;
    let f = crate::nofollow::open_state(&path(root), true).ok()?;
    crate::nofollow::lock_within(&f, LOCK_BOUND).then_some(f)
}

fn read_value(f: &mut File) -> Option<u64> {
    let mut buf = [0u8; 8];
    f.seek(SeekFrom::Start(0)).ok()?;
    f.read_exact(&mut buf).ok()?;
    Some(u64::from_le_bytes(buf))
}

fn write_value(f: &mut File, value: u64) -> std::io::Result<()> {
    f.seek(SeekFrom::Start(0))?;
    f.write_all(&value.to_le_bytes())?;
    f.set_len(8)
}

/// Adds `bytes` to the ledger; returns the new size, `None` when it is not
/// known (no walk has written it yet, or the ledger cannot be used).
pub fn add(root: &Path, bytes: u64) -> Option<u64> {
    let mut f = open(root)?;
    let total = read_value(&mut f)?.saturating_add(bytes);
    write_value(&mut f, total).ok()?;
    Some(total)
}

/// The size the ledger holds, if known.
pub fn get(root: &Path) -> Option<u64> {
    let mut f = crate::nofollow::open_state(&path(root), false).ok()?;
    read_value(&mut f)
}

/// Sets the ledger to the size a walk found.
pub fn set(root: &Path, bytes: u64) {
    if let Some(mut f) = open(root) {
        let _ = write_value(&mut f, bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_until_set_then_counts() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(add(d.path(), 10), None);
        assert_eq!(get(d.path()), None);
        set(d.path(), 100);
        assert_eq!(add(d.path(), 10), Some(110));
        assert_eq!(get(d.path()), Some(110));
        std::fs::write(path(d.path()), b"xy").unwrap();
        assert_eq!(add(d.path(), 1), None);
    }

    #[test]
    fn a_link_or_fifo_in_its_place_is_left_alone_and_a_held_lock_does_not_stall() {
        let d = tempfile::tempdir().unwrap();
        let victim = d.path().join("victim");
        std::fs::write(&victim, b"precious data").unwrap();
        let root = d.path().join("store");
        std::fs::create_dir_all(&root).unwrap();
        std::os::unix::fs::symlink(&victim, path(&root)).unwrap();
        set(&root, 5);
        assert_eq!(add(&root, 1), None);
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious data");
        std::fs::remove_file(path(&root)).unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            path(&root),
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        assert_eq!(get(&root), None, "no blocking open");
        std::fs::remove_file(path(&root)).unwrap();
        set(&root, 7);
        let holder = File::open(path(&root)).unwrap();
        holder.lock_shared().unwrap();
        let started = std::time::Instant::now();
        assert_eq!(add(&root, 1), None);
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }
}
