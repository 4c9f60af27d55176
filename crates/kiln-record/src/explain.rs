//! Why units missed, and the root causes behind whole subtrees of misses.
//!
//! For every miss of a run, [`explain`] finds the previous build of the same
//! unit (same package, crate, crate types, target, profile; whatever its key)
//! and compares their [`KeyComponents`]: arguments (split into features,
//! cfgs, codegen options and other flags), compiler, files, environment
//! variables and dependencies. A miss whose only change is a rebuilt
//! dependency is a consequence; walking those links up (by the artifact each
//! `--extern` names, so renamed dependencies and host/target twins are told
//! apart) gives the unit where the change happened. Units whose own changes
//! read the same (one RUSTFLAGS edit, a new toolchain, first builds) share
//! one root cause, and root causes are ranked by the compile time they cost.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use kiln_types::{KeyComponents, Outcome, UnitRecord};
use serde::Serialize;

/// One difference between two builds of a unit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// No earlier build of this unit is known.
    FirstBuild,
    /// Same key as an earlier build: the entry was evicted (or never stored).
    Evicted,
    /// The compiler changed.
    Compiler { from: String, to: String },
    /// A cargo feature was turned on.
    FeatureAdded { name: String },
    /// A cargo feature was turned off.
    FeatureRemoved { name: String },
    /// A `--cfg` appeared.
    CfgAdded { cfg: String },
    /// A `--cfg` went away.
    CfgRemoved { cfg: String },
    /// A `-C` option changed (`None`: not given).
    Codegen {
        option: String,
        from: Option<String>,
        to: Option<String>,
    },
    /// Another flag appeared.
    FlagAdded { flag: String },
    /// Another flag went away.
    FlagRemoved { flag: String },
    /// A dependency was rebuilt (its content changed).
    DependencyRebuilt { name: String },
    /// A dependency was added.
    DependencyAdded { name: String },
    /// A dependency was removed.
    DependencyRemoved { name: String },
    /// A file's content changed.
    FileChanged { path: String },
    /// A file is read now that was not before.
    FileAdded { path: String },
    /// A file is no longer read.
    FileRemoved { path: String },
    /// An environment variable's value changed (or it was set or unset).
    EnvChanged {
        name: String,
        was_set: bool,
        is_set: bool,
        /// The value before, when recorded and shown.
        #[serde(skip_serializing_if = "Option::is_none")]
        from: Option<String>,
        /// The value now, when recorded and shown.
        #[serde(skip_serializing_if = "Option::is_none")]
        to: Option<String>,
        /// The crate's build script set it (`cargo:rustc-env`).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        by_build_script: bool,
    },
    /// The components of one side are not available.
    Unknown,
}

impl Change {
    fn is_dependency(&self) -> bool {
        matches!(self, Self::DependencyRebuilt { .. })
    }

    /// One line for people.
    pub fn describe(&self) -> String {
        match self {
            Self::FirstBuild => "first time this unit was built".into(),
            Self::Evicted => "evicted from the cache (same key seen before)".into(),
            Self::Compiler { from, to } => format!("compiler {from} → {to}"),
            Self::FeatureAdded { name } => format!("feature `{name}` added"),
            Self::FeatureRemoved { name } => format!("feature `{name}` removed"),
            Self::CfgAdded { cfg } => format!("`--cfg {cfg}` added"),
            Self::CfgRemoved { cfg } => format!("`--cfg {cfg}` removed"),
            Self::Codegen { option, from, to } => format!(
                "`-C {option}` {} → {}",
                from.as_deref().unwrap_or("(unset)"),
                to.as_deref().unwrap_or("(unset)")
            ),
            Self::FlagAdded { flag } => format!("flag `{flag}` added"),
            Self::FlagRemoved { flag } => format!("flag `{flag}` removed"),
            Self::DependencyRebuilt { name } => format!("dependency `{name}` was rebuilt"),
            Self::DependencyAdded { name } => format!("dependency `{name}` added"),
            Self::DependencyRemoved { name } => format!("dependency `{name}` removed"),
            Self::FileChanged { path } => format!("{} changed", file_label(path)),
            Self::FileAdded { path } => format!("{} is read now", file_label(path)),
            Self::FileRemoved { path } => format!("{} is no longer read", file_label(path)),
            Self::EnvChanged {
                name,
                was_set,
                is_set,
                from,
                to,
                by_build_script,
            } => {
                let origin = if *by_build_script {
                    " (set by the build script)"
                } else {
                    ""
                };
                let what = match (was_set, is_set) {
                    (true, true) => format!("env `{name}`{origin} changed"),
                    (false, true) => format!("env `{name}`{origin} was set"),
                    _ => format!("env `{name}`{origin} was unset"),
                };
                match (from, to) {
                    (Some(f), Some(t)) => format!("{what}: `{f}` → `{t}`"),
                    (None, Some(t)) => format!("{what} to `{t}`"),
                    (Some(f), None) if *was_set => format!("{what} (was `{f}`)"),
                    _ => what,
                }
            }
            Self::Unknown => "no key details recorded for one of the builds".into(),
        }
    }

    /// Whether the change looks like a value that differs on every commit or build.
    pub fn looks_per_commit(&self) -> bool {
        let Self::EnvChanged { name, .. } = self else {
            return false;
        };
        let n = name.to_ascii_uppercase();
        [
            "SHA",
            "COMMIT",
            "GIT",
            "REVISION",
            "BUILD_TIME",
            "TIMESTAMP",
            "BUILD_DATE",
            "VERGEN",
        ]
        .iter()
        .any(|p| n.contains(p))
    }
}

/// How a file is named for people: build-script outputs by their name in
/// `OUT_DIR` (the directory carries cargo's hash), the rest by path.
fn file_label(path: &str) -> String {
    let parts: Vec<&str> = path.split('/').collect();
    let out = parts
        .windows(3)
        .position(|w| w[0] == "build" && w[1].contains('-') && w[2] == "out");
    match out {
        Some(i) => format!("`{}` (build script output)", parts[i + 3..].join("/")),
        None => format!("`{path}`"),
    }
}

/// Why one unit missed.
#[derive(Debug, Clone, Serialize)]
pub struct UnitExplanation {
    /// `shared v0.1.0 (lib)`.
    pub unit: String,
    /// Crate name.
    pub crate_name: String,
    /// Compile time of this miss, ms.
    pub compile_ms: u64,
    /// What differs from the previous build.
    pub changes: Vec<Change>,
    /// Index into [`Explanation::root_causes`].
    pub root_cause: Option<usize>,
    /// The artifact this compile produced (`crate-extra`, as in file names).
    #[serde(skip)]
    pub artifact: String,
    /// The artifact each `--extern` name points to.
    #[serde(skip)]
    pub externs: BTreeMap<String, String>,
}

/// A change that made a unit and everything depending on it miss.
#[derive(Debug, Clone, Serialize)]
pub struct RootCause {
    /// The unit where the change happened (the costliest one when it
    /// happened in several: see `roots`).
    pub unit: String,
    /// Every unit where the same change happened, by name.
    pub roots: Vec<String>,
    /// Its own changes (not caused by dependencies).
    pub changes: Vec<Change>,
    /// Misses it caused, itself included.
    pub misses: usize,
    /// Compile time of those misses, ms.
    pub compile_ms: u64,
    /// The units that missed because of it, by name.
    pub units: Vec<String>,
    /// What to do about it, when kiln knows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// The explanation of a run's misses.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    /// Format version of this document.
    pub version: u32,
    /// The run explained.
    pub run: String,
    /// Run compared against (`None`: the latest earlier build of each unit).
    pub against: Option<String>,
    /// Cacheable calls in the run (hits + misses).
    pub units: usize,
    /// Every miss, slowest first.
    pub misses: Vec<UnitExplanation>,
    /// Root causes, costliest first.
    pub root_causes: Vec<RootCause>,
}

impl Explanation {
    /// Drops recorded environment values except those of harmless names
    /// ([`kiln_types::env_value_shown`]), unless `show_all`.
    pub fn redact_env_values(&mut self, show_all: bool) {
        if show_all {
            return;
        }
        let redact = |c: &mut Change| {
            if let Change::EnvChanged { name, from, to, .. } = c
                && !kiln_types::env_value_shown(name)
            {
                *from = None;
                *to = None;
            }
        };
        for m in &mut self.misses {
            m.changes.iter_mut().for_each(redact);
        }
        for r in &mut self.root_causes {
            r.changes.iter_mut().for_each(redact);
        }
    }
}

/// Explains the misses in `current`, comparing with the latest record of each
/// unit in `previous` (older records first). `load` returns the components
/// of an entry key.
pub fn explain(
    run: &str,
    against: Option<&str>,
    current: &[UnitRecord],
    previous: &[UnitRecord],
    load: &dyn Fn(&str) -> Option<KeyComponents>,
) -> Explanation {
    let mut last: HashMap<String, &UnitRecord> = HashMap::new();
    for r in previous {
        if matches!(r.outcome, Outcome::Hit | Outcome::Miss) && r.key.is_some() {
            last.insert(r.unit_id(), r);
        }
    }
    let cacheable: Vec<&UnitRecord> = current
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Hit | Outcome::Miss))
        .collect();
    let mut misses: Vec<UnitExplanation> = Vec::new();
    for r in cacheable.iter().filter(|r| r.outcome == Outcome::Miss) {
        let changes = match last.get(&r.unit_id()) {
            None => vec![Change::FirstBuild],
            Some(p) if p.key == r.key => vec![Change::Evicted],
            Some(p) => {
                let before = p.key.as_deref().and_then(load);
                let now = r.key.as_deref().and_then(load);
                match (before, now) {
                    (Some(b), Some(n)) => diff(&b, &n),
                    _ => vec![Change::Unknown],
                }
            }
        };
        let externs = r
            .key
            .as_deref()
            .and_then(load)
            .map(|c| extern_artifacts(&c.args))
            .unwrap_or_default();
        misses.push(UnitExplanation {
            unit: r.label(),
            crate_name: r.crate_name.clone(),
            compile_ms: r.timings.compile_us / 1000,
            changes,
            root_cause: None,
            artifact: format!(
                "{}{}",
                r.crate_name,
                r.extra_filename.as_deref().unwrap_or_default()
            ),
            externs,
        });
    }
    let root_causes = attribute(&mut misses);
    misses.sort_by(|a, b| {
        b.compile_ms
            .cmp(&a.compile_ms)
            .then_with(|| a.unit.cmp(&b.unit))
    });
    Explanation {
        version: 1,
        run: run.to_owned(),
        against: against.map(str::to_owned),
        units: cacheable.len(),
        misses,
        root_causes,
    }
}

/// The artifact (`crate-extra`) each `--extern name=path` points to, from
/// the file name `lib<crate>-<extra>.<ext>`.
fn extern_artifacts(args: &[String]) -> BTreeMap<String, String> {
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
fn hint_for(changes: &[Change], misses: usize, roots: usize) -> Option<String> {
    let any = |f: fn(&Change) -> bool| changes.iter().any(f);
    if misses > 1 && any(Change::looks_per_commit) {
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

/// Groups misses under root causes. A miss whose changes are all rebuilt
/// dependencies belongs to the root cause of those dependencies; units whose
/// own changes read the same share one root cause.
fn attribute(misses: &mut [UnitExplanation]) -> Vec<RootCause> {
    let mut by_artifact: HashMap<&str, usize> = HashMap::new();
    let mut by_crate: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, u) in misses.iter().enumerate() {
        by_artifact.insert(u.artifact.as_str(), i);
        by_crate.entry(u.crate_name.as_str()).or_default().push(i);
    }
    // The miss a rebuilt dependency leads to: by the artifact its `--extern`
    // names; by crate name when the arguments were not recorded.
    let dependency = |i: usize, name: &str| -> Option<usize> {
        match misses[i].externs.get(name) {
            Some(artifact) => by_artifact.get(artifact.as_str()).copied(),
            None => by_crate
                .get(name.replace('-', "_").as_str())?
                .iter()
                .copied()
                .find(|&j| j != i),
        }
    };
    // Follow rebuilt dependencies that also missed in this run until a unit
    // with a change of its own (or a dependency that did not miss).
    let root_of = |start: usize| -> usize {
        let mut seen = BTreeSet::new();
        let mut i = start;
        while seen.insert(i) {
            let u = &misses[i];
            if u.changes.is_empty() || !u.changes.iter().all(Change::is_dependency) {
                break;
            }
            let next = u.changes.iter().find_map(|c| match c {
                Change::DependencyRebuilt { name } => dependency(i, name).filter(|&j| j != i),
                _ => None,
            });
            match next {
                Some(j) => i = j,
                None => break,
            }
        }
        i
    };
    // The change a root stands for: its own changes; only rebuilt
    // dependencies when it has nothing else (they were restored, not
    // compiled, in this run).
    let signature = |i: usize| -> Vec<String> {
        let own: Vec<String> = misses[i]
            .changes
            .iter()
            .filter(|c| !c.is_dependency())
            .map(Change::describe)
            .collect();
        if own.is_empty() {
            misses[i].changes.iter().map(Change::describe).collect()
        } else {
            own
        }
    };
    let mut groups: BTreeMap<Vec<String>, (BTreeSet<usize>, Vec<usize>)> = BTreeMap::new();
    for i in 0..misses.len() {
        let root = root_of(i);
        let group = groups.entry(signature(root)).or_default();
        group.0.insert(root);
        group.1.push(i);
    }
    let mut causes: Vec<(Vec<usize>, RootCause)> = groups
        .into_values()
        .map(|(roots, members)| {
            let mut roots: Vec<usize> = roots.into_iter().collect();
            roots.sort_by(|&a, &b| {
                misses[b]
                    .compile_ms
                    .cmp(&misses[a].compile_ms)
                    .then_with(|| misses[a].unit.cmp(&misses[b].unit))
            });
            let first = &misses[roots[0]];
            let own: Vec<Change> = first
                .changes
                .iter()
                .filter(|c| !c.is_dependency())
                .cloned()
                .collect();
            let changes = if own.is_empty() {
                first.changes.clone()
            } else {
                own
            };
            let hint = hint_for(&changes, members.len(), roots.len());
            let cause = RootCause {
                unit: first.unit.clone(),
                roots: {
                    let mut names: Vec<String> =
                        roots.iter().map(|&r| misses[r].unit.clone()).collect();
                    names.sort();
                    names
                },
                changes,
                misses: members.len(),
                compile_ms: members.iter().map(|&m| misses[m].compile_ms).sum(),
                units: {
                    let mut units: Vec<String> =
                        members.iter().map(|&m| misses[m].unit.clone()).collect();
                    units.sort();
                    units
                },
                hint,
            };
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

/// Arguments sorted into what people recognise.
#[derive(Default)]
struct Args {
    features: BTreeSet<String>,
    cfgs: BTreeSet<String>,
    codegen: BTreeMap<String, String>,
    flags: BTreeSet<String>,
}

/// `-C` options that follow from other changes (cargo derives them from
/// dependencies and features): reported through those instead.
const DERIVED_CODEGEN: &[&str] = &["metadata", "extra-filename"];

fn sort_args(args: &[String]) -> Args {
    let mut out = Args::default();
    let mut i = 0;
    let takes_value = |a: &str| {
        matches!(
            a,
            "--cfg"
                | "--check-cfg"
                | "-L"
                | "-l"
                | "--crate-type"
                | "--crate-name"
                | "--edition"
                | "--emit"
                | "-o"
                | "--out-dir"
                | "--target"
                | "-A"
                | "-W"
                | "-D"
                | "-F"
                | "--cap-lints"
                | "-C"
                | "--codegen"
                | "-Z"
                | "--error-format"
                | "--json"
                | "--color"
                | "--extern"
                | "--remap-path-prefix"
                | "--sysroot"
                | "--force-warn"
        )
    };
    while i < args.len() {
        let a = args[i].as_str();
        let (flag, value) =
            if let Some((f, v)) = a.split_once('=').filter(|(f, _)| f.starts_with("--")) {
                (f.to_owned(), Some(v.to_owned()))
            } else if a.len() > 2
                && (a.starts_with("-C") || a.starts_with("-L") || a.starts_with("-l"))
                && !a.starts_with("--")
            {
                (a[..2].to_owned(), Some(a[2..].to_owned()))
            } else if takes_value(a) && i + 1 < args.len() {
                i += 1;
                (a.to_owned(), Some(args[i].clone()))
            } else {
                (a.to_owned(), None)
            };
        i += 1;
        match (flag.as_str(), value) {
            ("--cfg", Some(v)) => match v.strip_prefix("feature=") {
                Some(f) => {
                    out.features.insert(f.trim_matches('"').to_owned());
                }
                None => {
                    out.cfgs.insert(v);
                }
            },
            ("-C" | "--codegen", Some(v)) => {
                let (k, val) = v
                    .split_once('=')
                    .map_or((v.clone(), String::new()), |(k, v)| {
                        (k.to_owned(), v.to_owned())
                    });
                if !DERIVED_CODEGEN.contains(&k.as_str()) {
                    out.codegen.insert(k, val);
                }
            }
            // Dependencies are compared by content; where outputs go follows
            // from cargo's hash of the other inputs.
            ("--extern" | "--out-dir" | "-o", _) => {}
            (f, Some(v)) => {
                out.flags.insert(format!("{f} {v}"));
            }
            (f, None) => {
                out.flags.insert(f.to_owned());
            }
        }
    }
    out
}

/// Adds what `now` has and `before` lacks, then what `before` had and `now` lacks.
fn set_changes(
    changes: &mut Vec<Change>,
    before: &BTreeSet<String>,
    now: &BTreeSet<String>,
    added: impl Fn(String) -> Change,
    removed: impl Fn(String) -> Change,
) {
    changes.extend(now.difference(before).cloned().map(added));
    changes.extend(before.difference(now).cloned().map(removed));
}

/// A compiled crate in the target dir: what `--extern` and the linker read.
fn is_dependency_artifact(path: &str) -> bool {
    path.starts_with("{target}")
        && [".rlib", ".rmeta", ".so", ".dylib"]
            .iter()
            .any(|ext| path.ends_with(ext))
}

/// The changes from `before` to `now`.
pub fn diff(before: &KeyComponents, now: &KeyComponents) -> Vec<Change> {
    let mut changes = Vec::new();
    if before.compiler_digest != now.compiler_digest {
        changes.push(Change::Compiler {
            from: before.compiler.clone(),
            to: now.compiler.clone(),
        });
    }
    let (bv, nv): (BTreeMap<_, _>, BTreeMap<_, _>) = (
        before.env.iter().cloned().collect(),
        now.env.iter().cloned().collect(),
    );
    let names: BTreeSet<&String> = bv.keys().chain(nv.keys()).collect();
    for name in names {
        let (x, y) = (
            bv.get(name).cloned().flatten(),
            nv.get(name).cloned().flatten(),
        );
        let known_both = bv.contains_key(name) && nv.contains_key(name);
        if known_both && x != y {
            changes.push(Change::EnvChanged {
                name: name.clone(),
                was_set: x.is_some(),
                is_set: y.is_some(),
                from: before.env_values.get(name.as_str()).cloned(),
                to: now.env_values.get(name.as_str()).cloned(),
                by_build_script: now.build_script_env.contains(name)
                    || before.build_script_env.contains(name),
            });
        }
    }
    let (b, n) = (sort_args(&before.args), sort_args(&now.args));
    set_changes(
        &mut changes,
        &b.features,
        &n.features,
        |name| Change::FeatureAdded { name },
        |name| Change::FeatureRemoved { name },
    );
    set_changes(
        &mut changes,
        &b.cfgs,
        &n.cfgs,
        |cfg| Change::CfgAdded { cfg },
        |cfg| Change::CfgRemoved { cfg },
    );
    let options: BTreeSet<&String> = b.codegen.keys().chain(n.codegen.keys()).collect();
    for o in options {
        let (x, y) = (b.codegen.get(o), n.codegen.get(o));
        if x != y {
            changes.push(Change::Codegen {
                option: o.clone(),
                from: x.cloned(),
                to: y.cloned(),
            });
        }
    }
    set_changes(
        &mut changes,
        &b.flags,
        &n.flags,
        |flag| Change::FlagAdded { flag },
        |flag| Change::FlagRemoved { flag },
    );

    let (be, ne): (BTreeMap<_, _>, BTreeMap<_, _>) = (
        before.externs.iter().cloned().collect(),
        now.externs.iter().cloned().collect(),
    );
    for (name, d) in &ne {
        match be.get(name) {
            None => changes.push(Change::DependencyAdded { name: name.clone() }),
            Some(old) if old != d => changes.push(Change::DependencyRebuilt { name: name.clone() }),
            Some(_) => {}
        }
    }
    changes.extend(
        be.keys()
            .filter(|k| !ne.contains_key(*k))
            .map(|k| Change::DependencyRemoved { name: k.clone() }),
    );

    let (bf, nf): (BTreeMap<_, _>, BTreeMap<_, _>) = (
        before.files.iter().cloned().collect(),
        now.files.iter().cloned().collect(),
    );
    // Artifacts of dependencies (read through `--extern` and `-L
    // dependency=`, and by the linker) change with the dependency, and
    // their names with its features and flags: reported once, as rebuilt
    // dependencies.
    for (path, d) in nf.iter().filter(|(p, _)| !is_dependency_artifact(p)) {
        match bf.get(path) {
            None => changes.push(Change::FileAdded { path: path.clone() }),
            Some(old) if old != d => changes.push(Change::FileChanged { path: path.clone() }),
            Some(_) => {}
        }
    }
    changes.extend(
        bf.keys()
            .filter(|k| !nf.contains_key(*k) && !is_dependency_artifact(k))
            .map(|k| Change::FileRemoved { path: k.clone() }),
    );

    if changes.is_empty() && before != now {
        changes.push(Change::Unknown);
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comps(
        args: &[&str],
        externs: &[(&str, &str)],
        files: &[(&str, &str)],
        env: &[(&str, Option<&str>)],
    ) -> KeyComponents {
        KeyComponents {
            version: 1,
            compiler: "rustc 1.95.0".into(),
            compiler_digest: "c1".into(),
            clippy: None,
            args: args.iter().map(|s| (*s).to_owned()).collect(),
            externs: externs
                .iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect(),
            files: files
                .iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect(),
            absent: vec![],
            env: env
                .iter()
                .map(|(a, b)| ((*a).to_owned(), b.map(str::to_owned)))
                .collect(),
            env_values: BTreeMap::new(),
            build_script_env: vec![],
        }
    }

    #[test]
    fn env_values_are_shown_for_harmless_names_or_on_request() {
        let mut a = comps(
            &[],
            &[],
            &[],
            &[("CARGO_PKG_VERSION", Some("v1")), ("TOKEN", Some("t1"))],
        );
        let mut b = comps(
            &[],
            &[],
            &[],
            &[("CARGO_PKG_VERSION", Some("v2")), ("TOKEN", Some("t2"))],
        );
        a.env_values = [("CARGO_PKG_VERSION", "1.0.0"), ("TOKEN", "secret-1")]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        b.env_values = [("CARGO_PKG_VERSION", "1.1.0"), ("TOKEN", "secret-2")]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let changes = diff(&a, &b);
        let described: Vec<String> = changes.iter().map(Change::describe).collect();
        assert!(
            described.contains(&"env `CARGO_PKG_VERSION` changed: `1.0.0` → `1.1.0`".to_owned()),
            "{described:?}"
        );
        let mut e = Explanation {
            version: 1,
            run: "r".into(),
            against: None,
            units: 1,
            misses: vec![UnitExplanation {
                unit: "x".into(),
                crate_name: "x".into(),
                compile_ms: 1,
                changes,
                root_cause: None,
                artifact: "x-1".into(),
                externs: BTreeMap::new(),
            }],
            root_causes: vec![],
        };
        let mut shown = e.clone();
        e.redact_env_values(false);
        let text: Vec<String> = e.misses[0].changes.iter().map(Change::describe).collect();
        assert!(text.iter().any(|t| t == "env `TOKEN` changed"), "{text:?}");
        assert!(!format!("{text:?}").contains("secret"));
        assert!(text.iter().any(|t| t.contains("1.1.0")));
        shown.redact_env_values(true);
        assert!(format!("{:?}", shown.misses[0].changes).contains("secret-2"));
    }

    #[test]
    fn sorts_changes_into_kinds() {
        let a = comps(
            &[
                "--crate-name",
                "x",
                "--cfg",
                "feature=\"std\"",
                "-C",
                "opt-level=2",
                "-C",
                "metadata=aa",
            ],
            &[("dep", "d1")],
            &[("{cwd}/src/lib.rs", "f1")],
            &[("GIT_SHA", Some("s1"))],
        );
        let b = comps(
            &[
                "--crate-name",
                "x",
                "--cfg",
                "feature=\"tls\"",
                "-C",
                "opt-level=3",
                "-C",
                "metadata=bb",
                "--cfg",
                "tokio_unstable",
            ],
            &[("dep", "d2")],
            &[("{cwd}/src/lib.rs", "f2")],
            &[("GIT_SHA", Some("s2"))],
        );
        let changes: Vec<String> = diff(&a, &b).iter().map(Change::describe).collect();
        assert_eq!(
            changes,
            [
                "env `GIT_SHA` changed",
                "feature `tls` added",
                "feature `std` removed",
                "`--cfg tokio_unstable` added",
                "`-C opt-level` 2 → 3",
                "dependency `dep` was rebuilt",
                "`{cwd}/src/lib.rs` changed"
            ]
        );
    }

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
        }
    }

    fn rebuilt(name: &str) -> Change {
        Change::DependencyRebuilt { name: name.into() }
    }

    fn sha() -> Change {
        Change::EnvChanged {
            name: "GIT_SHA".into(),
            was_set: true,
            is_set: true,
            from: None,
            to: None,
            by_build_script: true,
        }
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

    #[test]
    fn build_script_outputs_are_named_by_their_place_in_out_dir() {
        let c = Change::FileChanged {
            path: "{target}/release/build/shared-0f3a/out/generated.rs".into(),
        };
        assert_eq!(c.describe(), "`generated.rs` (build script output) changed");
        let c = Change::FileChanged {
            path: "{cwd}/src/lib.rs".into(),
        };
        assert_eq!(c.describe(), "`{cwd}/src/lib.rs` changed");
    }
}
