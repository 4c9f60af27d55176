//! The JSON report (format version 1, described in the crate docs).

use crate::Report;

/// Renders `report` as pretty-printed JSON with `"version": 1`.
pub fn render_json(report: &Report) -> String {
    let mut s =
        serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    s.push('\n');
    s
}
