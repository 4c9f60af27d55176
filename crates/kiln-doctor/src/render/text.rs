//! Text for people: findings grouped by severity, worst first, in the shape
//! of compiler diagnostics. ANSI colors only when the caller asks.

use std::fmt::Write as _;

use anstyle::AnsiColor;

use super::{fix_blocks, summary_line};
use crate::{Report, Severity};

const WIDTH: usize = 96;

struct Style {
    on: bool,
}

impl Style {
    fn paint(&self, style: anstyle::Style, s: &str) -> String {
        if self.on {
            format!("{style}{s}{style:#}")
        } else {
            s.to_owned()
        }
    }

    fn severity(&self, sev: Severity) -> String {
        let color = match sev {
            Severity::Error => AnsiColor::Red,
            Severity::Warning => AnsiColor::Yellow,
            Severity::Info => AnsiColor::Cyan,
        };
        self.paint(color.on_default().bold(), sev.as_str())
    }
}

const BOLD: anstyle::Style = anstyle::Style::new().bold();
const BLUE: anstyle::Style = AnsiColor::Blue.on_default();

/// Renders `report` for a terminal or a log; `color` adds ANSI colors.
pub fn render_text(report: &Report, color: bool) -> String {
    let style = Style { on: color };
    let mut out = String::new();
    let root = report.root.display();
    if report.findings.is_empty() {
        let _ = writeln!(out, "kiln doctor: no findings in `{root}`");
        return out;
    }
    for sev in [Severity::Error, Severity::Warning, Severity::Info] {
        let group: Vec<_> = report
            .findings
            .iter()
            .filter(|f| f.severity == sev)
            .collect();
        if group.is_empty() {
            continue;
        }
        let title = match sev {
            Severity::Error => "Errors",
            Severity::Warning => "Warnings",
            Severity::Info => "Info",
        };
        let _ = writeln!(
            out,
            "{}\n",
            style.paint(BOLD, &format!("{title} ({})", group.len()))
        );
        for f in group {
            let _ = writeln!(
                out,
                "{}{}: {}",
                style.severity(f.severity),
                style.paint(BOLD, &format!("[{}]", f.id)),
                style.paint(BOLD, &f.message)
            );
            if let Some(loc) = &f.location {
                let _ = writeln!(out, "  {} {loc}", style.paint(BLUE, "-->"));
            }
            for r in &f.related {
                let _ = writeln!(out, "  {} {r}", style.paint(BLUE, "..."));
            }
            if !f.why.is_empty() {
                push_labeled(&mut out, &style, "why", &f.why);
            }
            if !f.fix.is_empty() {
                for (i, (code, block)) in fix_blocks(&f.fix).into_iter().enumerate() {
                    if code {
                        out.push('\n');
                        for line in block.lines() {
                            let _ = writeln!(out, "{}{line}", " ".repeat(12));
                        }
                    } else if i == 0 {
                        push_labeled(&mut out, &style, "fix", block);
                    } else {
                        out.push('\n');
                        for line in wrap(block, WIDTH - 10) {
                            let _ = writeln!(out, "{}{line}", " ".repeat(10));
                        }
                    }
                }
            }
            out.push('\n');
        }
    }
    let _ = writeln!(
        out,
        "kiln doctor: {} in `{root}`",
        summary_line(&report.summary)
    );
    out
}

fn push_labeled(out: &mut String, style: &Style, label: &str, text: &str) {
    let prefix = format!("   = {}: ", style.paint(BOLD, label));
    let indent = " ".repeat(5 + label.len() + 2);
    for (i, line) in wrap(text, WIDTH - indent.len()).iter().enumerate() {
        if i == 0 {
            let _ = writeln!(out, "{prefix}{line}");
        } else {
            let _ = writeln!(out, "{indent}{line}");
        }
    }
}

/// Word-wraps `text` to `width` columns.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for para in text.lines() {
        let mut line = String::new();
        for word in para.split_whitespace() {
            if !line.is_empty() && line.len() + 1 + word.len() > width {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn wraps_words() {
        assert_eq!(wrap("aa bb cc", 5), ["aa bb", "cc"]);
        assert_eq!(wrap("a\nb", 5), ["a", "b"]);
    }
}
