//! `kiln deps diff` output: text for a terminal, Markdown for a PR comment,
//! JSON (version [`crate::DIFF_VERSION`]) for tools.

use std::fmt::Write;

use crate::diff::{DepsDiff, PackageId, SourceChange};
use crate::estimate::Cost;
use crate::lockfile::CRATES_IO;

/// `1m12s`, `3.4s`, `120ms`, with `~est` when estimated.
pub fn cost(c: Cost) -> String {
    let ms = c.ms;
    let d = if ms >= 60_000 {
        format!("{}m{:02}s", ms / 60_000, (ms % 60_000) / 1000)
    } else if ms >= 1000 {
        format!("{}.{}s", ms / 1000, (ms % 1000) / 100)
    } else {
        format!("{ms}ms")
    };
    if c.estimated { format!("{d} ~est") } else { d }
}

fn ids(v: &[PackageId]) -> String {
    v.iter()
        .map(|p| format!("{} {}", p.name, p.version))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A source for people: `crates.io`, `path` (the workspace's own), else
/// as the lockfile writes it.
fn source(s: Option<&str>) -> &str {
    match s {
        None => "path",
        Some(CRATES_IO) => "crates.io",
        Some(s) => s,
    }
}

/// `crates.io → git+https://github.com/x/serde#abc`.
fn moved(c: &SourceChange) -> String {
    format!(
        "{} → {}",
        source(c.from.as_deref()),
        source(c.to.as_deref())
    )
}

fn headline(d: &DepsDiff) -> String {
    let other_source = match d.source_changed.len() {
        0 => String::new(),
        n => format!(", {n} from another source"),
    };
    format!(
        "{} added, {} removed, {} upgraded{other_source}; {} new direct {}",
        d.added.len(),
        d.removed.len(),
        d.upgraded.len(),
        d.new_direct.len(),
        if d.new_direct.len() == 1 {
            "dependency"
        } else {
            "dependencies"
        }
    )
}

/// Text for a terminal.
pub fn render_text(d: &DepsDiff) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "dependencies {} → {}: {}", d.base, d.head, headline(d));
    for n in &d.new_direct {
        let _ = writeln!(
            out,
            "  new direct dependency {} {}: pulls in {} new {}; compile cost {}",
            n.name,
            n.version,
            n.pulls_in.len(),
            if n.pulls_in.len() == 1 {
                "crate"
            } else {
                "crates"
            },
            cost(n.cost)
        );
        if !n.pulls_in.is_empty() {
            let _ = writeln!(out, "    {}", ids(&n.pulls_in));
        }
    }
    if !d.added.is_empty() {
        let _ = writeln!(
            out,
            "added ({} of compile): {}",
            cost(d.added_cost),
            ids(&d.added)
        );
    }
    if !d.removed.is_empty() {
        let _ = writeln!(out, "removed: {}", ids(&d.removed));
    }
    for u in &d.upgraded {
        let _ = writeln!(out, "upgraded: {} {} → {}", u.name, u.from, u.to);
    }
    for c in &d.source_changed {
        let _ = writeln!(
            out,
            "source changed: {} {} ({})",
            c.name,
            c.version,
            moved(c)
        );
    }
    out
}

/// Packages as Markdown list items.
fn code_ids(v: &[PackageId]) -> Vec<String> {
    v.iter()
        .map(|p| format!("`{} {}`", p.name, p.version))
        .collect()
}

/// Markdown for a PR comment.
pub fn render_markdown(d: &DepsDiff) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### Dependency changes\n");
    let _ = writeln!(
        out,
        "`{}` → `{}`: {}.\n",
        d.base.replace('`', "'"),
        d.head.replace('`', "'"),
        headline(d)
    );
    if !d.new_direct.is_empty() {
        let _ = writeln!(
            out,
            "| new direct dependency | new crates pulled in | compile cost |"
        );
        let _ = writeln!(out, "| --- | ---: | ---: |");
        for n in &d.new_direct {
            let _ = writeln!(
                out,
                "| `{} {}` | {} | {} |",
                n.name,
                n.version,
                n.pulls_in.len(),
                cost(n.cost)
            );
        }
        let _ = writeln!(out);
    }
    let list = |out: &mut String, title: &str, items: Vec<String>| {
        if items.is_empty() {
            return;
        }
        let _ = writeln!(
            out,
            "<details><summary>{title} ({})</summary>\n",
            items.len()
        );
        for i in items {
            let _ = writeln!(out, "- {i}");
        }
        let _ = writeln!(out, "\n</details>\n");
    };
    list(&mut out, "Added", code_ids(&d.added));
    list(&mut out, "Removed", code_ids(&d.removed));
    list(
        &mut out,
        "Upgraded",
        d.upgraded
            .iter()
            .map(|u| format!("`{}` {} → {}", u.name, u.from, u.to))
            .collect(),
    );
    list(
        &mut out,
        "Source changed",
        d.source_changed
            .iter()
            .map(|c| format!("`{} {}` {}", c.name, c.version, moved(c)))
            .collect(),
    );
    if d.new_direct.iter().any(|n| n.cost.estimated) {
        let _ = writeln!(
            out,
            "Costs marked `~est` are estimates (from the size of the crate's sources, or a flat cost when they are not on this machine); the others were measured in earlier kiln builds.\n"
        );
    }
    out
}

/// JSON, pretty-printed.
pub fn render_json(d: &DepsDiff) -> String {
    let mut s = serde_json::to_string_pretty(d).unwrap_or_default();
    s.push('\n');
    s
}
