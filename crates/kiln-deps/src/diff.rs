//! What changed between two lockfiles, and what the new direct dependencies
//! bring with them.
//!
//! Packages are compared by name: a name only in HEAD is added, only in
//! BASE removed, in both with one version each but different, upgraded (or
//! downgraded). A new direct dependency is a package that a workspace
//! package depends on in HEAD but not in BASE; what it pulls in is the part
//! of its transitive closure in HEAD that BASE did not have (by name and
//! version). Costs come from a [`CostModel`].

use std::collections::BTreeSet;

use serde::Serialize;

use crate::estimate::{Cost, CostModel};
use crate::lockfile::Lockfile;

/// Version of the JSON output.
pub const DIFF_VERSION: u32 = 1;

/// A package by name and version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PackageId {
    pub name: String,
    pub version: String,
}

/// A package whose locked version changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionChange {
    pub name: String,
    pub from: String,
    pub to: String,
}

/// A direct dependency that HEAD has and BASE had not.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewDirect {
    pub name: String,
    pub version: String,
    /// Packages it pulls in that BASE did not have (itself excluded).
    pub pulls_in: Vec<PackageId>,
    /// Compile cost of itself and what it pulls in.
    pub cost: Cost,
}

/// The whole comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DepsDiff {
    /// [`DIFF_VERSION`].
    pub version: u32,
    /// Where BASE came from (a ref or a path), for people.
    pub base: String,
    /// Where HEAD came from.
    pub head: String,
    pub added: Vec<PackageId>,
    pub removed: Vec<PackageId>,
    pub upgraded: Vec<VersionChange>,
    pub new_direct: Vec<NewDirect>,
    /// Compile cost of the added packages (upgrades not included).
    pub added_cost: Cost,
}

/// Compares `base` with `head`.
pub fn diff(
    base_label: &str,
    base: &Lockfile,
    head_label: &str,
    head: &Lockfile,
    costs: &CostModel,
) -> DepsDiff {
    let (bv, hv) = (base.versions(), head.versions());
    let mut added = Vec::new();
    let mut removed = Vec::new();
    let mut upgraded = Vec::new();
    let names: BTreeSet<&str> = bv.keys().chain(hv.keys()).copied().collect();
    let id = |n: &str, v: &str| PackageId {
        name: n.to_owned(),
        version: v.to_owned(),
    };
    for name in names {
        let empty = BTreeSet::new();
        let (b, h) = (
            bv.get(name).unwrap_or(&empty),
            hv.get(name).unwrap_or(&empty),
        );
        if b == h {
            continue;
        }
        if b.len() == 1 && h.len() == 1 {
            upgraded.push(VersionChange {
                name: name.to_owned(),
                from: b.iter().next().cloned().unwrap_or_default(),
                to: h.iter().next().cloned().unwrap_or_default(),
            });
            continue;
        }
        added.extend(h.difference(b).map(|v| id(name, v)));
        removed.extend(b.difference(h).map(|v| id(name, v)));
    }
    let base_ids = base.ids();
    let base_direct: BTreeSet<&str> = base
        .direct()
        .into_iter()
        .map(|i| base.packages[i].name.as_str())
        .collect();
    let new_ids: BTreeSet<(String, String)> = head.ids().difference(&base_ids).cloned().collect();
    let mut new_direct = Vec::new();
    for i in head.direct() {
        let p = &head.packages[i];
        if base_direct.contains(p.name.as_str()) {
            continue;
        }
        let pulls_in: Vec<PackageId> = head
            .closure(i)
            .into_iter()
            .map(|j| &head.packages[j])
            .filter(|q| new_ids.contains(&(q.name.clone(), q.shown_version())))
            .filter(|q| costs.is_built(&q.name, &q.version))
            .map(|q| id(&q.name, &q.shown_version()))
            .collect();
        let mut cost = if new_ids.contains(&(p.name.clone(), p.shown_version())) {
            costs.cost(&p.name, &p.version)
        } else {
            Cost::default()
        };
        for q in &pulls_in {
            // Costs are looked up by the plain version records carry.
            let plain = q.version.split(" (").next().unwrap_or(&q.version);
            cost = cost.plus(costs.cost(&q.name, plain));
        }
        new_direct.push(NewDirect {
            name: p.name.clone(),
            version: p.shown_version(),
            pulls_in,
            cost,
        });
    }
    new_direct.sort_by(|a, b| b.cost.ms.cmp(&a.cost.ms).then_with(|| a.name.cmp(&b.name)));
    added.sort();
    removed.sort();
    let added_cost = added.iter().fold(Cost::default(), |c, p| {
        c.plus(costs.cost(&p.name, p.version.split(" (").next().unwrap_or(&p.version)))
    });
    DepsDiff {
        version: DIFF_VERSION,
        base: base_label.to_owned(),
        head: head_label.to_owned(),
        added,
        removed,
        upgraded,
        new_direct,
        added_cost,
    }
}
