//! Dependency weight: `heavy-dependency`, `duplicate-versions`,
//! `aws-default-features`.
//!
//! Uses the resolved graph from `cargo metadata` (normal and build edges).

use std::collections::BTreeMap;

use super::Context;
use crate::finding::{Finding, Location, Rule, Severity};
use crate::workspace::{DepKind, Workspace};

/// A direct dependency that brings in at least this many crates is heavy.
const HEAVY_MIN: usize = 40;
/// At most this many heavy dependencies are reported, heaviest first.
const HEAVY_MAX: usize = 5;

pub(super) fn check(ctx: &Context, out: &mut Vec<Finding>) {
    for heavy in heavy(&ctx.ws, HEAVY_MIN, HEAVY_MAX) {
        let member = &ctx.ws.members[heavy.members[0]];
        let users: Vec<String> = heavy
            .members
            .iter()
            .map(|&m| format!("`{}`", ctx.ws.members[m].name))
            .collect();
        let dep = &ctx.ws.packages[heavy.pkg].name;
        let key = member.deps.iter().find(|d| d.name == *dep);
        let line = key.and_then(|d| ctx.dep_line(member, &d.key, d.kind));
        out.push(
            Finding::new(
                Rule::HeavyDependency,
                Severity::Info,
                format!(
                    "`{dep}` (used by {}) pulls in {} crates, {}% of the {} third-party crates",
                    users.join(", "),
                    heavy.size,
                    heavy.size * 100 / heavy.total.max(1),
                    heavy.total
                ),
            )
            .at(ctx.rel(&member.manifest), line)
            .why(
                "every crate in that tree compiles on a cold cache and is fetched from the cache \
                 on a warm one; a new heavy dependency is the usual reason CI times creep up",
            )
            .fix(format!(
                "see what it brings in with `cargo tree -e features -i {dep}`; turn off default \
                 features you do not use (`default-features = false, features = [...]`) or use a \
                 lighter crate"
            )),
        );
    }
    duplicates(ctx, out);
    aws(ctx, out);
}

pub(crate) struct Heavy {
    pub pkg: usize,
    /// Indexes into `Workspace::members` that depend on it directly.
    pub members: Vec<usize>,
    pub size: usize,
    /// Third-party crates in the whole graph.
    pub total: usize,
}

/// Direct third-party dependencies of members, by how many crates they
/// bring in (themselves included), at least `min`, at most `max`.
pub(crate) fn heavy(ws: &Workspace, min: usize, max: usize) -> Vec<Heavy> {
    let mut direct: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (mi, m) in ws.members.iter().enumerate() {
        for &d in &ws.edges[m.pkg] {
            if !ws.packages[d].member {
                direct.entry(d).or_default().push(mi);
            }
        }
    }
    let total = ws.packages.iter().filter(|p| !p.member).count();
    let mut out: Vec<Heavy> = direct
        .into_iter()
        .map(|(pkg, members)| Heavy {
            pkg,
            members,
            size: ws.closure_size(pkg),
            total,
        })
        .filter(|h| h.size >= min)
        .collect();
    out.sort_by(|a, b| {
        b.size
            .cmp(&a.size)
            .then(ws.packages[a.pkg].name.cmp(&ws.packages[b.pkg].name))
    });
    out.truncate(max);
    out
}

fn duplicates(ctx: &Context, out: &mut Vec<Finding>) {
    let mut versions: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for p in ctx.ws.packages.iter().filter(|p| !p.member) {
        let list = versions.entry(&p.name).or_default();
        if !list.contains(&p.version.as_str()) {
            list.push(&p.version);
        }
    }
    let lock_path = ctx.ws.root.join("Cargo.lock");
    let lock = fs_err::read_to_string(&lock_path).unwrap_or_default();
    for (name, mut list) in versions {
        if list.len() < 2 {
            continue;
        }
        list.sort_unstable();
        let needle = format!("name = \"{name}\"");
        let line = lock
            .lines()
            .position(|l| l.trim() == needle)
            .and_then(|i| u32::try_from(i + 1).ok());
        let mut finding = Finding::new(
            Rule::DuplicateVersions,
            Severity::Info,
            format!(
                "`{name}` is compiled at {} versions: {}",
                list.len(),
                list.join(", ")
            ),
        )
        .why("each version is a separate crate to compile and cache on every cold run")
        .fix(format!(
            "`cargo tree -i {name}@{}` shows who needs the old version; update it \
             (`cargo update -p <dependent>`) or align the version requirements",
            list[0]
        ));
        if line.is_some() {
            finding.location = Some(Location::new(ctx.rel(&lock_path), line));
        }
        out.push(finding);
    }
}

fn aws(ctx: &Context, out: &mut Vec<Finding>) {
    for m in &ctx.ws.members {
        for d in &m.deps {
            let aws = d.name.starts_with("aws-sdk-") || d.name == "aws-config";
            if !aws || !d.default_features || d.kind == DepKind::Dev {
                continue;
            }
            out.push(
                Finding::new(
                    Rule::AwsDefaultFeatures,
                    Severity::Warning,
                    format!("`{}` uses `{}` with its default features", m.name, d.name),
                )
                .at(ctx.rel(&m.manifest), ctx.dep_line(m, &d.key, d.kind))
                .why(
                    "AWS SDK crates generate large amounts of code, and their default features \
                     add an HTTP client, a TLS stack and runtime pieces you may already have or \
                     not need: dozens of extra crates on every cold build",
                )
                .fix(format!(
                    "turn the defaults off and enable only what you use, for example:\n\n{} = {{ \
                     version = \"1\", default-features = false, features = [\"rt-tokio\", \
                     \"rustls\"] }}\n\n(check the crate's feature list; `behavior-version-latest` \
                     is often needed for `aws-config`)",
                    d.key
                )),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::heavy;
    use crate::workspace::synthetic::graph;

    #[test]
    fn ranks_direct_dependencies_by_closure() {
        let outside = ["big", "b1", "b2", "b3", "small", "shared"];
        let ws = graph(
            &["app", "lib"],
            &outside,
            &[
                ("app", "big"),
                ("app", "lib"),
                ("lib", "small"),
                ("big", "b1"),
                ("big", "b2"),
                ("b2", "b3"),
                ("b3", "shared"),
                ("small", "shared"),
            ],
        );
        let ranked = heavy(&ws, 1, 5);
        let names: Vec<(&str, usize)> = ranked
            .iter()
            .map(|h| (ws.packages[h.pkg].name.as_str(), h.size))
            .collect();
        assert_eq!(names, [("big", 5), ("small", 2)]);
        assert_eq!(ranked[0].total, 6);
        assert_eq!(heavy(&ws, 3, 5).len(), 1);
        assert_eq!(heavy(&ws, 1, 1).len(), 1);
    }
}
