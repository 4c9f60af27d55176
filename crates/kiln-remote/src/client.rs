//! [`Remote`]: reads and writes framed objects on the configured service.
//!
//! All methods are async and bounded by the operator's timeouts. A missing
//! object is `Ok(None)`; a damaged, unsigned or mis-signed one is
//! [`RemoteError::Rejected`] (the caller treats it like a miss and counts it).

use std::time::SystemTime;

use kiln_config::RemoteConfig;
use opendal::{ErrorKind, Operator};

use crate::dir::DirStore;
use crate::frame;
use crate::{Cause, RemoteError, backend};

/// The largest entry object read from a store: larger ones are refused
/// before their bytes are read.
pub const MAX_ENTRY_OBJECT: u64 = 512 << 20;
/// The largest object of any other kind (JSON: manifests, indexes, runs).
pub const MAX_OTHER_OBJECT: u64 = 64 << 20;

/// The bound of the object `name`, by its kind.
pub fn max_object(name: &str) -> u64 {
    if name.starts_with("entries/") {
        MAX_ENTRY_OBJECT
    } else {
        MAX_OTHER_OBJECT
    }
}

/// Where objects go: a service through opendal, or a shared directory
/// through kiln's own link-refusing file access.
#[derive(Clone)]
enum Backend {
    Service(Operator),
    Dir(DirStore),
}

/// A checked object as received (see [`frame::Object`]).
pub type Object = frame::Object;

/// A connection to the remote store (cheap to clone; clones share the pool).
#[derive(Clone)]
pub struct Remote {
    backend: Backend,
    url: String,
    signing_key: Option<Vec<u8>>,
    read_only: bool,
    /// The service, to name its credentials when they are refused.
    kind: kiln_config::RemoteKind,
    /// Bound of one whole request, body included: a server that trickles
    /// bytes cannot hold a build.
    deadline: std::time::Duration,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote").field("url", &self.url).finish()
    }
}

impl Remote {
    /// Sets up the client for `cfg` (no request is made yet).
    pub fn new(cfg: &RemoteConfig) -> Result<Self, RemoteError> {
        let backend = match cfg.kind {
            kiln_config::RemoteKind::File => Backend::Dir(DirStore::new(&cfg.location)),
            _ => Backend::Service(backend::operator(cfg)?),
        };
        Ok(Self {
            backend,
            url: cfg.url.clone(),
            signing_key: cfg.signing_key.as_ref().map(|k| k.0.clone()),
            read_only: cfg.read_only,
            kind: cfg.kind,
            deadline: cfg.timeout.saturating_mul(3),
        })
    }

    /// A client with a runtime of its own, for callers that block (one
    /// compiler call, a command, the detached uploader).
    pub fn blocking(cfg: &RemoteConfig) -> Result<(tokio::runtime::Runtime, Self), RemoteError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| RemoteError::Setup(format!("cannot start a runtime: {e}")))?;
        let remote = {
            let _guard = rt.enter();
            Self::new(cfg)?
        };
        Ok((rt, remote))
    }

    /// The store's URL, for messages.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether writes are refused.
    pub fn read_only(&self) -> bool {
        self.read_only
    }

    /// Reads and checks the object `name`; returns its payload.
    pub async fn get(&self, name: &str) -> Result<Option<Vec<u8>>, RemoteError> {
        match self.get_object(name).await? {
            None => Ok(None),
            Some(object) => object
                .payload()
                .map(Some)
                .map_err(|problem| RemoteError::Rejected {
                    name: name.to_owned(),
                    problem,
                }),
        }
    }

    /// Reads and checks the object `name`, keeping the bytes as received
    /// (a compressed entry is written to the local store as it came).
    pub async fn get_object(&self, name: &str) -> Result<Option<Object>, RemoteError> {
        let max = max_object(name);
        let object = match &self.backend {
            Backend::Dir(dir) => match dir.read(name, max)? {
                Some(bytes) => bytes,
                None => return Ok(None),
            },
            Backend::Service(op) => {
                let read = tokio::time::timeout(self.deadline, read_bounded(op, name, max));
                match read.await.map_err(|_| timed_out())? {
                    Ok(Some(b)) => b,
                    Ok(None) => return Err(too_large(name, max)),
                    Err(e) if e.kind() == ErrorKind::NotFound && !no_bucket(&e) => return Ok(None),
                    Err(e) => return Err(classify(&e, self.kind)),
                }
            }
        };
        if object.len() as u64 > max {
            return Err(too_large(name, max));
        }
        match frame::open(name, object, self.signing_key.as_deref()) {
            Ok(payload) => Ok(Some(payload)),
            Err(problem) => Err(RemoteError::Rejected {
                name: name.to_owned(),
                problem,
            }),
        }
    }

    /// Writes `payload` as the object `name`. Returns the bytes sent.
    pub async fn put(&self, name: &str, payload: &[u8]) -> Result<u64, RemoteError> {
        if self.read_only {
            return Err(RemoteError::ReadOnly);
        }
        let object = frame::seal(name, payload, self.signing_key.as_deref());
        let len = object.len() as u64;
        let op = match &self.backend {
            Backend::Dir(dir) => return dir.write(name, &object).map(|()| len),
            Backend::Service(op) => op,
        };
        tokio::time::timeout(self.deadline, op.write(name, object))
            .await
            .map_err(|_| timed_out())?
            .map_err(|e| match e.kind() {
                // Writing an object cannot miss anything but its bucket
                // (GCS and Azure say 404 without S3's `NoSuchBucket`).
                ErrorKind::NotFound => RemoteError::Failed(Cause::NoBucket),
                _ => classify(&e, self.kind),
            })?;
        Ok(len)
    }

    /// Lists the objects below `dir` (recursively) with their last change.
    pub async fn list(
        &self,
        dir: &str,
    ) -> Result<Vec<(String, Option<SystemTime>, u64)>, RemoteError> {
        let op = match &self.backend {
            Backend::Dir(store) => return store.list(dir),
            Backend::Service(op) => op,
        };
        let listing = tokio::time::timeout(
            self.deadline.saturating_mul(20),
            op.list_with(dir).recursive(true),
        );
        let entries = match listing.await.map_err(|_| timed_out())? {
            Ok(e) => e,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(classify(&e, self.kind)),
        };
        Ok(entries
            .into_iter()
            .filter(|e| !e.path().ends_with('/'))
            .map(|e| {
                let md = e.metadata();
                (
                    e.path().to_owned(),
                    md.last_modified().map(SystemTime::from),
                    md.content_length(),
                )
            })
            .collect())
    }

    /// Removes the object `name`.
    pub async fn delete(&self, name: &str) -> Result<(), RemoteError> {
        if self.read_only {
            return Err(RemoteError::ReadOnly);
        }
        let op = match &self.backend {
            Backend::Dir(dir) => return dir.delete(name),
            Backend::Service(op) => op,
        };
        tokio::time::timeout(self.deadline, op.delete(name))
            .await
            .map_err(|_| timed_out())?
            .map_err(|e| classify(&e, self.kind))
    }
}

/// Reads the object `name` as a stream, stopping as soon as it holds more
/// than `max` bytes (`None`): at most that much is ever held.
async fn read_bounded(
    op: &Operator,
    name: &str,
    max: u64,
) -> Result<Option<Vec<u8>>, opendal::Error> {
    use futures_util::StreamExt;
    let mut stream = op.reader(name).await?.into_bytes_stream(..).await?;
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| from_io(&e))?;
        if (out.len() + chunk.len()) as u64 > max {
            return Ok(None);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(Some(out))
}

/// The opendal error an I/O error of a stream carries, if it does.
fn from_io(e: &std::io::Error) -> opendal::Error {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<opendal::Error>())
    {
        Some(inner) => opendal::Error::new(inner.kind(), inner.to_string()),
        None => opendal::Error::new(ErrorKind::Unexpected, e.to_string()),
    }
}

/// An object over its bound: that object is refused, not the store.
fn too_large(name: &str, _max: u64) -> RemoteError {
    RemoteError::Rejected {
        name: name.to_owned(),
        problem: frame::FrameError::TooLarge,
    }
}

fn timed_out() -> RemoteError {
    RemoteError::Failed(Cause::TimedOut)
}

/// A missing bucket answers 404 like a missing object; only the error body
/// tells: S3's `NoSuchBucket`, GCS's "The specified bucket does not exist.",
/// Azure's `ContainerNotFound`.
fn no_bucket(e: &opendal::Error) -> bool {
    let text = format!("{e:?}");
    ["NoSuchBucket", "bucket does not exist", "ContainerNotFound"]
        .iter()
        .any(|code| text.contains(code))
}

/// What to check when `kind` refuses the credentials.
fn credentials_hint(kind: kiln_config::RemoteKind) -> &'static str {
    use kiln_config::RemoteKind;
    match kind {
        RemoteKind::S3 => "`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` or the profile",
        RemoteKind::Azblob => "`AZURE_STORAGE_ACCOUNT` and `AZURE_STORAGE_KEY`",
        RemoteKind::Webdav => "`KILN_REMOTE_USERNAME` and `KILN_REMOTE_PASSWORD`",
        RemoteKind::Gcs => {
            "`GOOGLE_APPLICATION_CREDENTIALS` or the token in `KILN_REMOTE_PASSWORD`"
        }
        RemoteKind::Redis => "the user and password in the `redis://` URL",
        RemoteKind::File => "the directory's permissions",
    }
}

/// Sorts an opendal error into what the user can act on.
fn classify(e: &opendal::Error, kind: kiln_config::RemoteKind) -> RemoteError {
    let text = e.to_string();
    let mut chain = text.clone();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        chain.push_str(": ");
        chain.push_str(&s.to_string());
        source = s.source();
    }
    if no_bucket(e) {
        return RemoteError::Failed(Cause::NoBucket);
    }
    let denied = || {
        Cause::Denied(format!(
            "check the credentials ({})",
            credentials_hint(kind)
        ))
    };
    let cause = match e.kind() {
        ErrorKind::PermissionDenied => denied(),
        ErrorKind::RateLimited => Cause::RateLimited,
        ErrorKind::ConfigInvalid => Cause::InvalidSettings(first_line(&text).to_owned()),
        _ => {
            let lower = chain.to_ascii_lowercase();
            if lower.contains("status: 401") || lower.contains("status: 403") {
                denied()
            } else if lower.contains("signing http request") {
                // The signer's own reason, e.g. "failed to parse PKCS#8 RSA
                // private key PEM", without what it wraps.
                let why = text.rsplit("source: ").next().unwrap_or("");
                let why = first_line(why).split(':').next().unwrap_or("").trim();
                Cause::Denied(format!(
                    "the credentials cannot sign requests ({why}; check {})",
                    credentials_hint(kind)
                ))
            } else if lower.contains("connection refused") {
                Cause::Unreachable("connection refused".to_owned())
            } else if lower.contains("timed out") || lower.contains("timeout") {
                Cause::TimedOut
            } else if lower.contains("nosuchbucket") || lower.contains("bucket does not exist") {
                Cause::NoBucket
            } else if lower.contains("dns") || lower.contains("resolve") {
                Cause::Unreachable("host not found".to_owned())
            } else if lower.contains("credential") {
                Cause::Denied(format!(
                    "no usable credentials (set {})",
                    credentials_hint(kind)
                ))
            } else if lower.contains("error sending request") || lower.contains("connect") {
                Cause::Unreachable("cannot connect".to_owned())
            } else {
                Cause::Other(first_line(&text).to_owned())
            }
        }
    };
    RemoteError::Failed(cause)
}

fn first_line(s: &str) -> &str {
    let line = s.lines().next().unwrap_or(s);
    if line.len() > 300 {
        let mut end = 300;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        &line[..end]
    } else {
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_bucket_is_told_from_a_missing_object() {
        let missing = |msg: &str| opendal::Error::new(ErrorKind::NotFound, msg.to_owned());
        assert!(no_bucket(&missing("<Code>NoSuchBucket</Code>")));
        assert!(no_bucket(&missing(
            r#"{"error":{"code":404,"message":"The specified bucket does not exist."}}"#
        )));
        assert!(no_bucket(&missing("<Code>ContainerNotFound</Code>")));
        assert!(!no_bucket(&missing("<Code>NoSuchKey</Code>")));
        assert!(!no_bucket(&missing("Not Found")));
    }
}
