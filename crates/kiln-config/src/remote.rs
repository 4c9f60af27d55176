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

use crate::ConfigError;
use crate::file::FileSettings;
use crate::vars;

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

/// Reads the remote settings. `text` looks up an environment variable.
pub(crate) fn read(
    text: &dyn Fn(&'static str) -> Result<Option<String>, ConfigError>,
    file: &FileSettings,
    empty_signing_key: bool,
) -> Result<Option<RemoteConfig>, ConfigError> {
    let explicit = text(vars::REMOTE)?;
    if explicit.as_deref() == Some("off") {
        return Ok(None);
    }
    let (url, source) = if let Some(u) = explicit {
        (u, vars::REMOTE)
    } else if let Some(u) = file.remote_url.clone() {
        (u, "kiln.toml")
    } else if let Some(u) = sccache_url(text)? {
        u
    } else {
        return Ok(None);
    };
    let (kind, location, prefix) = parse_url(&url).map_err(|problem| ConfigError {
        var: source_var(source),
        value: url.clone(),
        problem,
        hint: "use `s3://bucket/prefix`, `gcs://bucket/prefix`, `azblob://container/prefix`, `webdav+https://host/path`, `redis://host:6379/0` or `file:///shared/dir`".into(),
    })?;
    let endpoint = match text(vars::REMOTE_ENDPOINT)? {
        Some(e) => Some(e),
        None => file.endpoint.clone().or(sccache_endpoint(text)?),
    };
    let region = match text(vars::REMOTE_REGION)? {
        Some(r) => Some(r),
        None => match file.region.clone() {
            Some(r) => Some(r),
            None => first_set(
                text,
                &[vars::sccache::REGION, "AWS_REGION", "AWS_DEFAULT_REGION"],
            )?,
        },
    };
    let azure = kind == RemoteKind::Azblob;
    let username = match text(vars::REMOTE_USERNAME)? {
        Some(u) => Some(u),
        None if azure => text("AZURE_STORAGE_ACCOUNT")?,
        None => None,
    };
    let password = match text(vars::REMOTE_PASSWORD)? {
        Some(p) => Some(p),
        None if azure => text("AZURE_STORAGE_KEY")?,
        None => None,
    }
    .map(|p| Secret(p.into_bytes()));
    let credentials_file = match kind {
        RemoteKind::Gcs => text("GOOGLE_APPLICATION_CREDENTIALS")?,
        _ => None,
    };
    let read_only = match text(vars::REMOTE_READ_ONLY)? {
        Some(v) => crate::parse_bool(&v).ok_or_else(|| ConfigError {
            var: vars::REMOTE_READ_ONLY,
            value: v.clone(),
            problem: "not a boolean".into(),
            hint: format!(
                "use `1`/`true` or `0`/`false` for `{}`",
                vars::REMOTE_READ_ONLY
            ),
        })?,
        None => file.read_only.unwrap_or(false),
    };
    let prefetch = match text(vars::PREFETCH)? {
        Some(v) => crate::parse_bool(&v).ok_or_else(|| ConfigError {
            var: vars::PREFETCH,
            value: v.clone(),
            problem: "not a boolean".into(),
            hint: format!("use `1`/`true` or `0`/`false` for `{}`", vars::PREFETCH),
        })?,
        None => file.prefetch.unwrap_or(true),
    };
    if empty_signing_key {
        // A CI secret that is missing (a fork, a typo) expands to nothing:
        // that must not quietly turn a signed store into an unsigned one.
        return Err(ConfigError {
            var: vars::SIGNING_KEY,
            value: String::new(),
            problem: "set but empty".into(),
            hint: format!(
                "check the secret behind `{}`, or unset it for an unsigned store",
                vars::SIGNING_KEY
            ),
        });
    }
    let signing_key = text(vars::SIGNING_KEY)?.map(|k| Secret(k.into_bytes()));
    if signing_key.as_ref().is_some_and(|k| k.0.len() < 16) {
        return Err(ConfigError {
            var: vars::SIGNING_KEY,
            value: "(hidden)".into(),
            problem: "shorter than 16 bytes".into(),
            hint: "use a random secret of at least 32 characters, e.g. `openssl rand -hex 32`"
                .into(),
        });
    }
    let timeout =
        duration(text, vars::REMOTE_TIMEOUT, file.timeout.as_deref())?.unwrap_or(DEFAULT_TIMEOUT);
    let upload_wait = duration(text, vars::UPLOAD_WAIT, file.upload_wait.as_deref())?
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

fn first_set(
    text: &dyn Fn(&'static str) -> Result<Option<String>, ConfigError>,
    names: &[&'static str],
) -> Result<Option<String>, ConfigError> {
    for n in names {
        if let Some(v) = text(n)? {
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
fn sccache_url(
    text: &dyn Fn(&'static str) -> Result<Option<String>, ConfigError>,
) -> Result<Option<(String, &'static str)>, ConfigError> {
    if let Some(bucket) = text(vars::sccache::BUCKET)? {
        let prefix = text(vars::sccache::S3_KEY_PREFIX)?.unwrap_or_default();
        let prefix = prefix.trim_matches('/');
        let url = if prefix.is_empty() {
            format!("s3://{bucket}")
        } else {
            format!("s3://{bucket}/{prefix}")
        };
        return Ok(Some((url, vars::sccache::BUCKET)));
    }
    Ok(text(vars::sccache::REDIS)?.map(|u| (u, vars::sccache::REDIS)))
}

/// `SCCACHE_ENDPOINT`, with a scheme added the way sccache does
/// (`SCCACHE_S3_NO_SSL=true` → `http://`).
fn sccache_endpoint(
    text: &dyn Fn(&'static str) -> Result<Option<String>, ConfigError>,
) -> Result<Option<String>, ConfigError> {
    let Some(e) = text(vars::sccache::ENDPOINT)? else {
        return Ok(None);
    };
    if e.contains("://") {
        return Ok(Some(e));
    }
    let no_ssl = text(vars::sccache::S3_NO_SSL)?
        .and_then(|v| crate::parse_bool(&v))
        .unwrap_or(false);
    Ok(Some(format!(
        "{}://{e}",
        if no_ssl { "http" } else { "https" }
    )))
}

fn duration(
    text: &dyn Fn(&'static str) -> Result<Option<String>, ConfigError>,
    var: &'static str,
    from_file: Option<&str>,
) -> Result<Option<Duration>, ConfigError> {
    let Some(v) = text(var)?.or(from_file.map(str::to_owned)) else {
        return Ok(None);
    };
    parse_duration(&v).map(Some).ok_or_else(|| ConfigError {
        var,
        value: v.clone(),
        problem: "not a duration".into(),
        hint: format!("use a duration such as `500ms`, `15s` or `2m` for `{var}`"),
    })
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

/// Splits a remote URL into service, location and prefix.
pub fn parse_url(url: &str) -> Result<(RemoteKind, String, String), String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err("not a URL (no `scheme://`)".into());
    };
    match scheme {
        "s3" => bucket_and_prefix(RemoteKind::S3, rest, "bucket"),
        "gcs" | "gs" => bucket_and_prefix(RemoteKind::Gcs, rest, "bucket"),
        "redis" | "rediss" => {
            let (host, db) = rest.split_once('/').unwrap_or((rest, ""));
            if host.is_empty() {
                return Err("no host".into());
            }
            if !db.is_empty() && db.parse::<u32>().is_err() {
                return Err(format!("`{db}` is not a database number"));
            }
            Ok((
                RemoteKind::Redis,
                format!("{scheme}://{host}"),
                db.to_owned(),
            ))
        }
        "azblob" => bucket_and_prefix(RemoteKind::Azblob, rest, "container"),
        "webdav" | "webdav+https" | "webdav+http" => {
            let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
            if host.is_empty() {
                return Err("no host".into());
            }
            if host.contains('@') {
                return Err("credentials do not belong in the URL (it appears in messages)".into());
            }
            let http = if scheme == "webdav+http" {
                "http"
            } else {
                "https"
            };
            Ok((
                RemoteKind::Webdav,
                format!("{http}://{host}"),
                path.trim_matches('/').to_owned(),
            ))
        }
        "file" => {
            if !rest.starts_with('/') {
                return Err("a `file://` URL needs an absolute path (`file:///dir`)".into());
            }
            Ok((RemoteKind::File, rest.to_owned(), String::new()))
        }
        other => Err(format!("unknown scheme `{other}`")),
    }
}

/// `bucket/prefix` of an object store URL (`noun`: what the service calls
/// its bucket, for the message).
fn bucket_and_prefix(
    kind: RemoteKind,
    rest: &str,
    noun: &str,
) -> Result<(RemoteKind, String, String), String> {
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(format!("no {noun} name"));
    }
    Ok((kind, bucket.to_owned(), prefix.trim_matches('/').to_owned()))
}
