//! The `kiln stats --json` document.
//!
//! Version [`STATS_VERSION`]. Counts cover every call recorded since the last
//! `kiln stats --zero` (or since the store was created). `requests` counts
//! hits + misses + not-cacheable + compile errors; cargo's probe calls
//! (`-vV`, `--print`) are not requests.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Outcome, UnitRecord};

/// The `detail` of a probe record that a build script started.
pub const BUILD_SCRIPT_PROBE: &str = "build-script probe";

/// Version of the [`Stats`] format.
pub const STATS_VERSION: u32 = 1;

/// Totals over a set of unit records.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// [`STATS_VERSION`].
    pub version: u32,
    /// Unix time (ms) the counts start from.
    pub since_ms: u64,
    /// Calls that could be answered by the cache or the compiler.
    pub requests: u64,
    /// Outputs restored from the cache.
    pub hits: u64,
    /// Compiled and stored.
    pub misses: u64,
    /// Compiled without caching, all reasons.
    pub not_cacheable_total: u64,
    /// Compiled without caching, per reason (`incremental`, `unknown_flag`, ...).
    pub not_cacheable: BTreeMap<String, u64>,
    /// rustc ran and reported errors.
    pub compile_errors: u64,
    /// Corrupt entries found and removed.
    pub corrupt_entries: u64,
    /// Compile time the hits did not have to spend, in ms.
    pub compile_ms_saved: u64,
    /// Compile time spent on misses and uncached calls, in ms.
    pub compile_ms_spent: u64,
    /// Bytes restored from the store.
    pub bytes_read: u64,
    /// Bytes written to the store.
    pub bytes_written: u64,
    /// Use of the remote store (all zero without one).
    #[serde(default)]
    pub remote: RemoteStats,
    /// The build-script runs among the counts above.
    #[serde(default)]
    pub build_script_runs: KindStats,
    /// C and C++ compiles inside build-script runs. They are part of their
    /// runs (whose time includes theirs), so they are not in the counts and
    /// times above.
    #[serde(default)]
    pub c_compiles: KindStats,
    /// Compiles build scripts ran to ask what the compiler supports
    /// (autocfg, feature probes): passed through, not requests.
    #[serde(default)]
    pub build_script_probes: u64,
}

/// Counts of one kind of action (included in the totals of [`Stats`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindStats {
    /// Restored from the cache.
    pub hits: u64,
    /// Run and stored.
    pub misses: u64,
    /// Run without caching.
    pub not_cacheable: u64,
    /// Time the hits did not have to spend, in ms.
    pub ms_saved: u64,
    /// Time spent running them, in ms.
    pub ms_spent: u64,
}

impl KindStats {
    /// Adds one record of this kind.
    pub fn add(&mut self, r: &UnitRecord) {
        match r.outcome {
            Outcome::Hit => {
                self.hits += 1;
                self.ms_saved += r.compile_ms;
            }
            Outcome::Miss => self.misses += 1,
            Outcome::NotCacheable => self.not_cacheable += 1,
            _ => {}
        }
        if r.outcome != Outcome::Hit {
            self.ms_spent += r.compiled_ms();
        }
    }

    /// Whether any action of this kind ran.
    pub fn is_empty(&self) -> bool {
        self.hits + self.misses + self.not_cacheable == 0 && self.ms_spent == 0
    }
}

/// Remote store counts, separate from the local ones above.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteStats {
    /// Hits whose entry came from the remote store (on demand or prefetched).
    pub hits: u64,
    /// Cacheable calls that asked the remote store and compiled.
    pub misses: u64,
    /// Failed requests and rejected objects.
    pub errors: u64,
    /// Bytes downloaded.
    pub bytes_read: u64,
    /// Bytes uploaded (or handed over for upload).
    pub bytes_written: u64,
    /// Objects uploaded (or handed over for upload).
    pub uploads: u64,
}

impl Stats {
    /// Empty stats starting at `since_ms`.
    pub fn new(since_ms: u64) -> Self {
        Self {
            version: STATS_VERSION,
            since_ms,
            ..Self::default()
        }
    }

    /// Adds one record to the totals.
    pub fn add(&mut self, r: &UnitRecord) {
        if r.outcome == Outcome::Probe {
            self.build_script_probes += u64::from(r.detail.as_deref() == Some(BUILD_SCRIPT_PROBE));
            return;
        }
        self.bytes_read += r.bytes_read;
        self.bytes_written += r.bytes_written;
        self.corrupt_entries += u64::from(r.corrupt_entry);
        if let Some(remote) = &r.remote {
            self.remote.errors += u64::from(remote.errors);
            self.remote.bytes_read += remote.bytes_down;
            self.remote.bytes_written += remote.bytes_up;
            self.remote.uploads += u64::from(remote.uploads);
            if remote.hit {
                self.remote.hits += 1;
            } else if remote.requests > 0 && r.outcome == Outcome::Miss {
                self.remote.misses += 1;
            }
        }
        let compiled_ms = r.compiled_ms();
        match r.kind {
            crate::UnitKind::CCompile => {
                self.c_compiles.add(r);
                return;
            }
            crate::UnitKind::BuildScriptRun => self.build_script_runs.add(r),
            crate::UnitKind::Rustc => {}
        }
        self.requests += 1;
        match r.outcome {
            Outcome::Hit => {
                self.hits += 1;
                self.compile_ms_saved += r.compile_ms;
            }
            Outcome::Miss => {
                self.misses += 1;
                self.compile_ms_spent += compiled_ms;
            }
            Outcome::NotCacheable => {
                self.not_cacheable_total += 1;
                self.compile_ms_spent += compiled_ms;
                let reason = r.reason.as_ref().map_or("unknown", |r| r.as_str());
                *self.not_cacheable.entry(reason.to_owned()).or_default() += 1;
            }
            Outcome::CompileError => {
                self.compile_errors += 1;
                self.compile_ms_spent += compiled_ms;
            }
            Outcome::Probe => {}
        }
    }

    /// Hits over cacheable requests (hits + misses), in percent.
    pub fn hit_rate(&self) -> f64 {
        let cacheable = self.hits + self.misses;
        if cacheable == 0 {
            0.0
        } else {
            #[allow(clippy::cast_precision_loss)]
            let rate = self.hits as f64 * 100.0 / cacheable as f64;
            rate
        }
    }
}
