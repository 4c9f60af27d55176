//! Putting the embedded observer on disk and preloading it into a command.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::TraceError;

#[cfg(not(kiln_trace_unavailable))]
const OBSERVER: Option<&[u8]> = Some(include_bytes!(concat!(env!("OUT_DIR"), "/kiln-trace.so")));
#[cfg(kiln_trace_unavailable)]
const OBSERVER: Option<&[u8]> = None;

/// The interposer, installed on disk and ready to inject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracer {
    so_path: PathBuf,
}

impl Tracer {
    /// Writes the embedded shared object to
    /// `lib_dir/kiln-trace-<blake3 prefix of its bytes>.so` once (temp file
    /// and rename, mode 0755) and reuses it when present. `None` when the
    /// observer is unavailable on this platform.
    pub fn install(lib_dir: &Path) -> Result<Option<Self>, TraceError> {
        let Some(bytes) = OBSERVER else {
            return Ok(None);
        };
        install_bytes(lib_dir, bytes).map(Some)
    }

    /// The installed shared object.
    pub fn so_path(&self) -> &Path {
        &self.so_path
    }

    /// Makes `cmd` run under observation: prepends the observer to
    /// `LD_PRELOAD` (the command's own value if it sets one, else this
    /// process's) and sets `KILN_TRACE_FILE` to `trace_file`, made absolute.
    pub fn inject(&self, cmd: &mut Command, trace_file: &Path) {
        let explicit = cmd
            .get_envs()
            .find(|(k, _)| *k == OsStr::new("LD_PRELOAD"))
            .map(|(_, v)| v.map(OsStr::to_owned));
        let existing = match explicit {
            Some(v) => v,
            None => std::env::var_os("LD_PRELOAD"),
        };
        cmd.env(
            "LD_PRELOAD",
            preload_value(&self.so_path, existing.as_deref()),
        );
        let trace_file =
            std::path::absolute(trace_file).unwrap_or_else(|_| trace_file.to_path_buf());
        cmd.env("KILN_TRACE_FILE", trace_file);
    }
}

/// Stops the observer, if it is loaded into this process (kiln started
/// inside an observed run), from recording what this process does: kiln's
/// own reads are no inputs of the run, and what its actions read is handed
/// on explicitly ([`forward`], [`forward_to_outer`]). Programs it starts
/// are still observed.
pub fn quiet_this_process() {
    if std::env::var_os("KILN_TRACE_FILE").is_none() {
        return;
    }
    unsafe extern "C" {
        fn dlsym(
            handle: *mut std::ffi::c_void,
            symbol: *const std::ffi::c_char,
        ) -> *mut std::ffi::c_void;
    }
    // RTLD_DEFAULT is the null handle on glibc.
    let name = c"kiln_trace_quiet";
    // SAFETY: dlsym is given a null-terminated name; the symbol, when the
    // observer defines it, is `void kiln_trace_quiet(void)`.
    unsafe {
        let f = dlsym(std::ptr::null_mut(), name.as_ptr());
        if !f.is_null() {
            let quiet: extern "C" fn() = std::mem::transmute(f);
            quiet();
        }
    }
}

/// Hands what a traced child recorded in `trace_file` on to the trace of
/// the run this process is itself part of, if any (kiln running inside an
/// observed build script): the outer run saw this process, not its child.
pub fn forward_to_outer(trace_file: &Path) {
    use std::io::Write;
    let Some(outer) = std::env::var_os("KILN_TRACE_FILE") else {
        return;
    };
    let outer = Path::new(&outer);
    if !outer.is_absolute() || outer == trace_file {
        return;
    }
    let Ok(bytes) = std::fs::read(trace_file) else {
        return;
    };
    if let Ok(mut f) = std::fs::OpenOptions::new().append(true).open(outer) {
        let _ = f.write_all(&bytes);
    }
}

/// Tells the trace of the run this process is part of, if any, that
/// `program` looked up `names`: what a compile restored from the cache
/// depended on, which the outer run would have seen had it run.
pub fn forward_lookups<'a>(names: impl Iterator<Item = &'a str>, program: &Path) {
    let exe = program.as_os_str().as_bytes();
    forward(names.filter(|n| !n.contains('\t')).map(|n| {
        let mut rest = n.as_bytes().to_vec();
        rest.push(b'\t');
        rest.extend_from_slice(exe);
        (b'E', rest)
    }));
}

/// Appends records (kind letter and the rest of the line) to the trace of
/// the run this process is part of, if any: what an action restored from
/// the cache read, which the outer run would have seen had it run. Records
/// holding a newline are left out.
pub fn forward(records: impl Iterator<Item = (u8, Vec<u8>)>) {
    use std::io::Write;
    let Some(outer) = std::env::var_os("KILN_TRACE_FILE") else {
        return;
    };
    let mut lines = Vec::new();
    for (kind, rest) in records.filter(|(_, r)| !r.is_empty() && !r.contains(&b'\n')) {
        lines.extend_from_slice(&[kind, b' ']);
        lines.extend_from_slice(&rest);
        lines.push(b'\n');
    }
    if let Ok(mut f) = std::fs::OpenOptions::new().append(true).open(outer) {
        let _ = f.write_all(&lines);
    }
}

/// `so` followed by the entries of `existing` that are not `so` already.
fn preload_value(so: &Path, existing: Option<&OsStr>) -> OsString {
    let mut value = so.as_os_str().to_owned();
    let existing = existing.map(OsStr::as_bytes).unwrap_or_default();
    for entry in existing
        .split(|b| *b == b' ' || *b == b':')
        .filter(|e| !e.is_empty())
    {
        if entry != so.as_os_str().as_bytes() {
            value.push(" ");
            value.push(OsStr::from_bytes(entry));
        }
    }
    value
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> TraceError + 'a {
    move |source| TraceError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// Whether `path` is a regular file (not a link) holding exactly `bytes`.
fn installed_matches(path: &Path, bytes: &[u8]) -> bool {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let Ok(f) = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
    else {
        return false;
    };
    if !f
        .metadata()
        .is_ok_and(|m| m.is_file() && m.len() == bytes.len() as u64)
    {
        return false;
    }
    let mut on_disk = Vec::with_capacity(bytes.len());
    f.take(bytes.len() as u64 + 1)
        .read_to_end(&mut on_disk)
        .is_ok_and(|_| on_disk == bytes)
}

fn install_bytes(lib_dir: &Path, bytes: &[u8]) -> Result<Tracer, TraceError> {
    let lib_dir = std::path::absolute(lib_dir).map_err(io("locate", lib_dir))?;
    let hash = blake3::hash(bytes).to_hex();
    let so_path = lib_dir.join(format!("kiln-trace-{}.so", &hash[..16]));
    if so_path
        .as_os_str()
        .as_bytes()
        .iter()
        .any(|b| matches!(b, b' ' | b':' | b'\t' | b'\n'))
    {
        return Err(TraceError::UnusablePath(so_path));
    }
    // Compared byte for byte before every use (a few microseconds): a
    // damaged copy would crash every program it is preloaded into.
    if installed_matches(&so_path, bytes) {
        return Ok(Tracer { so_path });
    }
    std::fs::create_dir_all(&lib_dir).map_err(io("create", &lib_dir))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".kiln-trace-")
        .suffix(".tmp")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .tempfile_in(&lib_dir)
        .map_err(io("create a file in", &lib_dir))?;
    tmp.write_all(bytes).map_err(io("write", tmp.path()))?;
    tmp.as_file().sync_all().map_err(io("write", tmp.path()))?;
    tmp.persist(&so_path).map_err(|e| TraceError::Io {
        action: "install",
        path: so_path.clone(),
        source: e.error,
    })?;
    Ok(Tracer { so_path })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn installs_once_and_reuses() {
        let d = tempfile::tempdir().unwrap();
        let lib = d.path().join("lib");
        let a = install_bytes(&lib, b"not really an ELF").unwrap();
        assert!(a.so_path().starts_with(&lib));
        let name = a.so_path().file_name().unwrap().to_str().unwrap();
        assert!(
            name.starts_with("kiln-trace-") && name.ends_with(".so"),
            "{name}"
        );
        assert_eq!(std::fs::read(a.so_path()).unwrap(), b"not really an ELF");
        assert_eq!(
            std::fs::metadata(a.so_path()).unwrap().permissions().mode() & 0o777,
            0o755
        );
        let b = install_bytes(&lib, b"not really an ELF").unwrap();
        assert_eq!(a, b);
        let files: Vec<_> = std::fs::read_dir(&lib).unwrap().collect();
        assert_eq!(files.len(), 1, "no temp files left behind");
        // A truncated file is replaced, and so is one with a flipped bit.
        std::fs::write(a.so_path(), b"not").unwrap();
        install_bytes(&lib, b"not really an ELF").unwrap();
        assert_eq!(std::fs::read(a.so_path()).unwrap(), b"not really an ELF");
        std::fs::write(a.so_path(), b"not reallx an ELF").unwrap();
        install_bytes(&lib, b"not really an ELF").unwrap();
        assert_eq!(std::fs::read(a.so_path()).unwrap(), b"not really an ELF");
    }

    #[test]
    fn rejects_paths_ld_preload_would_split() {
        let d = tempfile::tempdir().unwrap();
        let err = install_bytes(&d.path().join("with space"), b"x").unwrap_err();
        assert!(matches!(err, TraceError::UnusablePath(_)), "{err}");
    }

    #[test]
    fn preload_prepends_without_duplicates() {
        let so = Path::new("/k/kiln-trace-1.so");
        assert_eq!(preload_value(so, None), "/k/kiln-trace-1.so");
        assert_eq!(
            preload_value(so, Some(OsStr::new(""))),
            "/k/kiln-trace-1.so"
        );
        assert_eq!(
            preload_value(so, Some(OsStr::new("/a.so:/b.so"))),
            "/k/kiln-trace-1.so /a.so /b.so"
        );
        assert_eq!(
            preload_value(so, Some(OsStr::new("/k/kiln-trace-1.so /a.so"))),
            "/k/kiln-trace-1.so /a.so"
        );
    }

    #[test]
    fn inject_prefers_the_command_environment() {
        let t = Tracer {
            so_path: PathBuf::from("/k/t.so"),
        };
        let mut cmd = Command::new("true");
        cmd.env("LD_PRELOAD", "/x.so");
        t.inject(&mut cmd, Path::new("/tmp/trace"));
        let envs: Vec<_> = cmd.get_envs().collect();
        assert!(
            envs.contains(&(OsStr::new("LD_PRELOAD"), Some(OsStr::new("/k/t.so /x.so")))),
            "{envs:?}"
        );
        assert!(
            envs.contains(&(
                OsStr::new("KILN_TRACE_FILE"),
                Some(OsStr::new("/tmp/trace"))
            )),
            "{envs:?}"
        );

        let mut cmd = Command::new("true");
        cmd.env_remove("LD_PRELOAD");
        t.inject(&mut cmd, Path::new("relative-trace"));
        let envs: Vec<_> = cmd.get_envs().collect();
        assert!(
            envs.contains(&(OsStr::new("LD_PRELOAD"), Some(OsStr::new("/k/t.so")))),
            "{envs:?}"
        );
        let (_, file) = envs.iter().find(|(k, _)| *k == "KILN_TRACE_FILE").unwrap();
        assert!(Path::new(file.unwrap()).is_absolute());
    }
}
