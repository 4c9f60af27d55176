//! The history database: `KILN_DIR/history.sqlite`.
//!
//! [`History::open`] applies the migrations and sets a busy timeout, so
//! concurrent `kiln run`s wait for each other instead of failing. Every
//! error says whether the file is corrupt, locked or from a newer kiln, with
//! a hint; callers decide whether that fails a command (`kiln history`,
//! `kiln report`) or becomes a warning (`kiln run`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use kiln_types::Outcome;
use rusqlite::types::Type;
use rusqlite::{Connection, ErrorCode, OptionalExtension, Row, params};

use crate::migrate::{MIGRATIONS, MigrateError, migrate};
use crate::summary::{CauseSummary, CiInfo, GitInfo, RunSummary, SUMMARY_VERSION, UnitTiming};

/// File name of the history database inside `KILN_DIR`.
pub const FILE_NAME: &str = "history.sqlite";

/// Runs kept; older ones are removed when a run is added.
pub const KEEP_RUNS: usize = 1000;

/// A problem with the history database.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// Not an SQLite database, or damaged.
    #[error("the history database `{path}` is corrupt: {source}")]
    Corrupt {
        path: PathBuf,
        source: rusqlite::Error,
    },
    /// Another process holds a lock longer than the busy timeout.
    #[error("the history database `{path}` is locked: {source}")]
    Locked {
        path: PathBuf,
        source: rusqlite::Error,
    },
    /// Written by a newer kiln.
    #[error(
        "the history database `{path}` has schema version {found}; this kiln knows up to {known}"
    )]
    Newer {
        path: PathBuf,
        found: i64,
        known: usize,
    },
    /// Anything else SQLite or the file system reported.
    #[error("cannot use the history database `{path}`: {source}")]
    Other {
        path: PathBuf,
        source: rusqlite::Error,
    },
}

impl HistoryError {
    /// What the user can do about it.
    pub fn hint(&self) -> String {
        match self {
            Self::Corrupt { path, .. } => format!(
                "move `{}` away or delete it; kiln starts a new history on the next `kiln run`",
                path.display()
            ),
            Self::Locked { .. } => {
                "another kiln process is writing the history; retry when it is done".into()
            }
            Self::Newer { .. } => "use the newer kiln, or point `KILN_DIR` elsewhere".into(),
            Self::Other { path, .. } => {
                format!("check that `{}` is readable and writable", path.display())
            }
        }
    }

    fn from_sqlite(path: &Path, source: rusqlite::Error) -> Self {
        let path = path.to_owned();
        match source.sqlite_error_code() {
            Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
                Self::Corrupt { path, source }
            }
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
                Self::Locked { path, source }
            }
            _ => Self::Other { path, source },
        }
    }
}

/// An open history.
pub struct History {
    conn: Connection,
    path: PathBuf,
}

/// The database path for a store directory.
pub fn path_in(dir: &Path) -> PathBuf {
    dir.join(FILE_NAME)
}

impl History {
    /// Opens (creating if needed) the history at `path`, waiting up to
    /// `busy` for other writers.
    pub fn open(path: &Path, busy: Duration) -> Result<Self, HistoryError> {
        let err = |e| HistoryError::from_sqlite(path, e);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| HistoryError::Other {
                path: path.to_owned(),
                source: rusqlite::Error::ToSqlConversionFailure(Box::new(e)),
            })?;
        }
        let mut conn = Connection::open(path).map_err(err)?;
        conn.busy_timeout(busy).map_err(err)?;
        conn.execute_batch("PRAGMA foreign_keys = ON;")
            .map_err(err)?;
        migrate(&mut conn).map_err(|e| match e {
            MigrateError::Newer { found } => HistoryError::Newer {
                path: path.to_owned(),
                found,
                known: MIGRATIONS.len(),
            },
            MigrateError::Sqlite(e) => err(e),
        })?;
        Ok(Self {
            conn,
            path: path.to_owned(),
        })
    }

    fn err(&self, e: rusqlite::Error) -> HistoryError {
        HistoryError::from_sqlite(&self.path, e)
    }

    /// Adds (or replaces) a run, and drops runs beyond [`KEEP_RUNS`].
    pub fn insert(&mut self, s: &RunSummary) -> Result<(), HistoryError> {
        let path = self.path.clone();
        let err = |e| HistoryError::from_sqlite(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        tx.execute("DELETE FROM runs WHERE id = ?1", [&s.id])
            .map_err(err)?;
        insert_run(&tx, s).map_err(err)?;
        insert_causes(&tx, &s.id, &s.root_causes).map_err(err)?;
        insert_units(&tx, &s.id, &s.unit_timings).map_err(err)?;
        prune(&tx, KEEP_RUNS).map_err(err)?;
        tx.commit().map_err(err)
    }

    /// Removes all but the newest `keep` runs.
    pub fn prune(&mut self, keep: usize) -> Result<(), HistoryError> {
        prune(&self.conn, keep).map_err(|e| self.err(e))
    }

    /// The latest `n` runs of every project, oldest first.
    pub fn last(&self, n: usize) -> Result<Vec<RunSummary>, HistoryError> {
        self.last_of(n, None)
    }

    /// The latest `n` runs of `project` (every project's when `None`),
    /// oldest first.
    pub fn last_of(
        &self,
        n: usize,
        project: Option<&str>,
    ) -> Result<Vec<RunSummary>, HistoryError> {
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        let ids: Vec<String> = {
            let mut stmt = self
                .conn
                .prepare(
                    "SELECT id FROM runs WHERE ?2 IS NULL OR project = ?2
                     ORDER BY started_ms DESC, id DESC LIMIT ?1",
                )
                .map_err(|e| self.err(e))?;
            stmt.query_map(params![n, project], |r| r.get(0))
                .and_then(Iterator::collect)
                .map_err(|e| self.err(e))?
        };
        let mut runs = Vec::with_capacity(ids.len());
        for id in ids.iter().rev() {
            if let Some(run) = self.get(id)? {
                runs.push(run);
            }
        }
        Ok(runs)
    }

    /// One run by id.
    pub fn get(&self, id: &str) -> Result<Option<RunSummary>, HistoryError> {
        let err = |e| self.err(e);
        let Some(mut run) = read_run(&self.conn, id).map_err(err)? else {
            return Ok(None);
        };
        run.root_causes = read_causes(&self.conn, id).map_err(err)?;
        run.unit_timings = read_units(&self.conn, id).map_err(err)?;
        Ok(Some(run))
    }
}

/// The `runs` row of `s`: everything but its root causes and units.
fn insert_run(conn: &Connection, s: &RunSummary) -> rusqlite::Result<()> {
    let ci = s.ci.clone().unwrap_or_default();
    conn.execute(
        "INSERT INTO runs (id, started_ms, wall_ms, command, exit_code, profile,
            git_commit, git_branch, ci_provider, ci_ref, ci_sha, ci_run_id, ci_workflow, ci_job,
            units, hits, misses, not_cacheable, compile_errors, compile_ms_spent,
            compile_ms_saved, crates, project)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
            ?17, ?18, ?19, ?20, ?21, ?22, ?23)",
        params![
            s.id,
            to_i64(s.started_ms),
            to_i64(s.wall_ms),
            s.command,
            s.exit_code,
            s.profile,
            s.git.commit,
            s.git.branch,
            s.ci.as_ref().map(|c| c.provider.clone()),
            ci.ref_name,
            ci.sha,
            ci.run_id,
            ci.workflow,
            ci.job,
            to_i64(s.units),
            to_i64(s.hits),
            to_i64(s.misses),
            to_i64(s.not_cacheable),
            to_i64(s.compile_errors),
            to_i64(s.compile_ms_spent),
            to_i64(s.compile_ms_saved),
            to_i64(s.crates),
            s.project,
        ],
    )?;
    Ok(())
}

/// The `root_causes` rows of run `run_id`, ranked in their order.
fn insert_causes(conn: &Connection, run_id: &str, causes: &[CauseSummary]) -> rusqlite::Result<()> {
    let mut insert = conn.prepare(
        "INSERT INTO root_causes (run_id, rank, unit, changes, misses, compile_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for (rank, c) in causes.iter().enumerate() {
        let changes = serde_json::to_string(&c.changes).unwrap_or_default();
        insert.execute(params![
            run_id,
            i64::try_from(rank).unwrap_or(i64::MAX),
            c.unit,
            changes,
            to_i64(c.misses),
            to_i64(c.compile_ms)
        ])?;
    }
    Ok(())
}

/// The `units` rows of run `run_id` (the outcome as its stable name).
fn insert_units(conn: &Connection, run_id: &str, units: &[UnitTiming]) -> rusqlite::Result<()> {
    let mut insert = conn.prepare(
        "INSERT INTO units (run_id, unit, crate_name, package, outcome, compile_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for u in units {
        insert.execute(params![
            run_id,
            u.unit,
            u.crate_name,
            u.package,
            u.outcome.as_str(),
            to_i64(u.compile_ms)
        ])?;
    }
    Ok(())
}

/// The `runs` row of `id`, without its root causes and units.
fn read_run(conn: &Connection, id: &str) -> rusqlite::Result<Option<RunSummary>> {
    conn.query_row(
        "SELECT id, started_ms, wall_ms, command, exit_code, profile, git_commit,
            git_branch, ci_provider, ci_ref, ci_sha, ci_run_id, ci_workflow, ci_job,
            units, hits, misses, not_cacheable, compile_errors, compile_ms_spent,
            compile_ms_saved, crates, project
         FROM runs WHERE id = ?1",
        [id],
        run_from_row,
    )
    .optional()
}

/// A run from a row of [`read_run`]'s query.
fn run_from_row(r: &Row<'_>) -> rusqlite::Result<RunSummary> {
    let provider: Option<String> = r.get(8)?;
    let ci = match provider {
        None => None,
        Some(provider) => Some(CiInfo {
            provider,
            ref_name: r.get(9)?,
            sha: r.get(10)?,
            run_id: r.get(11)?,
            workflow: r.get(12)?,
            job: r.get(13)?,
        }),
    };
    Ok(RunSummary {
        version: SUMMARY_VERSION,
        id: r.get(0)?,
        started_ms: to_u64(r.get(1)?),
        wall_ms: to_u64(r.get(2)?),
        command: r.get(3)?,
        exit_code: r.get(4)?,
        profile: r.get(5)?,
        git: GitInfo {
            commit: r.get(6)?,
            branch: r.get(7)?,
        },
        ci,
        units: to_u64(r.get(14)?),
        hits: to_u64(r.get(15)?),
        misses: to_u64(r.get(16)?),
        not_cacheable: to_u64(r.get(17)?),
        compile_errors: to_u64(r.get(18)?),
        compile_ms_spent: to_u64(r.get(19)?),
        compile_ms_saved: to_u64(r.get(20)?),
        crates: to_u64(r.get(21)?),
        project: r.get(22)?,
        root_causes: Vec::new(),
        unit_timings: Vec::new(),
    })
}

/// The root causes of run `id`, in rank order.
fn read_causes(conn: &Connection, id: &str) -> rusqlite::Result<Vec<CauseSummary>> {
    let mut causes = conn.prepare(
        "SELECT unit, changes, misses, compile_ms FROM root_causes
         WHERE run_id = ?1 ORDER BY rank",
    )?;
    causes
        .query_map([id], |r| {
            let changes: String = r.get(1)?;
            Ok(CauseSummary {
                unit: r.get(0)?,
                changes: serde_json::from_str(&changes).unwrap_or_default(),
                misses: to_u64(r.get(2)?),
                compile_ms: to_u64(r.get(3)?),
            })
        })?
        .collect()
}

/// The units of run `id`, slowest first.
fn read_units(conn: &Connection, id: &str) -> rusqlite::Result<Vec<UnitTiming>> {
    let mut units = conn.prepare(
        "SELECT unit, crate_name, package, outcome, compile_ms FROM units
         WHERE run_id = ?1 ORDER BY compile_ms DESC, unit",
    )?;
    units
        .query_map([id], |r| {
            Ok(UnitTiming {
                unit: r.get(0)?,
                crate_name: r.get(1)?,
                package: r.get(2)?,
                outcome: outcome_at(r, 3)?,
                compile_ms: to_u64(r.get(4)?),
            })
        })?
        .collect()
}

/// The outcome in column `i`, stored as [`Outcome::as_str`]'s name; another
/// name is a conversion error, like any value of the wrong type.
fn outcome_at(r: &Row<'_>, i: usize) -> rusqlite::Result<Outcome> {
    let name: String = r.get(i)?;
    name.parse()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, Type::Text, Box::new(e)))
}

fn prune(conn: &Connection, keep: usize) -> rusqlite::Result<()> {
    conn.execute(
        "DELETE FROM runs WHERE id NOT IN
            (SELECT id FROM runs ORDER BY started_ms DESC, id DESC LIMIT ?1)",
        [i64::try_from(keep).unwrap_or(i64::MAX)],
    )?;
    Ok(())
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::tests::sample;

    #[test]
    fn insert_and_read_back() {
        let d = tempfile::tempdir().unwrap();
        let path = path_in(d.path());
        let mut h = History::open(&path, Duration::from_secs(1)).unwrap();
        let mut a = sample("a", 1, 0, 1000, "main");
        a.root_causes.push(CauseSummary {
            unit: "x v1 (lib)".into(),
            changes: vec!["env `SHA` changed".into()],
            misses: 3,
            compile_ms: 40,
        });
        h.insert(&a).unwrap();
        h.insert(&sample("b", 2, 9, 500, "main")).unwrap();
        drop(h);
        let h = History::open(&path, Duration::from_secs(1)).unwrap();
        let runs = h.last(10).unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0], a, "oldest first, everything kept");
        assert_eq!(h.last(1).unwrap()[0].id, "b");
        let stored: Vec<String> = h
            .conn
            .prepare("SELECT outcome FROM units WHERE run_id = 'a' ORDER BY unit")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(stored, ["hit", "miss"], "outcomes stored by name");
    }

    #[test]
    fn an_unknown_outcome_is_an_error_not_a_guess() {
        let d = tempfile::tempdir().unwrap();
        let mut h = History::open(&path_in(d.path()), Duration::from_secs(1)).unwrap();
        h.insert(&sample("a", 1, 5, 100, "main")).unwrap();
        h.conn
            .execute("UPDATE units SET outcome = 'cached'", [])
            .unwrap();
        let e = h.get("a").unwrap_err();
        assert!(e.to_string().contains("unknown outcome `cached`"), "{e}");
    }

    #[test]
    fn prune_keeps_the_newest_runs_and_their_rows() {
        let d = tempfile::tempdir().unwrap();
        let mut h = History::open(&path_in(d.path()), Duration::from_secs(1)).unwrap();
        for i in 0..4 {
            h.insert(&sample(&format!("r{i}"), i, 5, 100, "main"))
                .unwrap();
        }
        h.prune(2).unwrap();
        let ids: Vec<String> = h.last(10).unwrap().into_iter().map(|r| r.id).collect();
        assert_eq!(ids, ["r2", "r3"]);
        let units: i64 = h
            .conn
            .query_row("SELECT COUNT(*) FROM units", [], |r| r.get(0))
            .unwrap();
        assert_eq!(units, 4, "unit rows of pruned runs go with them");
    }

    #[test]
    fn garbage_is_reported_as_corrupt() {
        let d = tempfile::tempdir().unwrap();
        let path = path_in(d.path());
        std::fs::write(&path, vec![0x5a; 8192]).unwrap();
        let e = History::open(&path, Duration::from_millis(100))
            .err()
            .unwrap();
        assert!(matches!(e, HistoryError::Corrupt { .. }), "{e}");
        assert!(e.hint().contains("delete"));
    }

    #[test]
    fn a_held_lock_is_reported_as_locked_after_the_timeout() {
        let d = tempfile::tempdir().unwrap();
        let path = path_in(d.path());
        drop(History::open(&path, Duration::from_secs(1)).unwrap());
        let holder = Connection::open(&path).unwrap();
        holder.execute_batch("BEGIN EXCLUSIVE;").unwrap();
        let mut h = History::open(&path, Duration::from_millis(50));
        if let Ok(open) = &mut h {
            // Opening may succeed from a cached schema; writing cannot.
            let e = open.insert(&sample("x", 1, 1, 1, "main")).unwrap_err();
            assert!(matches!(e, HistoryError::Locked { .. }), "{e}");
        } else {
            let e = h.err().unwrap();
            assert!(matches!(e, HistoryError::Locked { .. }), "{e}");
            assert!(e.hint().contains("another kiln process"));
        }
    }

    #[test]
    fn newer_schema_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let path = path_in(d.path());
        let c = Connection::open(&path).unwrap();
        c.pragma_update(None, "user_version", 99).unwrap();
        drop(c);
        let e = History::open(&path, Duration::from_millis(100))
            .err()
            .unwrap();
        assert!(matches!(e, HistoryError::Newer { found: 99, .. }), "{e}");
    }
}
