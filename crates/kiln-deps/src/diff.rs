//! What changed between two lockfiles, and what the new direct dependencies
//! bring with them.
//!
//! Packages are identified by name, version and source, and compared by
//! name: the same version from another source (crates.io for a git fork,
//! or back) is a changed source; of what is left, a package only in HEAD
//! is added, only in BASE removed, and a name with one package on each
//! side upgraded (or downgraded). A new direct dependency is a package that
//! a workspace package depends on in HEAD but not in BASE; what it pulls in
//! is the part of its transitive closure in HEAD that BASE did not have.
//! Costs come from a [`CostModel`].

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::estimate::{Cost, CostModel};
use crate::lockfile::{Lockfile, Package, PackageKey, shown_version};

/// Version of the JSON output.
pub const DIFF_VERSION: u32 = 1;

/// A package by name and [shown version](crate::lockfile::shown_version).
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

/// A package at the same version from another source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceChange {
    pub name: String,
    pub version: String,
    /// The source in BASE: `registry+…`, `git+…`; `None` for a path.
    pub from: Option<String>,
    /// The source in HEAD.
    pub to: Option<String>,
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
    pub source_changed: Vec<SourceChange>,
    pub new_direct: Vec<NewDirect>,
    /// Compile cost of the added packages (upgrades not included).
    pub added_cost: Cost,
}

/// The version and source of a package.
type Locked<'a> = (&'a str, Option<&'a str>);

/// The versions and sources each package name is locked at.
fn by_name(l: &Lockfile) -> BTreeMap<&str, BTreeSet<Locked<'_>>> {
    let mut m: BTreeMap<&str, BTreeSet<Locked<'_>>> = BTreeMap::new();
    for p in l.packages() {
        m.entry(p.name.as_str())
            .or_default()
            .insert((p.version.as_str(), p.source.as_deref()));
    }
    m
}

/// The one of `locked` at `version`, when there is exactly one.
fn only_at<'a>(locked: &[Locked<'a>], version: &str) -> Option<Locked<'a>> {
    let mut at = locked.iter().filter(|(v, _)| *v == version);
    at.next().copied().filter(|_| at.next().is_none())
}

/// How the packages of each name changed.
#[derive(Default)]
struct NameChanges<'a> {
    added: Vec<PackageKey<'a>>,
    removed: Vec<PackageKey<'a>>,
    upgraded: Vec<VersionChange>,
    source_changed: Vec<SourceChange>,
}

impl<'a> NameChanges<'a> {
    /// Sorts in what changed for `name`, locked at `before` in BASE and
    /// `now` in HEAD.
    fn add(&mut self, name: &'a str, before: &BTreeSet<Locked<'a>>, now: &BTreeSet<Locked<'a>>) {
        let mut gone: Vec<Locked<'a>> = before.difference(now).copied().collect();
        let mut new: Vec<Locked<'a>> = now.difference(before).copied().collect();
        // A version that left one source and appeared in one other.
        let moved: Vec<(Locked<'a>, Locked<'a>)> = gone
            .iter()
            .filter_map(|&(version, _)| Some((only_at(&gone, version)?, only_at(&new, version)?)))
            .collect();
        for (old, moved_to) in moved {
            gone.retain(|&l| l != old);
            new.retain(|&l| l != moved_to);
            self.source_changed.push(SourceChange {
                name: name.to_owned(),
                version: old.0.to_owned(),
                from: old.1.map(str::to_owned),
                to: moved_to.1.map(str::to_owned),
            });
        }
        let key = |(version, source): Locked<'a>| PackageKey {
            name,
            version,
            source,
        };
        match (gone.as_slice(), new.as_slice()) {
            ([from], [to]) if before.len() == 1 && now.len() == 1 => {
                self.upgraded.push(VersionChange {
                    name: name.to_owned(),
                    from: shown_version(from.0, from.1),
                    to: shown_version(to.0, to.1),
                });
            }
            _ => {
                self.removed.extend(gone.into_iter().map(key));
                self.added.extend(new.into_iter().map(key));
            }
        }
    }
}

/// What each package name changed in from `base` to `head`.
fn name_changes<'a>(base: &'a Lockfile, head: &'a Lockfile) -> NameChanges<'a> {
    let (bv, hv) = (by_name(base), by_name(head));
    let names: BTreeSet<&str> = bv.keys().chain(hv.keys()).copied().collect();
    let empty = BTreeSet::new();
    let mut changes = NameChanges::default();
    for name in names {
        changes.add(
            name,
            bv.get(name).unwrap_or(&empty),
            hv.get(name).unwrap_or(&empty),
        );
    }
    changes
}

/// A package as the diff lists it.
fn id(name: &str, version: &str, source: Option<&str>) -> PackageId {
    PackageId {
        name: name.to_owned(),
        version: shown_version(version, source),
    }
}

/// The direct dependencies of `head` that `base` had not, with what they
/// pull in that `base` had not either.
fn new_direct(base: &Lockfile, head: &Lockfile, costs: &CostModel) -> Vec<NewDirect> {
    let base_keys = base.keys();
    let is_new = |p: &Package| !base_keys.contains(&p.key());
    let base_direct: BTreeSet<&str> = base
        .direct()
        .into_iter()
        .map(|i| base.packages()[i].name.as_str())
        .collect();
    let mut out = Vec::new();
    for i in head.direct() {
        let p = &head.packages()[i];
        if base_direct.contains(p.name.as_str()) {
            continue;
        }
        let pulls_in: Vec<&Package> = head
            .closure(i)
            .into_iter()
            .map(|j| &head.packages()[j])
            .filter(|q| is_new(q) && costs.is_built(&q.name, &q.version))
            .collect();
        let own = if is_new(p) {
            costs.cost(&p.name, &p.version)
        } else {
            Cost::default()
        };
        out.push(NewDirect {
            name: p.name.clone(),
            version: p.shown_version(),
            pulls_in: pulls_in
                .iter()
                .map(|q| id(&q.name, &q.version, q.source.as_deref()))
                .collect(),
            cost: pulls_in
                .iter()
                .fold(own, |c, q| c.plus(costs.cost(&q.name, &q.version))),
        });
    }
    out.sort_by(|a, b| b.cost.ms.cmp(&a.cost.ms).then_with(|| a.name.cmp(&b.name)));
    out
}

/// Packages as the diff lists them, sorted.
fn listed(keys: &[PackageKey<'_>]) -> Vec<PackageId> {
    let mut ids: Vec<PackageId> = keys
        .iter()
        .map(|k| id(k.name, k.version, k.source))
        .collect();
    ids.sort();
    ids
}

/// Compares `base` with `head`.
pub fn diff(
    base_label: &str,
    base: &Lockfile,
    head_label: &str,
    head: &Lockfile,
    costs: &CostModel,
) -> DepsDiff {
    let changes = name_changes(base, head);
    let added_cost = changes.added.iter().fold(Cost::default(), |c, k| {
        c.plus(costs.cost(k.name, k.version))
    });
    DepsDiff {
        version: DIFF_VERSION,
        base: base_label.to_owned(),
        head: head_label.to_owned(),
        added: listed(&changes.added),
        removed: listed(&changes.removed),
        upgraded: changes.upgraded,
        source_changed: changes.source_changed,
        new_direct: new_direct(base, head, costs),
        added_cost,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{render_markdown, render_text};

    const CRATES_IO: &str = "registry+https://github.com/rust-lang/crates.io-index";
    const FORK: &str = "git+https://github.com/x/serde#abc";

    /// A workspace using `serde` 1.0.200 from `source`, at `itoa` `itoa`.
    fn lock(source: &str, itoa: &str) -> Lockfile {
        Lockfile::parse(&format!(
            r#"
version = 4

[[package]]
name = "app"
version = "0.1.0"
dependencies = ["itoa", "serde"]

[[package]]
name = "itoa"
version = "{itoa}"
source = "{CRATES_IO}"

[[package]]
name = "serde"
version = "1.0.200"
source = "{source}"
"#
        ))
        .unwrap()
    }

    fn compare(base: &Lockfile, head: &Lockfile) -> DepsDiff {
        diff("base", base, "head", head, &CostModel::default())
    }

    #[test]
    fn a_git_fork_at_the_same_version_is_a_changed_source() {
        let d = compare(&lock(CRATES_IO, "1.0.11"), &lock(FORK, "1.0.11"));
        assert_eq!(
            d.source_changed,
            [SourceChange {
                name: "serde".into(),
                version: "1.0.200".into(),
                from: Some(CRATES_IO.into()),
                to: Some(FORK.into()),
            }]
        );
        assert!(d.added.is_empty() && d.removed.is_empty(), "{d:?}");
        assert!(d.upgraded.is_empty() && d.new_direct.is_empty(), "{d:?}");
        assert_eq!(
            render_text(&d),
            "dependencies base → head: 0 added, 0 removed, 0 upgraded, 1 from another source; 0 new direct dependencies\n\
             source changed: serde 1.0.200 (crates.io → git+https://github.com/x/serde#abc)\n"
        );
        assert!(
            render_markdown(&d)
                .contains("- `serde 1.0.200` crates.io → git+https://github.com/x/serde#abc\n"),
            "{}",
            render_markdown(&d)
        );
        let back = compare(&lock(FORK, "1.0.11"), &lock(CRATES_IO, "1.0.11"));
        assert_eq!(
            back.source_changed[0].to.as_deref(),
            Some(CRATES_IO),
            "{back:?}"
        );
    }

    #[test]
    fn lockfiles_without_source_changes_report_none() {
        let d = compare(&lock(CRATES_IO, "1.0.11"), &lock(CRATES_IO, "1.0.12"));
        assert!(d.source_changed.is_empty(), "{d:?}");
        assert_eq!(d.upgraded.len(), 1, "{d:?}");
        assert!(!render_text(&d).contains("source"), "{}", render_text(&d));
        assert!(!render_markdown(&d).contains("Source"));
        let same = compare(&lock(FORK, "1.0.11"), &lock(FORK, "1.0.11"));
        assert_eq!(
            (same.added, same.removed, same.upgraded, same.source_changed),
            (vec![], vec![], vec![], vec![])
        );
    }

    #[test]
    fn a_fork_beside_the_crates_io_package_is_added() {
        let both = Lockfile::parse(&format!(
            r#"
[[package]]
name = "app"
version = "0.1.0"
dependencies = ["serde 1.0.200 ({CRATES_IO})", "serde 1.0.200 ({FORK})"]

[[package]]
name = "serde"
version = "1.0.200"
source = "{CRATES_IO}"

[[package]]
name = "serde"
version = "1.0.200"
source = "{FORK}"
"#
        ))
        .unwrap();
        let d = compare(&lock(CRATES_IO, "1.0.11"), &both);
        assert!(d.source_changed.is_empty(), "{d:?}");
        let added: Vec<String> = d
            .added
            .iter()
            .map(|p| format!("{} {}", p.name, p.version))
            .collect();
        assert_eq!(added, [format!("serde 1.0.200 ({FORK})")]);
        assert_eq!(d.removed.len(), 1, "itoa: {d:?}");
    }

    #[test]
    fn a_version_change_into_a_fork_is_an_upgrade_naming_the_fork() {
        let fork = lock(CRATES_IO, "1.0.11")
            .packages()
            .iter()
            .map(|p| match p.name.as_str() {
                "serde" => Package {
                    version: "1.0.201".into(),
                    source: Some(FORK.into()),
                    ..p.clone()
                },
                _ => p.clone(),
            })
            .collect();
        let d = compare(&lock(CRATES_IO, "1.0.11"), &Lockfile::new(fork));
        assert!(d.source_changed.is_empty(), "{d:?}");
        assert_eq!(
            d.upgraded,
            [VersionChange {
                name: "serde".into(),
                from: "1.0.200".into(),
                to: format!("1.0.201 ({FORK})"),
            }]
        );
    }
}
