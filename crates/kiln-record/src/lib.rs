//! Run records: the history of what kiln did.
//!
//! Every call kiln sees appends one [`UnitRecord`] as a JSON line to
//! `<dir>/records/<run-id>.jsonl` (one `write` per line, with `O_APPEND`, so
//! concurrent wrapper processes never interleave). `kiln stats` sums records
//! since the last reset; `kiln run` prints a [`RunRecap`] of its run's records.
//! Malformed lines are skipped: a damaged record never breaks a command.
//! Why a run's units missed is `kiln-explain`'s, over these records.

mod time;

use std::io::Write;
use std::path::{Path, PathBuf};

use kiln_types::AgentReport;
pub use kiln_types::{Outcome, Stats, UnitRecord, is_run_id};
pub use time::{duration_ms, now_ms, utc_date, utc_minute};

/// A problem reading or writing records.
#[derive(Debug, thiserror::Error)]
#[error("{action} `{path}`: {source}")]
pub struct RecordError {
    /// What kiln was doing.
    pub action: &'static str,
    /// Where.
    pub path: PathBuf,
    /// The cause.
    pub source: std::io::Error,
}

/// The records directory of a store.
pub fn records_dir(store: &Path) -> PathBuf {
    store.join("records")
}

/// The run id for calls outside `kiln run`: one per UTC day.
pub fn adhoc_run_id(now_ms: u64) -> String {
    format!("adhoc-{}", time::utc_stamp(now_ms, "%Y%m%d"))
}

/// A fresh run id: UTC date, time and process id.
pub fn new_run_id(now_ms: u64) -> String {
    format!(
        "{}-{}",
        time::utc_stamp(now_ms, "%Y%m%d-%H%M%S"),
        std::process::id()
    )
}

/// Appends `record` to its run's file.
pub fn append(store: &Path, record: &UnitRecord) -> Result<(), RecordError> {
    let dir = records_dir(store);
    let path = dir.join(format!("{}.jsonl", record.run));
    let err = |action, source| RecordError {
        action,
        path: path.clone(),
        source,
    };
    let mut line = serde_json::to_vec(record)
        .map_err(|e| err("encode record for", std::io::Error::other(e)))?;
    line.push(b'\n');
    std::fs::create_dir_all(&dir).map_err(|e| err("create", e))?;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| err("open", e))?;
    f.write_all(&line).map_err(|e| err("write", e))
}

/// Reads the records of one run, in the order they were written.
pub fn read_run(store: &Path, run: &str) -> Result<Vec<UnitRecord>, RecordError> {
    let path = records_dir(store).join(format!("{run}.jsonl"));
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(parse_records(&text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(source) => Err(RecordError {
            action: "read",
            path,
            source,
        }),
    }
}

/// Every run with records, oldest first: run id and last write (ms).
pub fn list_runs(store: &Path) -> Vec<(String, u64)> {
    let Ok(files) = std::fs::read_dir(records_dir(store)) else {
        return Vec::new();
    };
    let mut runs: Vec<(String, u64)> = files
        .flatten()
        .filter_map(|f| {
            let name = f.file_name().to_string_lossy().into_owned();
            let run = name.strip_suffix(".jsonl")?.to_owned();
            let modified = f
                .metadata()
                .ok()?
                .modified()
                .ok()?
                .duration_since(std::time::UNIX_EPOCH)
                .ok()?;
            Some((run, u64::try_from(modified.as_millis()).unwrap_or(u64::MAX)))
        })
        .collect();
    runs.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    runs
}

/// Runs read at most by [`read_before`]: a bound on the work at the end of
/// every `kiln run`, however long the history grows.
pub const MAX_RUNS_BEFORE: usize = 100;

/// Records of the runs before `run` that started before `before_ms`, oldest
/// first, for explaining `run`: runs are read newest first and reading stops
/// once every unit id in `wanted` has a record (or after
/// [`MAX_RUNS_BEFORE`] runs), so the cost follows the units asked about,
/// not the length of the history.
pub fn read_before(
    store: &Path,
    run: &str,
    before_ms: u64,
    wanted: &std::collections::HashSet<String>,
) -> Vec<UnitRecord> {
    let mut out: Vec<UnitRecord> = Vec::new();
    let mut missing: std::collections::HashSet<&String> = wanted.iter().collect();
    let runs = list_runs(store);
    for (other, _) in runs
        .iter()
        .rev()
        .filter(|(r, _)| r != run)
        .take(MAX_RUNS_BEFORE)
    {
        if let Ok(records) = read_run(store, other) {
            for r in records.into_iter().filter(|r| r.started_ms < before_ms) {
                if r.key.is_some() && matches!(r.outcome, Outcome::Hit | Outcome::Miss) {
                    missing.remove(&r.unit_id());
                }
                out.push(r);
            }
        }
        if missing.is_empty() {
            break;
        }
    }
    out.sort_by_key(|r| r.started_ms);
    out
}

/// The records in `text` (JSON lines; lines that do not parse are skipped).
pub fn parse_records(text: &str) -> Vec<UnitRecord> {
    text.lines()
        .filter_map(|l| serde_json::from_str::<UnitRecord>(l).ok())
        .collect()
}

fn zero_file(store: &Path) -> PathBuf {
    records_dir(store).join("stats-zero")
}

/// When the counts of `kiln stats` start (ms since the epoch; 0: forever).
pub fn stats_since(store: &Path) -> u64 {
    std::fs::read_to_string(zero_file(store))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// Resets the counts of `kiln stats` to start now.
pub fn zero_stats(store: &Path, now_ms: u64) -> Result<(), RecordError> {
    let path = zero_file(store);
    let dir = records_dir(store);
    std::fs::create_dir_all(&dir).map_err(|source| RecordError {
        action: "create",
        path: dir,
        source,
    })?;
    std::fs::write(&path, now_ms.to_string()).map_err(|source| RecordError {
        action: "write",
        path,
        source,
    })
}

/// Sums every record since the last reset.
pub fn stats(store: &Path) -> Result<Stats, RecordError> {
    let since = stats_since(store);
    let mut stats = Stats::new(since);
    let dir = records_dir(store);
    let files = match std::fs::read_dir(&dir) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(stats),
        Err(source) => {
            return Err(RecordError {
                action: "list",
                path: dir,
                source,
            });
        }
    };
    for f in files.flatten() {
        let path = f.path();
        let is_remote_report = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().ends_with(".remote.json"));
        if is_remote_report {
            add_remote_report(&mut stats, &path, since);
            continue;
        }
        if path.extension().is_none_or(|e| e != "jsonl") {
            continue;
        }
        let modified_ms = f
            .metadata()
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(u64::MAX, |d| {
                u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
            });
        if modified_ms < since {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        for r in parse_records(&text) {
            if r.started_ms >= since {
                stats.add(&r);
            }
        }
    }
    Ok(stats)
}

/// Adds what a run's agent did beyond the unit records: hits on prefetched
/// entries, their bytes, and failed uploads (`<run>.remote.json`, an
/// [`AgentReport`]; a file that does not parse adds nothing).
fn add_remote_report(stats: &mut Stats, path: &Path, since: u64) {
    let modified_ms = std::fs::metadata(path)
        .ok()
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    if modified_ms < since {
        return;
    }
    let Some(report) = std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice::<AgentReport>(&b).ok())
    else {
        return;
    };
    stats.remote.hits += report.prefetched_hits;
    stats.remote.bytes_read += report.prefetch_bytes;
    stats.remote.errors += report.error_count();
}

/// Removes run files not written to for `keep_days` days.
pub fn prune(store: &Path, keep_days: u64) -> usize {
    let Ok(files) = std::fs::read_dir(records_dir(store)) else {
        return 0;
    };
    let limit = std::time::Duration::from_secs(keep_days * 86_400);
    let now = std::time::SystemTime::now();
    let mut removed = 0;
    for f in files.flatten() {
        let p = f.path();
        if p.extension().is_none_or(|e| e != "jsonl") {
            continue;
        }
        let old = f
            .metadata()
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|t| now.duration_since(t).ok());
        if old.is_some_and(|age| age > limit) && std::fs::remove_file(&p).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// The recap `kiln run` prints at its end: the run's totals and the units
/// worth naming. Read from the run's records and printed, never stored;
/// what the history keeps of a run is `kiln-history`'s `RunSummary`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunRecap {
    /// Totals of the run.
    pub stats: Stats,
    /// The slowest misses: label and compile ms, slowest first.
    pub slowest_misses: Vec<(String, u64)>,
    /// Uncached calls grouped by reason, with an example unit.
    pub uncached_examples: Vec<(String, u64, String)>,
    /// Build-script runs that ran (missed or could not be cached), slowest
    /// first, with their time in ms: time outside rustc a warm build still
    /// spends.
    pub slowest_runs: Vec<(String, u64)>,
}

/// Recaps the records of a run, naming at most `top` units per list.
pub fn recap(records: &[UnitRecord], top: usize) -> RunRecap {
    let mut stats = Stats::new(records.iter().map(|r| r.started_ms).min().unwrap_or(0));
    for r in records {
        stats.add(r);
    }
    let slowest_misses = slowest(records.iter().filter(|r| r.outcome == Outcome::Miss), top);
    let slowest_runs = slowest(
        records.iter().filter(|r| {
            r.kind == kiln_types::UnitKind::BuildScriptRun && r.outcome != Outcome::Hit
        }),
        top,
    );
    RunRecap {
        stats,
        slowest_misses,
        uncached_examples: uncached_examples(records),
        slowest_runs,
    }
}

/// The `top` records that ran longest: label and compile ms, slowest first
/// (ties by label).
fn slowest<'a>(records: impl Iterator<Item = &'a UnitRecord>, top: usize) -> Vec<(String, u64)> {
    let mut ranked: Vec<(String, u64)> = records.map(|r| (r.label(), r.compiled_ms())).collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    ranked.truncate(top);
    ranked
}

/// Uncached calls per reason (by name): how many, and the first unit.
fn uncached_examples(records: &[UnitRecord]) -> Vec<(String, u64, String)> {
    let mut by_reason: std::collections::BTreeMap<String, (u64, String)> =
        std::collections::BTreeMap::new();
    for r in records
        .iter()
        .filter(|r| r.outcome == Outcome::NotCacheable)
    {
        let reason = r
            .reason
            .as_ref()
            .map_or("unknown", |r| r.as_str())
            .to_owned();
        by_reason.entry(reason).or_insert((0, r.label())).0 += 1;
    }
    by_reason
        .into_iter()
        .map(|(reason, (n, example))| (reason, n, example))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiln_types::{PassReason, RECORD_VERSION, Timings, UnitKind};

    fn rec(run: &str, outcome: Outcome, started_ms: u64) -> UnitRecord {
        UnitRecord {
            version: RECORD_VERSION,
            kind: UnitKind::default(),
            run: run.into(),
            started_ms,
            crate_name: "foo".into(),
            package: Some("foo".into()),
            package_version: Some("1.0.0".into()),
            crate_types: vec!["lib".into()],
            target: None,
            profile: Some("debug".into()),
            extra_filename: None,
            clippy: false,
            test: false,
            outcome,
            reason: (outcome == Outcome::NotCacheable).then_some(PassReason::Incremental),
            detail: None,
            invocation_key: None,
            key: None,
            compile_ms: 100,
            timings: Timings {
                compile_us: 50_000,
                ..Timings::default()
            },
            bytes_read: 10,
            bytes_written: 20,
            corrupt_entry: false,
            exit_code: 0,
            wrapper_max_rss_kb: 0,
            remote: None,
        }
    }

    #[test]
    fn stats_count_since_zero() {
        let d = tempfile::tempdir().unwrap();
        append(d.path(), &rec("a", Outcome::Hit, 10)).unwrap();
        append(d.path(), &rec("a", Outcome::Miss, 20)).unwrap();
        append(d.path(), &rec("b", Outcome::NotCacheable, 30)).unwrap();
        append(d.path(), &rec("b", Outcome::Probe, 30)).unwrap();
        let s = stats(d.path()).unwrap();
        assert_eq!(
            (s.requests, s.hits, s.misses, s.not_cacheable_total),
            (3, 1, 1, 1)
        );
        assert_eq!(s.not_cacheable.get("incremental"), Some(&1));
        assert_eq!(s.compile_ms_saved, 100);
        assert_eq!(s.bytes_written, 60);
        zero_stats(d.path(), 25).unwrap();
        let s = stats(d.path()).unwrap();
        assert_eq!((s.requests, s.hits, s.misses), (1, 0, 0));
    }

    #[test]
    fn damaged_lines_are_skipped() {
        let d = tempfile::tempdir().unwrap();
        append(d.path(), &rec("a", Outcome::Hit, 10)).unwrap();
        let p = records_dir(d.path()).join("a.jsonl");
        let mut text = std::fs::read_to_string(&p).unwrap();
        text.push_str("{garbage\n");
        std::fs::write(&p, text).unwrap();
        assert_eq!(read_run(d.path(), "a").unwrap().len(), 1);
    }

    #[test]
    fn run_ids_name_the_utc_day_and_time() {
        assert_eq!(adhoc_run_id(1_795_000_000_000), "adhoc-20261118");
        let id = new_run_id(1_795_000_000_000);
        assert_eq!(id, format!("20261118-110640-{}", std::process::id()));
        assert!(is_run_id(&id));
    }

    #[test]
    fn agent_reports_add_remote_counts() {
        let d = tempfile::tempdir().unwrap();
        append(d.path(), &rec("a", Outcome::Hit, 10)).unwrap();
        let report = records_dir(d.path()).join("a.remote.json");
        std::fs::write(
            &report,
            r#"{"prefetched_hits": 2, "prefetch_bytes": 300, "errors": 1, "rejected": 1,
                "upload_errors": 1, "uploads_abandoned": 1, "url": "s3://x"}"#,
        )
        .unwrap();
        std::fs::write(records_dir(d.path()).join("b.remote.json"), "{broken").unwrap();
        let s = stats(d.path()).unwrap();
        assert_eq!(
            (s.remote.hits, s.remote.bytes_read, s.remote.errors),
            (2, 300, 4)
        );
    }

    #[test]
    fn recap_ranks_slowest_misses() {
        let mut a = rec("r", Outcome::Miss, 1);
        a.timings.compile_us = 5_000_000;
        a.package = Some("slow".into());
        let b = rec("r", Outcome::Miss, 1);
        let s = recap(&[b, a, rec("r", Outcome::Hit, 1)], 1);
        assert_eq!(
            s.slowest_misses,
            vec![("slow v1.0.0 (lib)".to_owned(), 5000)]
        );
        assert_eq!(s.stats.hits, 1);
    }
}
