//! `kiln stats --format openmetrics`: the stats as OpenMetrics text, for a
//! node exporter's textfile collector or a push gateway.
//!
//! Counters end in `_total`, times are seconds, sizes bytes; the exposition
//! ends with `# EOF`. Names are documented in `docs/monitoring.md`.

use std::fmt::Write;

use kiln_types::Stats;

/// One counter family with a single sample.
fn counter(out: &mut String, name: &str, help: &str, unit: Option<&str>, value: &str) {
    let _ = writeln!(out, "# TYPE {name} counter");
    if let Some(u) = unit {
        let _ = writeln!(out, "# UNIT {name} {u}");
    }
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "{name}_total {value}");
}

#[allow(clippy::cast_precision_loss)]
fn seconds(ms: u64) -> String {
    format!("{:.3}", ms as f64 / 1000.0)
}

/// Label values escape `\`, `"` and newlines.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The stats as an OpenMetrics text exposition.
pub fn openmetrics(s: &Stats) -> String {
    let mut out = String::new();
    let c = |out: &mut String, name: &str, help: &str, v: u64| {
        counter(out, name, help, None, &v.to_string());
    };
    c(
        &mut out,
        "kiln_requests",
        "Compile calls (hits, misses, not cacheable, compile errors).",
        s.requests,
    );
    c(
        &mut out,
        "kiln_hits",
        "Outputs restored from the cache.",
        s.hits,
    );
    c(&mut out, "kiln_misses", "Compiled and stored.", s.misses);
    let _ = writeln!(out, "# TYPE kiln_not_cacheable counter");
    let _ = writeln!(
        out,
        "# HELP kiln_not_cacheable Compiled without caching, by reason."
    );
    for (reason, n) in &s.not_cacheable {
        let _ = writeln!(
            out,
            "kiln_not_cacheable_total{{reason=\"{}\"}} {n}",
            label(reason)
        );
    }
    c(
        &mut out,
        "kiln_compile_errors",
        "Compiles that failed.",
        s.compile_errors,
    );
    c(
        &mut out,
        "kiln_corrupt_entries",
        "Corrupt entries found and removed.",
        s.corrupt_entries,
    );
    counter(
        &mut out,
        "kiln_compile_saved_seconds",
        "Compile time the hits did not spend.",
        Some("seconds"),
        &seconds(s.compile_ms_saved),
    );
    counter(
        &mut out,
        "kiln_compile_spent_seconds",
        "Compile time of misses, uncached calls and errors.",
        Some("seconds"),
        &seconds(s.compile_ms_spent),
    );
    counter(
        &mut out,
        "kiln_read_bytes",
        "Bytes restored from the store.",
        Some("bytes"),
        &s.bytes_read.to_string(),
    );
    counter(
        &mut out,
        "kiln_written_bytes",
        "Bytes written to the store.",
        Some("bytes"),
        &s.bytes_written.to_string(),
    );
    let r = &s.remote;
    for (name, help, unit, value) in [
        (
            "kiln_remote_hits",
            "Hits whose entry came from the remote store.",
            None,
            r.hits,
        ),
        (
            "kiln_remote_misses",
            "Cacheable calls the remote store could not answer.",
            None,
            r.misses,
        ),
        (
            "kiln_remote_errors",
            "Failed remote requests and rejected objects.",
            None,
            r.errors,
        ),
        (
            "kiln_remote_uploads",
            "Objects uploaded to the remote store.",
            None,
            r.uploads,
        ),
        (
            "kiln_remote_read_bytes",
            "Bytes downloaded from the remote store.",
            Some("bytes"),
            r.bytes_read,
        ),
        (
            "kiln_remote_written_bytes",
            "Bytes uploaded to the remote store.",
            Some("bytes"),
            r.bytes_written,
        ),
    ] {
        counter(&mut out, name, help, unit, &value.to_string());
    }
    let _ = writeln!(out, "# TYPE kiln_hit_ratio gauge");
    let _ = writeln!(
        out,
        "# HELP kiln_hit_ratio Hits over hits plus misses (0 to 1)."
    );
    let _ = writeln!(out, "kiln_hit_ratio {:.4}", s.hit_rate() / 100.0);
    let _ = writeln!(out, "# TYPE kiln_since_seconds gauge");
    let _ = writeln!(out, "# UNIT kiln_since_seconds seconds");
    let _ = writeln!(
        out,
        "# HELP kiln_since_seconds Unix time the counts start from (0: since the store was created)."
    );
    let _ = writeln!(out, "kiln_since_seconds {}", seconds(s.since_ms));
    out.push_str("# EOF\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_shape() {
        let mut s = Stats::new(0);
        s.requests = 3;
        s.hits = 2;
        s.misses = 1;
        s.compile_ms_saved = 1500;
        s.not_cacheable.insert("incremental".into(), 4);
        let text = openmetrics(&s);
        assert!(text.contains("# TYPE kiln_hits counter\n"));
        assert!(text.contains("kiln_hits_total 2\n"));
        assert!(text.contains("kiln_compile_saved_seconds_total 1.500\n"));
        assert!(text.contains("kiln_not_cacheable_total{reason=\"incremental\"} 4\n"));
        assert!(text.contains("kiln_hit_ratio 0.6667\n"));
        assert!(text.ends_with("# EOF\n"));
    }
}
