//! Remote store settings: `KILN_REMOTE` and friends, the `[remote]` table of
//! `kiln.toml`, and sccache's names as a fallback.
//!
//! Precedence, per setting: a `KILN_*` variable, then `kiln.toml`, then the
//! `SCCACHE_*` names (so a team moving from sccache keeps its CI secrets).
//! S3 credentials are never kiln settings: the S3 backend reads the standard
//! AWS variables and profiles itself. WebDAV and Azure Blob take a user name
//! and password (`KILN_REMOTE_USERNAME`, `KILN_REMOTE_PASSWORD`; for Azure
//! the standard `AZURE_STORAGE_ACCOUNT` and `AZURE_STORAGE_KEY` too). Google
//! Cloud Storage takes the standard `GOOGLE_APPLICATION_CREDENTIALS` file, or
//! an OAuth2 access token in `KILN_REMOTE_PASSWORD`.

use std::fmt;
use std::time::Duration;

mod url;

pub use url::{UrlError, parse_url};

use crate::env::{Env, parse_bool};
use crate::file::FileSettings;
use crate::{ConfigError, Problem, vars};

/// Default bound of one remote request.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);
/// Default bound of the wait for pending uploads at the end of `kiln run`.
pub const DEFAULT_UPLOAD_WAIT: Duration = Duration::from_secs(120);

/// Which kind of service holds the remote store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteKind {
    /// Amazon S3 or an S3-compatible service (R2, MinIO, Garage, …).
    S3,
    /// Redis (`redis://` or `rediss://`).
    Redis,
    /// Azure Blob Storage (`azblob://container/prefix`).
    Azblob,
    /// A WebDAV server (`webdav+https://host/path`, `webdav+http://…`).
    Webdav,
    /// Google Cloud Storage (`gcs://bucket/prefix`).
    Gcs,
    /// A directory, e.g. on a shared volume.
    File,
}

impl RemoteKind {
    /// The URL scheme.
    pub fn scheme(self) -> &'static str {
        match self {
            Self::S3 => "s3",
            Self::Redis => "redis",
            Self::Azblob => "azblob",
            Self::Webdav => "webdav",
            Self::Gcs => "gcs",
            Self::File => "file",
        }
    }
}

/// A secret that never appears in `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub Vec<u8>);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// Where the remote store is and how to use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteConfig {
    /// The URL as given (or assembled from sccache's names).
    pub url: String,
    /// The service.
    pub kind: RemoteKind,
    /// Bucket (S3, GCS), container (Azure Blob), `scheme://host:port`
    /// (Redis, WebDAV) or directory (file).
    pub location: String,
    /// Key prefix inside the bucket or database (no leading or trailing `/`).
    pub prefix: String,
    /// Endpoint of an S3-compatible service.
    pub endpoint: Option<String>,
    /// Region of the bucket.
    pub region: Option<String>,
    /// User name (WebDAV) or account (Azure Blob).
    pub username: Option<String>,
    /// Password (WebDAV), account key (Azure Blob) or OAuth2 access token
    /// (GCS).
    pub password: Option<Secret>,
    /// Credentials file (GCS: `GOOGLE_APPLICATION_CREDENTIALS`, a service
    /// account or workload identity JSON file).
    pub credentials_file: Option<String>,
    /// Read, never write.
    pub read_only: bool,
    /// HMAC key: sign written objects, ignore unsigned or mis-signed ones.
    pub signing_key: Option<Secret>,
    /// Bound of one request.
    pub timeout: Duration,
    /// Bound of the wait for uploads at the end of `kiln run`.
    pub upload_wait: Duration,
    /// `kiln run` fetches the keys of the previous build ahead of cargo.
    pub prefetch: bool,
    /// Where the URL came from, for messages.
    pub source: &'static str,
}

/// Reads the remote settings: `None` when no store is configured (or
/// `KILN_REMOTE=off`).
pub(crate) fn read(env: &Env, file: &FileSettings) -> Result<Option<RemoteConfig>, ConfigError> {
    let Some((url, source)) = url_and_source(env, file)? else {
        return Ok(None);
    };
    let (kind, location, prefix) = parse_url(&url).map_err(|e| {
        let hint = e.hint();
        ConfigError::new(source_var(source), url.clone(), e, hint)
    })?;
    let endpoint = endpoint(env, file)?;
    let region = region(env, file)?;
    let Credentials {
        username,
        password,
        credentials_file,
    } = credentials(env, kind)?;
    let read_only = env
        .flag(vars::REMOTE_READ_ONLY)?
        .or(file.read_only)
        .unwrap_or(false);
    let prefetch = env.flag(vars::PREFETCH)?.or(file.prefetch).unwrap_or(true);
    let signing_key = signing_key(env)?;
    let timeout =
        duration(env, vars::REMOTE_TIMEOUT, file.timeout.as_deref())?.unwrap_or(DEFAULT_TIMEOUT);
    let upload_wait = duration(env, vars::UPLOAD_WAIT, file.upload_wait.as_deref())?
        .unwrap_or(DEFAULT_UPLOAD_WAIT);
    Ok(Some(RemoteConfig {
        url,
        kind,
        location,
        prefix,
        endpoint,
        region,
        username,
        password,
        credentials_file,
        read_only,
        signing_key,
        timeout,
        upload_wait,
        prefetch,
        source,
    }))
}

/// The store's URL and where it came from: `KILN_REMOTE`, else
/// `kiln.toml`, else sccache's names.
fn url_and_source(
    env: &Env,
    file: &FileSettings,
) -> Result<Option<(String, &'static str)>, ConfigError> {
    match env.text(vars::REMOTE)? {
        Some(u) if u == "off" => Ok(None),
        Some(u) => Ok(Some((u, vars::REMOTE))),
        None => match file.remote_url.clone() {
            Some(u) => Ok(Some((u, "kiln.toml"))),
            None => sccache_url(env),
        },
    }
}

/// The endpoint of an S3-compatible service, Azure Blob or a GCS emulator.
fn endpoint(env: &Env, file: &FileSettings) -> Result<Option<String>, ConfigError> {
    match env.text(vars::REMOTE_ENDPOINT)? {
        Some(e) => Ok(Some(e)),
        None => Ok(file.endpoint.clone().or(sccache_endpoint(env)?)),
    }
}

/// The bucket's region: kiln's setting, the file, then sccache's and AWS's
/// names.
fn region(env: &Env, file: &FileSettings) -> Result<Option<String>, ConfigError> {
    if let Some(r) = env.text(vars::REMOTE_REGION)? {
        return Ok(Some(r));
    }
    if let Some(r) = file.region.clone() {
        return Ok(Some(r));
    }
    first_set(
        env,
        &[vars::sccache::REGION, "AWS_REGION", "AWS_DEFAULT_REGION"],
    )
}

/// What a store other than S3 signs in with.
struct Credentials {
    username: Option<String>,
    password: Option<Secret>,
    credentials_file: Option<String>,
}

/// kiln's user name and password, else the service's own names (Azure's
/// only for Azure Blob, the credentials file only for GCS).
fn credentials(env: &Env, kind: RemoteKind) -> Result<Credentials, ConfigError> {
    let azure = kind == RemoteKind::Azblob;
    let username = match env.text(vars::REMOTE_USERNAME)? {
        Some(u) => Some(u),
        None if azure => env.text("AZURE_STORAGE_ACCOUNT")?,
        None => None,
    };
    let password = match env.text(vars::REMOTE_PASSWORD)? {
        Some(p) => Some(p),
        None if azure => env.text("AZURE_STORAGE_KEY")?,
        None => None,
    }
    .map(|p| Secret(p.into_bytes()));
    let credentials_file = match kind {
        RemoteKind::Gcs => env.text("GOOGLE_APPLICATION_CREDENTIALS")?,
        _ => None,
    };
    Ok(Credentials {
        username,
        password,
        credentials_file,
    })
}

/// `KILN_SIGNING_KEY`: unset, or at least 16 bytes.
fn signing_key(env: &Env) -> Result<Option<Secret>, ConfigError> {
    if env.raw(vars::SIGNING_KEY).is_some_and(|v| v.is_empty()) {
        // A CI secret that is missing (a fork, a typo) expands to nothing:
        // that must not quietly turn a signed store into an unsigned one.
        return Err(ConfigError::new(
            vars::SIGNING_KEY,
            "",
            Problem::Empty,
            format!(
                "check the secret behind `{}`, or unset it for an unsigned store",
                vars::SIGNING_KEY
            ),
        ));
    }
    let key = env.text(vars::SIGNING_KEY)?.map(|k| Secret(k.into_bytes()));
    if key.as_ref().is_some_and(|k| k.0.len() < 16) {
        return Err(ConfigError::new(
            vars::SIGNING_KEY,
            "(hidden)",
            Problem::ShortKey,
            "use a random secret of at least 32 characters, e.g. `openssl rand -hex 32`",
        ));
    }
    Ok(key)
}

fn first_set(env: &Env, names: &[&'static str]) -> Result<Option<String>, ConfigError> {
    for n in names {
        if let Some(v) = env.text(n)? {
            return Ok(Some(v));
        }
    }
    Ok(None)
}

fn source_var(source: &'static str) -> &'static str {
    if source == "kiln.toml" {
        "[remote] url"
    } else {
        source
    }
}

/// `SCCACHE_BUCKET` (+ prefix) or `SCCACHE_REDIS` as a URL.
fn sccache_url(env: &Env) -> Result<Option<(String, &'static str)>, ConfigError> {
    if let Some(bucket) = env.text(vars::sccache::BUCKET)? {
        let prefix = env.text(vars::sccache::S3_KEY_PREFIX)?.unwrap_or_default();
        let prefix = prefix.trim_matches('/');
        let url = if prefix.is_empty() {
            format!("s3://{bucket}")
        } else {
            format!("s3://{bucket}/{prefix}")
        };
        return Ok(Some((url, vars::sccache::BUCKET)));
    }
    Ok(env
        .text(vars::sccache::REDIS)?
        .map(|u| (u, vars::sccache::REDIS)))
}

/// `SCCACHE_ENDPOINT`, with a scheme added the way sccache does
/// (`SCCACHE_S3_NO_SSL=true` → `http://`).
fn sccache_endpoint(env: &Env) -> Result<Option<String>, ConfigError> {
    let Some(e) = env.text(vars::sccache::ENDPOINT)? else {
        return Ok(None);
    };
    if e.contains("://") {
        return Ok(Some(e));
    }
    let no_ssl = env
        .text(vars::sccache::S3_NO_SSL)?
        .and_then(|v| parse_bool(&v))
        .unwrap_or(false);
    Ok(Some(format!(
        "{}://{e}",
        if no_ssl { "http" } else { "https" }
    )))
}

fn duration(
    env: &Env,
    var: &'static str,
    from_file: Option<&str>,
) -> Result<Option<Duration>, ConfigError> {
    let Some(v) = env.text(var)?.or(from_file.map(str::to_owned)) else {
        return Ok(None);
    };
    match parse_duration(&v) {
        Some(d) => Ok(Some(d)),
        None => Err(ConfigError::new(
            var,
            v,
            Problem::NotADuration,
            format!("use a duration such as `500ms`, `15s` or `2m` for `{var}`"),
        )),
    }
}

/// Parses `500ms`, `15s`, `2m`, `1h`, `30d` or a plain number of seconds.
pub fn parse_duration(v: &str) -> Option<Duration> {
    let v = v.trim();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: u64 = num.parse().ok()?;
    let secs = match unit.trim() {
        "ms" => return Some(Duration::from_millis(n)),
        "" | "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86_400)?,
        _ => return None,
    };
    Some(Duration::from_secs(secs))
}
