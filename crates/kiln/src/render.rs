//! Text people read: the `kiln run` summary and `kiln stats`.

use std::fmt::Write;
use std::path::Path;

use kiln_config::format_size;
use kiln_explain::{Explanation, RootCause};
use kiln_record::RunRecap;
use kiln_types::Stats;

pub use kiln_record::duration_ms;

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The few lines `kiln run` prints at the end.
pub fn run_summary(s: &RunRecap) -> String {
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
    for (what, k) in [
        ("build-script runs", &st.build_script_runs),
        ("C compiles in build scripts", &st.c_compiles),
    ] {
        if !k.is_empty() {
            let _ = writeln!(out, "kiln: {what}: {}", kind_line(k));
        }
    }
    if !s.slowest_misses.is_empty() {
        let list: Vec<String> = s
            .slowest_misses
            .iter()
            .map(|(l, ms)| format!("{l} {}", duration_ms(*ms)))
            .collect();
        let _ = writeln!(out, "kiln: slowest misses: {}", list.join(", "));
    }
    let ran: u64 = s.slowest_runs.iter().map(|(_, ms)| ms).sum();
    if ran >= 1000 {
        let list: Vec<String> = s
            .slowest_runs
            .iter()
            .map(|(l, ms)| format!("{l} {}", duration_ms(*ms)))
            .collect();
        let _ = writeln!(
            out,
            "kiln: time in build scripts that ran: {}",
            list.join(", ")
        );
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
/// `3 hits, 1 miss, 0 not cacheable · saved 12.0s, spent 2.1s`
fn kind_line(k: &kiln_types::KindStats) -> String {
    format!(
        "{}, {}, {} not cacheable · saved {}, spent {}",
        plural(k.hits, "hit", "hits"),
        plural(k.misses, "miss", "misses"),
        k.not_cacheable,
        duration_ms(k.ms_saved),
        duration_ms(k.ms_spent)
    )
}

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
    if s.build_script_probes > 0 {
        row(
            &mut out,
            "build-script probes",
            format!("{} (not requests)", s.build_script_probes),
        );
    }
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
    for (what, k) in [
        ("build-script runs", &s.build_script_runs),
        ("C compiles", &s.c_compiles),
    ] {
        if !k.is_empty() {
            row(&mut out, what, kind_line(k));
        }
    }
    let r = &s.remote;
    if *r != kiln_types::RemoteStats::default() {
        row(&mut out, "remote hits", r.hits.to_string());
        row(&mut out, "remote misses", r.misses.to_string());
        row(&mut out, "remote errors", r.errors.to_string());
        row(&mut out, "remote bytes read", format_size(r.bytes_read));
        row(
            &mut out,
            "remote bytes written",
            format!("{} in {} uploads", format_size(r.bytes_written), r.uploads),
        );
    }
    out
}

/// Where a root cause happened: one unit, or how many (and which) when the
/// same change happened in several.
fn cause_place(c: &RootCause) -> String {
    match c.roots.len() {
        0 | 1 => format!("`{}`", c.unit),
        n => {
            let shown: Vec<String> = c.roots.iter().take(3).map(|r| format!("`{r}`")).collect();
            let more = n - shown.len();
            if more > 0 {
                format!("{n} units ({} and {more} more)", shown.join(", "))
            } else {
                format!("{n} units ({})", shown.join(", "))
            }
        }
    }
}

fn cause_line(c: &RootCause) -> String {
    let what = kiln_explain::summarize(&c.changes);
    let what = if what.is_empty() {
        "dependencies changed".to_owned()
    } else {
        what.join("; ")
    };
    format!(
        "{what} in {} → {}, {}",
        cause_place(c),
        plural(c.misses as u64, "miss", "misses"),
        duration_ms(c.compile_ms)
    )
}

/// The root-cause lines `kiln run` adds after its summary.
pub fn run_root_causes(e: &Explanation, top: usize) -> String {
    let mut out = String::new();
    for c in e.root_causes.iter().take(top) {
        let _ = writeln!(out, "kiln: root cause: {}", cause_line(c));
        if let Some(h) = &c.hint {
            let _ = writeln!(out, "kiln: hint: {h}");
        }
    }
    if e.root_causes.len() > top {
        let _ = writeln!(
            out,
            "kiln: {} more root causes: `kiln explain`",
            e.root_causes.len() - top
        );
    }
    out
}

/// `kiln explain` for people.
pub fn explanation(e: &Explanation) -> String {
    let mut out = String::new();
    let against = e
        .against
        .as_deref()
        .map_or("the previous build of each unit".to_owned(), |a| {
            format!("run `{a}`")
        });
    let total: u64 = e.misses.iter().map(|m| m.compile_ms).sum();
    let _ = writeln!(
        out,
        "run `{}` against {against}: {} of {} units missed, {} of compile",
        e.run,
        e.misses.len(),
        e.units,
        duration_ms(total)
    );
    if e.misses.is_empty() {
        return out;
    }
    let _ = writeln!(
        out,
        "{} → {}",
        plural(e.root_causes.len() as u64, "root cause", "root causes"),
        plural(e.misses.len() as u64, "miss", "misses")
    );
    for c in &e.root_causes {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{} of {} misses, {} of compile: root cause in {}",
            c.misses,
            e.misses.len(),
            duration_ms(c.compile_ms),
            cause_place(c)
        );
        if c.changes.is_empty() {
            let _ = writeln!(out, "  - dependencies changed");
        }
        for line in kiln_explain::summarize(&c.changes) {
            let _ = writeln!(out, "  - {line}");
        }
        let others: Vec<&str> = c
            .units
            .iter()
            .filter(|u| !c.roots.contains(u) && **u != c.unit)
            .map(String::as_str)
            .collect();
        if !others.is_empty() {
            let shown: Vec<&str> = others.iter().copied().take(8).collect();
            let more = others.len() - shown.len();
            let _ = write!(out, "  → also missed: {}", shown.join(", "));
            if more > 0 {
                let _ = write!(out, " and {more} more");
            }
            let _ = writeln!(out);
        }
        if let Some(h) = &c.hint {
            let _ = writeln!(out, "  hint: {h}");
        }
    }
    out
}

/// Every difference for the units named `name`.
pub fn explain_unit(e: &Explanation, name: &str) -> String {
    let mut out = String::new();
    let matching: Vec<_> = e
        .misses
        .iter()
        .filter(|m| m.crate_name == name || m.unit.starts_with(&format!("{name} ")))
        .collect();
    if matching.is_empty() {
        let _ = writeln!(
            out,
            "`{name}` did not miss in run `{}`: nothing to explain",
            e.run
        );
    }
    for m in matching {
        let _ = writeln!(out, "{} ({} compile):", m.unit, duration_ms(m.compile_ms));
        for c in &m.changes {
            let _ = writeln!(out, "  - {}", c.describe());
        }
    }
    out
}

/// One line on what the remote store did during a `kiln run`.
pub fn remote_summary(r: &kiln_remote::agent::AgentReport) -> String {
    let mut out = format!(
        "kiln: remote `{}`: {} prefetched, {} fetched on demand ({} down), {} uploaded ({} up)",
        r.url,
        r.prefetched_entries,
        r.fetched_entries,
        kiln_config::format_size(r.bytes_down),
        r.uploads,
        kiln_config::format_size(r.bytes_up),
    );
    let errors = r.errors + r.upload_errors;
    if errors > 0 {
        let _ = write!(out, ", {}", plural(errors, "error", "errors"));
    }
    if r.rejected > 0 {
        let _ = write!(out, ", {} rejected (checksum or signature)", r.rejected);
    }
    if let Some(cause) = &r.gave_up {
        let _ = write!(out, "; given up: {cause}");
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_scripts_that_ran_are_named_with_their_time() {
        let s = RunRecap {
            stats: Stats::default(),
            slowest_misses: Vec::new(),
            uncached_examples: Vec::new(),
            slowest_runs: vec![
                ("aws-lc-sys v0.29.0 (build script run)".into(), 101_200),
                ("ring v0.17.8 (build script run)".into(), 9_400),
            ],
        };
        let text = run_summary(&s);
        assert!(
            text.contains(
                "kiln: time in build scripts that ran: aws-lc-sys v0.29.0 (build script run) 1m41s, ring v0.17.8 (build script run) 9.4s"
            ),
            "{text}"
        );
        let quick = RunRecap {
            slowest_runs: vec![("tiny (build script run)".into(), 20)],
            ..s
        };
        assert!(!run_summary(&quick).contains("build scripts that ran"));
    }
}
