//! Observing everything a compile reads.
//!
//! rustc's dep-info lists the sources and `env!` variables of a crate, but
//! not what proc macros read while they run inside the compiler
//! (`std::env::var`, `std::fs::read`), nor what the linker reads (crt objects,
//! `libc`, native libraries, rlibs). A cache that keys only dep-info can
//! hand out another build's output, the worst bug kiln can have. So on a
//! cache miss kiln runs rustc with a small C library preloaded
//! (`src/interposer.c`, compiled by `build.rs` and embedded in this crate).
//!
//! # Design
//!
//! The library interposes the libc entry points through which programs open
//! files, probe for them, look up environment variables and start programs
//! (`open`/`openat` and their `64` and `_FORTIFY_SOURCE` variants, `creat`,
//! `fopen`, `freopen`, the `stat`/`statx`/`access`/`opendir` families,
//! `rename*`, `getenv`, `secure_getenv`, the `exec*` family,
//! `posix_spawn[p]`, `connect`, `getaddrinfo` and `gethostbyname`), forwards each call to the next definition
//! (`dlsym(RTLD_NEXT)`), and appends one line per event to the file named by
//! `KILN_TRACE_FILE`. `LD_PRELOAD` is inherited, so the compiler's children
//! (the linker driver `cc`, `collect2`, `ld`/`rust-lld`) are observed too; a
//! child whose environment lost `LD_PRELOAD` or `KILN_TRACE_FILE` gets them
//! back at `exec`.
//!
//! Each line is written with a single `write(2)` to an `O_APPEND` descriptor
//! opened with a raw system call, so lines of concurrent threads and
//! processes never interleave and the observer never observes itself. The
//! hooks do not allocate; each process writes a given line at most once
//! (a fixed table of 64-bit hashes), which keeps a typical compile at a few
//! hundred lines. The trace file is created when a traced process starts, so
//! a missing trace means the observer did not run: [`parse_trace`] reports
//! that as an error instead of an empty trace.
//!
//! # Record format
//!
//! One record per line, a kind letter, a space, then the rest of the line:
//!
//! ```text
//! R <path>   opened for reading only
//! W <path>   opened with write intent (or O_CREAT/O_TRUNC), created, or renamed into place
//! A <path>   looked for and missing: ENOENT/ENOTDIR from a read-only open,
//!            a stat, an access check or opendir
//! P <path>   found present by a stat or access check
//! D <path>   directory whose entries were listed (opendir)
//! E <name>\t<exe>[\t<object>]
//!            environment variable looked up (getenv, secure_getenv), the
//!            executable of the process that looked it up, and the library
//!            whose code called when that is not the executable (a proc
//!            macro inside rustc, say)
//! X <prog>   program executed or spawned, as passed: a bare name for
//!            execvp/posix_spawnp, resolved by the parser
//! S <name>\t<PATH>
//!            the search path a bare name was looked up on (the calling
//!            process's `PATH`; no tab when it was unset)
//! N <what>   network use: `connect` (`inet` or `unix`), `getaddrinfo` or
//!            `gethostbyname` (`dns`)
//! U <reason>\t<detail>
//!            written by a nested kiln: an action inside this one depended
//!            on something no key holds (the clock, raw system calls)
//! ```
//!
//! Paths are made absolute against the working directory or the `*at`
//! directory descriptor, but symlinks, `.` and `..` are left as they are;
//! [`parse_trace`] normalizes them (`..` after a symlink goes up from its target). Paths holding a newline, and
//! records longer than about 4000 bytes, are skipped.
//!
//! # Limits
//!
//! Libraries loaded after a process started (`dlopen`ed proc macros and
//! the libraries they need, which the loader opens with internal calls) are
//! listed as `R` records from the loader's own list when the process exits.
//!
//! Not seen: statically linked programs, setuid programs (the loader drops
//! `LD_PRELOAD`), systems without glibc, raw system calls, the libraries a
//! program is linked with at start-up, libraries loaded by a process that
//! execs or is killed before it exits, libc-internal lookups (such as the
//! locale variables read by `setlocale` and `TZ` read by `localtime`), and
//! programs run through `system`/`popen`/`fexecve` (their children are
//! still observed).
//! kiln keys the compiler identity (sysroot, bundled linker) separately and
//! hashes every `--extern` file by content, which covers what the loader
//! maps; where the observer is unavailable it does not cache linked outputs
//! or crates built with proc macros.

mod elf;
mod environ;
mod install;
mod parse;
mod paths;
mod refs;

use std::path::PathBuf;

pub use elf::observable;
pub use environ::{
    is_toolchain_program, raw_syscalls, reads_libc_env, rust_walks_environ,
    uses_path_only_to_search, walks_environ,
};
pub use install::{Tracer, forward, forward_lookups, forward_to_outer, quiet_this_process};
pub use parse::{Search, Trace, parse_trace};
pub use paths::find_program;
pub use paths::{normalize_path, path_set};

/// Problems installing the observer or reading its trace.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// A file operation failed.
    #[error("cannot {action} `{path}`: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The observer's path cannot be put in `LD_PRELOAD`, which splits on
    /// spaces and colons.
    #[error("cannot preload `{0}`: LD_PRELOAD paths may not contain spaces or colons")]
    UnusablePath(PathBuf),
    /// The traced program left no trace, so the observer did not run in it
    /// (static binary, setuid, incompatible libc, or a `noexec` mount).
    #[error("no trace at `{0}`: the input observer did not run in the traced program")]
    NotTraced(PathBuf),
}
