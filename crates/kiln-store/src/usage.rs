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

fn open(root: &Path) -> std::io::Result<File> {
    std::fs::create_dir_all(root)?;
    File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path(root))
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
    let mut f = open(root).ok()?;
    f.lock().ok()?;
    let total = read_value(&mut f)?.saturating_add(bytes);
    write_value(&mut f, total).ok()?;
    Some(total)
}

/// The size the ledger holds, if known.
pub fn get(root: &Path) -> Option<u64> {
    let mut f = File::open(path(root)).ok()?;
    read_value(&mut f)
}

/// Sets the ledger to the size a walk found.
pub fn set(root: &Path, bytes: u64) {
    if let Ok(mut f) = open(root)
        && f.lock().is_ok()
    {
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
}
