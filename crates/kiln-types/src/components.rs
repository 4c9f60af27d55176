//! Key components: what went into one cache key, in a form people can diff.
//!
//! Written once per entry key to `KILN_DIR/keys/<xx>/<key>.json` when the
//! entry is stored; `kiln explain` compares the components of a miss with
//! those of the previous build of the same unit. Machine-specific roots
//! appear as `{cwd}`, `{target}`, `{cargo_home}` and `{sysroot}`. Digests
//! are BLAKE3 prefixes (16 hex digits); environment values are stored only
//! as digests, except for an allowlist of harmless names (see
//! [`env_value_shown`]) and when the build opted in.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Version of the [`KeyComponents`] format.
pub const COMPONENTS_VERSION: u32 = 1;

/// Everything one entry key covers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyComponents {
    /// [`COMPONENTS_VERSION`].
    pub version: u32,
    /// `rustc -vV` first line.
    pub compiler: String,
    /// Digest of the full compiler identity.
    pub compiler_digest: String,
    /// clippy-driver's version, for clippy runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clippy: Option<String>,
    /// Arguments with roots replaced by placeholders (`--extern` paths too).
    pub args: Vec<String>,
    /// `--extern` crates: name and content digest.
    pub externs: Vec<(String, String)>,
    /// Files read: path and content digest.
    pub files: Vec<(String, String)>,
    /// Files looked for and missing.
    #[serde(default)]
    pub absent: Vec<String>,
    /// Environment variables read (and compiler settings): name and digest
    /// of the value, `None` when unset.
    pub env: Vec<(String, Option<String>)>,
    /// Values of the variables read, in clear, for names on the allowlist
    /// ([`env_value_shown`]) only, or for every name when the build ran with
    /// `KILN_EXPLAIN_ENV_VALUES=1`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env_values: BTreeMap<String, String>,
    /// Names among `env` that the crate's build script set for this compile
    /// (`cargo:rustc-env=NAME=…`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub build_script_env: Vec<String>,
}

/// Variables whose values are safe to keep and show: cargo's package
/// metadata, build-script inputs and compiler flags, never secrets.
pub fn env_value_shown(name: &str) -> bool {
    const EXACT: &[&str] = &[
        "PROFILE",
        "OPT_LEVEL",
        "DEBUG",
        "TARGET",
        "HOST",
        "NUM_JOBS",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_CRATE_NAME",
        "CARGO_BIN_NAME",
        "CARGO_PRIMARY_PACKAGE",
    ];
    const PREFIXES: &[&str] = &["CARGO_PKG_", "CARGO_CFG_", "CARGO_FEATURE_", "DEP_"];
    EXACT.contains(&name) || PREFIXES.iter().any(|p| name.starts_with(p))
}
