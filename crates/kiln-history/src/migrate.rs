//! The history schema and its migrations.
//!
//! The database's `user_version` pragma is the number of migrations applied.
//! [`MIGRATIONS`] is append-only: a released migration is never edited, a
//! change to the schema is a new entry. A database with a higher version
//! than this kiln knows was written by a newer kiln and is refused.

use rusqlite::Connection;

/// Schema changes, in order; entry `i` moves the schema from version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 1: runs, their root causes and per-unit timings.
    "CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        started_ms INTEGER NOT NULL,
        wall_ms INTEGER NOT NULL,
        command TEXT NOT NULL,
        exit_code INTEGER NOT NULL,
        profile TEXT,
        git_commit TEXT,
        git_branch TEXT,
        ci_provider TEXT,
        ci_ref TEXT,
        ci_sha TEXT,
        ci_run_id TEXT,
        ci_workflow TEXT,
        ci_job TEXT,
        units INTEGER NOT NULL,
        hits INTEGER NOT NULL,
        misses INTEGER NOT NULL,
        not_cacheable INTEGER NOT NULL,
        compile_errors INTEGER NOT NULL,
        compile_ms_spent INTEGER NOT NULL,
        compile_ms_saved INTEGER NOT NULL,
        crates INTEGER NOT NULL
    );
    CREATE INDEX runs_by_start ON runs(started_ms);
    CREATE TABLE root_causes (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        rank INTEGER NOT NULL,
        unit TEXT NOT NULL,
        changes TEXT NOT NULL,
        misses INTEGER NOT NULL,
        compile_ms INTEGER NOT NULL,
        PRIMARY KEY (run_id, rank)
    );
    CREATE TABLE units (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        unit TEXT NOT NULL,
        crate_name TEXT NOT NULL,
        package TEXT,
        outcome TEXT NOT NULL,
        compile_ms INTEGER NOT NULL
    );
    CREATE INDEX units_by_run ON units(run_id);",
    // 2: the project (workspace) a run built, so one KILN_DIR can serve
    // several without mixing their baselines.
    "ALTER TABLE runs ADD COLUMN project TEXT;",
];

/// What went wrong while migrating.
#[derive(Debug)]
pub enum MigrateError {
    /// The database is newer than this kiln.
    Newer { found: i64 },
    /// SQLite failed.
    Sqlite(rusqlite::Error),
}

/// Brings the schema of `conn` up to date.
pub fn migrate(conn: &mut Connection) -> Result<(), MigrateError> {
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(MigrateError::Sqlite)?;
    let known = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    if version > known {
        return Err(MigrateError::Newer { found: version });
    }
    if version == known {
        return Ok(());
    }
    let tx = conn.transaction().map_err(MigrateError::Sqlite)?;
    for (i, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(version).unwrap_or(0))
    {
        tx.execute_batch(sql).map_err(MigrateError::Sqlite)?;
        tx.pragma_update(
            None,
            "user_version",
            i64::try_from(i + 1).unwrap_or(i64::MAX),
        )
        .map_err(MigrateError::Sqlite)?;
    }
    tx.commit().map_err(MigrateError::Sqlite)
}
