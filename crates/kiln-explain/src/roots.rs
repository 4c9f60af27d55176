//! Root causes: which misses are consequences of a rebuilt dependency, and
//! the change each group of misses goes back to, with a hint where kiln
//! knows the fix. Does not compare builds (that is [`super::diff`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::{Change, RootCause, UnitExplanation};

/// The artifact (`crate-extra`) each `--extern name=path` points to, from
/// the file name `lib<crate>-<extra>.<ext>`.
pub(super) fn extern_artifacts(args: &[String]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let value = match a.strip_prefix("--extern=") {
            Some(v) => v,
            None if a == "--extern" => match it.next() {
                Some(v) => v.as_str(),
                None => break,
            },
            None => continue,
        };
        let Some((name, path)) = value.split_once('=') else {
            continue;
        };
        let file = path.rsplit('/').next().unwrap_or(path);
        let stem = file.rsplit_once('.').map_or(file, |(s, _)| s);
        let stem = stem.strip_prefix("lib").unwrap_or(stem);
        out.insert(name.to_owned(), stem.to_owned());
    }
    out
}

/// The hint for a root cause, when kiln knows what to do about it.
fn hint_for(
    changes: &[Change],
    consequences: &[&Change],
    misses: usize,
    roots: usize,
) -> Option<String> {
    let any = |f: fn(&Change) -> bool| changes.iter().any(f);
    // A build script that reads the commit shows as the file it read; the
    // crate it feeds shows the value it set (`GIT_SHA`).
    let per_commit =
        any(Change::looks_per_commit) || consequences.iter().any(|c| c.looks_per_commit());
    if misses > 1 && per_commit {
        return Some("move per-commit values (git SHA, build time) into a small leaf crate that only the binaries depend on; run `kiln doctor` to find them".into());
    }
    if any(|c| matches!(c, Change::Compiler { .. })) {
        return Some("pin the toolchain in `rust-toolchain.toml` so every job and developer builds with the same compiler".into());
    }
    if roots > 1
        && any(|c| {
            matches!(
                c,
                Change::CfgAdded { .. }
                    | Change::CfgRemoved { .. }
                    | Change::Codegen { .. }
                    | Change::FlagAdded { .. }
                    | Change::FlagRemoved { .. }
            )
        })
    {
        return Some("compiler flags differ from the previous build (RUSTFLAGS, profile settings): give every CI job the same flags so they share cache entries".into());
    }
    if any(|c| {
        matches!(
            c,
            Change::FeatureAdded { .. } | Change::FeatureRemoved { .. }
        )
    }) {
        return Some("features differ from the previous build: build with the same features in every CI job so they share cache entries".into());
    }
    if any(|c| matches!(c, Change::Evicted)) {
        return Some(
            "these entries were evicted: raise `KILN_CACHE_SIZE` or add a remote store".into(),
        );
    }
    None
}

/// Of `candidates` (misses in record order), the latest one recorded before
/// `i`, else the first: where a run holds several builds, a unit's cause is
/// in its own build, which came just before it.
fn nearest_before(candidates: impl Iterator<Item = usize>, i: usize) -> Option<usize> {
    let mut first = None;
    let mut before = None;
    for j in candidates {
        first.get_or_insert(j);
        if j < i {
            before = Some(j);
        }
    }
    before.or(first)
}

/// Misses indexed for following the links between them.
struct Links<'a> {
    misses: &'a [UnitExplanation],
    by_artifact: HashMap<&'a str, Vec<usize>>,
    by_crate: HashMap<&'a str, Vec<usize>>,
}

impl<'a> Links<'a> {
    fn new(misses: &'a [UnitExplanation]) -> Self {
        let mut by_artifact: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut by_crate: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, u) in misses.iter().enumerate() {
            by_artifact.entry(u.artifact.as_str()).or_default().push(i);
            by_crate.entry(u.crate_name.as_str()).or_default().push(i);
        }
        Self {
            misses,
            by_artifact,
            by_crate,
        }
    }

    /// The miss a rebuilt dependency of miss `i` leads to: by the artifact
    /// its `--extern` names; by crate name when the arguments were not
    /// recorded.
    fn dependency(&self, i: usize, name: &str) -> Option<usize> {
        let candidates = match self.misses[i].externs.get(name) {
            Some(artifact) => self.by_artifact.get(artifact.as_str())?,
            None => self.by_crate.get(name.replace('-', "_").as_str())?,
        };
        nearest_before(candidates.iter().copied().filter(|&j| j != i), i)
    }

    /// The run of the build script whose output change `c` of miss `i` is
    /// in: by the run's directory for files in `OUT_DIR`, else the
    /// package's run that missed.
    fn script_run(&self, i: usize, c: &Change) -> Option<usize> {
        let dir = c.file_path().and_then(super::out_dir_of).map(|(d, _)| d);
        let package = &self.misses[i].package;
        let runs = self.misses.iter().enumerate().filter(|(_, m)| {
            m.run_dir.is_some()
                && match dir {
                    Some(d) => m.run_dir.as_deref() == Some(d),
                    None => m.package.is_some() && m.package == *package,
                }
        });
        nearest_before(runs.map(|(j, _)| j), i)
    }

    /// The miss one of miss `i`'s changes leads to, when all of them are
    /// consequences (rebuilt dependencies, outputs of a re-run build script).
    fn next(&self, i: usize) -> Option<usize> {
        let u = &self.misses[i];
        if u.changes.is_empty() || !u.changes.iter().all(|c| follows(u, c)) {
            return None;
        }
        u.changes.iter().find_map(|c| match c {
            Change::DependencyRebuilt { name } => self.dependency(i, name).filter(|&j| j != i),
            c if from_script(u, c) => self.script_run(i, c).filter(|&j| j != i),
            _ => None,
        })
    }

    /// Follows rebuilt dependencies and re-run build scripts that also
    /// missed in this run from `start` until a unit with a change of its own
    /// (or a dependency that did not miss).
    fn root_of(&self, start: usize) -> usize {
        let mut seen = BTreeSet::new();
        let mut i = start;
        while seen.insert(i) {
            match self.next(i) {
                Some(j) => i = j,
                None => break,
            }
        }
        i
    }

    /// Every miss under its root, grouped by what the roots' own changes
    /// read: per group, its roots and its members (in record order).
    fn groups(&self) -> Vec<(BTreeSet<usize>, Vec<usize>)> {
        let mut groups: BTreeMap<Vec<String>, (BTreeSet<usize>, Vec<usize>)> = BTreeMap::new();
        for i in 0..self.misses.len() {
            let root = self.root_of(i);
            let signature = own_changes(&self.misses[root])
                .into_iter()
                .map(Change::describe)
                .collect();
            let group = groups.entry(signature).or_default();
            group.0.insert(root);
            group.1.push(i);
        }
        groups.into_values().collect()
    }
}

/// A run's own `OUT_DIR` is its own change (another target dir), not one of
/// another run's outputs.
fn own_out_dir(u: &UnitExplanation, c: &Change) -> bool {
    u.run_dir.is_some() && matches!(c, Change::EnvChanged { name, .. } if name == "OUT_DIR")
}

/// Whether `c` is something a build script run produced for `u`.
fn from_script(u: &UnitExplanation, c: &Change) -> bool {
    c.is_build_script_output() && !own_out_dir(u, c)
}

/// Whether `c` follows from another miss rather than being `u`'s own.
fn follows(u: &UnitExplanation, c: &Change) -> bool {
    c.is_dependency() || from_script(u, c)
}

/// The changes a unit stands for as a root: its own changes; only rebuilt
/// dependencies when it has nothing else (they were restored, not
/// compiled, in this run).
fn own_changes(u: &UnitExplanation) -> Vec<&Change> {
    let own: Vec<&Change> = u.changes.iter().filter(|c| !c.is_dependency()).collect();
    if own.is_empty() {
        u.changes.iter().collect()
    } else {
        own
    }
}

/// The units at `indices`, by name, sorted.
fn sorted_units(misses: &[UnitExplanation], indices: &[usize]) -> Vec<String> {
    let mut names: Vec<String> = indices.iter().map(|&i| misses[i].unit.clone()).collect();
    names.sort();
    names
}

/// The root cause of one group: told by its costliest root, with the
/// misses of all its members.
fn root_cause(misses: &[UnitExplanation], roots: BTreeSet<usize>, members: &[usize]) -> RootCause {
    let mut roots: Vec<usize> = roots.into_iter().collect();
    roots.sort_by(|&a, &b| super::costliest_first(&misses[a], &misses[b]));
    let first = &misses[roots[0]];
    let changes: Vec<Change> = own_changes(first).into_iter().cloned().collect();
    let consequences: Vec<&Change> = members.iter().flat_map(|&m| &misses[m].changes).collect();
    let hint = hint_for(&changes, &consequences, members.len(), roots.len());
    RootCause {
        unit: first.unit.clone(),
        roots: sorted_units(misses, &roots),
        changes,
        misses: members.len(),
        compile_ms: members.iter().map(|&m| misses[m].compile_ms).sum(),
        units: sorted_units(misses, members),
        hint,
    }
}

/// Groups misses under root causes, costliest first, and points each miss
/// at its cause. A miss whose changes are all rebuilt dependencies belongs
/// to the root cause of those dependencies; units whose own changes read
/// the same share one root cause.
pub(super) fn attribute(misses: &mut [UnitExplanation]) -> Vec<RootCause> {
    let mut causes: Vec<(Vec<usize>, RootCause)> = Links::new(misses)
        .groups()
        .into_iter()
        .map(|(roots, members)| {
            let cause = root_cause(misses, roots, &members);
            (members, cause)
        })
        .collect();
    causes.sort_by(|a, b| {
        b.1.compile_ms
            .cmp(&a.1.compile_ms)
            .then_with(|| b.1.misses.cmp(&a.1.misses))
            .then_with(|| a.1.unit.cmp(&b.1.unit))
    });
    for (index, (members, _)) in causes.iter().enumerate() {
        for &m in members {
            misses[m].root_cause = Some(index);
        }
    }
    causes.into_iter().map(|(_, c)| c).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn miss(
        unit: &str,
        artifact: &str,
        ms: u64,
        changes: Vec<Change>,
        externs: &[(&str, &str)],
    ) -> UnitExplanation {
        UnitExplanation {
            unit: unit.into(),
            crate_name: artifact.split('-').next().unwrap().into(),
            compile_ms: ms,
            changes,
            root_cause: None,
            artifact: artifact.into(),
            externs: externs
                .iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect(),
            package: None,
            run_dir: None,
        }
    }

    fn rebuilt(name: &str) -> Change {
        Change::DependencyRebuilt { name: name.into() }
    }

    fn sha() -> Change {
        Change::env_changed("GIT_SHA", true)
    }

    #[test]
    fn consequences_are_followed_through_the_graph_to_one_root() {
        // shared <- mid <- (api, worker); `other` is a second `shared` (host
        // build) that did not change and must not be blamed.
        let mut m = vec![
            miss("shared (lib)", "shared-aa", 400, vec![sha()], &[]),
            miss(
                "mid (lib)",
                "mid-bb",
                300,
                vec![rebuilt("shared")],
                &[("shared", "shared-aa")],
            ),
            miss(
                "api (bin)",
                "api-cc",
                200,
                vec![rebuilt("mid")],
                &[("mid", "mid-bb")],
            ),
            miss(
                "worker (bin)",
                "worker-dd",
                100,
                vec![rebuilt("mid"), rebuilt("shared")],
                &[("mid", "mid-bb"), ("shared", "shared-aa")],
            ),
        ];
        let causes = attribute(&mut m);
        assert_eq!(causes.len(), 1, "{causes:?}");
        let c = &causes[0];
        assert_eq!(
            (c.unit.as_str(), c.misses, c.compile_ms),
            ("shared (lib)", 4, 1000)
        );
        assert_eq!(
            c.changes[0].describe(),
            "env `GIT_SHA` (set by the build script) changed"
        );
        assert!(
            c.hint
                .as_deref()
                .unwrap()
                .starts_with("move per-commit values")
        );
        assert!(m.iter().all(|u| u.root_cause == Some(0)));
    }

    #[test]
    fn dependencies_are_matched_by_artifact_not_by_name() {
        // Two builds of `shared` missed: the target one changed, the host
        // one (for a proc macro) has a change of its own. `app` links the
        // target one under a renamed extern.
        let mut m = vec![
            miss(
                "shared (lib, host)",
                "shared-11",
                50,
                vec![Change::FileChanged {
                    path: "{cwd}/a.rs".into(),
                }],
                &[],
            ),
            miss("shared (lib)", "shared-22", 90, vec![sha()], &[]),
            miss(
                "app (bin)",
                "app-33",
                10,
                vec![rebuilt("common")],
                &[("common", "shared-22")],
            ),
        ];
        let causes = attribute(&mut m);
        let app = &causes[m[2].root_cause.unwrap()];
        assert_eq!(app.unit, "shared (lib)");
        assert_eq!(app.misses, 2);
    }

    #[test]
    fn one_change_in_every_unit_is_one_root_cause() {
        let flag = || Change::CfgAdded {
            cfg: "kiln_probe".into(),
        };
        let mut m = vec![
            miss("a (lib)", "a-1", 30, vec![flag()], &[]),
            miss(
                "b (lib)",
                "b-2",
                20,
                vec![flag(), rebuilt("a")],
                &[("a", "a-1")],
            ),
            miss(
                "c (bin)",
                "c-3",
                10,
                vec![flag(), rebuilt("b")],
                &[("b", "b-2")],
            ),
            miss("new (lib)", "new-4", 5, vec![Change::FirstBuild], &[]),
            miss("new2 (lib)", "new2-5", 5, vec![Change::FirstBuild], &[]),
        ];
        let causes = attribute(&mut m);
        assert_eq!(causes.len(), 2, "{causes:?}");
        assert_eq!((causes[0].misses, causes[0].roots.len()), (3, 3));
        assert_eq!(causes[0].changes, [flag()]);
        assert!(causes[0].hint.as_deref().unwrap().contains("same flags"));
        assert_eq!(
            (causes[1].misses, causes[1].changes.clone()),
            (2, vec![Change::FirstBuild])
        );
    }

    #[test]
    fn a_dependency_restored_with_new_content_groups_its_dependents() {
        // `shared` was a hit (restored from another machine's build), so
        // its dependents only say it was rebuilt.
        let mut m = vec![
            miss(
                "a (lib)",
                "a-1",
                30,
                vec![rebuilt("shared")],
                &[("shared", "shared-9")],
            ),
            miss(
                "b (lib)",
                "b-2",
                20,
                vec![rebuilt("shared")],
                &[("shared", "shared-9")],
            ),
        ];
        let causes = attribute(&mut m);
        assert_eq!(causes.len(), 1);
        assert_eq!(
            causes[0].changes[0].describe(),
            "dependency `shared` was rebuilt"
        );
    }

    #[test]
    fn build_script_outputs_lead_to_the_run_of_the_script() {
        let env = Change::env_changed;
        let mut run = miss(
            "shared (build script run)",
            "run-x",
            5,
            vec![env("MODE", false)],
            &[],
        );
        run.package = Some("shared".into());
        run.run_dir = Some("shared-1a".into());
        let mut lib = miss(
            "shared (lib)",
            "shared-2b",
            7,
            vec![
                Change::FileChanged {
                    path: "{target}/debug/build/shared-1a/out/generated.rs".into(),
                },
                env("SHARED_SHA", true),
            ],
            &[],
        );
        lib.package = Some("shared".into());
        let app = miss(
            "app (bin)",
            "app-3c",
            9,
            vec![rebuilt("shared")],
            &[("shared", "shared-2b")],
        );
        let mut misses = vec![app, lib, run];
        let causes = attribute(&mut misses);
        assert_eq!(causes.len(), 1, "{causes:#?}");
        assert_eq!(causes[0].unit, "shared (build script run)");
        assert_eq!(causes[0].misses, 3);
    }

    #[test]
    fn a_run_in_another_target_dir_is_its_own_cause_and_builds_follow_their_own_run() {
        let env = |name: &str| Change::env_changed(name, false);
        let run = |changes: Vec<Change>| {
            let mut m = miss("shared (build script run)", "run-x", 5, changes, &[]);
            m.package = Some("shared".into());
            m.run_dir = Some("shared-1a".into());
            m
        };
        let lib = || {
            let mut m = miss(
                "shared (lib)",
                "shared-2b",
                7,
                vec![Change::FileChanged {
                    path: "{target}/debug/build/shared-1a/out/generated.rs".into(),
                }],
                &[],
            );
            m.package = Some("shared".into());
            m
        };
        // One run holding two builds: the first ever, then one where the
        // script's variable changed.
        let mut misses = vec![
            run(vec![Change::FirstBuild]),
            lib(),
            run(vec![env("OUT_DIR")]),
            lib(),
        ];
        let causes = attribute(&mut misses);
        let by_change = |text: &str| {
            causes
                .iter()
                .find(|c| c.changes.iter().any(|ch| ch.describe().contains(text)))
                .unwrap_or_else(|| panic!("{causes:#?}"))
        };
        assert_eq!(by_change("first time").misses, 2);
        assert_eq!(by_change("OUT_DIR").misses, 2);
    }

    #[test]
    fn extern_artifacts_come_from_file_names() {
        let args: Vec<String> = [
            "--extern",
            "serde={target}/release/deps/libserde-0a1b.rmeta",
            "--extern=derive={target}/release/deps/libserde_derive-77.so",
            "--extern",
            "proc_macro",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let e = extern_artifacts(&args);
        assert_eq!(e.get("serde").map(String::as_str), Some("serde-0a1b"));
        assert_eq!(e.get("derive").map(String::as_str), Some("serde_derive-77"));
        assert_eq!(e.len(), 2);
    }
}
