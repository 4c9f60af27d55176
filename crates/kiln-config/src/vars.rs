//! Names of every environment variable kiln reads. Nothing else in kiln spells
//! a `KILN_*` name.

/// Directory of the local store (default: the platform cache dir + `kiln`).
pub const DIR: &str = "KILN_DIR";
/// Size bound of the local store (`10G` by default).
pub const CACHE_SIZE: &str = "KILN_CACHE_SIZE";
/// `1` passes every call straight to the compiler.
pub const DISABLE: &str = "KILN_DISABLE";
/// `normalize` (default) or `exact`: how paths enter cache keys.
pub const PATHS: &str = "KILN_PATHS";
/// `auto` (default) or `off`: observation of what the compiler reads.
pub const TRACE: &str = "KILN_TRACE";
/// Run id grouping the records of one `kiln run`.
pub const RUN_ID: &str = "KILN_RUN_ID";
/// File receiving debug log lines.
pub const LOG: &str = "KILN_LOG";

/// Every variable above, for documentation and for keeping them out of keys.
pub const ALL: &[&str] = &[DIR, CACHE_SIZE, DISABLE, PATHS, TRACE, RUN_ID, LOG];
