//! Whether a program may read the wall clock.
//!
//! A build script or proc macro that bakes the time into its output
//! (`vergen`, `built`, a `build_time!()` macro) gives a different output on
//! every run; replaying a stored one would ship a stale time. The clock is
//! read through the vDSO, without a system call or a library call the
//! observer could see, so the program is judged by its file instead:
//! - Rust code (x86-64, with a symbol table) reads it when anything calls
//!   `std::time::SystemTime::now` (chrono's and time's `now` go through it);
//!   read off the machine code like environment walks ([`crate::refs`]).
//!   Without a symbol table it may;
//! - a program the action runs reads it when it is a clock program
//!   ([`CLOCK_PROGRAMS`], `date`). Other programs that call `time` or
//!   `clock_gettime` themselves cannot be told from those that time their
//!   own work, and are not judged (a limit stated in `docs/keys.md`).

use std::path::Path;

/// Programs whose purpose is to print the time.
pub const CLOCK_PROGRAMS: &[&str] = &["date"];

/// Whether `name` (mangled, legacy or v0) is `std::time::SystemTime::now`.
fn is_system_time_now(name: &str) -> bool {
    name.contains("3std4time") && name.contains("10SystemTime3now")
}

/// Whether the Rust program or library `program` may read the wall clock.
pub fn rust_reads_clock(program: &Path) -> bool {
    let Ok(bytes) = std::fs::read(program) else {
        return true;
    };
    let Some(p) = crate::refs::Program::parse(&bytes) else {
        // The code cannot be read here (another architecture, or no symbol
        // table). The linker keeps only functions something refers to, so
        // with a symbol table the function's name tells; without one,
        // anything may.
        let has = |n: &[u8]| memchr::memmem::find(&bytes, n).is_some();
        return has(b"10SystemTime3now") || !has(b".symtab\0") || !bytes.starts_with(b"\x7fELF");
    };
    let now: Vec<u64> = p
        .funcs
        .iter()
        .filter(|f| is_system_time_now(&f.name))
        .map(|f| f.addr)
        .collect();
    if now.is_empty() {
        return false;
    }
    let calls = crate::refs::find_refs(&p, &now, &[]);
    calls.escapes || !calls.from.is_empty()
}

/// Whether `program` is one of [`CLOCK_PROGRAMS`].
pub fn is_clock_program(program: &Path) -> bool {
    program
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| CLOCK_PROGRAMS.contains(&n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_system_time_now() {
        assert!(is_system_time_now(
            "_ZN3std4time10SystemTime3now17h0123456789abcdefE"
        ));
        assert!(is_system_time_now(
            "_RNvMs_NtCs1234_3std4timeNtB4_10SystemTime3now"
        ));
        assert!(!is_system_time_now(
            "_ZN3std4time7Instant3now17h0123456789abcdefE"
        ));
    }

    #[test]
    fn date_is_a_clock_program() {
        assert!(is_clock_program(Path::new("/usr/bin/date")));
        assert!(!is_clock_program(Path::new("/usr/bin/cc")));
    }
}
