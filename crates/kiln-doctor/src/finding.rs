//! What a check reports: [`Finding`], its [`Rule`] (the stable id) and its
//! [`Severity`].
//!
//! This module owns the list of finding ids and their one-line titles; the
//! checks decide when a rule fires, the renderers how it looks.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

/// How bad a finding is, from worst to mildest.
///
/// The order is the declaration order reversed: `Error > Warning > Info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational: a likely saving worth a look.
    Info,
    /// Wasted CI minutes or lost cache hits on every run.
    Warning,
    /// A large, certain loss (or a CI file that could not be read).
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! rules {
    ($($variant:ident = $id:literal, $family:literal, $title:literal;)*) => {
        /// The stable id of a finding. Ids never change meaning; new ones may
        /// be added. Every id is described in `docs/doctor.md`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Rule {
            $(#[doc = $title] $variant,)*
        }

        impl Rule {
            /// Every rule, in documentation order.
            pub const ALL: &'static [Rule] = &[$(Rule::$variant,)*];

            /// The id as printed and serialized, e.g. `toolchain-unpinned`.
            pub fn id(self) -> &'static str {
                match self { $(Rule::$variant => $id,)* }
            }

            /// The check family the rule belongs to (`toolchain`, `ci`, ...).
            pub fn family(self) -> &'static str {
                match self { $(Rule::$variant => $family,)* }
            }

            /// A one-line description of the rule.
            pub fn title(self) -> &'static str {
                match self { $(Rule::$variant => $title,)* }
            }
        }
    };
}

rules! {
    ToolchainMissing = "toolchain-missing", "toolchain",
        "No rust-toolchain file: the compiler changes whenever the runner image does.";
    ToolchainUnpinned = "toolchain-unpinned", "toolchain",
        "The toolchain channel floats (stable, beta, nightly without a date).";
    ProfileNoCi = "profile-no-ci", "profiles",
        "No Cargo profile tuned for CI builds.";
    ProfileCiSlow = "profile-ci-slow", "profiles",
        "CI builds with a profile that turns on LTO, one codegen unit or debug info.";
    ProfileNoDeploy = "profile-no-deploy", "profiles",
        "No separate deploy profile: release does double duty for CI and production.";
    PerCommitValue = "per-commit-value", "per-commit",
        "A crate that others depend on bakes a per-commit value into its build.";
    CiFeatureSplit = "ci-feature-split", "ci",
        "CI jobs compile the same crates with different features.";
    CiRustflagsSplit = "ci-rustflags-split", "ci",
        "CI jobs compile the same crates with different RUSTFLAGS.";
    CiProfileSplit = "ci-profile-split", "ci",
        "CI jobs compile the same crates with different profiles or targets.";
    CiSeparateBuilds = "ci-separate-builds", "ci",
        "A CI job builds packages or binaries one cargo call at a time.";
    CiBinsRootOnly = "ci-bins-root-only", "ci",
        "`cargo build --bins` without `--workspace` builds only the root package.";
    CiNeedlessNeeds = "ci-needless-needs", "ci",
        "A CI job waits for another job whose output it does not use.";
    CiTargetCache = "ci-target-cache", "ci",
        "CI caches the whole `target/` directory.";
    CiIncremental = "ci-incremental", "ci",
        "Incremental compilation is on in CI.";
    CiNoCompileCache = "ci-no-compile-cache", "ci",
        "CI compiles without a compile cache (no RUSTC_WRAPPER).";
    HeavyDependency = "heavy-dependency", "deps",
        "A direct dependency pulls in a large share of the crate graph.";
    DuplicateVersions = "duplicate-versions", "deps",
        "A crate is compiled at several versions.";
    AwsDefaultFeatures = "aws-default-features", "deps",
        "An AWS SDK crate is used with its default features.";
    FeatureSplit = "feature-split", "features",
        "Workspace members enable different features of the same dependency.";
    MalformedFile = "malformed-file", "files",
        "A configuration file could not be parsed; the checks that need it were skipped.";
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}

/// A place in a file, relative to the report's root.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    /// Path relative to [`Report::root`](crate::Report::root), with `/`
    /// separators.
    pub file: PathBuf,
    /// 1-based line, when the finding points at one.
    pub line: Option<u32>,
}

impl Location {
    pub fn new(file: impl Into<PathBuf>, line: Option<u32>) -> Self {
        Self {
            file: file.into(),
            line,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file_str();
        match self.line {
            Some(line) => write!(f, "{file}:{line}"),
            None => f.write_str(&file),
        }
    }
}

/// One problem found in the workspace or its CI configuration.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// The stable id, serialized as a string such as `"per-commit-value"`.
    pub id: Rule,
    pub severity: Severity,
    /// Where it is, when it is in one place.
    #[serde(flatten, serialize_with = "ser_location")]
    pub location: Option<Location>,
    /// One line saying what was found.
    pub message: String,
    /// Why it costs CI minutes or cache hits.
    pub why: String,
    /// What to change: a snippet or a command.
    pub fix: String,
    /// Other places involved (the second job of a split, other manifests).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<Location>,
}

fn ser_location<S: serde::Serializer>(loc: &Option<Location>, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(2))?;
    map.serialize_entry("file", &loc.as_ref().map(|l| l.file_str()))?;
    map.serialize_entry("line", &loc.as_ref().and_then(|l| l.line))?;
    map.end()
}

impl Location {
    /// The file with `/` separators on every platform.
    pub fn file_str(&self) -> String {
        self.file.display().to_string().replace('\\', "/")
    }
}

impl Serialize for Location {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ser_location(&Some(self.clone()), s)
    }
}

impl Finding {
    pub fn new(id: Rule, severity: Severity, message: impl Into<String>) -> Self {
        Self {
            id,
            severity,
            location: None,
            message: message.into(),
            why: String::new(),
            fix: String::new(),
            related: Vec::new(),
        }
    }

    #[must_use]
    pub fn at(mut self, file: impl Into<PathBuf>, line: Option<u32>) -> Self {
        self.location = Some(Location::new(file, line));
        self
    }

    #[must_use]
    pub fn why(mut self, why: impl Into<String>) -> Self {
        self.why = why.into();
        self
    }

    #[must_use]
    pub fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = fix.into();
        self
    }

    #[must_use]
    pub fn related(mut self, loc: Location) -> Self {
        self.related.push(loc);
        self
    }
}
