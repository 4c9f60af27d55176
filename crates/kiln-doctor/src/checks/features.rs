//! `feature-split`: workspace members enabling different features of the
//! same dependency, so it compiles once per feature set across `-p` builds.

use std::collections::BTreeMap;

use super::Context;
use crate::finding::{Finding, Location, Rule, Severity};
use crate::workspace::DepKind;

/// One member's view of a dependency: which member, its manifest key, and
/// the feature set it asks for.
struct Use {
    member: usize,
    key: String,
    set: String,
}

pub(super) fn check(ctx: &Context, out: &mut Vec<Finding>) {
    let mut by_dep: BTreeMap<&str, Vec<Use>> = BTreeMap::new();
    for (mi, m) in ctx.ws.members.iter().enumerate() {
        for d in m.deps.iter().filter(|d| d.kind == DepKind::Normal) {
            let mut features = d.features.clone();
            if d.default_features {
                features.push("default".to_owned());
            }
            features.sort();
            features.dedup();
            let set = if features.is_empty() {
                "no features".to_owned()
            } else {
                features.join(", ")
            };
            let uses = by_dep.entry(&d.name).or_default();
            if !uses.iter().any(|u| u.member == mi) {
                uses.push(Use {
                    member: mi,
                    key: d.key.clone(),
                    set,
                });
            }
        }
    }
    let per_package_builds =
        ctx.calls.is_empty() || ctx.calls.iter().any(|c| c.compiles() && c.selects_some());
    for (dep, uses) in by_dep {
        let mut sets: Vec<&str> = uses.iter().map(|u| u.set.as_str()).collect();
        sets.sort_unstable();
        sets.dedup();
        if sets.len() < 2 {
            continue;
        }
        let desc: Vec<String> = uses
            .iter()
            .map(|u| format!("`{}` ({})", ctx.ws.members[u.member].name, u.set))
            .collect();
        let mut union: Vec<String> = sets
            .iter()
            .flat_map(|s| s.split(", "))
            .filter(|f| *f != "default" && *f != "no features")
            .map(|f| format!("\"{f}\""))
            .collect();
        union.sort();
        union.dedup();
        let first = &uses[0];
        let member = &ctx.ws.members[first.member];
        let severity = if per_package_builds {
            Severity::Warning
        } else {
            Severity::Info
        };
        let mut finding = Finding::new(
            Rule::FeatureSplit,
            severity,
            format!("`{dep}` is enabled with {} feature sets: {}", sets.len(), desc.join(", ")),
        )
        .at(ctx.rel(&member.manifest), ctx.dep_line(member, &first.key, DepKind::Normal))
        .why(format!(
            "cargo unifies features only within one call: `cargo build -p {}` and `cargo build -p {}` \
             compile `{dep}` (and everything depending on it) once per feature set, each a \
             separate cache entry",
            member.name,
            ctx.ws.members[uses[1].member].name
        ))
        .fix(format!(
            "ask for the same features everywhere: declare it once in the root `Cargo.toml`\n\n\
             [workspace.dependencies]\n{dep} = {{ ..., features = [{}] }}\n\n\
             and use `{dep} = {{ workspace = true }}` in each member; or build the whole \
             workspace in one call (`--workspace`), or let `cargo hakari` maintain a \
             workspace-hack crate",
            union.join(", ")
        ));
        for u in &uses[1..] {
            let m = &ctx.ws.members[u.member];
            finding = finding.related(Location::new(
                ctx.rel(&m.manifest),
                ctx.dep_line(m, &u.key, DepKind::Normal),
            ));
        }
        out.push(finding);
    }
}
