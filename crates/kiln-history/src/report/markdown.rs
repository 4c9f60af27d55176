//! The Markdown report: fits a GitHub step summary or a PR comment.
//!
//! Regressions first, then this run against the baseline, root causes of
//! the misses and the slowest units. Plain GitHub-flavoured Markdown.

use std::fmt::Write;

use super::{Report, duration_ms, rate};

/// Escapes text for a table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The Markdown report.
pub fn render_markdown(r: &Report<'_>) -> String {
    let cur = r.current;
    let cmp = r.comparison;
    let mut out = String::new();
    let _ = writeln!(out, "## kiln build report\n");
    let mut facts = vec![format!("run `{}`", cur.id)];
    if !cur.command.is_empty() {
        facts.push(format!("`{}`", cur.command));
    }
    if let Some(p) = &cur.profile {
        facts.push(format!("profile `{p}`"));
    }
    if let Some(b) = cur.branch() {
        facts.push(format!("branch `{b}`"));
    }
    if let Some(c) = cur.short_commit(12) {
        facts.push(format!("commit `{c}`"));
    }
    let _ = writeln!(out, "{}\n", facts.join(" · "));

    if cmp.regressions.is_empty() {
        if cmp.baseline.is_some() {
            let _ = writeln!(out, "**No regressions** against the baseline.\n");
        }
    } else {
        let _ = writeln!(out, "### Regressions\n");
        for reg in &cmp.regressions {
            let mark = if reg.budget { "❌" } else { "⚠️" };
            let _ = writeln!(out, "- {mark} {}", reg.message);
        }
        let _ = writeln!(out);
    }

    let base_title = match &cmp.baseline {
        None => "baseline".to_owned(),
        Some(b) => format!(
            "baseline: median of {} {}{}",
            b.runs.len(),
            if b.runs.len() == 1 { "run" } else { "runs" },
            b.branch
                .as_deref()
                .map(|br| format!(" on `{br}`"))
                .unwrap_or_default()
        ),
    };
    let _ = writeln!(out, "| | this run | {base_title} |");
    let _ = writeln!(out, "| --- | ---: | ---: |");
    let b = cmp.baseline.as_ref();
    let none = || "–".to_owned();
    let _ = writeln!(
        out,
        "| hit rate | {} ({} of {}) | {} |",
        rate(cur.hit_rate()),
        cur.hits,
        cur.hits + cur.misses,
        b.map_or_else(none, |b| rate(b.hit_rate))
    );
    let _ = writeln!(
        out,
        "| wall time | {} | {} |",
        duration_ms(cur.wall_ms),
        b.map_or_else(none, |b| duration_ms(b.wall_ms))
    );
    let _ = writeln!(
        out,
        "| compile time spent | {} | {} |",
        duration_ms(cur.compile_ms_spent),
        b.map_or_else(none, |b| duration_ms(b.compile_ms_spent))
    );
    let _ = writeln!(
        out,
        "| compile time saved | {} | |",
        duration_ms(cur.compile_ms_saved)
    );
    let _ = writeln!(
        out,
        "| units (hits / misses / not cacheable / compile errors) | {} ({} / {} / {} / {}) | |",
        cur.units, cur.hits, cur.misses, cur.not_cacheable, cur.compile_errors
    );
    let _ = writeln!(
        out,
        "| crates compiled | {} | {} |",
        cur.crates,
        b.map_or_else(none, |b| b.crates.to_string())
    );
    let _ = writeln!(out);

    if !cur.root_causes.is_empty() {
        let _ = writeln!(out, "### Root causes of misses\n");
        let _ = writeln!(out, "| root cause | misses | compile time |");
        let _ = writeln!(out, "| --- | ---: | ---: |");
        for c in cur.root_causes.iter().take(5) {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                cell(&c.describe()),
                c.misses,
                duration_ms(c.compile_ms)
            );
        }
        if cur.root_causes.len() > 5 {
            let _ = writeln!(
                out,
                "\n{} more: `kiln explain {}`",
                cur.root_causes.len() - 5,
                cur.id
            );
        }
        let _ = writeln!(out);
    }

    if !cur.unit_timings.is_empty() {
        let _ = writeln!(out, "### Slowest units\n");
        let _ = writeln!(out, "| unit | outcome | compile time |");
        let _ = writeln!(out, "| --- | --- | ---: |");
        for u in cur.unit_timings.iter().take(10) {
            let what = u.time_label();
            let _ = writeln!(
                out,
                "| {} | {} | {what} |",
                cell(&u.unit),
                u.outcome.as_str().replace('_', " ")
            );
        }
        let _ = writeln!(out);
    }
    out
}
