//! The unit record: what kiln did with one rustc call.
//!
//! Records are appended as JSON lines to `KILN_DIR/records/<run-id>.jsonl`.
//! Format version [`RECORD_VERSION`]; fields are only ever added, never renamed
//! or removed within a version. Durations are integer milliseconds (`_ms`) or
//! microseconds (`_us`), sizes are bytes.

use serde::{Deserialize, Serialize};

/// Version of the [`UnitRecord`] format.
pub const RECORD_VERSION: u32 = 1;

/// What happened to one rustc call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Outputs restored from the cache; rustc did not run.
    Hit,
    /// Not in the cache: rustc ran and its outputs were stored.
    Miss,
    /// kiln ran rustc without caching, for the reason in `reason`.
    NotCacheable,
    /// A call cargo makes to learn about the compiler (`-vV`, `--print`):
    /// passed through and not counted as a request.
    Probe,
    /// rustc ran and failed (compile error); nothing was stored.
    CompileError,
}

impl Outcome {
    /// Every outcome, in declaration order.
    pub const ALL: [Self; 5] = [
        Self::Hit,
        Self::Miss,
        Self::NotCacheable,
        Self::Probe,
        Self::CompileError,
    ];

    /// The stable name used in JSON and in the history database (the same
    /// as its serialized form).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hit => "hit",
            Self::Miss => "miss",
            Self::NotCacheable => "not_cacheable",
            Self::Probe => "probe",
            Self::CompileError => "compile_error",
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Outcome {
    type Err = UnknownOutcome;

    /// The outcome named by [`Outcome::as_str`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| UnknownOutcome(s.to_owned()))
    }
}

/// A name that is not one of [`Outcome::as_str`]'s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownOutcome(pub String);

impl std::fmt::Display for UnknownOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown outcome `{}`", self.0)
    }
}

impl std::error::Error for UnknownOutcome {}

/// Why a call was passed through uncached. Stable `snake_case` names: they are
/// the keys of `not_cacheable` in `kiln stats --json`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PassReason {
    /// `-C incremental`: rustc keeps its own incremental state.
    Incremental,
    /// Reading the source from standard input.
    StdinInput,
    /// No input file, or more than one.
    NoSingleInput,
    /// A flag kiln does not model, so cannot prove the key complete.
    UnknownFlag,
    /// Unstable `-Z` flags that write extra files or read unknown inputs.
    UnstableFlag,
    /// Profile-guided optimisation reads or writes profile data.
    ProfileGuided,
    /// Output to standard output or to a place kiln cannot restore.
    UnsupportedOutput,
    /// The compile wrote files outside its output directory (or files in it
    /// that are not its outputs).
    WritesOutsideOutDir,
    /// An input was modified while the compile ran.
    InputChanged,
    /// A linking call on a platform where kiln cannot observe the linker.
    LinkerNotObservable,
    /// Part of what the action did is past the observer: it ran a static or
    /// setuid program, or looked for a program on a search path with a
    /// relative entry (below a working directory the observer does not
    /// record).
    Unobserved,
    /// The action used the network (a connection or a name lookup): what
    /// came back cannot be keyed.
    Network,
    /// Code that ran makes system calls itself (rustix's `linux_raw`
    /// backend, say), past the observer: what it read cannot be keyed.
    RawSyscalls,
    /// A C or C++ source uses `__DATE__`, `__TIME__` or `__TIMESTAMP__`
    /// without `SOURCE_DATE_EPOCH`: the object holds the time of the compile.
    Clock,
    /// `KILN_DISABLE` is set.
    Disabled,
    /// kiln hit an internal problem (store, config) and fell back.
    KilnError,
}

impl PassReason {
    /// The stable name used in JSON and summaries.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Incremental => "incremental",
            Self::StdinInput => "stdin_input",
            Self::NoSingleInput => "no_single_input",
            Self::UnknownFlag => "unknown_flag",
            Self::UnstableFlag => "unstable_flag",
            Self::ProfileGuided => "profile_guided",
            Self::UnsupportedOutput => "unsupported_output",
            Self::WritesOutsideOutDir => "writes_outside_out_dir",
            Self::InputChanged => "input_changed",
            Self::LinkerNotObservable => "linker_not_observable",
            Self::Unobserved => "unobserved",
            Self::Network => "network",
            Self::RawSyscalls => "raw_syscalls",
            Self::Clock => "clock",
            Self::Disabled => "disabled",
            Self::KilnError => "kiln_error",
        }
    }
}

/// What kind of cached action a record is about.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    /// A rustc (or clippy-driver) call.
    #[default]
    Rustc,
    /// A run of a compiled build script (`build.rs`), which cargo starts
    /// itself; `compile_ms` is then the run's time.
    BuildScriptRun,
    /// A C or C++ compile started by a build-script run (`crate_name` is the
    /// source file, relative to the package); `compile_ms` is its time.
    CCompile,
}

impl UnitKind {
    /// Whether this is the default kind (left out of JSON).
    pub fn is_rustc(&self) -> bool {
        *self == Self::Rustc
    }
}

/// Where the time of one call went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timings {
    /// Whole call, as seen by the wrapper process, in microseconds.
    pub total_us: u64,
    /// Parsing, hashing inputs and computing keys.
    pub hash_us: u64,
    /// Running the real compiler (0 on a hit).
    pub compile_us: u64,
    /// Restoring outputs from the store (hits) or writing an entry (misses).
    pub store_us: u64,
    /// Waiting for another process compiling the same unit.
    pub wait_us: u64,
}

/// One rustc call as kiln saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitRecord {
    /// [`RECORD_VERSION`].
    pub version: u32,
    /// What kind of action this is (absent: a rustc call).
    #[serde(default, skip_serializing_if = "UnitKind::is_rustc")]
    pub kind: UnitKind,
    /// Run this call belonged to (`kiln run` sets it; otherwise a per-day id).
    pub run: String,
    /// Unix time in milliseconds when the call started.
    pub started_ms: u64,
    /// `--crate-name`.
    pub crate_name: String,
    /// `CARGO_PKG_NAME` when cargo set it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// `CARGO_PKG_VERSION` when cargo set it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_version: Option<String>,
    /// `--crate-type` values (`lib`, `rlib`, `bin`, `proc-macro`, ...).
    pub crate_types: Vec<String>,
    /// `--target`, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Cargo profile directory name (`debug`, `release`, `ci`, ...) when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// `-C extra-filename`, which tells apart units of one crate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_filename: Option<String>,
    /// The call was `clippy-driver` rather than `rustc`.
    #[serde(default)]
    pub clippy: bool,
    /// `--test`: a test harness.
    #[serde(default)]
    pub test: bool,
    /// What happened.
    pub outcome: Outcome,
    /// Why it was not cached, for [`Outcome::NotCacheable`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<PassReason>,
    /// Human detail for the reason or a warning (e.g. the unknown flag).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Key of the invocation (arguments and compiler, before input contents).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invocation_key: Option<String>,
    /// Full cache key (invocation plus the content of every input).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Time the compile took when the entry was stored; on a hit, the compile
    /// time saved.
    #[serde(default)]
    pub compile_ms: u64,
    /// Timings of this call.
    pub timings: Timings,
    /// Bytes restored from the store (hits).
    #[serde(default)]
    pub bytes_read: u64,
    /// Bytes written to the store (misses).
    #[serde(default)]
    pub bytes_written: u64,
    /// A stored entry was found corrupt and removed during this call.
    #[serde(default)]
    pub corrupt_entry: bool,
    /// Exit code of the call.
    #[serde(default)]
    pub exit_code: i32,
    /// Peak resident memory of the wrapper process itself (not the
    /// compiler), in KiB.
    #[serde(default)]
    pub wrapper_max_rss_kb: u64,
    /// What the call did with the remote store, when one is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<RemoteUse>,
}

/// One call's use of the remote store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteUse {
    /// The entry was fetched from the remote store (a remote hit).
    pub hit: bool,
    /// Requests made (directly or through the agent).
    pub requests: u32,
    /// Requests that failed or returned a rejected object.
    pub errors: u32,
    /// Bytes downloaded.
    pub bytes_down: u64,
    /// Objects handed over for upload.
    pub uploads: u32,
    /// Bytes handed over for upload.
    pub bytes_up: u64,
}

impl UnitRecord {
    /// A record of an action about to start: a miss until told otherwise,
    /// nothing measured yet. Callers fill in what names the unit.
    pub fn starting() -> Self {
        Self {
            version: RECORD_VERSION,
            kind: UnitKind::Rustc,
            run: String::new(),
            started_ms: 0,
            crate_name: String::new(),
            package: None,
            package_version: None,
            crate_types: Vec::new(),
            target: None,
            profile: None,
            extra_filename: None,
            clippy: false,
            test: false,
            outcome: Outcome::Miss,
            reason: None,
            detail: None,
            invocation_key: None,
            key: None,
            compile_ms: 0,
            timings: Timings::default(),
            bytes_read: 0,
            bytes_written: 0,
            corrupt_entry: false,
            exit_code: 0,
            wrapper_max_rss_kb: 0,
            remote: None,
        }
    }

    /// What makes two records the same unit across builds, whatever their
    /// keys: two records with the same id are builds of one unit (the same
    /// package at the same version, crate, kind, crate types, test harness
    /// or not, target, profile and clippy).
    pub fn unit_id(&self) -> String {
        format!(
            "{}@{}",
            self.unit_id_any_version(),
            self.package_version.as_deref().unwrap_or("")
        )
    }

    /// [`Self::unit_id`] without the version: what an upgrade keeps.
    pub fn unit_id_any_version(&self) -> String {
        let kind = match self.kind {
            UnitKind::Rustc => "",
            UnitKind::BuildScriptRun => "run|",
            UnitKind::CCompile => "cc|",
        };
        format!(
            "{kind}{}|{}|{}|{}|{}|{}|{}",
            self.package.as_deref().unwrap_or(""),
            self.crate_name,
            self.crate_types.join(","),
            self.test,
            self.target.as_deref().unwrap_or(""),
            self.profile.as_deref().unwrap_or(""),
            self.clippy
        )
    }

    /// Time the compiler (or the build script) ran in this call, in ms:
    /// what the call spent on it, whatever its outcome (a hit runs nothing).
    pub fn compiled_ms(&self) -> u64 {
        self.timings.compile_us / 1000
    }

    /// What the unit costs a build, in ms: on a hit, the compile the entry
    /// saved (as measured when it was stored); otherwise the compiler's
    /// time in this call ([`Self::compiled_ms`]).
    pub fn cost_ms(&self) -> u64 {
        match self.outcome {
            Outcome::Hit => self.compile_ms,
            _ => self.compiled_ms(),
        }
    }

    /// A short label for people: `serde v1.0.200 (lib)`.
    pub fn label(&self) -> String {
        let name = self.package.as_deref().unwrap_or(&self.crate_name);
        let mut s = String::from(name);
        if let Some(v) = &self.package_version {
            s.push_str(" v");
            s.push_str(v);
        }
        if self.kind == UnitKind::BuildScriptRun {
            s.push_str(" (build script run)");
        } else if self.kind == UnitKind::CCompile {
            s.push_str(" (C compile `");
            s.push_str(&self.crate_name);
            s.push_str("`)");
        } else if self.crate_name.starts_with("build_script_") {
            s.push_str(" (build script)");
        } else if !self.crate_types.is_empty() {
            s.push_str(" (");
            s.push_str(&self.crate_types.join(","));
            s.push(')');
        }
        if self.test {
            s.push_str(" [test]");
        }
        if self.clippy {
            s.push_str(" [clippy]");
        }
        s
    }
}

/// Whether `run` can name a run (the `run` of a [`UnitRecord`], a file name
/// in `records/`): ASCII letters, digits, `-` and `_`, 1 to 80 of them, so
/// never a path.
pub fn is_run_id(run: &str) -> bool {
    !run.is_empty()
        && run.len() <= 80
        && run
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_names_are_their_serialized_form() {
        for o in Outcome::ALL {
            let json = serde_json::to_string(&o).unwrap();
            assert_eq!(json, format!("\"{}\"", o.as_str()));
            assert_eq!(o.as_str().parse::<Outcome>(), Ok(o));
        }
        assert_eq!(
            "cached".parse::<Outcome>(),
            Err(UnknownOutcome("cached".into()))
        );
    }

    #[test]
    fn a_hit_costs_what_it_saved_anything_else_what_it_compiled() {
        let mut r = UnitRecord::starting();
        r.compile_ms = 700;
        r.timings.compile_us = 2_500_000;
        assert_eq!((r.cost_ms(), r.compiled_ms()), (2500, 2500));
        r.outcome = Outcome::Hit;
        r.timings.compile_us = 0;
        assert_eq!((r.cost_ms(), r.compiled_ms()), (700, 0));
    }
}
