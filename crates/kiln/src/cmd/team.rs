//! What a team shares beside the remote cache: run summaries and records,
//! branch pointers. `kiln run` publishes them; `kiln history --remote` and
//! `kiln explain --against latest-<branch>` read them.

use std::time::Duration;

use anyhow::Result;
use kiln_config::{Config, RemoteConfig};
use kiln_history::RunSummary;
use kiln_remote::agent::AgentReport;
use kiln_remote::shared::{self, BranchHead};
use kiln_remote::{Kind, local};
use kiln_store::LocalStore;
use kiln_types::UnitRecord;

use crate::error::hinted;

/// Bound of the publication at the end of a run.
const PUBLISH_BOUND: Duration = Duration::from_secs(20);

/// A failed read of the store, for commands.
fn unreadable(remote: &RemoteConfig, e: &kiln_remote::RemoteError) -> anyhow::Error {
    hinted(
        format!("cannot read `{}`: {e}", remote.url),
        "check the store settings and credentials",
    )
}

fn remote_or_hint(cfg: &Config) -> Result<&RemoteConfig> {
    super::remote_config(cfg)
}

/// Stores the run's summary and moves its branch pointer. Skipped for
/// read-only stores and when the store was given up during the build; a
/// failure is one warning.
pub fn publish(cfg: &Config, summary: &RunSummary, report: &AgentReport) {
    let Some(remote) = &cfg.remote else { return };
    if remote.read_only || report.gave_up.is_some() {
        return;
    }
    let mut objects = vec![(
        shared::history_name(&summary.id),
        kiln_history::summary_json(summary),
    )];
    if let Some(branch) = summary.branch() {
        let head = BranchHead {
            run: summary.id.clone(),
            started_ms: summary.started_ms,
        };
        if let Ok(json) = serde_json::to_vec(&head) {
            objects.push((shared::branch_name(branch), json));
        }
    }
    if let Err(e) = shared::put_all(remote, &objects, PUBLISH_BOUND) {
        kiln_diag::warn(&format!(
            "remote `{}`: run summary not stored: {e}",
            remote.url
        ));
    }
}

/// The team's last `n` runs from the remote store, oldest first.
pub fn remote_history(cfg: &Config, n: usize) -> Result<Vec<RunSummary>> {
    let remote = remote_or_hint(cfg)?;
    let failed = |e: kiln_remote::RemoteError| unreadable(remote, &e);
    let mut names = shared::list(remote, "history/").map_err(failed)?;
    names.sort();
    let start = names.len().saturating_sub(n);
    let names = names.split_off(start);
    let docs = shared::get_all(remote, &names).map_err(failed)?;
    Ok(docs
        .into_iter()
        .flatten()
        .filter_map(|d| kiln_history::summary_from_json(&d).ok())
        .collect())
}

/// Runs the team stored beside the remote cache.
const TEAM_BASELINE_RUNS: usize = 50;

/// `local` runs merged with the team's recent runs from the remote store
/// (when one is configured), oldest first. On a fresh CI runner the local
/// history is empty; the team's main-branch runs are the baseline then. A
/// remote problem is one warning and the local runs alone.
pub fn with_team_history(cfg: &Config, local: Vec<RunSummary>) -> Vec<RunSummary> {
    let Some(remote) = &cfg.remote else {
        return local;
    };
    let team = match remote_history(cfg, TEAM_BASELINE_RUNS) {
        Ok(t) => t,
        Err(e) => {
            kiln_diag::warn(&format!(
                "the team's runs in `{}` are not in this report: {e:#}",
                remote.url
            ));
            return local;
        }
    };
    let mut runs = local;
    for r in team {
        if !runs.iter().any(|l| l.id == r.id) {
            runs.push(r);
        }
    }
    runs.sort_by(|a, b| a.started_ms.cmp(&b.started_ms).then(a.id.cmp(&b.id)));
    runs
}

/// Where runs fetched from the team's store are kept: beside this machine's
/// records, never among them, so `kiln stats`, `kiln explain` and the
/// history only ever count this machine's builds as its own.
fn team_runs_dir(cfg: &Config) -> std::path::PathBuf {
    cfg.dir.join("team-runs")
}

/// Resolves `latest-<branch>` to a run id and its records, fetching them
/// (and the key components of their entries) from the remote store when
/// this machine does not have them.
pub fn resolve_latest(cfg: &Config, branch: &str) -> Result<(String, Vec<UnitRecord>)> {
    if cfg.remote_problem.is_none() && cfg.remote.is_none() {
        return Err(hinted(
            format!("`latest-{branch}` needs the team's runs, and no remote store is configured"),
            "set `KILN_REMOTE`, or pass a run id from `KILN_DIR/records`",
        ));
    }
    let remote = remote_or_hint(cfg)?;
    let failed = |e: kiln_remote::RemoteError| unreadable(remote, &e);
    let head = shared::get_all(remote, &[shared::branch_name(branch)])
        .map_err(failed)?
        .pop()
        .flatten()
        .and_then(|b| serde_json::from_slice::<BranchHead>(&b).ok())
        .ok_or_else(|| {
            hinted(
                format!("no run of branch `{branch}` in `{}`", remote.url),
                "a writable `kiln run` on that branch stores one",
            )
        })?;
    let run = head.run;
    // The id names a local file: only what `kiln run` itself produces.
    if !kiln_record::is_run_id(&run) {
        return Err(hinted(
            format!(
                "branch `{branch}` in `{}` points to an invalid run id",
                remote.url
            ),
            "the pointer was not written by kiln; pass a run id instead",
        ));
    }
    let own = kiln_record::read_run(&cfg.dir, &run).unwrap_or_default();
    let records = if own.is_empty() {
        let cached = team_runs_dir(cfg).join(format!("{run}.jsonl"));
        let bytes = match std::fs::read(&cached) {
            Ok(b) => b,
            Err(_) => {
                let bytes = shared::get_all(remote, &[kiln_remote::object::run_name(&run)])
                    .map_err(failed)?
                    .pop()
                    .flatten()
                    .ok_or_else(|| {
                        hinted(
                            format!("the records of run `{run}` are missing in `{}`", remote.url),
                            "they may have expired; pass another run",
                        )
                    })?;
                // A cache of what was fetched; losing it only costs a fetch.
                let _ = std::fs::create_dir_all(team_runs_dir(cfg))
                    .and_then(|()| std::fs::write(&cached, &bytes));
                bytes
            }
        };
        kiln_record::parse_records(&String::from_utf8_lossy(&bytes))
    } else {
        own
    };
    fetch_components(cfg, remote, &records)?;
    Ok((run, records))
}

/// Brings the key components of the entries of `records` into the local store.
fn fetch_components(cfg: &Config, remote: &RemoteConfig, records: &[UnitRecord]) -> Result<()> {
    let store = LocalStore::new(&cfg.dir);
    let keys: Vec<kiln_key::Digest> = records
        .iter()
        .filter_map(|r| r.key.as_deref().and_then(kiln_key::Digest::from_hex))
        .filter(|k| !store.components_path(k).is_file())
        .collect();
    let names: Vec<String> = keys.iter().map(|k| Kind::Components.name(k)).collect();
    let docs = shared::get_all(remote, &names).map_err(|e| unreadable(remote, &e))?;
    for (key, doc) in keys.iter().zip(docs) {
        if let Some(doc) = doc {
            let _ = local::install_components(&store, key, &doc);
        }
    }
    Ok(())
}
