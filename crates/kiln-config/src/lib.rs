//! kiln's configuration, read in one place.
//!
//! Every environment variable kiln understands is a named constant in [`vars`].
//! [`Config::from_lookup`] parses them once into a typed [`Config`]; everything
//! below the CLI takes `&Config` (or a narrower value) and never reads the
//! process environment itself. Tests build configs from maps.
//!
//! A value that cannot be used is a [`ConfigError`]: the variable, its
//! value, what is wrong ([`Problem`]) and the hint the CLI prints.

mod env;
mod error;
pub mod file;
pub mod remote;
mod size;
pub mod vars;

use std::ffi::OsString;
use std::path::PathBuf;

use env::{Env, parse_bool};
pub use error::{ConfigError, Problem};
pub use file::{FileError, FileSettings};
pub use remote::{RemoteConfig, RemoteKind, Secret, UrlError, parse_duration};
pub use size::{SizeError, format_size, parse_size};

/// Default bound of the local store: 10 GiB.
pub const DEFAULT_CACHE_SIZE: u64 = 10 * 1024 * 1024 * 1024;

/// How paths are treated in cache keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PathMode {
    /// Workspace root, `CARGO_HOME` and target dir are replaced by placeholders,
    /// so the same sources hit from any checkout. Paths embedded in artifacts
    /// (panic locations of dependencies, debuginfo) are those of the machine
    /// that compiled the entry.
    #[default]
    Normalize,
    /// Absolute paths are part of the key: hits only from the same locations,
    /// artifacts always carry local paths.
    Exact,
}

impl PathMode {
    /// The mode's name as keys hold it: a key made in one mode never
    /// matches one made in the other.
    pub fn key_name(self) -> &'static str {
        match self {
            Self::Normalize => "normalize",
            Self::Exact => "exact",
        }
    }
}

/// Whether the compiler's file and environment reads are observed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TraceMode {
    /// Observe where the platform allows it (Linux with glibc).
    #[default]
    Auto,
    /// Never observe: proc-macro reads are then invisible, so crates that
    /// depend on proc macros and linked outputs are not cached.
    Off,
}

/// kiln's settings for one process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Root of the local store (`KILN_DIR`).
    pub dir: PathBuf,
    /// Upper bound of the local store in bytes (`KILN_CACHE_SIZE`).
    pub cache_size: u64,
    /// Pass every call through uncached (`KILN_DISABLE`).
    pub disabled: bool,
    /// Path treatment in keys (`KILN_PATHS`).
    pub paths: PathMode,
    /// Input observation (`KILN_TRACE`).
    pub trace: TraceMode,
    /// Run id that groups records (`KILN_RUN_ID`, set by `kiln run`).
    pub run_id: Option<String>,
    /// File that receives debug log lines (`KILN_LOG`).
    pub log_file: Option<PathBuf>,
    /// `CARGO_HOME`, or its default, for path normalization.
    pub cargo_home: Option<PathBuf>,
    /// Keep every environment value a compile read (`KILN_EXPLAIN_ENV_VALUES`).
    pub explain_env_values: bool,
    /// The remote store, if one is configured.
    pub remote: Option<RemoteConfig>,
    /// Why the remote settings could not be used (the remote tier is then
    /// off; the local cache works).
    pub remote_problem: Option<ConfigError>,
    /// Socket of the `kiln run` agent serving this build (`KILN_AGENT`).
    pub agent: Option<PathBuf>,
    /// Write no shared cache: neither the remote store nor a CI snapshot
    /// (`KILN_REMOTE_READ_ONLY`, or `[remote] read_only`; a value that is
    /// not a boolean counts as read-only here and is reported by the
    /// remote settings).
    pub read_only: bool,
    /// `KILN_SIGNING_KEY`, for what kiln shares without a remote store (a
    /// CI snapshot is signed and checked with it); empty when set but empty;
    /// the remote store checks its own copy in [`RemoteConfig`].
    pub signing_key: Option<Secret>,
    /// The `kiln.toml` the settings came from, if any.
    pub config_file: Option<PathBuf>,
}

impl Config {
    /// Reads the configuration from the process environment and the
    /// `kiln.toml` that applies (see [`Config::settings_file`]).
    pub fn from_env() -> Result<Self, ConfigError> {
        let lookup = |name: &str| std::env::var_os(name);
        // The file only holds remote settings: with the remote off it is
        // not read at all, and a broken one costs the remote tier only.
        let remote_off = lookup(vars::REMOTE).is_some_and(|v| v == "off");
        let (file, file_problem) = match Self::settings_file(&lookup).filter(|_| !remote_off) {
            Some(path) => match file::load(&path) {
                Ok(f) => (f, None),
                Err(e) => (FileSettings::default(), Some(e)),
            },
            None => (FileSettings::default(), None),
        };
        let mut cfg = Self::from_sources(lookup, &file)?;
        if let Some(e) = file_problem {
            cfg.remote = None;
            cfg.remote_problem = Some(e);
        }
        Ok(cfg)
    }

    /// The `kiln.toml` that applies: `KILN_CONFIG` (`none` for no file), else
    /// the nearest one at or above the working directory. Files inside
    /// `CARGO_HOME` (registry and git dependencies) never apply, and a
    /// dependency's own directory is skipped: a package cannot point the
    /// cache of the build that compiles it somewhere else.
    pub fn settings_file(lookup: &impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
        match lookup(vars::CONFIG).filter(|v| !v.is_empty()) {
            Some(v) if v == "none" => None,
            Some(v) => Some(PathBuf::from(v)),
            None => {
                let cwd = std::env::current_dir().ok()?;
                let dependency = lookup("CARGO_PRIMARY_PACKAGE").is_none();
                let start = lookup("CARGO_MANIFEST_DIR")
                    .filter(|_| dependency)
                    .map(PathBuf::from)
                    .and_then(|d| d.parent().map(PathBuf::from))
                    .unwrap_or(cwd);
                let cargo_home = lookup("CARGO_HOME")
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
                    .or_else(|| lookup("HOME").map(|h| PathBuf::from(h).join(".cargo")));
                file::find(&start).filter(|p| cargo_home.as_ref().is_none_or(|h| !p.starts_with(h)))
            }
        }
    }

    /// Reads the configuration through `lookup` (a name → value function),
    /// without a settings file.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<OsString>) -> Result<Self, ConfigError> {
        Self::from_sources(lookup, &FileSettings::default())
    }

    /// Reads the configuration through `lookup` and the settings of a file.
    pub fn from_sources(
        lookup: impl Fn(&str) -> Option<OsString>,
        file: &FileSettings,
    ) -> Result<Self, ConfigError> {
        let env = Env::new(&lookup);
        let home = env.path("HOME");
        // The remote tier's problems turn the remote off, not kiln.
        let (remote, remote_problem) = match remote::read(&env, file) {
            Ok(r) => (r, None),
            Err(e) => (None, Some(e)),
        };
        // Fields are read in this order: the first bad value is the one
        // reported.
        Ok(Self {
            dir: store_dir(&env, home.as_ref())?,
            cache_size: cache_size(&env)?,
            disabled: env.flag(vars::DISABLE)?.unwrap_or(false),
            paths: path_mode(&env)?,
            trace: trace_mode(&env)?,
            run_id: run_id(&env)?,
            log_file: env.path(vars::LOG),
            cargo_home: env
                .path("CARGO_HOME")
                .or_else(|| home.map(|h| h.join(".cargo"))),
            explain_env_values: env.flag(vars::EXPLAIN_ENV_VALUES)?.unwrap_or(false),
            remote,
            remote_problem,
            agent: env.path(vars::AGENT),
            read_only: shared_read_only(&env, file)?,
            // Set but empty stays visible: a missing secret must not quietly
            // turn signed snapshots into unsigned ones.
            signing_key: env
                .raw(vars::SIGNING_KEY)
                .map(|v| Secret(v.as_encoded_bytes().to_vec())),
            config_file: file.path.clone(),
        })
    }

    /// A configuration for tests and tools: a store at `dir`, defaults elsewhere.
    pub fn with_dir(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            cache_size: DEFAULT_CACHE_SIZE,
            disabled: false,
            paths: PathMode::Normalize,
            trace: TraceMode::Auto,
            run_id: None,
            log_file: None,
            cargo_home: None,
            explain_env_values: false,
            remote: None,
            remote_problem: None,
            agent: None,
            read_only: false,
            signing_key: None,
            config_file: None,
        }
    }
}

/// `KILN_DIR`, else the platform's cache directory; never a file.
fn store_dir(env: &Env, home: Option<&PathBuf>) -> Result<PathBuf, ConfigError> {
    let dir = match env.path(vars::DIR) {
        Some(d) => d,
        None => default_dir(env, home).ok_or_else(|| {
            ConfigError::new(
                vars::DIR,
                "",
                Problem::NoCacheDir,
                format!("set `{}` to a directory kiln may write", vars::DIR),
            )
        })?,
    };
    if dir.exists() && !dir.is_dir() {
        return Err(ConfigError::new(
            vars::DIR,
            dir.to_string_lossy(),
            Problem::NotADirectory,
            format!(
                "point `{}` at a directory kiln may write (or move the file away)",
                vars::DIR
            ),
        ));
    }
    Ok(dir)
}

fn default_dir(env: &Env, home: Option<&PathBuf>) -> Option<PathBuf> {
    if let Some(xdg) = env.path("XDG_CACHE_HOME") {
        return Some(xdg.join("kiln"));
    }
    let home = home?;
    if cfg!(target_os = "macos") {
        Some(home.join("Library/Caches/kiln"))
    } else {
        Some(home.join(".cache/kiln"))
    }
}

/// `KILN_CACHE_SIZE`, else [`DEFAULT_CACHE_SIZE`].
fn cache_size(env: &Env) -> Result<u64, ConfigError> {
    let Some(v) = env.text(vars::CACHE_SIZE)? else {
        return Ok(DEFAULT_CACHE_SIZE);
    };
    parse_size(&v).map_err(|e| {
        let hint = format!("{} for `{}`", e.hint(), vars::CACHE_SIZE);
        ConfigError::new(vars::CACHE_SIZE, v, e, hint)
    })
}

fn path_mode(env: &Env) -> Result<PathMode, ConfigError> {
    match env.text(vars::PATHS)?.as_deref() {
        None | Some("normalize") => Ok(PathMode::Normalize),
        Some("exact") => Ok(PathMode::Exact),
        Some(other) => Err(ConfigError::new(
            vars::PATHS,
            other,
            Problem::UnknownPathMode,
            format!("use `normalize` (default) or `exact` for `{}`", vars::PATHS),
        )),
    }
}

fn trace_mode(env: &Env) -> Result<TraceMode, ConfigError> {
    match env.text(vars::TRACE)?.as_deref() {
        None | Some("auto") => Ok(TraceMode::Auto),
        Some("off") => Ok(TraceMode::Off),
        Some(other) => Err(ConfigError::new(
            vars::TRACE,
            other,
            Problem::UnknownTraceMode,
            format!("use `auto` (default) or `off` for `{}`", vars::TRACE),
        )),
    }
}

/// `KILN_RUN_ID`, which names files: letters, digits, `-` and `_` only.
fn run_id(env: &Env) -> Result<Option<String>, ConfigError> {
    let id = env.text(vars::RUN_ID)?;
    if let Some(id) = &id
        && !kiln_types::is_run_id(id)
    {
        return Err(ConfigError::new(
            vars::RUN_ID,
            id.clone(),
            Problem::BadRunId,
            format!("unset `{}`; `kiln run` sets it", vars::RUN_ID),
        ));
    }
    Ok(id)
}

/// Whether the shared caches are read-only. Unlike the remote settings, a
/// value that is not a boolean means read-only: the safe side.
fn shared_read_only(env: &Env, file: &FileSettings) -> Result<bool, ConfigError> {
    Ok(match env.text(vars::REMOTE_READ_ONLY)? {
        Some(v) => parse_bool(&v).unwrap_or(true),
        None => file.read_only.unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, OsString> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), OsString::from(v)))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_follow_home() {
        let c = config(&[("HOME", "/home/u")]).unwrap();
        assert_eq!(c.dir, PathBuf::from("/home/u/.cache/kiln"));
        assert_eq!(c.cache_size, DEFAULT_CACHE_SIZE);
        assert_eq!(c.cargo_home, Some(PathBuf::from("/home/u/.cargo")));
        assert!(!c.disabled);
    }

    #[test]
    fn xdg_and_kiln_dir_win() {
        let file = tempfile::NamedTempFile::new().unwrap();
        let e = config(&[("KILN_DIR", file.path().to_str().unwrap())]).unwrap_err();
        assert!(
            e.to_string().ends_with("it is a file, not a directory"),
            "{e}"
        );
        let e = config(&[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "`KILN_DIR`: no cache directory: neither `XDG_CACHE_HOME` nor `HOME` is set"
        );
        let c = config(&[("HOME", "/h"), ("XDG_CACHE_HOME", "/x")]).unwrap();
        assert_eq!(c.dir, PathBuf::from("/x/kiln"));
        let c = config(&[("HOME", "/h"), ("KILN_DIR", "/k")]).unwrap();
        assert_eq!(c.dir, PathBuf::from("/k"));
    }

    #[test]
    fn bad_values_name_the_variable_and_a_fix() {
        let e = config(&[("HOME", "/h"), ("KILN_CACHE_SIZE", "lots")]).unwrap_err();
        assert_eq!(e.var, "KILN_CACHE_SIZE");
        assert!(e.hint.contains("10G"));
        let e = config(&[("HOME", "/h"), ("KILN_PATHS", "weird")]).unwrap_err();
        assert_eq!(e.var, "KILN_PATHS");
        let e = config(&[("HOME", "/h"), ("KILN_DISABLE", "maybe")]).unwrap_err();
        assert_eq!(e.var, "KILN_DISABLE");
        let e = config(&[("HOME", "/h"), ("KILN_RUN_ID", "../x")]).unwrap_err();
        assert_eq!(e.var, "KILN_RUN_ID");
        assert!(config(&[]).is_err());
    }

    #[test]
    fn modes_parse() {
        let c = config(&[
            ("HOME", "/h"),
            ("KILN_PATHS", "exact"),
            ("KILN_TRACE", "off"),
            ("KILN_DISABLE", "1"),
        ])
        .unwrap();
        assert_eq!(c.paths, PathMode::Exact);
        assert_eq!(c.trace, TraceMode::Off);
        assert!(c.disabled);
    }

    #[test]
    fn remote_url_and_settings() {
        let c = config(&[
            ("HOME", "/h"),
            ("KILN_REMOTE", "s3://team-cache/kiln/ci/"),
            ("KILN_REMOTE_READ_ONLY", "1"),
            ("KILN_REMOTE_TIMEOUT", "3s"),
            ("AWS_REGION", "eu-west-1"),
        ])
        .unwrap();
        let r = c.remote.unwrap();
        assert_eq!(r.kind, RemoteKind::S3);
        assert_eq!(r.location, "team-cache");
        assert_eq!(r.prefix, "kiln/ci");
        assert!(r.read_only);
        assert_eq!(r.timeout, std::time::Duration::from_secs(3));
        assert_eq!(r.source, "KILN_REMOTE");
        assert!(config(&[("HOME", "/h")]).unwrap().remote.is_none());
        let off = config(&[
            ("HOME", "/h"),
            ("KILN_REMOTE", "off"),
            ("SCCACHE_BUCKET", "b"),
        ]);
        assert!(off.unwrap().remote.is_none());
    }

    #[test]
    fn webdav_and_azure_blob_urls_and_credentials() {
        let c = config(&[
            ("HOME", "/h"),
            ("KILN_REMOTE", "webdav+http://127.0.0.1:8080/team/kiln/"),
            ("KILN_REMOTE_USERNAME", "ci"),
            ("KILN_REMOTE_PASSWORD", "pw"),
        ])
        .unwrap();
        let r = c.remote.unwrap();
        assert_eq!(r.kind, RemoteKind::Webdav);
        assert_eq!(
            (r.location.as_str(), r.prefix.as_str()),
            ("http://127.0.0.1:8080", "team/kiln")
        );
        assert_eq!(r.username.as_deref(), Some("ci"));
        assert_eq!(r.password.map(|p| p.0), Some(b"pw".to_vec()));
        let r = config(&[("HOME", "/h"), ("KILN_REMOTE", "webdav://dav.example/x")])
            .unwrap()
            .remote
            .unwrap();
        assert_eq!(r.location, "https://dav.example");

        let r = config(&[
            ("HOME", "/h"),
            ("KILN_REMOTE", "azblob://builds/kiln"),
            ("AZURE_STORAGE_ACCOUNT", "acct"),
            ("AZURE_STORAGE_KEY", "a2V5"),
        ])
        .unwrap()
        .remote
        .unwrap();
        assert_eq!(r.kind, RemoteKind::Azblob);
        assert_eq!((r.location.as_str(), r.prefix.as_str()), ("builds", "kiln"));
        assert_eq!(r.username.as_deref(), Some("acct"));
        // Azure's names are for Azure only.
        let r = config(&[
            ("HOME", "/h"),
            ("KILN_REMOTE", "s3://b"),
            ("AZURE_STORAGE_ACCOUNT", "acct"),
        ])
        .unwrap()
        .remote
        .unwrap();
        assert_eq!(r.username, None);

        let r = config(&[
            ("HOME", "/h"),
            ("KILN_REMOTE", "gcs://builds/team/kiln/"),
            ("GOOGLE_APPLICATION_CREDENTIALS", "/run/key.json"),
        ])
        .unwrap()
        .remote
        .unwrap();
        assert_eq!(r.kind, RemoteKind::Gcs);
        assert_eq!(
            (r.location.as_str(), r.prefix.as_str()),
            ("builds", "team/kiln")
        );
        assert_eq!(r.credentials_file.as_deref(), Some("/run/key.json"));
        let r = config(&[
            ("HOME", "/h"),
            ("KILN_REMOTE", "s3://b"),
            ("GOOGLE_APPLICATION_CREDENTIALS", "/run/key.json"),
        ])
        .unwrap()
        .remote
        .unwrap();
        assert_eq!(r.credentials_file, None);

        for bad in [
            "webdav+http://user:pw@host/x",
            "azblob:///x",
            "webdav:///x",
            "gcs:///x",
        ] {
            let c = config(&[("HOME", "/h"), ("KILN_REMOTE", bad)]).unwrap();
            assert!(c.remote.is_none(), "{bad}");
            assert_eq!(c.remote_problem.unwrap().var, "KILN_REMOTE", "{bad}");
        }
    }

    #[test]
    fn sccache_names_apply_only_without_kiln_values() {
        let c = config(&[
            ("HOME", "/h"),
            ("SCCACHE_BUCKET", "b"),
            ("SCCACHE_S3_KEY_PREFIX", "/sccache/"),
            ("SCCACHE_ENDPOINT", "127.0.0.1:9000"),
            ("SCCACHE_S3_NO_SSL", "true"),
            ("SCCACHE_REGION", "auto"),
        ])
        .unwrap();
        let r = c.remote.unwrap();
        assert_eq!(r.url, "s3://b/sccache");
        assert_eq!(r.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(r.region.as_deref(), Some("auto"));
        assert_eq!(r.source, "SCCACHE_BUCKET");
        let c = config(&[
            ("HOME", "/h"),
            ("SCCACHE_BUCKET", "b"),
            ("KILN_REMOTE", "s3://mine"),
            ("KILN_REMOTE_REGION", "us-west-2"),
            ("SCCACHE_REGION", "auto"),
        ])
        .unwrap();
        let r = c.remote.unwrap();
        assert_eq!(r.location, "mine");
        assert_eq!(r.region.as_deref(), Some("us-west-2"));
    }

    #[test]
    fn file_settings_sit_between_env_and_sccache() {
        let f = file::parse("[remote]\nurl = \"redis://127.0.0.1:6379/2\"\nread_only = true\n")
            .unwrap();
        let map: HashMap<String, OsString> = [("HOME", "/h"), ("SCCACHE_BUCKET", "b")]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), OsString::from(v)))
            .collect();
        let c = Config::from_sources(|k| map.get(k).cloned(), &f).unwrap();
        let r = c.remote.unwrap();
        assert_eq!(r.kind, RemoteKind::Redis);
        assert_eq!(r.location, "redis://127.0.0.1:6379");
        assert_eq!(r.prefix, "2");
        assert!(r.read_only);
        assert_eq!(r.source, "kiln.toml");
    }

    #[test]
    fn bad_remote_values_are_named() {
        for (var, value) in [
            ("KILN_REMOTE", "ftp://x"),
            ("KILN_REMOTE", "s3://"),
            ("KILN_REMOTE", "file://relative"),
            ("KILN_REMOTE", "redis://h/notanumber"),
            ("KILN_REMOTE_TIMEOUT", "soon"),
            ("KILN_SIGNING_KEY", "short"),
        ] {
            let mut pairs = vec![("HOME", "/h"), (var, value)];
            if var != "KILN_REMOTE" {
                pairs.push(("KILN_REMOTE", "s3://b"));
            }
            let c = config(&pairs).unwrap();
            assert!(c.remote.is_none(), "{value}");
            let e = c.remote_problem.unwrap();
            assert_eq!(e.var, var, "{value}");
            assert!(!e.hint.is_empty());
        }
        let e = config(&[
            ("HOME", "/h"),
            ("KILN_SIGNING_KEY", "0123456789abcdef-long-enough"),
            ("KILN_REMOTE", "s3://b"),
        ])
        .unwrap();
        assert!(!format!("{e:?}").contains("0123456789"));
    }

    #[test]
    fn messages_and_hints_read_the_same() {
        let error = |pairs: &[(&str, &str)]| {
            let mut all = vec![("HOME", "/h")];
            all.extend_from_slice(pairs);
            let e = match config(&all) {
                Err(e) => e,
                Ok(c) => c.remote_problem.expect("a problem"),
            };
            format!("{e} / {}", e.hint)
        };
        assert_eq!(
            error(&[("KILN_CACHE_SIZE", "12Q")]),
            "invalid value `12Q` for `KILN_CACHE_SIZE`: unknown size unit `Q` / use a size such as `10G`, `500M` or `2T` for `KILN_CACHE_SIZE`"
        );
        assert_eq!(
            error(&[("KILN_DISABLE", "maybe")]),
            "invalid value `maybe` for `KILN_DISABLE`: not a boolean / use `1`/`true` or `0`/`false` for `KILN_DISABLE`"
        );
        assert_eq!(
            error(&[("KILN_TRACE", "on")]),
            "invalid value `on` for `KILN_TRACE`: unknown trace mode / use `auto` (default) or `off` for `KILN_TRACE`"
        );
        assert_eq!(
            error(&[("KILN_REMOTE", "s3://")]),
            "invalid value `s3://` for `KILN_REMOTE`: no bucket name / use `s3://bucket/prefix`, `gcs://bucket/prefix`, `azblob://container/prefix`, `webdav+https://host/path`, `redis://host:6379/0` or `file:///shared/dir`"
        );
        assert_eq!(
            error(&[("KILN_REMOTE", "s3://b"), ("KILN_PREFETCH", "x")]),
            "invalid value `x` for `KILN_PREFETCH`: not a boolean / use `1`/`true` or `0`/`false` for `KILN_PREFETCH`"
        );
        assert_eq!(
            error(&[("KILN_REMOTE", "s3://b"), ("KILN_UPLOAD_WAIT", "later")]),
            "invalid value `later` for `KILN_UPLOAD_WAIT`: not a duration / use a duration such as `500ms`, `15s` or `2m` for `KILN_UPLOAD_WAIT`"
        );
        assert_eq!(
            error(&[("KILN_REMOTE", "s3://b"), ("KILN_SIGNING_KEY", "")]),
            "`KILN_SIGNING_KEY`: set but empty / check the secret behind `KILN_SIGNING_KEY`, or unset it for an unsigned store"
        );
        assert_eq!(
            error(&[("KILN_REMOTE", "s3://b"), ("KILN_SIGNING_KEY", "short")]),
            "invalid value `(hidden)` for `KILN_SIGNING_KEY`: shorter than 16 bytes / use a random secret of at least 32 characters, e.g. `openssl rand -hex 32`"
        );
        let f = file::parse("[remote]\nurl = \"gcs:///x\"\n").unwrap();
        let e = Config::from_sources(|k| (k == "HOME").then(|| "/h".into()), &f)
            .unwrap()
            .remote_problem
            .unwrap();
        assert_eq!(
            e.to_string(),
            "invalid value `gcs:///x` for `[remote] url`: no bucket name"
        );
        assert_eq!(e.problem, Problem::Url(UrlError::NoBucket("bucket")));
    }

    #[cfg(unix)]
    #[test]
    fn text_must_be_utf8() {
        use std::os::unix::ffi::OsStringExt;
        let e = Config::from_lookup(|k| match k {
            "HOME" => Some("/h".into()),
            "KILN_PATHS" => Some(OsString::from_vec(b"ex\xffact".to_vec())),
            _ => None,
        })
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid value `ex\u{fffd}act` for `KILN_PATHS`: not valid UTF-8"
        );
        assert_eq!(e.hint, "set `KILN_PATHS` to a UTF-8 value");
    }

    #[test]
    fn a_secret_that_is_not_utf8_is_not_shown() {
        use std::os::unix::ffi::OsStringExt;
        let c = Config::from_lookup(|k| match k {
            "HOME" => Some("/h".into()),
            "KILN_REMOTE" => Some("file:///srv/kiln".into()),
            "KILN_SIGNING_KEY" => Some(OsString::from_vec(b"sec\xffret-sec-ret-1234".to_vec())),
            _ => None,
        })
        .unwrap();
        let e = c.remote_problem.unwrap();
        assert_eq!(
            e.to_string(),
            "invalid value `(hidden)` for `KILN_SIGNING_KEY`: not valid UTF-8"
        );
    }

    #[test]
    fn an_unreadable_file_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let e = file::load(dir.path()).unwrap_err();
        assert_eq!(e.var, "KILN_CONFIG");
        assert!(matches!(e.problem, Problem::File(FileError::Unreadable(_))));
        assert!(e.to_string().contains(": cannot read it: "), "{e}");
        assert_eq!(
            e.hint,
            format!("fix `{}` or remove it", dir.path().display())
        );
    }

    #[test]
    fn durations() {
        use std::time::Duration;
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("15"), Some(Duration::from_secs(15)));
        assert_eq!(
            parse_duration("30d"),
            Some(Duration::from_secs(30 * 86_400))
        );
        assert_eq!(parse_duration("2 weeks"), None);
    }
}
