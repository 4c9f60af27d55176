//! Turns [`RemoteConfig`] into an opendal operator for its service, each
//! service behind its own cargo feature (`s3` on by default, `gcs`,
//! `azblob`, `webdav`, `redis`). A `file://` store is not an opendal
//! service: see [`crate::dir`].
//!
//! Every operator gets the same bounded behaviour: a shared HTTP client with
//! a short connect timeout and a connection pool, a per-request timeout, and
//! a few quick retries of temporary errors (5xx, 429, resets).

use std::time::Duration;

use kiln_config::{RemoteConfig, RemoteKind};
use opendal::layers::{RetryLayer, TimeoutLayer};
use opendal::{HttpTransporter, Operator};

use crate::RemoteError;

/// Bound on opening a TCP connection: an unreachable store fails fast.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Retries of a temporary failure before it counts as an error.
const RETRIES: usize = 2;

/// Builds the operator for `cfg`. Needs a Tokio runtime to use it.
pub fn operator(cfg: &RemoteConfig) -> Result<Operator, RemoteError> {
    let op = match cfg.kind {
        RemoteKind::S3 => s3(cfg)?,
        RemoteKind::Redis => redis(cfg)?,
        RemoteKind::Azblob => azblob(cfg)?,
        RemoteKind::Webdav => webdav(cfg)?,
        RemoteKind::Gcs => gcs(cfg)?,
        RemoteKind::File => {
            return Err(RemoteError::Setup(format!(
                "`{}` is a directory, served by kiln's own file access",
                cfg.url
            )));
        }
    };
    let op = with_http_client(op, cfg.timeout)?;
    // The timeout goes inside the retry, so a slow attempt is retried; the
    // client bounds each whole request on top (body included).
    Ok(op
        .layer(
            TimeoutLayer::new()
                .with_timeout(cfg.timeout)
                .with_io_timeout(cfg.timeout),
        )
        .layer(
            RetryLayer::new()
                .with_max_times(RETRIES)
                .with_min_delay(Duration::from_millis(50))
                .with_max_delay(Duration::from_millis(500))
                .with_jitter(),
        ))
}

#[cfg(any(
    feature = "s3",
    feature = "redis",
    feature = "azblob",
    feature = "webdav",
    feature = "gcs"
))]
fn build_error(cfg: &RemoteConfig, e: &opendal::Error) -> RemoteError {
    RemoteError::Setup(format!("cannot set up `{}`: {e}", cfg.url))
}

fn with_http_client(op: Operator, timeout: Duration) -> Result<Operator, RemoteError> {
    let client = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(timeout)
        .pool_idle_timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(32)
        .build()
        .map_err(|e| RemoteError::Setup(format!("cannot create the HTTP client: {e}")))?;
    let transport = opendal_http_transport_reqwest::ReqwestTransport::new(client);
    let ctx = op
        .context()
        .with_http_transport(HttpTransporter::new(transport));
    Ok(op.with_context(ctx))
}

#[cfg(feature = "s3")]
fn s3(cfg: &RemoteConfig) -> Result<Operator, RemoteError> {
    let mut b = opendal::services::S3::default()
        .bucket(&cfg.location)
        .root(&format!("/{}", cfg.prefix))
        .region(cfg.region.as_deref().unwrap_or("us-east-1"));
    if let Some(e) = &cfg.endpoint {
        b = b.endpoint(e);
    }
    Operator::new(b).map_err(|e| build_error(cfg, &e))
}

#[cfg(not(feature = "s3"))]
fn s3(_: &RemoteConfig) -> Result<Operator, RemoteError> {
    Err(missing_feature("s3"))
}

#[cfg(feature = "redis")]
fn redis(cfg: &RemoteConfig) -> Result<Operator, RemoteError> {
    let mut b = opendal::services::Redis::default()
        .endpoint(&cfg.location)
        .root("/kiln/");
    if let Ok(db) = cfg.prefix.parse::<i64>() {
        b = b.db(db);
    }
    Operator::new(b).map_err(|e| build_error(cfg, &e))
}

#[cfg(not(feature = "redis"))]
fn redis(_: &RemoteConfig) -> Result<Operator, RemoteError> {
    Err(missing_feature("redis"))
}

/// The password of `cfg` as text (opendal takes strings).
#[cfg(any(feature = "azblob", feature = "webdav", feature = "gcs"))]
fn password(cfg: &RemoteConfig) -> Option<String> {
    cfg.password
        .as_ref()
        .map(|p| String::from_utf8_lossy(&p.0).into_owned())
}

#[cfg(feature = "azblob")]
fn azblob(cfg: &RemoteConfig) -> Result<Operator, RemoteError> {
    let Some(account) = cfg.username.as_deref() else {
        return Err(RemoteError::Setup(format!(
            "`{}` needs an account: set `AZURE_STORAGE_ACCOUNT` and `AZURE_STORAGE_KEY` (or `KILN_REMOTE_USERNAME` and `KILN_REMOTE_PASSWORD`)",
            cfg.url
        )));
    };
    let endpoint = cfg
        .endpoint
        .clone()
        .unwrap_or_else(|| format!("https://{account}.blob.core.windows.net"));
    let mut b = opendal::services::Azblob::default()
        .container(&cfg.location)
        .root(&format!("/{}", cfg.prefix))
        .endpoint(&endpoint)
        .account_name(account);
    if let Some(key) = password(cfg) {
        b = b.account_key(&key);
    }
    Operator::new(b).map_err(|e| build_error(cfg, &e))
}

#[cfg(not(feature = "azblob"))]
fn azblob(_: &RemoteConfig) -> Result<Operator, RemoteError> {
    Err(missing_feature("azblob"))
}

#[cfg(feature = "webdav")]
fn webdav(cfg: &RemoteConfig) -> Result<Operator, RemoteError> {
    let mut b = opendal::services::Webdav::default()
        .endpoint(&cfg.location)
        .root(&format!("/{}", cfg.prefix));
    if let Some(user) = &cfg.username {
        b = b.username(user);
    }
    if let Some(pw) = password(cfg) {
        b = b.password(&pw);
    }
    Operator::new(b).map_err(|e| build_error(cfg, &e))
}

#[cfg(not(feature = "webdav"))]
fn webdav(_: &RemoteConfig) -> Result<Operator, RemoteError> {
    Err(missing_feature("webdav"))
}

/// Google Cloud Storage. Credentials, first found: an OAuth2 access token
/// (`KILN_REMOTE_PASSWORD`), the `GOOGLE_APPLICATION_CREDENTIALS` file, then
/// Google's usual places (gcloud's application-default file, the metadata
/// server of a Google VM). An emulator on a plain `http://` endpoint without
/// credentials is used unsigned: Google itself only speaks HTTPS.
#[cfg(feature = "gcs")]
fn gcs(cfg: &RemoteConfig) -> Result<Operator, RemoteError> {
    let mut b = opendal::services::Gcs::default()
        .bucket(&cfg.location)
        .root(&format!("/{}", cfg.prefix));
    if let Some(e) = &cfg.endpoint {
        b = b.endpoint(e);
    }
    let token = password(cfg);
    let emulator = cfg
        .endpoint
        .as_deref()
        .is_some_and(|e| e.starts_with("http://"));
    match (&token, &cfg.credentials_file) {
        (Some(t), _) => b = b.token(t.clone()).disable_vm_metadata(),
        (None, Some(path)) => {
            if !std::path::Path::new(path).is_file() {
                return Err(RemoteError::Setup(format!(
                    "`GOOGLE_APPLICATION_CREDENTIALS` names `{path}`, which is not a file (hint: point it at the service account or workload identity JSON)"
                )));
            }
            b = b.credential_path(path).disable_vm_metadata();
        }
        (None, None) if emulator => b = b.skip_signature().disable_vm_metadata(),
        (None, None) => {}
    }
    Operator::new(b).map_err(|e| build_error(cfg, &e))
}

#[cfg(not(feature = "gcs"))]
fn gcs(_: &RemoteConfig) -> Result<Operator, RemoteError> {
    Err(missing_feature("gcs"))
}

#[cfg(any(
    not(feature = "s3"),
    not(feature = "redis"),
    not(feature = "azblob"),
    not(feature = "webdav"),
    not(feature = "gcs")
))]
fn missing_feature(name: &str) -> RemoteError {
    RemoteError::Setup(format!(
        "this kiln was built without the `{name}` store (hint: `cargo install --locked --git https://github.com/kiln-rs/kiln kiln --features {name}`)"
    ))
}
