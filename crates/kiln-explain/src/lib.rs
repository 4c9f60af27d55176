//! Why units missed, and the root causes behind whole subtrees of misses.
//!
//! For every miss of a run, [`explain`] finds the previous build of the same
//! unit (same package at the same version, crate, crate types, target,
//! profile; whatever its key)
//! and compares their [`KeyComponents`]: arguments (split into features,
//! cfgs, codegen options and other flags), compiler, files, environment
//! variables and dependencies. A miss whose only change is a rebuilt
//! dependency is a consequence; walking those links up (by the artifact each
//! `--extern` names, so renamed dependencies and host/target twins are told
//! apart) gives the unit where the change happened. Units whose own changes
//! read the same (one RUSTFLAGS edit, a new toolchain, first builds) share
//! one root cause, and root causes are ranked by the compile time they cost.
//!
//! This crate holds the formats and [`explain`]; [`diff`] compares two
//! builds' key components, `roots` groups misses under root causes.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use kiln_types::{KeyComponents, Outcome, UnitKind, UnitRecord};

use earlier::Earlier;
use serde::Serialize;

mod diff;
mod earlier;
mod roots;

pub use diff::diff;
use roots::{attribute, extern_artifacts};

/// One difference between two builds of a unit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// No earlier build of this unit is known.
    FirstBuild,
    /// The package was built before at another version only: this is the
    /// first build of the new one.
    VersionChanged { from: String, to: String },
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

    /// The file a file change is about.
    fn file_path(&self) -> Option<&str> {
        match self {
            Self::FileChanged { path } | Self::FileAdded { path } | Self::FileRemoved { path } => {
                Some(path)
            }
            _ => None,
        }
    }

    /// Whether the change is in what the crate's build script produced: a
    /// file in its `OUT_DIR`, a variable it set, or `OUT_DIR` itself (a
    /// rebuilt script runs in a new one). Such a change follows from the run
    /// of the script when that missed too.
    fn is_build_script_output(&self) -> bool {
        if let Some(path) = self.file_path() {
            return out_dir_of(path).is_some();
        }
        match self {
            Self::EnvChanged {
                name,
                by_build_script,
                ..
            } => *by_build_script || name == "OUT_DIR",
            _ => false,
        }
    }

    /// One line for people.
    pub fn describe(&self) -> String {
        match self {
            Self::FirstBuild => "first time this unit was built".into(),
            Self::VersionChanged { from, to } => {
                format!("version v{from} → v{to}: first build of this version")
            }
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
            Self::EnvChanged { name, .. } if name == "=names" => {
                "the set of environment variables changed".into()
            }
            Self::EnvChanged {
                name,
                was_set,
                is_set,
                ..
            } if name.starts_with("=which ") => {
                let program = name.trim_start_matches("=which ");
                match (was_set, is_set) {
                    (true, true) => format!("`{program}` on `PATH` resolves to another file"),
                    (false, true) => format!("`{program}` is found on `PATH` now"),
                    _ => format!("`{program}` is no longer found on `PATH`"),
                }
            }
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
        if let Self::FileChanged { path } | Self::FileAdded { path } = self {
            // `.git/HEAD`, `.git/refs/…`, `.git/index`: a new commit.
            return path.contains("/.git/");
        }
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

/// Where `path` sits in a build script's `OUT_DIR`: the run's directory
/// name (`<package>-<hash>`) and the path inside `out/`.
fn out_dir_of(path: &str) -> Option<(&str, String)> {
    let parts: Vec<&str> = path.split('/').collect();
    let i = parts
        .windows(3)
        .position(|w| w[0] == "build" && w[1].contains('-') && w[2] == "out")?;
    Some((parts[i + 1], parts[i + 3..].join("/")))
}

/// More files than this changed in one way are one line, not one each.
const FILES_LISTED: usize = 3;

/// The changes as lines for a summary (the run's, a report's): more than
/// [`FILES_LISTED`] files changed, read now or no longer read become one
/// line each way, with the count and the first file. `kiln explain --unit`
/// and `--json` keep every change.
pub fn summarize(changes: &[Change]) -> Vec<String> {
    fn file_way(c: &Change) -> Option<(usize, &str)> {
        match c {
            Change::FileChanged { path } => Some((0, path.as_str())),
            Change::FileAdded { path } => Some((1, path.as_str())),
            Change::FileRemoved { path } => Some((2, path.as_str())),
            _ => None,
        }
    }
    let mut counts = [0usize; 3];
    for (way, _) in changes.iter().filter_map(file_way) {
        counts[way] += 1;
    }
    let mut out = Vec::new();
    let mut done = [false; 3];
    for c in changes {
        match file_way(c) {
            Some((way, path)) if counts[way] > FILES_LISTED => {
                if !done[way] {
                    done[way] = true;
                    let what = ["changed", "are read now", "are no longer read"][way];
                    out.push(format!(
                        "{} files {what}, e.g. {}",
                        counts[way],
                        file_label(path)
                    ));
                }
            }
            _ => out.push(c.describe()),
        }
    }
    out
}

/// How a file is named for people: build-script outputs by their name in
/// `OUT_DIR` (the directory carries cargo's hash), the rest by path.
fn file_label(path: &str) -> String {
    match out_dir_of(path) {
        Some((_, inner)) => format!("`{inner}` (build script output)"),
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
    /// The package, when known.
    #[serde(skip)]
    pub package: Option<String>,
    /// For a build-script run: its directory (`<package>-<hash>`).
    #[serde(skip)]
    pub run_dir: Option<String>,
}

/// The order misses are listed and roots are told in: slowest compile
/// first, then by name.
fn costliest_first(a: &UnitExplanation, b: &UnitExplanation) -> Ordering {
    b.compile_ms
        .cmp(&a.compile_ms)
        .then_with(|| a.unit.cmp(&b.unit))
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

/// Explains the misses in `current`, comparing each with the latest earlier
/// record of its unit: in `previous` (older records first) or earlier in
/// `current` itself, where one run holds several builds (`kiln run` of a
/// script, a day of ad hoc builds). `load` returns the components of an entry
/// key.
pub fn explain(
    run: &str,
    against: Option<&str>,
    current: &[UnitRecord],
    previous: &[UnitRecord],
    load: &dyn Fn(&str) -> Option<KeyComponents>,
) -> Explanation {
    let mut earlier = Earlier::new(current);
    previous.iter().for_each(|r| earlier.add(r));
    let cacheable: Vec<&UnitRecord> = current
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Hit | Outcome::Miss))
        .collect();
    let mut misses: Vec<UnitExplanation> = Vec::new();
    for r in &cacheable {
        if r.outcome == Outcome::Miss {
            misses.push(explain_miss(r, &earlier, load));
        }
        earlier.add(r);
    }
    let root_causes = attribute(&mut misses);
    misses.sort_by(costliest_first);
    Explanation {
        version: 1,
        run: run.to_owned(),
        against: against.map(str::to_owned),
        units: cacheable.len(),
        misses,
        root_causes,
    }
}

/// What changed from the earlier record `earlier` matches `r` with; `now`
/// is what `r`'s key covered.
fn changes_of(
    r: &UnitRecord,
    now: Option<&KeyComponents>,
    earlier: &Earlier<'_>,
    load: &dyn Fn(&str) -> Option<KeyComponents>,
) -> Vec<Change> {
    match earlier.same_unit(r) {
        None => match earlier.replaced_version(r) {
            Some(p) => vec![Change::VersionChanged {
                from: p.package_version.clone().unwrap_or_default(),
                to: r.package_version.clone().unwrap_or_default(),
            }],
            None => vec![Change::FirstBuild],
        },
        Some(p) if p.key == r.key => vec![Change::Evicted],
        Some(p) => match (p.key.as_deref().and_then(load), now) {
            (Some(b), Some(n)) => diff(&b, n),
            _ => vec![Change::Unknown],
        },
    }
}

/// One miss, against the earlier record `earlier` matches it with.
fn explain_miss(
    r: &UnitRecord,
    earlier: &Earlier<'_>,
    load: &dyn Fn(&str) -> Option<KeyComponents>,
) -> UnitExplanation {
    let now = r.key.as_deref().and_then(load);
    let changes = changes_of(r, now.as_ref(), earlier, load);
    let externs = now.map(|c| extern_artifacts(&c.args)).unwrap_or_default();
    UnitExplanation {
        unit: r.label(),
        crate_name: r.crate_name.clone(),
        compile_ms: r.compiled_ms(),
        changes,
        root_cause: None,
        artifact: format!(
            "{}{}",
            r.crate_name,
            r.extra_filename.as_deref().unwrap_or_default()
        ),
        externs,
        package: r.package.clone(),
        run_dir: (r.kind == UnitKind::BuildScriptRun)
            .then(|| r.extra_filename.clone())
            .flatten(),
    }
}

#[cfg(test)]
impl Change {
    /// A variable that was set before and now, values not recorded.
    pub(crate) fn env_changed(name: &str, by_build_script: bool) -> Self {
        Self::EnvChanged {
            name: name.into(),
            was_set: true,
            is_set: true,
            from: None,
            to: None,
            by_build_script,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn the_walked_environment_is_named_for_people() {
        assert_eq!(
            Change::env_changed("=names", false).describe(),
            "the set of environment variables changed"
        );
    }
}

#[cfg(test)]
mod summarize_tests {
    use super::*;

    #[test]
    fn many_files_become_one_line_and_few_stay_listed() {
        let mut changes: Vec<Change> = (0..47)
            .map(|i| Change::FileChanged {
                path: format!("src/f{i}.rs"),
            })
            .collect();
        changes.push(Change::FileRemoved {
            path: "src/await.rs".into(),
        });
        changes.push(Change::FeatureAdded {
            name: "full".into(),
        });
        let lines = summarize(&changes);
        assert_eq!(
            lines,
            [
                "47 files changed, e.g. `src/f0.rs`",
                "`src/await.rs` is no longer read",
                "feature `full` added",
            ]
        );
    }
}
