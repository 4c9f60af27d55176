//! Baselines and regressions: is this run worse than usual?
//!
//! The baseline is the median of the latest comparable runs (default 10)
//! before the current one on the main branch (`main` or `master`, from CI or
//! git); when no earlier run has that branch, all earlier comparable runs.
//! Comparable means successful (exit code 0) and the same command and
//! profile: a `cargo test` run is never measured against `cargo build`
//! runs, nor a release build against a dev one. When no earlier run ran the
//! same command, runs with the same profile stand in. A run regresses when it
//! crosses a [`Budgets`] threshold against the baseline (hit rate, wall time,
//! compile time, new crates), or shows a root cause of misses that no
//! baseline run had. Time increases smaller than [`TIME_NOISE_MS`] are noise
//! and never regress.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::budgets::Budgets;
use crate::summary::{CauseSummary, RunSummary};

/// Branch names whose runs make the baseline.
pub const MAIN_BRANCHES: &[&str] = &["main", "master"];

/// Runs in a baseline by default.
pub const DEFAULT_WINDOW: usize = 10;

/// Wall or compile time increases below this many ms are never regressions.
pub const TIME_NOISE_MS: u64 = 1000;

/// The usual run: medians over the baseline runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Baseline {
    /// Ids of the runs, oldest first.
    pub runs: Vec<String>,
    /// The branch they were taken from (`None`: all branches).
    pub branch: Option<String>,
    /// Median wall time, ms.
    pub wall_ms: u64,
    /// Median compile time spent, ms.
    pub compile_ms_spent: u64,
    /// Median hit rate, 0..1.
    pub hit_rate: Option<f64>,
    /// Median count of crates compiled.
    pub crates: u64,
    /// Every crate any baseline run compiled.
    #[serde(skip)]
    pub crate_names: BTreeSet<String>,
    /// Every root cause any baseline run had.
    #[serde(skip)]
    pub causes: BTreeSet<String>,
}

/// The baseline for `current` from `history` (any order; `current` itself
/// and later runs are skipped), at most `window` runs.
pub fn baseline(current: &RunSummary, history: &[RunSummary], window: usize) -> Option<Baseline> {
    let (runs, branch) = baseline_runs(current, history, window);
    if runs.is_empty() {
        return None;
    }
    let median_of = |f: fn(&RunSummary) -> u64| median_u64(runs.iter().map(|r| f(r)).collect());
    Some(Baseline {
        runs: runs.iter().map(|r| r.id.clone()).collect(),
        branch,
        wall_ms: median_of(|r| r.wall_ms),
        compile_ms_spent: median_of(|r| r.compile_ms_spent),
        hit_rate: median_f64(runs.iter().filter_map(|r| r.hit_rate()).collect()),
        crates: median_of(|r| r.crates),
        crate_names: runs.iter().flat_map(|r| r.crate_names()).collect(),
        causes: runs
            .iter()
            .flat_map(|r| r.root_causes.iter().map(CauseSummary::describe))
            .collect(),
    })
}

/// The runs of `current`'s baseline, oldest first, and the main branch
/// they were taken from (`None`: every branch): the latest `window`
/// comparable runs before it, those on a main branch when there are any.
fn baseline_runs<'a>(
    current: &RunSummary,
    history: &'a [RunSummary],
    window: usize,
) -> (Vec<&'a RunSummary>, Option<String>) {
    let before: Vec<&RunSummary> = history
        .iter()
        .filter(|r| r.id != current.id && r.started_ms <= current.started_ms && r.exit_code == 0)
        .filter(|r| r.profile == current.profile)
        .collect();
    let same_command: Vec<&RunSummary> = before
        .iter()
        .copied()
        .filter(|r| r.command == current.command)
        .collect();
    let mut earlier = if same_command.is_empty() {
        before
    } else {
        same_command
    };
    earlier.sort_by(|a, b| a.started_ms.cmp(&b.started_ms).then(a.id.cmp(&b.id)));
    let on_main: Vec<&RunSummary> = earlier
        .iter()
        .copied()
        .filter(|r| r.branch().is_some_and(|b| MAIN_BRANCHES.contains(&b)))
        .collect();
    let (runs, branch) = if on_main.is_empty() {
        (earlier, None)
    } else {
        let b = on_main.last().and_then(|r| r.branch()).map(str::to_owned);
        (on_main, b)
    };
    let runs = runs.into_iter().rev().take(window.max(1)).rev().collect();
    (runs, branch)
}

/// The median of `v` (not empty; the mean of the middle two when even).
fn median_u64(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        u64::midpoint(v[n / 2 - 1], v[n / 2])
    }
}

/// The median of `v`, `None` when it is empty.
fn median_f64(mut v: Vec<f64>) -> Option<f64> {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => None,
        n if n % 2 == 1 => Some(v[n / 2]),
        n => Some(f64::midpoint(v[n / 2 - 1], v[n / 2])),
    }
}

/// One way a run is worse than its baseline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Regression {
    /// `hit_rate`, `hit_rate_drop`, `wall_time`, `compile_time`,
    /// `new_dependencies`, `new_root_cause`.
    pub kind: &'static str,
    /// One line for people.
    pub message: String,
    /// A budget was crossed: `--fail-on-regression` fails on it.
    pub budget: bool,
}

/// A run against its baseline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// The baseline (`None`: no earlier run).
    pub baseline: Option<Baseline>,
    /// Regressions, budget crossings first.
    pub regressions: Vec<Regression>,
    /// Crates this run compiled that no baseline run did.
    pub new_crates: Vec<String>,
    /// Root causes no baseline run had (first builds excluded).
    pub new_root_causes: Vec<CauseSummary>,
}

impl Comparison {
    /// Whether a budget was crossed.
    pub fn over_budget(&self) -> bool {
        self.regressions.iter().any(|r| r.budget)
    }
}

fn percent(f: f64) -> String {
    format!("{:.1}%", f * 100.0)
}

/// How `now` compares with `base`: `None` when it rose by less than
/// [`TIME_NOISE_MS`].
enum Rise {
    /// The baseline is under the noise floor: no ratio means anything (a
    /// fully cached baseline spends no compile time at all).
    FromLittle,
    /// The relative increase.
    By(f64),
}

#[allow(clippy::cast_precision_loss)]
fn rise(now: u64, base: u64) -> Option<Rise> {
    (now >= base + TIME_NOISE_MS).then(|| {
        if base < TIME_NOISE_MS {
            Rise::FromLittle
        } else {
            Rise::By((now - base) as f64 / base as f64)
        }
    })
}

/// Compares `current` with its baseline under `budgets`.
pub fn compare(current: &RunSummary, baseline: Option<Baseline>, budgets: &Budgets) -> Comparison {
    let rate = current.hit_rate();
    let mut regressions: Vec<Regression> = below_min_hit_rate(rate, budgets).into_iter().collect();
    let mut new_crates = Vec::new();
    let mut new_root_causes = Vec::new();
    if let Some(b) = &baseline {
        regressions.extend(hit_rate_drop(rate, b, budgets));
        regressions.extend(time_increases(current, b, budgets));
        new_crates = current
            .crate_names()
            .difference(&b.crate_names)
            .cloned()
            .collect();
        regressions.extend(new_dependencies(&new_crates, budgets));
        new_root_causes = causes_not_in(current, b);
        regressions.extend(new_root_causes.iter().map(new_root_cause));
    }
    regressions.sort_by_key(|r| !r.budget);
    Comparison {
        baseline,
        regressions,
        new_crates,
        new_root_causes,
    }
}

/// The hit rate `rate` under the budget's minimum.
fn below_min_hit_rate(rate: Option<f64>, budgets: &Budgets) -> Option<Regression> {
    let (min, r) = (budgets.min_hit_rate?, rate?);
    (r < min).then(|| Regression {
        kind: "hit_rate",
        message: format!(
            "hit rate {} is below the budget of {}",
            percent(r),
            percent(min)
        ),
        budget: true,
    })
}

/// The hit rate `rate` fallen further below the baseline's than the budget
/// allows.
fn hit_rate_drop(rate: Option<f64>, b: &Baseline, budgets: &Budgets) -> Option<Regression> {
    let (max, r, br) = (budgets.max_hit_rate_drop?, rate?, b.hit_rate?);
    (br - r > max).then(|| Regression {
        kind: "hit_rate_drop",
        message: format!(
            "hit rate fell to {} from {} (more than {} points)",
            percent(r),
            percent(br),
            (max * 100.0).round()
        ),
        budget: true,
    })
}

/// Wall and compile time risen above the baseline's by more than their
/// budgets (and by more than [`TIME_NOISE_MS`]). A rise from a baseline
/// under the noise floor is reported but crosses no budget: the hit-rate
/// budgets are what catch a cache that stopped hitting.
fn time_increases(current: &RunSummary, b: &Baseline, budgets: &Budgets) -> Vec<Regression> {
    let times = [
        (
            "wall_time",
            "wall time",
            budgets.max_wall_time_increase,
            current.wall_ms,
            b.wall_ms,
        ),
        (
            "compile_time",
            "compile time",
            budgets.max_compile_time_increase,
            current.compile_ms_spent,
            b.compile_ms_spent,
        ),
    ];
    times
        .into_iter()
        .filter_map(|(kind, what, budget, now, before)| {
            let max = budget?;
            let (before_text, now_text) =
                (kiln_record::duration_ms(before), kiln_record::duration_ms(now));
            let (message, budget) = match rise(now, before)? {
                Rise::FromLittle => (
                    format!(
                        "{what} rose from {before_text} to {now_text} (a baseline under {} is too small for a relative budget)",
                        kiln_record::duration_ms(TIME_NOISE_MS)
                    ),
                    false,
                ),
                Rise::By(up) if up > max => (
                    format!(
                        "{what} +{:.0}% ({before_text} → {now_text}; budget +{:.0}%)",
                        up * 100.0,
                        max * 100.0
                    ),
                    true,
                ),
                Rise::By(_) => return None,
            };
            Some(Regression {
                kind,
                message,
                budget,
            })
        })
        .collect()
}

/// Crates no baseline run compiled: always reported, a budget crossing
/// past `max_new_dependencies`.
fn new_dependencies(new_crates: &[String], budgets: &Budgets) -> Option<Regression> {
    if new_crates.is_empty() {
        return None;
    }
    let over = budgets
        .max_new_dependencies
        .is_some_and(|max| new_crates.len() as u64 > max);
    let budget_note = budgets
        .max_new_dependencies
        .map(|m| format!(" (budget {m})"))
        .unwrap_or_default();
    let names: Vec<String> = new_crates.iter().map(|c| format!("`{c}`")).collect();
    Some(Regression {
        kind: "new_dependencies",
        message: format!(
            "{} new {}{budget_note}: {}",
            new_crates.len(),
            if new_crates.len() == 1 {
                "crate"
            } else {
                "crates"
            },
            names.join(", ")
        ),
        budget: over,
    })
}

/// Root causes of `current` that no baseline run had, first builds left
/// out.
fn causes_not_in(current: &RunSummary, b: &Baseline) -> Vec<CauseSummary> {
    current
        .root_causes
        .iter()
        .filter(|c| !c.is_first_build() && !b.causes.contains(&c.describe()))
        .cloned()
        .collect()
}

/// A root cause the baseline did not have: reported, never a budget.
fn new_root_cause(c: &CauseSummary) -> Regression {
    Regression {
        kind: "new_root_cause",
        message: format!(
            "new root cause: {} → {} {}",
            c.describe(),
            c.misses,
            if c.misses == 1 { "miss" } else { "misses" }
        ),
        budget: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::tests::sample;

    #[test]
    fn baseline_prefers_main_and_takes_medians() {
        let history = vec![
            sample("a", 1, 10, 1000, "main"),
            sample("b", 2, 8, 3000, "main"),
            sample("c", 3, 0, 90_000, "feature"),
            sample("d", 4, 9, 2000, "main"),
        ];
        let cur = sample("e", 5, 2, 9000, "feature");
        let b = baseline(&cur, &history, 10).unwrap();
        assert_eq!(b.runs, ["a", "b", "d"]);
        assert_eq!(b.wall_ms, 2000);
        assert_eq!(b.hit_rate, Some(0.9));
        let b2 = baseline(&cur, &history, 2).unwrap();
        assert_eq!(b2.runs, ["b", "d"]);
    }

    #[test]
    fn baseline_compares_like_with_like() {
        let mut test_run = sample("t", 1, 0, 90_000, "main");
        test_run.command = "cargo test".into();
        let mut failed = sample("f", 2, 0, 90_000, "main");
        failed.exit_code = 101;
        let mut dev = sample("d", 3, 0, 90_000, "main");
        dev.profile = Some("dev".into());
        let history = vec![sample("a", 0, 10, 1000, "main"), test_run, failed, dev];
        let cur = sample("c", 5, 10, 1000, "main");
        assert_eq!(baseline(&cur, &history, 10).unwrap().runs, ["a"]);
        // Another command of the same profile stands in when nothing else ran.
        let mut other = cur;
        other.command = "cargo clippy".into();
        let history = vec![sample("a", 0, 10, 1000, "main")];
        assert_eq!(baseline(&other, &history, 10).unwrap().runs, ["a"]);
    }

    #[test]
    fn no_branch_info_uses_every_run() {
        let mut a = sample("a", 1, 10, 1000, "x");
        a.git.branch = None;
        let cur = sample("b", 2, 10, 1000, "y");
        let b = baseline(&cur, &[a], 10).unwrap();
        assert_eq!((b.runs.len(), b.branch.as_deref()), (1, None));
        assert!(baseline(&cur, &[], 10).is_none());
    }

    #[test]
    fn regressions_follow_budgets() {
        let history = vec![sample("a", 1, 10, 10_000, "main")];
        let mut cur = sample("b", 2, 5, 20_000, "main");
        cur.root_causes.push(CauseSummary {
            unit: "shared v0.1.0 (lib)".into(),
            changes: vec!["env `GIT_SHA` changed".into()],
            misses: 4,
            compile_ms: 100,
        });
        let c = compare(&cur, baseline(&cur, &history, 10), &Budgets::default());
        let kinds: Vec<&str> = c.regressions.iter().map(|r| r.kind).collect();
        assert_eq!(kinds, ["hit_rate_drop", "wall_time", "new_root_cause"]);
        assert!(c.over_budget());
        let lenient = Budgets {
            max_hit_rate_drop: Some(0.9),
            max_wall_time_increase: Some(5.0),
            ..Budgets::default()
        };
        let c = compare(&cur, baseline(&cur, &history, 10), &lenient);
        assert!(!c.over_budget(), "{c:?}");
        assert_eq!(c.new_root_causes.len(), 1);
    }

    #[test]
    fn compile_time_regresses_past_its_budget_and_above_noise() {
        let mut base = sample("a", 1, 10, 10_000, "main");
        base.compile_ms_spent = 4_000;
        let mut cur = sample("b", 2, 10, 10_000, "main");
        cur.compile_ms_spent = 9_000;
        let budgets = Budgets {
            max_compile_time_increase: Some(0.5),
            ..Budgets::default()
        };
        let c = compare(&cur, baseline(&cur, &[base.clone()], 10), &budgets);
        let r = c
            .regressions
            .iter()
            .find(|r| r.kind == "compile_time")
            .unwrap();
        assert!(r.budget && r.message.contains("+125%"), "{r:?}");
        // Within budget, or a rise under the noise floor: no regression.
        cur.compile_ms_spent = 5_000;
        let c = compare(&cur, baseline(&cur, &[base.clone()], 10), &budgets);
        assert!(
            c.regressions.iter().all(|r| r.kind != "compile_time"),
            "{c:?}"
        );
        base.compile_ms_spent = 100;
        cur.compile_ms_spent = 900;
        let c = compare(&cur, baseline(&cur, &[base.clone()], 10), &budgets);
        assert!(
            c.regressions.iter().all(|r| r.kind != "compile_time"),
            "{c:?}"
        );
        // A fully cached baseline: the rise is reported, no budget crossed.
        base.compile_ms_spent = 0;
        cur.compile_ms_spent = 5_000;
        let c = compare(&cur, baseline(&cur, &[base], 10), &budgets);
        let r = c
            .regressions
            .iter()
            .find(|r| r.kind == "compile_time")
            .unwrap();
        assert!(!r.budget && r.message.contains("too small"), "{r:?}");
        assert!(!c.over_budget(), "{c:?}");
    }
}
