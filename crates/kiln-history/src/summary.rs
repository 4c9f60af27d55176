//! The run summary: one `kiln run` condensed into what monitoring needs.
//!
//! [`RunSummary`] is built from the unit records of a run and the
//! explanation of its misses; it is what the history database stores and
//! what [`summary_json`] serializes (format version [`SUMMARY_VERSION`],
//! fields only added within a version, documented in `docs/monitoring.md`).
//! This module does not read the environment or the database.

use std::collections::BTreeSet;

use kiln_explain::Explanation;
use kiln_types::{Outcome, Stats, UnitRecord};
use serde::{Deserialize, Serialize};

use crate::context::RunContext;
pub use crate::context::{CiInfo, GitInfo};

/// Version of the [`RunSummary`] JSON format.
pub const SUMMARY_VERSION: u32 = 1;

/// A root cause of misses, as stored in the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CauseSummary {
    /// The unit where the change happened: `shared v0.1.0 (lib)`.
    pub unit: String,
    /// What changed there, one line each (`env `GIT_SHA` changed`).
    pub changes: Vec<String>,
    /// Misses it caused, itself included.
    pub misses: u64,
    /// Compile time of those misses, ms.
    pub compile_ms: u64,
}

impl CauseSummary {
    /// One line: `env `X` changed in `shared v0.1.0 (lib)``.
    pub fn describe(&self) -> String {
        let what = if self.changes.is_empty() {
            "dependencies changed".to_owned()
        } else {
            self.changes.join("; ")
        };
        format!("{what} in `{}`", self.unit)
    }

    /// Whether this cause is only a first build (new units, not a regression
    /// of existing ones).
    pub fn is_first_build(&self) -> bool {
        self.changes.iter().all(|c| c == FIRST_BUILD)
    }
}

const FIRST_BUILD: &str = "first time this unit was built";

/// Time of one unit in a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitTiming {
    /// `serde v1.0.200 (lib)`.
    pub unit: String,
    /// `--crate-name`.
    pub crate_name: String,
    /// Package name, when cargo set it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// What happened to it (serialized `hit`, `miss`, `not_cacheable`,
    /// `compile_error`).
    pub outcome: Outcome,
    /// What the unit cost the build ([`UnitRecord::cost_ms`]): compile time
    /// spent (misses, uncached) or saved (hits), ms.
    pub compile_ms: u64,
}

impl UnitTiming {
    /// Its time for people: `1.2s` spent, or `1.2s saved` for a hit.
    pub fn time_label(&self) -> String {
        let d = kiln_record::duration_ms(self.compile_ms);
        if self.outcome == Outcome::Hit {
            format!("{d} saved")
        } else {
            d
        }
    }
}

/// One `kiln run`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSummary {
    /// [`SUMMARY_VERSION`].
    pub version: u32,
    /// Run id (`YYYYMMDD-HHMMSS-<pid>`), the records' `run`.
    pub id: String,
    /// Unix time (ms) the run started.
    pub started_ms: u64,
    /// Wall-clock time of the wrapped command, ms.
    pub wall_ms: u64,
    /// The wrapped command, space-separated.
    pub command: String,
    /// Its exit code.
    pub exit_code: i32,
    /// The cargo profile most units were built with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Git commit and branch, when known.
    #[serde(default)]
    pub git: GitInfo,
    /// CI job, when the run was in CI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci: Option<CiInfo>,
    /// The project the run built ([`crate::project_of`]); absent in runs
    /// recorded before projects were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Compile calls: hits + misses + not cacheable + compile errors.
    pub units: u64,
    /// Restored from the cache.
    pub hits: u64,
    /// Compiled and stored.
    pub misses: u64,
    /// Compiled without caching.
    pub not_cacheable: u64,
    /// Failed compiles.
    pub compile_errors: u64,
    /// Compile time of misses, uncached calls and errors, ms.
    pub compile_ms_spent: u64,
    /// Compile time the hits saved, ms.
    pub compile_ms_saved: u64,
    /// Distinct packages compiled or restored (the dependency count).
    pub crates: u64,
    /// Root causes of the misses, costliest first (at most 10).
    #[serde(default)]
    pub root_causes: Vec<CauseSummary>,
    /// Every unit with its time, slowest first.
    #[serde(default)]
    pub unit_timings: Vec<UnitTiming>,
}

impl RunSummary {
    /// Summarizes the records of run `id`.
    pub fn build(
        id: &str,
        context: &RunContext,
        records: &[UnitRecord],
        explanation: Option<&Explanation>,
    ) -> Self {
        let mut stats = Stats::new(0);
        for r in records {
            stats.add(r);
        }
        let mut unit_timings: Vec<UnitTiming> = records
            .iter()
            .filter(|r| r.outcome != Outcome::Probe)
            .map(|r| UnitTiming {
                unit: r.label(),
                crate_name: r.crate_name.clone(),
                package: r.package.clone(),
                outcome: r.outcome,
                compile_ms: r.cost_ms(),
            })
            .collect();
        unit_timings.sort_by(|a, b| {
            b.compile_ms
                .cmp(&a.compile_ms)
                .then_with(|| a.unit.cmp(&b.unit))
        });
        let root_causes = explanation
            .map(|e| {
                e.root_causes
                    .iter()
                    .take(10)
                    .map(|c| CauseSummary {
                        unit: if c.roots.len() > 1 {
                            format!("{} units", c.roots.len())
                        } else {
                            c.unit.clone()
                        },
                        changes: kiln_explain::summarize(&c.changes),
                        misses: c.misses as u64,
                        compile_ms: c.compile_ms,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut summary = Self {
            version: SUMMARY_VERSION,
            id: id.to_owned(),
            started_ms: context.started_ms,
            wall_ms: context.wall_ms,
            command: context.command.clone(),
            exit_code: context.exit_code,
            profile: most_common_profile(records),
            git: context.git.clone(),
            ci: context.ci.clone(),
            project: context.project.clone(),
            units: stats.requests,
            hits: stats.hits,
            misses: stats.misses,
            not_cacheable: stats.not_cacheable_total,
            compile_errors: stats.compile_errors,
            compile_ms_spent: stats.compile_ms_spent,
            compile_ms_saved: stats.compile_ms_saved,
            crates: 0,
            root_causes,
            unit_timings,
        };
        summary.crates = summary.crate_names().len() as u64;
        summary
    }

    /// Hits over hits + misses, 0.0 to 1.0 (`None` when nothing was cacheable).
    pub fn hit_rate(&self) -> Option<f64> {
        let cacheable = self.hits + self.misses;
        #[allow(clippy::cast_precision_loss)]
        (cacheable > 0).then(|| self.hits as f64 / cacheable as f64)
    }

    /// The branch: CI's ref, else git's.
    pub fn branch(&self) -> Option<&str> {
        self.ci
            .as_ref()
            .and_then(|c| c.ref_name.as_deref())
            .or(self.git.branch.as_deref())
    }

    /// The commit: CI's, else git's.
    pub fn commit(&self) -> Option<&str> {
        self.ci
            .as_ref()
            .and_then(|c| c.sha.as_deref())
            .or(self.git.commit.as_deref())
    }

    /// The commit shortened to at most `len` characters (commits come from
    /// CI variables and teammates' summaries: any text, not only hex).
    pub fn short_commit(&self, len: usize) -> Option<&str> {
        self.commit()
            .map(|c| c.char_indices().nth(len).map_or(c, |(i, _)| &c[..i]))
    }

    /// Distinct package names of the run (crate names where cargo set no
    /// package; build scripts count with their package).
    pub fn crate_names(&self) -> BTreeSet<String> {
        self.unit_timings
            .iter()
            .map(|u| {
                u.package
                    .clone()
                    .unwrap_or_else(|| u.crate_name.replace('_', "-"))
            })
            .collect()
    }
}

/// The run summary as JSON bytes (format [`SUMMARY_VERSION`]), for upload
/// beside the cache or for other tools.
pub fn summary_json(summary: &RunSummary) -> Vec<u8> {
    serde_json::to_vec(summary).unwrap_or_default()
}

/// Reads a summary written by [`summary_json`].
pub fn summary_from_json(bytes: &[u8]) -> Result<RunSummary, serde_json::Error> {
    serde_json::from_slice(bytes)
}

fn most_common_profile(records: &[UnitRecord]) -> Option<String> {
    let mut counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for r in records {
        if let Some(p) = &r.profile {
            *counts.entry(p.as_str()).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(a.0)))
        .map(|(p, _)| p.to_owned())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A summary for tests: `hits` of 10 units hit, wall and compile times given.
    pub fn sample(id: &str, started_ms: u64, hits: u64, wall_ms: u64, branch: &str) -> RunSummary {
        let misses = 10 - hits;
        RunSummary {
            version: SUMMARY_VERSION,
            id: id.into(),
            started_ms,
            wall_ms,
            command: "cargo build".into(),
            exit_code: 0,
            project: None,
            profile: Some("release".into()),
            git: GitInfo {
                commit: Some("abc".into()),
                branch: Some(branch.into()),
            },
            ci: None,
            units: 10,
            hits,
            misses,
            not_cacheable: 0,
            compile_errors: 0,
            compile_ms_spent: misses * 100,
            compile_ms_saved: hits * 100,
            crates: 2,
            root_causes: vec![],
            unit_timings: vec![
                UnitTiming {
                    unit: "a v1.0.0 (lib)".into(),
                    crate_name: "a".into(),
                    package: Some("a".into()),
                    outcome: Outcome::Hit,
                    compile_ms: 100,
                },
                UnitTiming {
                    unit: "b v1.0.0 (lib)".into(),
                    crate_name: "b".into(),
                    package: Some("b".into()),
                    outcome: Outcome::Miss,
                    compile_ms: 50,
                },
            ],
        }
    }

    #[test]
    fn json_round_trip() {
        let s = sample("r1", 1, 7, 1000, "main");
        let bytes = summary_json(&s);
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["version"], 1);
        assert_eq!(summary_from_json(&bytes).unwrap(), s);
        assert_eq!(s.hit_rate(), Some(0.7));
        assert_eq!(s.crate_names().len(), 2);
    }

    #[test]
    fn short_commits_cut_at_characters() {
        let mut s = sample("r1", 1, 7, 1000, "main");
        s.git.commit = Some("abcdefghijké-more".into());
        assert_eq!(s.short_commit(12), Some("abcdefghijké"));
        s.git.commit = Some("ééé".into());
        assert_eq!(s.short_commit(2), Some("éé"));
        s.git.commit = Some("abc".into());
        assert_eq!(s.short_commit(12), Some("abc"));
    }
}
