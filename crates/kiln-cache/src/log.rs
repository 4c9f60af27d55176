//! What the engine tells: a warning (through `kiln-diag`, which keeps it to
//! one per fault and build where asked), a line in `KILN_LOG`, and the
//! measures a record carries (microseconds, peak memory).

use std::io::Write;
use std::time::Duration;

use kiln_config::Config;

/// Prints one kiln warning.
pub(crate) fn warn(msg: &str) {
    kiln_diag::warn(msg);
}

/// Appends a debug line to `KILN_LOG`, if set.
pub(crate) fn log(cfg: &Config, msg: &str) {
    if let Some(path) = &cfg.log_file
        && let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
    {
        let _ = writeln!(f, "[{}] {msg}", std::process::id());
    }
}

/// Peak resident memory of this process (children excluded), in KiB: the
/// high-water mark of its own address space. (`getrusage` would also count
/// the memory of the process that forked kiln before it exec'd, i.e. cargo.)
pub(crate) fn max_rss_kb() -> u64 {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return 0;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

pub(crate) fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}
