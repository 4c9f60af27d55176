//! Text people read: the `kiln run` summary and `kiln stats`.

use std::fmt::Write;
use std::path::Path;

use kiln_config::format_size;
use kiln_record::RunSummary;
use kiln_types::Stats;

/// `1m12s`, `3.4s`, `120ms`.
pub fn duration_ms(ms: u64) -> String {
    if ms >= 60_000 {
        format!("{}m{:02}s", ms / 60_000, (ms % 60_000) / 1000)
    } else if ms >= 1000 {
        format!("{}.{}s", ms / 1000, (ms % 1000) / 100)
    } else {
        format!("{ms}ms")
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The few lines `kiln run` prints at the end.
pub fn run_summary(s: &RunSummary) -> String {
    let st = &s.stats;
    let mut out = String::new();
    let _ = write!(
        out,
        "kiln: {}, {}, {}, {} not cacheable",
        plural(st.requests, "unit", "units"),
        plural(st.hits, "hit", "hits"),
        plural(st.misses, "miss", "misses"),
        st.not_cacheable_total
    );
    if st.compile_errors > 0 {
        let _ = write!(
            out,
            ", {}",
            plural(st.compile_errors, "compile error", "compile errors")
        );
    }
    if st.hits + st.misses > 0 {
        let _ = write!(out, " · hit rate {:.1}%", st.hit_rate());
    }
    let _ = writeln!(
        out,
        " · saved {} of compile",
        duration_ms(st.compile_ms_saved)
    );
    if !s.slowest_misses.is_empty() {
        let list: Vec<String> = s
            .slowest_misses
            .iter()
            .map(|(l, ms)| format!("{l} {}", duration_ms(*ms)))
            .collect();
        let _ = writeln!(out, "kiln: slowest misses: {}", list.join(", "));
    }
    if !s.uncached_examples.is_empty() {
        let list: Vec<String> = s
            .uncached_examples
            .iter()
            .map(|(reason, n, ex)| format!("{reason} ×{n} (e.g. {ex})"))
            .collect();
        let _ = writeln!(out, "kiln: not cacheable: {}", list.join(", "));
    }
    out
}

/// `kiln stats` for people.
pub fn stats_text(s: &Stats, dir: &Path) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "kiln cache `{}`", dir.display());
    let row = |out: &mut String, k: &str, v: String| {
        let _ = writeln!(out, "  {k:<22} {v}");
    };
    row(&mut out, "requests", s.requests.to_string());
    row(&mut out, "hits", s.hits.to_string());
    row(&mut out, "misses", s.misses.to_string());
    row(&mut out, "hit rate", format!("{:.1}%", s.hit_rate()));
    row(&mut out, "not cacheable", s.not_cacheable_total.to_string());
    for (reason, n) in &s.not_cacheable {
        row(&mut out, &format!("  {reason}"), n.to_string());
    }
    row(&mut out, "compile errors", s.compile_errors.to_string());
    row(&mut out, "corrupt entries", s.corrupt_entries.to_string());
    row(
        &mut out,
        "compile time saved",
        duration_ms(s.compile_ms_saved),
    );
    row(
        &mut out,
        "compile time spent",
        duration_ms(s.compile_ms_spent),
    );
    row(&mut out, "bytes read", format_size(s.bytes_read));
    row(&mut out, "bytes written", format_size(s.bytes_written));
    out
}
