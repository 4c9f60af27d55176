//! `per-commit-value`: crates that bake a per-commit value (git SHA, build
//! time) into their build, and how much of the workspace rebuilds because
//! of it.
//!
//! Looks at build scripts, `env!`/`option_env!` reads in sources and
//! dependencies on crates such as `vergen`. The blast radius comes from the
//! resolved graph; compile times from [`UnitCosts`] when given.

use std::path::{Path, PathBuf};

use super::Context;
use crate::UnitCosts;
use crate::files;
use crate::finding::{Finding, Location, Rule, Severity};
use crate::workspace::{DepKind, Member};

/// Crates whose job is to embed VCS or build-time values.
const STAMP_CRATES: &[&str] = &[
    "vergen",
    "vergen-gitcl",
    "vergen-git2",
    "vergen-gix",
    "built",
    "shadow-rs",
    "git-version",
    "build-data",
    "git-testament",
];

/// A crate whose sources stay under this many lines is small enough to be
/// the leaf that holds build info.
const LEAF_MAX_LINES: usize = 200;

/// Where a per-commit value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Source {
    BuildScript,
    Code,
    Dependency,
}

struct Evidence {
    location: Location,
    source: Source,
    what: String,
}

/// "build script runs `git`, sets `GIT_SHA`; code reads `GIT_SHA`".
fn summarize(evidence: &[Evidence]) -> String {
    let mut parts = Vec::new();
    for (source, label) in [
        (Source::BuildScript, "build script "),
        (Source::Code, "code "),
        (Source::Dependency, ""),
    ] {
        let mut whats: Vec<&str> = Vec::new();
        for e in evidence.iter().filter(|e| e.source == source) {
            if !whats.contains(&e.what.as_str()) {
                whats.push(&e.what);
            }
        }
        if !whats.is_empty() {
            parts.push(format!("{label}{}", whats.join(", ")));
        }
    }
    parts.join("; ")
}

pub(super) fn check(ctx: &Context, costs: Option<&UnitCosts>, out: &mut Vec<Finding>) {
    for member in &ctx.ws.members {
        let evidence = evidence(ctx, member);
        let Some(first) = evidence.first() else {
            continue;
        };
        let dependents = ctx.ws.dependents(member.pkg);
        if dependents.is_empty() {
            continue;
        }
        let shared = dependents
            .iter()
            .any(|d| !ctx.ws.dependents(d.pkg).is_empty());
        if !shared && source_lines(member) <= LEAF_MAX_LINES {
            continue;
        }
        let bins: Vec<&str> = std::iter::once(member)
            .chain(dependents.iter().copied())
            .flat_map(|m| m.bins.iter().map(String::as_str))
            .collect();
        let names: Vec<String> = dependents.iter().map(|d| format!("`{}`", d.name)).collect();
        let n = dependents.len();
        let message = format!(
            "`{}` bakes a per-commit value into its build ({}); {n} workspace crate{} and {} binar{} depend on it",
            member.name,
            summarize(&evidence),
            if n == 1 { "" } else { "s" },
            bins.len(),
            if bins.len() == 1 { "y" } else { "ies" },
        );
        let mut why = format!(
            "the value changes on every commit, so `{}` and everything that depends on it ({}) \
             miss the cache and recompile on every run",
            member.name,
            list(&names, 6)
        );
        if let Some(ms) = costs.and_then(|c| {
            c.total(
                std::iter::once(member)
                    .chain(dependents.iter().copied())
                    .map(|m| m.name.as_str()),
            )
        }) {
            #[allow(clippy::cast_precision_loss)]
            let secs = ms as f64 / 1000.0;
            why.push_str(&format!("; this costs ~{secs:.1}s of compile per run"));
        }
        let severity = if n >= 2 {
            Severity::Error
        } else {
            Severity::Warning
        };
        let mut finding = Finding::new(Rule::PerCommitValue, severity, message)
            .at(first.location.file.clone(), first.location.line)
            .why(why)
            .fix(fix_text(&member.name, &bins));
        for e in evidence.iter().skip(1) {
            if e.location != first.location {
                finding = finding.related(e.location.clone());
            }
        }
        out.push(finding);
    }
}

fn list(names: &[String], max: usize) -> String {
    if names.len() <= max {
        return names.join(", ");
    }
    format!("{} and {} more", names[..max].join(", "), names.len() - max)
}

fn fix_text(name: &str, bins: &[&str]) -> String {
    let users = if bins.is_empty() {
        "the binaries".to_owned()
    } else {
        bins.iter()
            .map(|b| format!("`{b}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "move the value into a tiny leaf crate that only the binaries depend on, so only it and \
         the binaries rebuild per commit:\n\n\
         # crates/build-info/Cargo.toml\n[package]\nname = \"build-info\"\nversion = \"0.1.0\"\n\
         edition = \"2024\"\n\n\
         // crates/build-info/build.rs: the git or timestamp code from `{name}`, ending in\n\
         println!(\"cargo:rustc-env=GIT_SHA={{sha}}\");\n\n\
         // crates/build-info/src/lib.rs\npub const GIT_SHA: &str = env!(\"GIT_SHA\");\n\n\
         then remove it from `{name}` and depend on `build-info` from {users} only"
    )
}

fn evidence(ctx: &Context, member: &Member) -> Vec<Evidence> {
    let mut out = Vec::new();
    if let Some(script) = &member.build_script {
        scan_build_script(ctx, script, &mut out);
    }
    for file in files::rust_files(&member.dir.join("src")) {
        if Some(&file) == member.build_script.as_ref() {
            continue;
        }
        scan_source(ctx, &file, &mut out);
    }
    for dep in &member.deps {
        if dep.kind != DepKind::Dev && STAMP_CRATES.contains(&dep.name.as_str()) {
            out.push(Evidence {
                location: Location::new(
                    ctx.rel(&member.manifest),
                    ctx.dep_line(member, &dep.key, dep.kind),
                ),
                source: Source::Dependency,
                what: format!("depends on `{}`", dep.name),
            });
        }
    }
    out
}

fn code_lines(path: &Path) -> Vec<(u32, String)> {
    let text = fs_err::read_to_string(path).unwrap_or_default();
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim_start().starts_with("//"))
        .map(|(i, l)| (u32::try_from(i + 1).unwrap_or(u32::MAX), l.to_owned()))
        .collect()
}

fn scan_build_script(ctx: &Context, path: &Path, out: &mut Vec<Evidence>) {
    let rel: PathBuf = ctx.rel(path);
    for (line, text) in code_lines(path) {
        let compact: String = text.split_whitespace().collect();
        let mut hit = |what: String| {
            out.push(Evidence {
                location: Location::new(rel.clone(), Some(line)),
                source: Source::BuildScript,
                what,
            });
        };
        if compact.contains("Command::new(\"git\")") || compact.contains("\"rev-parse\"") {
            hit("runs `git`".to_owned());
        } else if compact.contains("rerun-if-changed") && compact.contains(".git") {
            hit("reruns when `.git` changes".to_owned());
        } else if compact.contains(".git/HEAD")
            || compact.contains(".git/refs")
            || compact.contains("\".git\"")
        {
            hit("reads `.git`".to_owned());
        } else if let Some(var) = rustc_env_var(&compact).filter(|v| vcs_like(v)) {
            hit(format!("sets `{var}`"));
        } else if [
            "SystemTime::now",
            "Utc::now",
            "Local::now",
            "OffsetDateTime::now",
        ]
        .iter()
        .any(|p| compact.contains(p))
        {
            hit("stamps the build time".to_owned());
        } else if let Some(c) = ["vergen", "shadow_rs", "built::"]
            .iter()
            .find(|c| compact.contains(*c))
        {
            hit(format!("runs `{}`", c.trim_end_matches(':')));
        }
    }
}

fn scan_source(ctx: &Context, path: &Path, out: &mut Vec<Evidence>) {
    for (line, text) in code_lines(path) {
        for name in env_reads(&text) {
            if vcs_like(&name) {
                out.push(Evidence {
                    location: Location::new(ctx.rel(path), Some(line)),
                    source: Source::Code,
                    what: format!("reads `{name}` at compile time"),
                });
            }
        }
    }
}

/// The variable a `cargo:rustc-env=NAME=...` line sets.
fn rustc_env_var(compact: &str) -> Option<String> {
    let rest = compact.split("rustc-env=").nth(1)?;
    let name: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// Names read with `env!("...")` or `option_env!("...")` on a line (not
/// inside a string literal).
fn env_reads(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    for marker in ["env!(\"", "env!( \""] {
        let mut from = 0;
        while let Some(pos) = line[from..].find(marker) {
            let at = from + pos;
            from = at + marker.len();
            if inside_string(&line[..at]) {
                continue;
            }
            let name: String = line[from..].chars().take_while(|c| *c != '"').collect();
            out.push(name);
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Whether a line prefix ends inside a string literal (plain strings with
/// escapes, and raw strings `r"…"`, `r#"…"#`).
fn inside_string(prefix: &str) -> bool {
    let b = prefix.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'r' if b.get(i + 1).is_some_and(|c| *c == b'"' || *c == b'#') => {
                let hashes = b[i + 1..].iter().take_while(|c| **c == b'#').count();
                if b.get(i + 1 + hashes) != Some(&b'"') {
                    i += 1;
                    continue;
                }
                let close: Vec<u8> = std::iter::once(b'"')
                    .chain(std::iter::repeat_n(b'#', hashes))
                    .collect();
                let body = i + 2 + hashes;
                match b[body.min(b.len())..]
                    .windows(close.len())
                    .position(|w| w == close.as_slice())
                {
                    Some(end) => i = body + end + close.len(),
                    None => return true,
                }
            }
            b'"' => {
                i += 1;
                loop {
                    match b.get(i) {
                        None => return true,
                        Some(b'\\') => i += 2,
                        Some(b'"') => break,
                        Some(_) => i += 1,
                    }
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    false
}

/// Names that carry a commit, a VCS state or a build time.
pub(crate) fn vcs_like(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    if n.starts_with("CARGO_") {
        return false;
    }
    n.starts_with("GIT_")
        || n.starts_with("VERGEN_")
        || n.starts_with("SHADOW_")
        || n.contains("COMMIT")
        || n.ends_with("_SHA")
        || n.ends_with("_HASH")
        || n.contains("SHA1")
        || n.contains("TIMESTAMP")
        || n.starts_with("BUILD_TIME")
        || n.starts_with("BUILD_DATE")
        || n == "SOURCE_DATE_EPOCH"
        || matches!(
            n.as_str(),
            "GITHUB_SHA"
                | "GITHUB_REF"
                | "GITHUB_RUN_ID"
                | "GITHUB_RUN_NUMBER"
                | "CI_PIPELINE_ID"
                | "BUILD_NUMBER"
        )
}

fn source_lines(member: &Member) -> usize {
    files::rust_files(&member.dir.join("src"))
        .iter()
        .map(|f| {
            fs_err::read_to_string(f)
                .map(|t| t.lines().count())
                .unwrap_or(0)
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vcs_names() {
        for n in [
            "GIT_SHA",
            "GIT_HASH",
            "GITHUB_SHA",
            "VERGEN_GIT_SHA",
            "BUILD_TIMESTAMP",
            "COMMIT_ID",
            "CI_COMMIT_SHA",
        ] {
            assert!(vcs_like(n), "{n}");
        }
        for n in ["CARGO_PKG_VERSION", "OUT_DIR", "HOME", "PROFILE"] {
            assert!(!vcs_like(n), "{n}");
        }
    }

    #[test]
    fn env_macro_names() {
        assert_eq!(
            env_reads(r#"let a = (env!("GIT_SHA"), option_env!("X"));"#),
            ["GIT_SHA", "X"]
        );
        assert_eq!(
            rustc_env_var(r#"println!("cargo:rustc-env=GIT_SHA={}",sha);"#).as_deref(),
            Some("GIT_SHA")
        );
        assert!(
            env_reads(r#"let s = "env!(\"GIT_SHA\")";"#).is_empty(),
            "inside a string"
        );
        assert!(
            env_reads(r##"let s = r#"env!("GIT_SHA")"#;"##).is_empty(),
            "inside a raw string"
        );
    }
}
