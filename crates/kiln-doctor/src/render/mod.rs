//! Turning a [`Report`](crate::Report) into text for people, JSON, Markdown
//! or SARIF. Renderers never fail and never look at the terminal: the
//! caller says whether to color.

mod json;
mod markdown;
mod sarif;
mod text;

pub use json::render_json;
pub use markdown::render_markdown;
pub use sarif::render_sarif;
pub use text::render_text;

/// Splits a fix into prose and code blocks. Paragraphs are separated by a
/// blank line; a paragraph is code when it has several lines, starts like
/// code, or follows prose ending in `:`.
pub(crate) fn fix_blocks(fix: &str) -> Vec<(bool, &str)> {
    let mut out: Vec<(bool, &str)> = Vec::new();
    for p in fix.split("\n\n").filter(|p| !p.trim().is_empty()) {
        let introduced = out
            .last()
            .is_some_and(|(code, prev)| !code && prev.ends_with(':'));
        let code = introduced
            || p.contains('\n')
            || ["cargo ", "[", "#", "//", "env:"]
                .iter()
                .any(|s| p.starts_with(s));
        out.push((code, p));
    }
    out
}

/// "2 errors, 1 warning, 3 info".
pub(crate) fn summary_line(s: &crate::Summary) -> String {
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    format!(
        "{}, {}, {}",
        plural(s.error, "error", "errors"),
        plural(s.warning, "warning", "warnings"),
        plural(s.info, "info", "info")
    )
}
