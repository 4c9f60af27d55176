//! Markdown for a GitHub step summary (`$GITHUB_STEP_SUMMARY`) or a pull
//! request comment: a summary table, then one collapsible section per
//! finding with why and how to fix it.

use std::fmt::Write as _;

use super::{fix_blocks, summary_line};
use crate::Report;

/// Renders `report` as GitHub-flavored Markdown.
pub fn render_markdown(report: &Report) -> String {
    let mut out = String::from("## kiln doctor\n\n");
    if report.findings.is_empty() {
        out.push_str(
            "No findings: the workspace and its CI configuration look tuned for fast builds.\n",
        );
        return out;
    }
    let _ = writeln!(out, "**{}**\n", summary_line(&report.summary));
    out.push_str("| Severity | Id | Finding | Where |\n|---|---|---|---|\n");
    for f in &report.findings {
        let loc = f
            .location
            .as_ref()
            .map_or_else(String::new, |l| format!("`{l}`"));
        let _ = writeln!(
            out,
            "| {} | `{}` | {} | {} |",
            f.severity,
            f.id,
            cell(&f.message),
            loc
        );
    }
    out.push('\n');
    for f in &report.findings {
        let _ = writeln!(
            out,
            "<details>\n<summary><b>{}</b> <code>{}</code>: {}</summary>\n",
            f.severity,
            f.id,
            html(&f.message)
        );
        if let Some(loc) = &f.location {
            let _ = writeln!(out, "**Where:** `{loc}`\n");
        }
        if !f.why.is_empty() {
            let _ = writeln!(out, "**Why:** {}\n", f.why);
        }
        if !f.fix.is_empty() {
            out.push_str("**Fix:**");
            for (i, (code, block)) in fix_blocks(&f.fix).into_iter().enumerate() {
                if code {
                    let _ = write!(out, "\n\n```{}\n{block}\n```", lang(block));
                } else if i == 0 {
                    let _ = write!(out, " {block}");
                } else {
                    let _ = write!(out, "\n\n{block}");
                }
            }
            out.push_str("\n\n");
        }
        out.push_str("</details>\n\n");
    }
    out
}

/// The fence language for a fix snippet.
fn lang(block: &str) -> &'static str {
    if block.starts_with("//") {
        "rust"
    } else if block.starts_with("env:") || block.starts_with("variables:") || block.contains(":\n")
    {
        "yaml"
    } else if block.starts_with("cargo ") {
        "sh"
    } else {
        "toml"
    }
}

/// Text safe inside a table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Text safe inside HTML tags, keeping backticks readable.
fn html(s: &str) -> String {
    let escaped = s
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let mut out = String::new();
    for (i, part) in escaped.split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{part}</code>");
        } else {
            out.push_str(part);
        }
    }
    out
}
