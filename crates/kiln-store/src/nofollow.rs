//! Files below a store root, reached without following links.
//!
//! A store directory may be shared (a `file://` remote on a network volume,
//! a `KILN_DIR` several users write): whoever can write there can plant a
//! symlink, a FIFO or a device where kiln expects an object. Every path
//! below the root is therefore walked one component at a time with
//! `O_NOFOLLOW`, a file is opened non-blocking (a FIFO cannot hold the
//! open) and checked on the opened descriptor to be a regular file no
//! larger than its bound, before a byte is read. Writes go to a fresh file
//! created exclusively in the same directory and renamed over the name,
//! which replaces a link rather than writing through it; a name that holds
//! anything but a regular file is left alone. The root itself is the user's
//! setting and may be a link.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags, Timestamps};

/// A regular file found below a root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Its path relative to the root, `/`-separated.
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its last change.
    pub modified: SystemTime,
}

fn invalid(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

/// The plain components of `rel`; anything else (`..`, an absolute path) is
/// refused.
fn components(rel: &Path) -> io::Result<Vec<&std::ffi::OsStr>> {
    rel.components()
        .map(|c| match c {
            Component::Normal(name) => Ok(name),
            _ => Err(invalid(format!("`{}` leaves the store", rel.display()))),
        })
        .collect()
}

fn open_dir_at(dir: &OwnedFd, name: &std::ffi::OsStr) -> io::Result<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    rustix::fs::openat(dir, name, flags, Mode::empty()).map_err(|e| match e {
        rustix::io::Errno::LOOP | rustix::io::Errno::NOTDIR => {
            invalid(format!("`{}` is not a directory", name.to_string_lossy()))
        }
        e => e.into(),
    })
}

fn open_root(root: &Path) -> io::Result<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    Ok(rustix::fs::openat(CWD, root, flags, Mode::empty())?)
}

/// Opens the directory holding `rel` and returns it with the file name;
/// with `create`, missing directories are made on the way.
fn parent_of<'a>(
    root: &Path,
    rel: &'a Path,
    create: bool,
) -> io::Result<(OwnedFd, &'a std::ffi::OsStr)> {
    let parts = components(rel)?;
    let Some((name, dirs)) = parts.split_last() else {
        return Err(invalid("an empty object name".to_owned()));
    };
    if create {
        std::fs::create_dir_all(root)?;
    }
    let mut dir = open_root(root)?;
    for d in dirs {
        dir = match open_dir_at(&dir, d) {
            Err(e) if create && e.kind() == io::ErrorKind::NotFound => {
                match rustix::fs::mkdirat(&dir, *d, Mode::from_raw_mode(0o777)) {
                    Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                    Err(e) => return Err(e.into()),
                }
                open_dir_at(&dir, d)?
            }
            other => other?,
        };
    }
    Ok((dir, name))
}

/// Opens the regular file `rel` below `root` for reading, refusing links,
/// FIFOs, devices and files larger than `max` bytes. Returns the file and
/// its size, or `None` when nothing is there.
pub fn open(root: &Path, rel: &Path, max: u64) -> io::Result<Option<(File, u64)>> {
    let (dir, name) = match parent_of(root, rel, false) {
        Ok(found) => found,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let fd = match rustix::fs::openat(&dir, name, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT) => return Ok(None),
        Err(rustix::io::Errno::LOOP) => {
            return Err(invalid(format!("`{}` is a link", rel.display())));
        }
        Err(e) => return Err(e.into()),
    };
    let st = rustix::fs::fstat(&fd)?;
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        return Err(invalid(format!(
            "`{}` is not a regular file",
            rel.display()
        )));
    }
    let size = u64::try_from(st.st_size).unwrap_or(0);
    if size > max {
        return Err(invalid(format!(
            "`{}` is {size} bytes, more than the {max} an object may hold",
            rel.display()
        )));
    }
    Ok(Some((File::from(fd), size)))
}

/// Reads the regular file `rel` below `root` whole (see [`open`]); a file
/// that grows past `max` while read is refused too.
pub fn read(root: &Path, rel: &Path, max: u64) -> io::Result<Option<Vec<u8>>> {
    let Some((file, size)) = open(root, rel, max)? else {
        return Ok(None);
    };
    let mut out = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(max.saturating_add(1)).read_to_end(&mut out)?;
    if out.len() as u64 > max {
        return Err(invalid(format!("`{}` grew while read", rel.display())));
    }
    Ok(Some(out))
}

/// Writes `bytes` as `rel` below `root`: into a new file in the same
/// directory, then renamed over the name. Refuses when the name holds
/// anything but a regular file.
pub fn write(root: &Path, rel: &Path, bytes: &[u8]) -> io::Result<()> {
    let (dir, name) = parent_of(root, rel, true)?;
    check_replaceable(&dir, name, rel)?;
    let tmp = temp_name(name);
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = rustix::fs::openat(&dir, &tmp, flags, Mode::from_raw_mode(0o644))?;
    let written = File::from(fd).write_all(bytes);
    let moved = written.and_then(|()| Ok(rustix::fs::renameat(&dir, &tmp, &dir, name)?));
    if moved.is_err() {
        let _ = rustix::fs::unlinkat(&dir, &tmp, AtFlags::empty());
    }
    moved
}

/// Moves the file `from` (kiln's own, in its staging directory) to `rel`
/// below `root`, with the same refusal as [`write`]. `from` must be on the
/// same filesystem.
pub fn rename_into(from: &Path, root: &Path, rel: &Path) -> io::Result<()> {
    let (dir, name) = parent_of(root, rel, true)?;
    check_replaceable(&dir, name, rel)?;
    Ok(rustix::fs::renameat(CWD, from, &dir, name)?)
}

fn check_replaceable(dir: &OwnedFd, name: &std::ffi::OsStr, rel: &Path) -> io::Result<()> {
    match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile => Err(invalid(
            format!("`{}` is not a regular file; left as it is", rel.display()),
        )),
        Ok(_) | Err(rustix::io::Errno::NOENT) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

fn temp_name(name: &std::ffi::OsStr) -> std::ffi::OsString {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut tmp = std::ffi::OsString::from(".");
    tmp.push(name);
    tmp.push(format!(".tmp-{}-{nanos}", std::process::id()));
    tmp
}

/// Removes the name `rel` below `root` (a link is removed, never what it
/// points to). Nothing there is not an error.
pub fn remove(root: &Path, rel: &Path) -> io::Result<()> {
    let (dir, name) = match parent_of(root, rel, false) {
        Ok(found) => found,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    match rustix::fs::unlinkat(&dir, name, AtFlags::empty()) {
        Ok(()) | Err(rustix::io::Errno::NOENT) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Sets the modification time of the regular file `rel` to now (the last
/// use of an entry), without following links.
pub fn touch(root: &Path, rel: &Path) -> io::Result<()> {
    let (dir, name) = parent_of(root, rel, false)?;
    let now = rustix::fs::Timespec {
        tv_sec: 0,
        tv_nsec: rustix::fs::UTIME_NOW,
    };
    let times = Timestamps {
        last_access: rustix::fs::Timespec {
            tv_sec: 0,
            tv_nsec: rustix::fs::UTIME_OMIT,
        },
        last_modification: now,
    };
    Ok(rustix::fs::utimensat(
        &dir,
        name,
        &times,
        AtFlags::SYMLINK_NOFOLLOW,
    )?)
}

/// Opens (or, with `create`, makes) one of kiln's own small files (a
/// ledger, a lock, a marker) read-write without following a link and
/// without blocking on a FIFO, and checks that it is a regular file. Made
/// readable by its owner only, so nobody else can hold its lock.
pub fn open_state(path: &Path, create: bool) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let flags = OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let f = File::options()
        .read(true)
        .write(true)
        .create(create)
        .truncate(false)
        .mode(0o600)
        .custom_flags(i32::try_from(flags.bits()).unwrap_or(0))
        .open(path)?;
    if !f.metadata()?.is_file() {
        return Err(invalid(format!(
            "`{}` is not a regular file",
            path.display()
        )));
    }
    Ok(f)
}

/// Takes `f`'s lock, waiting at most `bound`; `false` when it could not.
pub fn lock_within(f: &File, bound: Duration) -> bool {
    let start = std::time::Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        match f.try_lock() {
            Ok(()) => return true,
            Err(std::fs::TryLockError::WouldBlock) if start.elapsed() < bound => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(20));
            }
            Err(_) => return false,
        }
    }
}

/// Every regular file below `rel` (recursively), links and other kinds of
/// files skipped. A missing directory lists nothing.
pub fn list(root: &Path, rel: &Path) -> io::Result<Vec<Listed>> {
    let mut out = Vec::new();
    let dir = match open_root(root).and_then(|r| walk_to(r, rel)) {
        Ok(d) => d,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    let prefix = components(rel)?
        .iter()
        .map(|c| c.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/");
    list_into(&dir, &prefix, 0, &mut out)?;
    Ok(out)
}

fn walk_to(mut dir: OwnedFd, rel: &Path) -> io::Result<OwnedFd> {
    for c in components(rel)? {
        dir = open_dir_at(&dir, c)?;
    }
    Ok(dir)
}

/// How deep a listing goes: kiln's layout is two levels below a kind.
const MAX_DEPTH: usize = 8;

fn list_into(dir: &OwnedFd, prefix: &str, depth: usize, out: &mut Vec<Listed>) -> io::Result<()> {
    let entries = rustix::fs::Dir::read_from(dir)?;
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == "." || name == ".." {
            continue;
        }
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        let Ok(st) = rustix::fs::statat(dir, entry.file_name(), AtFlags::SYMLINK_NOFOLLOW) else {
            continue;
        };
        match FileType::from_raw_mode(st.st_mode) {
            FileType::RegularFile => out.push(Listed {
                path,
                size: u64::try_from(st.st_size).unwrap_or(0),
                modified: UNIX_EPOCH
                    + Duration::new(
                        u64::try_from(st.st_mtime).unwrap_or(0),
                        u32::try_from(st.st_mtime_nsec).unwrap_or(0),
                    ),
            }),
            FileType::Directory if depth < MAX_DEPTH => {
                let name = std::ffi::OsStr::from_bytes(entry.file_name().to_bytes());
                if let Ok(sub) = open_dir_at(dir, name) {
                    list_into(&sub, &path, depth + 1, out)?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
