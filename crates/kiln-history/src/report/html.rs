//! The HTML report: one self-contained file with charts over the history.
//!
//! Chart.js (MIT, `assets/chart.umd.min.js`, license beside it) is embedded
//! in the page, so it reads without network. Tables and regressions are
//! rendered here; the charts are drawn by `assets/report.js` from a JSON
//! block in the page. When every chart is drawn the page sets its title to
//! `kiln report` and `data-rendered="ok"` on `<body>`.

use std::fmt::Write;

use serde::Serialize;

use super::{Report, crate_times, duration_ms, rate};

const TEMPLATE: &str = include_str!("../../assets/report.html");
const CHART_JS: &str = include_str!("../../assets/chart.umd.min.js");
const SCRIPT: &str = include_str!("../../assets/report.js");

/// Crates in the slowest-crates chart.
const SLOWEST: usize = 15;

#[derive(Serialize)]
struct ChartRun {
    label: String,
    id: String,
    wall_s: f64,
    hit_rate: Option<f64>,
    compile_spent_s: f64,
    compile_saved_s: f64,
    crates: u64,
}

#[derive(Serialize)]
struct ChartCrate {
    name: String,
    seconds: f64,
}

#[derive(Serialize)]
struct ChartData {
    runs: Vec<ChartRun>,
    slowest: Vec<ChartCrate>,
}

#[allow(clippy::cast_precision_loss)]
fn secs(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The HTML page.
pub fn render_html(r: &Report<'_>) -> String {
    let data = ChartData {
        runs: r
            .history
            .iter()
            .map(|run| ChartRun {
                label: format!(
                    "{} {:02}:{:02}{}",
                    kiln_record::utc_date(run.started_ms),
                    (run.started_ms / 3_600_000) % 24,
                    (run.started_ms / 60_000) % 60,
                    run.branch().map(|b| format!(" {b}")).unwrap_or_default()
                ),
                id: run.id.clone(),
                wall_s: secs(run.wall_ms),
                hit_rate: run.hit_rate().map(|h| (h * 1000.0).round() / 10.0),
                compile_spent_s: secs(run.compile_ms_spent),
                compile_saved_s: secs(run.compile_ms_saved),
                crates: run.crates,
            })
            .collect(),
        slowest: crate_times(r.current)
            .into_iter()
            .take(SLOWEST)
            .map(|(name, ms)| ChartCrate {
                name,
                seconds: secs(ms),
            })
            .collect(),
    };
    // `<` only occurs inside JSON strings, where `\u003c` means the same:
    // the block can never close its <script> early.
    let json = serde_json::to_string(&data)
        .unwrap_or_else(|_| "{}".into())
        .replace('<', "\\u003c");
    fill(
        TEMPLATE,
        &[
            ("{{BODY}}", &body(r)),
            ("{{DATA}}", &json),
            ("{{CHARTJS}}", CHART_JS),
            ("{{SCRIPT}}", SCRIPT),
        ],
    )
}

/// Fills the template's placeholders in one pass over the template, so text
/// that is filled in (a branch named `{{DATA}}`) is never filled again.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out =
        String::with_capacity(template.len() + values.iter().map(|(_, v)| v.len()).sum::<usize>());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let hit = values.iter().find(|(k, _)| rest[start..].starts_with(k));
        out.push_str(&rest[..start]);
        match hit {
            Some((k, v)) => {
                out.push_str(v);
                rest = &rest[start + k.len()..];
            }
            None => {
                out.push_str("{{");
                rest = &rest[start + 2..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn body(r: &Report<'_>) -> String {
    let cur = r.current;
    let cmp = r.comparison;
    let mut out = String::new();
    let _ = writeln!(out, "<h1>kiln build report</h1>");
    let mut facts = vec![format!("run <code>{}</code>", esc(&cur.id))];
    if !cur.command.is_empty() {
        facts.push(format!("<code>{}</code>", esc(&cur.command)));
    }
    if let Some(b) = cur.branch() {
        facts.push(format!("branch <code>{}</code>", esc(b)));
    }
    if let Some(c) = cur.short_commit(12) {
        facts.push(format!("commit <code>{}</code>", esc(c)));
    }
    let _ = writeln!(out, "<p class=\"facts\">{}</p>", facts.join(" · "));
    if !cmp.regressions.is_empty() {
        let _ = writeln!(out, "<h2>Regressions</h2>\n<ul class=\"regressions\">");
        for reg in &cmp.regressions {
            let class = if reg.budget { "budget" } else { "note" };
            let _ = writeln!(out, "<li class=\"{class}\">{}</li>", esc(&reg.message));
        }
        let _ = writeln!(out, "</ul>");
    }
    let b = cmp.baseline.as_ref();
    let dash = || "–".to_owned();
    let _ = writeln!(
        out,
        "<h2>This run</h2>\n<table>\n<tr><th></th><th>this run</th><th>baseline{}</th></tr>",
        b.map(|b| {
            let n = b.runs.len();
            format!(" ({n} {})", if n == 1 { "run" } else { "runs" })
        })
        .unwrap_or_default()
    );
    let rows = [
        (
            "hit rate",
            rate(cur.hit_rate()),
            b.map_or_else(dash, |b| rate(b.hit_rate)),
        ),
        (
            "wall time",
            duration_ms(cur.wall_ms),
            b.map_or_else(dash, |b| duration_ms(b.wall_ms)),
        ),
        (
            "compile time spent",
            duration_ms(cur.compile_ms_spent),
            b.map_or_else(dash, |b| duration_ms(b.compile_ms_spent)),
        ),
        (
            "compile time saved",
            duration_ms(cur.compile_ms_saved),
            String::new(),
        ),
        (
            "units",
            format!("{} ({} hits, {} misses)", cur.units, cur.hits, cur.misses),
            String::new(),
        ),
        (
            "crates compiled",
            cur.crates.to_string(),
            b.map_or_else(dash, |b| b.crates.to_string()),
        ),
    ];
    for (k, now, base) in rows {
        let _ = writeln!(
            out,
            "<tr><th>{k}</th><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(&now),
            esc(&base)
        );
    }
    let _ = writeln!(out, "</table>");
    if !cur.root_causes.is_empty() {
        let _ = writeln!(
            out,
            "<h2>Root causes of misses</h2>\n<table>\n<tr><th>root cause</th><th>misses</th><th>compile time</th></tr>"
        );
        for c in cur.root_causes.iter().take(10) {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                esc(&c.describe()),
                c.misses,
                duration_ms(c.compile_ms)
            );
        }
        let _ = writeln!(out, "</table>");
    }
    if !cur.unit_timings.is_empty() {
        let _ = writeln!(
            out,
            "<h2>Slowest units</h2>\n<table>\n<tr><th>unit</th><th>outcome</th><th>compile time</th></tr>"
        );
        for u in cur.unit_timings.iter().take(10) {
            let what = u.time_label();
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td class=\"num\">{what}</td></tr>",
                esc(&u.unit),
                esc(&u.outcome.as_str().replace('_', " "))
            );
        }
        let _ = writeln!(out, "</table>");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::fill;

    #[test]
    fn placeholders_are_filled_once() {
        let out = fill(
            "<p>{{BODY}}</p><script>{{DATA}}</script>{{other}}",
            &[("{{BODY}}", "branch {{DATA}}"), ("{{DATA}}", "{}")],
        );
        assert_eq!(out, "<p>branch {{DATA}}</p><script>{}</script>{{other}}");
    }
}
