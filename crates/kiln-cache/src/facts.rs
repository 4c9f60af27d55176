//! What kiln reads off a program's file (whether it may walk its
//! environment, read libc's own variables, make system calls itself),
//! remembered per file version.
//!
//! The answers come from reading the whole file and, for Rust code, from
//! analysing its machine code: too slow to repeat for every crate that uses
//! the same proc macro. They are remembered under `KILN_DIR/facts/`, one
//! small file per program version (path, device, inode, size, modification
//! and change times). A file changed within two seconds of being read is not
//! remembered (its times may not tell a second write from the first).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// How recent a change may be for the facts about a file to be remembered.
const RACY: Duration = Duration::from_secs(2);

/// The facts about one program file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Facts {
    /// [`kiln_trace::walks_environ`].
    pub walks: bool,
    /// [`kiln_trace::rust_walks_environ`].
    pub rust_walks: bool,
    /// [`kiln_trace::reads_libc_env`].
    pub libc_env: bool,
    /// [`kiln_trace::raw_syscalls`].
    pub raw: Option<String>,
}

impl Facts {
    /// `walks rust_walks libc_env [raw crate]`, flags as `0`/`1`.
    fn to_text(&self) -> String {
        let flag = |b: bool| if b { "1" } else { "0" };
        let mut text = format!(
            "{} {} {}",
            flag(self.walks),
            flag(self.rust_walks),
            flag(self.libc_env)
        );
        if let Some(r) = &self.raw {
            text.push(' ');
            text.push_str(r);
        }
        text
    }

    fn from_text(text: &str) -> Option<Self> {
        let mut words = text.split(' ');
        let mut flag = || match words.next()? {
            "0" => Some(false),
            "1" => Some(true),
            _ => None,
        };
        let (walks, rust_walks, libc_env) = (flag()?, flag()?, flag()?);
        Some(Self {
            walks,
            rust_walks,
            libc_env,
            raw: words.next().map(str::to_owned),
        })
    }

    fn compute(program: &Path) -> Self {
        Self {
            walks: kiln_trace::walks_environ(program),
            rust_walks: kiln_trace::rust_walks_environ(program),
            libc_env: kiln_trace::reads_libc_env(program),
            raw: kiln_trace::raw_syscalls(program).map(str::to_owned),
        }
    }
}

/// The facts about `program`, remembered under `dir` (kiln's directory).
pub(crate) fn of(dir: &Path, program: &Path) -> Facts {
    let Some((slot, settled)) = slot(dir, program) else {
        return Facts::compute(program);
    };
    if let Some(f) = std::fs::read_to_string(&slot)
        .ok()
        .and_then(|t| Facts::from_text(&t))
    {
        return f;
    }
    let facts = Facts::compute(program);
    if settled && let Some(parent) = slot.parent() {
        let _ = std::fs::create_dir_all(parent);
        let tmp = parent.join(format!(".tmp-{}", std::process::id()));
        if std::fs::write(&tmp, facts.to_text()).is_ok() {
            let _ = std::fs::rename(&tmp, &slot);
        }
    }
    facts
}

/// Where the facts about this version of `program` are kept, and whether
/// the file is old enough to be remembered.
fn slot(dir: &Path, program: &Path) -> Option<(PathBuf, bool)> {
    let md = std::fs::metadata(program).ok()?;
    let mut h = kiln_key::KeyHasher::new("kiln-facts-v3");
    h.field("program", program.as_os_str().as_encoded_bytes());
    for v in [md.dev(), md.ino(), md.size()] {
        h.field("stat", v.to_le_bytes());
    }
    for v in [md.mtime(), md.mtime_nsec(), md.ctime(), md.ctime_nsec()] {
        h.field("time", v.to_le_bytes());
    }
    let changed = std::time::UNIX_EPOCH
        + Duration::from_secs(u64::try_from(md.mtime().max(md.ctime())).unwrap_or(0));
    let settled = SystemTime::now()
        .duration_since(changed)
        .is_ok_and(|age| age > RACY);
    let name = h.finish().to_hex();
    Some((
        dir.join("facts").join(&name[..2]).join(&name[2..32]),
        settled,
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn facts_read_back_as_written() {
        for f in [
            Facts::default(),
            Facts {
                walks: true,
                rust_walks: false,
                libc_env: true,
                raw: Some("rustix".into()),
            },
        ] {
            assert_eq!(Facts::from_text(&f.to_text()), Some(f));
        }
        assert_eq!(Facts::from_text("garbage"), None);
    }

    #[test]
    fn a_script_is_remembered_once_settled_and_forgotten_when_rewritten() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("tool");
        std::fs::write(&p, "#!/bin/sh\n").unwrap();
        let fresh = of(d.path(), &p);
        assert!(fresh.walks, "a script may walk");
        assert!(!d.path().join("facts").exists(), "too recent to remember");
        std::fs::write(&p, "\x7fELF not really").unwrap();
        assert!(!of(d.path(), &p).walks, "an ELF file naming no `environ`");
    }
}
