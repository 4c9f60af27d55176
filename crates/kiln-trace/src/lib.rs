//! Observing what a compile reads.
//!
//! rustc's dep-info lists the sources and `env!` variables of a crate, but not
//! what proc macros read while they run inside the compiler (`std::env::var`,
//! `std::fs::read`), nor what the linker reads (crt objects, `libc`, native
//! libraries, rlibs). A cache that keys only dep-info can return another
//! build's output. kiln therefore preloads a small C library
//! (`src/interposer.c`, built by `build.rs` and embedded here) into the
//! compiler; it is inherited by every program the compiler runs and appends
//! one line per event to the file in `KILN_TRACE_FILE`:
//!
//! ```text
//! R <path>   opened for reading        W <path>   opened for writing
//! A <path>   looked for, missing       E <name>   environment lookup
//! X <prog>   program executed
//! ```
//!
//! Limits: static binaries, setuid programs, non-glibc systems, raw system
//! calls and libraries loaded by `dlopen` are not seen. kiln covers those by
//! keying the compiler identity (sysroot, bundled linker) and every `--extern`
//! file by content; where the observer is unavailable it does not cache
//! linked outputs or crates built with proc macros.

mod parse;

use std::path::{Path, PathBuf};
use std::process::Command;

pub use parse::{Trace, parse_trace};

/// Observer problems.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// Installing or reading failed.
    #[error("{action} `{path}`: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// Where.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

#[cfg(not(kiln_trace_unavailable))]
const OBSERVER: Option<&[u8]> = Some(include_bytes!(concat!(env!("OUT_DIR"), "/kiln-trace.so")));
#[cfg(kiln_trace_unavailable)]
const OBSERVER: Option<&[u8]> = None;

/// The observer, installed and ready to inject.
#[derive(Debug, Clone)]
pub struct Tracer {
    so_path: PathBuf,
}

impl Tracer {
    /// Writes the observer to `lib_dir` once (atomically) and returns it;
    /// `None` where no observer is available.
    pub fn install(lib_dir: &Path) -> Result<Option<Self>, TraceError> {
        let Some(bytes) = OBSERVER else {
            return Ok(None);
        };
        let hash = blake3::hash(bytes).to_hex();
        let so_path = lib_dir.join(format!("kiln-trace-{}.so", &hash[..16]));
        if so_path.is_file() {
            return Ok(Some(Self { so_path }));
        }
        let io = |action, path: &Path, source| TraceError::Io {
            action,
            path: path.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(lib_dir).map_err(|e| io("create", lib_dir, e))?;
        let tmp = lib_dir.join(format!(".kiln-trace-{}.tmp", std::process::id()));
        std::fs::write(&tmp, bytes).map_err(|e| io("write", &tmp, e))?;
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))
                .map_err(|e| io("write", &tmp, e))?;
        }
        std::fs::rename(&tmp, &so_path).map_err(|e| io("install", &so_path, e))?;
        Ok(Some(Self { so_path }))
    }

    /// Makes `cmd` run under observation, writing its trace to `trace_file`
    /// (an absolute path).
    pub fn inject(&self, cmd: &mut Command, trace_file: &Path) {
        let mut preload = self.so_path.as_os_str().to_owned();
        if let Some(existing) = std::env::var_os("LD_PRELOAD").filter(|v| !v.is_empty()) {
            preload.push(" ");
            preload.push(existing);
        }
        cmd.env("LD_PRELOAD", preload)
            .env("KILN_TRACE_FILE", trace_file);
    }
}
