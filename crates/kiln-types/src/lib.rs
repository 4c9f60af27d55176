//! Serializable types that kiln writes to disk and that other tools read.
//!
//! This crate owns the *formats*: the per-call [`UnitRecord`] (one JSON line per
//! rustc call kiln sees), the [`Stats`] document printed by `kiln stats --json`
//! and the [`AgentReport`] a run's remote agent leaves beside its records.
//! They are versioned or only ever gain fields; a reader must ignore unknown
//! fields (and check `version` where there is one). It holds no logic beyond
//! small helpers for aggregation.

mod agent;
mod components;
mod record;
mod stats;

pub use agent::AgentReport;
pub use components::{COMPONENTS_VERSION, KeyComponents, env_value_shown};
pub use record::{
    Outcome, PassReason, RECORD_VERSION, RemoteUse, Timings, UnitKind, UnitRecord, UnknownOutcome,
    is_run_id,
};
pub use stats::{BUILD_SCRIPT_PROBE, KindStats, RemoteStats, STATS_VERSION, Stats};
