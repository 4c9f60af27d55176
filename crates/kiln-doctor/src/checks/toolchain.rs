//! `toolchain-missing`, `toolchain-unpinned`: is the compiler version fixed?
//!
//! Reads `rust-toolchain.toml` / `rust-toolchain` from the workspace root up
//! to the report root, and `cargo +channel` overrides in CI.

use std::path::Path;

use super::Context;
use crate::files::{self, TomlFile};
use crate::finding::{Finding, Rule, Severity};

const WHY: &str = "the compiler version is part of every cache key: when the runner's \
    `stable` moves (every six weeks, or when the image is updated), every entry misses \
    and the next runs compile everything cold";

pub(super) fn check(ctx: &Context, out: &mut Vec<Finding>) {
    let mut problems = Vec::new();
    let found = files::search_dirs(&ctx.ws.root, &ctx.root)
        .into_iter()
        .find_map(|dir| {
            ["rust-toolchain.toml", "rust-toolchain"]
                .iter()
                .map(|n| dir.join(n))
                .find(|p| p.is_file())
        });
    match found {
        None => out.push(
            Finding::new(
                Rule::ToolchainMissing,
                Severity::Warning,
                "no `rust-toolchain.toml`: CI uses whatever toolchain the runner has",
            )
            .why(WHY)
            .fix(format!(
                "add `rust-toolchain.toml` at the repository root:\n\n[toolchain]\nchannel = \"{}\"",
                current_version(&ctx.ws.root)
            )),
        ),
        Some(path) => {
            if let Some((channel, line)) = read_channel(&ctx.root, &path, &mut problems) {
                unpinned_file(ctx, &path, channel.as_deref(), line, out);
            }
        }
    }
    out.extend(problems);
    for call in &ctx.calls {
        let Some(tc) = &call.toolchain else { continue };
        if floating(tc) {
            out.push(
                Finding::new(
                    Rule::ToolchainUnpinned,
                    Severity::Warning,
                    format!("job {} runs `cargo +{tc}`, a floating toolchain", ctx.job_label(call)),
                )
                .at(&ctx.pipelines[call.pipeline].rel, Some(call.line))
                .why(WHY)
                .fix(format!(
                    "drop `+{tc}` so the pinned `rust-toolchain.toml` applies, or pin a version: `cargo +{}`",
                    current_version(&ctx.ws.root)
                )),
            );
        }
    }
}

fn unpinned_file(
    ctx: &Context,
    path: &Path,
    channel: Option<&str>,
    line: Option<u32>,
    out: &mut Vec<Finding>,
) {
    let rel = ctx.rel(path);
    let name = rel.display().to_string().replace('\\', "/");
    let message = match channel {
        Some(c) if floating(c) => format!("`{name}` uses the floating channel `{c}`"),
        Some(_) => return,
        None => format!("`{name}` sets no `channel`"),
    };
    out.push(
        Finding::new(Rule::ToolchainUnpinned, Severity::Warning, message)
            .at(rel, line)
            .why(WHY)
            .fix(format!(
                "pin an exact version (update it on purpose, in its own commit):\n\n[toolchain]\nchannel = \"{}\"",
                current_version(&ctx.ws.root)
            )),
    );
}

/// The channel and its line; `None` when the file could not be read.
fn read_channel(
    root: &Path,
    path: &Path,
    problems: &mut Vec<Finding>,
) -> Option<(Option<String>, Option<u32>)> {
    let text = files::read_text(root, path, problems)?;
    let is_toml = path.extension().is_some_and(|e| e == "toml") || text.contains("[toolchain]");
    if is_toml {
        let file = TomlFile::load(root, path, problems)?;
        let channel = file.str(&["toolchain", "channel"]).map(str::to_owned);
        let line = file
            .line_of(&["toolchain", "channel"])
            .or_else(|| file.line_of(&["toolchain"]));
        return Some((channel, line));
    }
    let (i, line) = text
        .lines()
        .enumerate()
        .find(|(_, l)| !l.trim().is_empty())?;
    Some((Some(line.trim().to_owned()), u32::try_from(i + 1).ok()))
}

/// `stable`, `beta`, `nightly`, with or without a host triple, but without
/// a date.
pub(crate) fn floating(channel: &str) -> bool {
    let mut parts = channel.split('-');
    let first = parts.next().unwrap_or_default();
    if !matches!(first, "stable" | "beta" | "nightly") {
        return false;
    }
    let dated = parts
        .next()
        .is_some_and(|p| p.len() == 4 && p.bytes().all(|b| b.is_ascii_digit()));
    !dated
}

/// The version `rustc` reports in `dir`, for fix snippets.
fn current_version(dir: &Path) -> String {
    std::process::Command::new("rustc")
        .arg("--version")
        .current_dir(dir)
        .output()
        .ok()
        .and_then(|o| {
            let text = String::from_utf8(o.stdout).ok()?;
            let v = text.split_whitespace().nth(1)?.to_owned();
            v.chars().next()?.is_ascii_digit().then_some(v)
        })
        .map_or_else(
            || "1.XX.0".to_owned(),
            |v| v.split('-').next().unwrap_or(&v).to_owned(),
        )
}

#[cfg(test)]
mod tests {
    use super::floating;

    #[test]
    fn floating_channels() {
        for c in [
            "stable",
            "beta",
            "nightly",
            "stable-x86_64-unknown-linux-gnu",
        ] {
            assert!(floating(c), "{c}");
        }
        for c in ["1.95.0", "1.95", "nightly-2025-01-02", "beta-2025-01-02"] {
            assert!(!floating(c), "{c}");
        }
    }
}
