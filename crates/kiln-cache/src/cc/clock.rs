//! C macros that put the time into an object (`__DATE__`, `__TIME__`,
//! `__TIMESTAMP__`), found in a compile's arguments and in every source and
//! header it read. The read that scans a file also digests it, so keying
//! does not read it again.

use std::path::Path;

use kiln_key::Digest;

use super::Compile;
use crate::inputs::Observed;

/// Why the compile may have expanded a macro that gives the time: an
/// argument or a source or header it read names `__TIMESTAMP__` (the
/// source's change time in the local time zone, whatever
/// `SOURCE_DATE_EPOCH` says), or, without `SOURCE_DATE_EPOCH`, `__DATE__`
/// or `__TIME__`. A name put together by token pasting is not seen (a limit
/// in `docs/keys.md`). The digests of the files read for this are kept in
/// `o`, so that keying does not read them again.
pub(super) fn clock_macros(c: &Compile<'_>, o: &mut Observed) -> Option<String> {
    let epoch = crate::env_rules::var("SOURCE_DATE_EPOCH").is_some();
    let hit = |m: Clock| m == Clock::Timestamp || (m == Clock::Date && !epoch);
    if let Some(a) = c
        .args
        .iter()
        .find(|a| clock_in(a.as_encoded_bytes()).is_some_and(hit))
    {
        return Some(format!(
            "the argument `{}` names the time of the compile",
            a.to_string_lossy()
        ));
    }
    for p in &o.files {
        let Some((clock, digest)) = scan_source(p) else {
            continue;
        };
        if clock.is_some_and(hit) {
            return Some(format!("`{}` names the time of the compile", p.display()));
        }
        o.digested.insert(p.clone(), digest);
    }
    None
}

/// A macro that expands to a time, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Clock {
    /// `__DATE__` or `__TIME__`: the time of the compile.
    Date,
    /// `__TIMESTAMP__`: the source file's change time.
    Timestamp,
}

/// The strongest clock macro `bytes` name.
fn clock_in(bytes: &[u8]) -> Option<Clock> {
    use memchr::memmem;
    if memmem::find(bytes, b"__TIMESTAMP__").is_some() {
        Some(Clock::Timestamp)
    } else if memmem::find(bytes, b"__DATE__").is_some()
        || memmem::find(bytes, b"__TIME__").is_some()
    {
        Some(Clock::Date)
    } else {
        None
    }
}

/// A source or header the compile read: the strongest clock macro it
/// names and the digest of its content, from one read. `None` for what is
/// no source (programs, libraries and archives the compiler ran or loaded,
/// anything not a regular file, anything unreadable).
fn scan_source(p: &Path) -> Option<(Option<Clock>, Digest)> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    // Opened without waiting for a writer: a FIFO is refused, never read.
    let mut f = std::fs::File::options()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(p)
        .ok()?;
    if !f.metadata().ok()?.is_file() {
        return None;
    }
    let mut head = Vec::with_capacity(8);
    f.by_ref().take(8).read_to_end(&mut head).ok()?;
    if head.starts_with(b"\x7fELF") || head.starts_with(b"!<arch>") {
        return None;
    }
    // Streamed with an overlap as long as the longest macro name, so a
    // name across two reads is seen.
    const OVERLAP: usize = "__TIMESTAMP__".len() - 1;
    let (mut hasher, mut window) = (blake3::Hasher::new(), head);
    let (mut clock, mut buf) = (None, vec![0u8; 256 * 1024]);
    loop {
        let n = loop {
            match f.read(&mut buf) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                r => break r.ok()?,
            }
        };
        window.extend_from_slice(&buf[..n]);
        clock = clock.max(clock_in(&window));
        if n == 0 {
            hasher.update(&window);
            return Some((clock, Digest(*hasher.finalize().as_bytes())));
        }
        let keep = window.len().saturating_sub(OVERLAP);
        hasher.update(&window[..keep]);
        window.drain(..keep);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scan_digests_the_whole_file_and_sees_a_name_across_reads() {
        let dir = tempfile::tempdir().unwrap();
        let small = dir.path().join("a.h");
        std::fs::write(&small, "#define A 1\n").unwrap();
        assert_eq!(
            scan_source(&small),
            Some((None, Digest::of(b"#define A 1\n")))
        );
        // `__TIMESTAMP__` split by the first 256 KiB read (8 bytes of head
        // come first).
        let mut big = vec![b' '; 256 * 1024 + 8 - 5];
        big.extend_from_slice(b"__TIMESTAMP__ __DATE__");
        big.extend(std::iter::repeat_n(b'x', 300 * 1024));
        let p = dir.path().join("big.h");
        std::fs::write(&p, &big).unwrap();
        assert_eq!(
            scan_source(&p),
            Some((Some(Clock::Timestamp), Digest::of(&big)))
        );
        // `__DATE__` alone, split the same way.
        let mut dated = vec![b' '; 256 * 1024 + 8 - 3];
        dated.extend_from_slice(b"__DATE__");
        let p = dir.path().join("date.h");
        std::fs::write(&p, &dated).unwrap();
        assert_eq!(
            scan_source(&p),
            Some((Some(Clock::Date), Digest::of(&dated)))
        );
    }

    #[test]
    fn programs_and_archives_are_no_sources() {
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in [
            ("x.so", &b"\x7fELF__DATE__"[..]),
            ("x.a", b"!<arch>\n__DATE__"),
        ] {
            let p = dir.path().join(name);
            std::fs::write(&p, bytes).unwrap();
            assert_eq!(scan_source(&p), None, "{name}");
        }
        assert_eq!(scan_source(dir.path()), None, "a directory");
    }
}
