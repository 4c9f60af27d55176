//! The remote side of `kiln run`: start the build agent before the command,
//! and after it wait for uploads, store the prefetch index and the run's
//! records, and summarize what the remote store did.

use std::collections::HashSet;
use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::Path;
use std::process::Command;

use kiln_config::Config;
use kiln_remote::agent::{Agent, AgentOptions, AgentReport};
use kiln_remote::index::{self, Index};
use kiln_store::LocalStore;
use kiln_store::manifest::{self, Candidate};
use kiln_types::{Outcome, UnitRecord};

/// A started agent and the scope of its build.
pub struct RunAgent {
    pub agent: Agent,
    scope: String,
}

/// Starts the agent when a remote store is configured. A failure is a
/// warning: the build then talks to the store from each call.
pub fn start(cfg: &Config, command: &[OsString]) -> Option<RunAgent> {
    let remote = cfg.remote.as_ref().filter(|_| !cfg.disabled)?;
    // Before cargo, not beside it: `rustc -vV` may make rustup install the
    // toolchain, and two rustup installs of one toolchain at once can fail.
    let scope = build_scope(command);
    let options = AgentOptions {
        prefetch_scope: remote.prefetch.then(|| scope.clone()),
        progress: std::io::stderr().is_terminal(),
    };
    match Agent::start(remote, LocalStore::new(&cfg.dir), options) {
        Ok(agent) => Some(RunAgent { agent, scope }),
        Err(e) => {
            kiln_diag::warn(&format!(
                "remote `{}`: {e}; compiling without it",
                remote.url
            ));
            None
        }
    }
}

/// What must match for one build's keys to be worth fetching for the next:
/// the toolchain, the command and the repository.
fn build_scope(command: &[OsString]) -> String {
    let output = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| o.stdout)
            .unwrap_or_default()
    };
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let toolchain = output(&rustc, &["-vV"]);
    let repo = output("git", &["config", "--get", "remote.origin.url"]);
    let cmd: Vec<u8> = command
        .iter()
        .flat_map(|a| {
            let mut v = a.as_encoded_bytes().to_vec();
            v.push(0);
            v
        })
        .collect();
    index::scope(&[&toolchain, &cmd, &repo])
}

/// Finishes the agent after the command: waits for uploads (bounded),
/// stores the index and records, and writes `records/<run>.remote.json`.
pub fn finish(run: RunAgent, cfg: &Config, run_id: &str, records: &[UnitRecord]) -> AgentReport {
    let wait = cfg
        .remote
        .as_ref()
        .map_or(kiln_config::remote::DEFAULT_UPLOAD_WAIT, |r| r.upload_wait);
    let mut used: Vec<&UnitRecord> = records
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Hit | Outcome::Miss))
        .collect();
    used.sort_by_key(|r| r.started_ms);
    let idx = Index::new(
        used.iter()
            .filter_map(|r| r.invocation_key.clone())
            .collect(),
        used.iter().filter_map(|r| r.key.clone()).collect(),
    )
    .with_candidates(used_candidates(cfg, &used));
    let records_file = kiln_record::records_dir(&cfg.dir).join(format!("{run_id}.jsonl"));
    let record_bytes = std::fs::read(&records_file).unwrap_or_default();
    let index = (!idx.entries.is_empty()).then_some((run.scope.as_str(), &idx));
    let records = (!record_bytes.is_empty()).then_some((run_id, record_bytes.as_slice()));
    let mut report = run.agent.finish(wait, index, records);
    let prefetched: HashSet<&str> = report.prefetched_keys.iter().map(String::as_str).collect();
    report.prefetched_hits = records_hits_in(&used, &prefetched);
    save_report(&cfg.dir, run_id, &report);
    report
}

/// For each invocation key the build used, the local manifest list that
/// answered it (first use order, once per key).
fn used_candidates(cfg: &Config, used: &[&UnitRecord]) -> Vec<(String, Candidate)> {
    let dir = LocalStore::new(&cfg.dir).manifest_dir();
    let mut seen = HashSet::new();
    used.iter()
        .filter_map(|r| Some((r.invocation_key.as_deref()?, r.key.as_deref()?)))
        .filter(|(inv, _)| seen.insert(*inv))
        .filter_map(|(inv, key)| {
            let digest = kiln_key::Digest::from_hex(inv)?;
            let candidate = manifest::load(&dir, &digest)
                .candidates
                .into_iter()
                .find(|c| c.key == key)?;
            Some((inv.to_owned(), candidate))
        })
        .collect()
}

fn records_hits_in(used: &[&UnitRecord], keys: &HashSet<&str>) -> u64 {
    used.iter()
        .filter(|r| {
            r.outcome == Outcome::Hit
                && !r.remote.as_ref().is_some_and(|u| u.hit)
                && r.key.as_deref().is_some_and(|k| keys.contains(k))
        })
        .count() as u64
}

fn save_report(dir: &Path, run_id: &str, report: &AgentReport) {
    let path = kiln_record::records_dir(dir).join(format!("{run_id}.remote.json"));
    if let Ok(json) = serde_json::to_vec_pretty(report) {
        let _ = std::fs::write(path, json);
    }
}
