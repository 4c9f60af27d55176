//! The remote store's URL: `scheme://` then a bucket, container, host or
//! directory, then a prefix.
//!
//! Parsed by hand, not as a WHATWG URL: the bucket and prefix are kept
//! byte for byte as written (no percent-encoding, no `.`/`..` resolution, a
//! `?` or `#` is part of the prefix, the scheme is case-sensitive and
//! surrounding whitespace is not trimmed), a bucket name is the service's to
//! judge, a Redis password stays in its location, and `file://` takes
//! exactly an absolute path (`file:///dir`).

use super::RemoteKind;

/// Why a text is not a remote store URL.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum UrlError {
    #[error("not a URL (no `scheme://`)")]
    NoScheme,
    /// The scheme as written.
    #[error("unknown scheme `{0}`")]
    UnknownScheme(String),
    /// What the service calls its bucket (`bucket`, `container`).
    #[error("no {0} name")]
    NoBucket(&'static str),
    #[error("no host")]
    NoHost,
    /// The text after the host.
    #[error("`{0}` is not a database number")]
    NotADatabase(String),
    #[error("credentials do not belong in the URL (it appears in messages)")]
    Credentials,
    #[error("a `file://` URL needs an absolute path (`file:///dir`)")]
    RelativePath,
}

impl UrlError {
    /// The forms a remote URL takes.
    pub fn hint(&self) -> &'static str {
        "use `s3://bucket/prefix`, `gcs://bucket/prefix`, `azblob://container/prefix`, `webdav+https://host/path`, `redis://host:6379/0` or `file:///shared/dir`"
    }
}

/// Splits a remote URL into service, location and prefix.
pub fn parse_url(url: &str) -> Result<(RemoteKind, String, String), UrlError> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(UrlError::NoScheme);
    };
    match scheme {
        "s3" => bucket_and_prefix(RemoteKind::S3, rest, "bucket"),
        "gcs" | "gs" => bucket_and_prefix(RemoteKind::Gcs, rest, "bucket"),
        "azblob" => bucket_and_prefix(RemoteKind::Azblob, rest, "container"),
        "redis" | "rediss" => redis(scheme, rest),
        "webdav" | "webdav+https" | "webdav+http" => webdav(scheme, rest),
        "file" => {
            if !rest.starts_with('/') {
                return Err(UrlError::RelativePath);
            }
            Ok((RemoteKind::File, rest.to_owned(), String::new()))
        }
        other => Err(UrlError::UnknownScheme(other.to_owned())),
    }
}

/// `bucket/prefix` of an object store URL (`noun`: what the service calls
/// its bucket, for the message).
fn bucket_and_prefix(
    kind: RemoteKind,
    rest: &str,
    noun: &'static str,
) -> Result<(RemoteKind, String, String), UrlError> {
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(UrlError::NoBucket(noun));
    }
    Ok((kind, bucket.to_owned(), prefix.trim_matches('/').to_owned()))
}

/// `host:port/db` of a Redis URL; the database number is the prefix.
fn redis(scheme: &str, rest: &str) -> Result<(RemoteKind, String, String), UrlError> {
    let (host, db) = rest.split_once('/').unwrap_or((rest, ""));
    if host.is_empty() {
        return Err(UrlError::NoHost);
    }
    if !db.is_empty() && db.parse::<u32>().is_err() {
        return Err(UrlError::NotADatabase(db.to_owned()));
    }
    Ok((
        RemoteKind::Redis,
        format!("{scheme}://{host}"),
        db.to_owned(),
    ))
}

/// `host/path` of a WebDAV URL, served over HTTPS unless the scheme is
/// `webdav+http`.
fn webdav(scheme: &str, rest: &str) -> Result<(RemoteKind, String, String), UrlError> {
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    if host.is_empty() {
        return Err(UrlError::NoHost);
    }
    if host.contains('@') {
        return Err(UrlError::Credentials);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(url: &str) -> (RemoteKind, String, String) {
        parse_url(url).unwrap_or_else(|e| panic!("{url}: {e}"))
    }

    fn split(kind: RemoteKind, location: &str, prefix: &str) -> (RemoteKind, String, String) {
        (kind, location.to_owned(), prefix.to_owned())
    }

    #[test]
    fn prefixes_are_kept_as_written() {
        use RemoteKind::{File, Redis, S3};
        assert_eq!(parsed("s3://b"), split(S3, "b", ""));
        assert_eq!(parsed("s3://b/a/../c/"), split(S3, "b", "a/../c"));
        assert_eq!(parsed("s3://b/pre fix#1?x"), split(S3, "b", "pre fix#1?x"));
        assert_eq!(parsed("s3://My_Bucket:x/p"), split(S3, "My_Bucket:x", "p"));
        assert_eq!(
            parsed("rediss://:pw@host:6379/0"),
            split(Redis, "rediss://:pw@host:6379", "0")
        );
        assert_eq!(parsed("file:///a b/../c"), split(File, "/a b/../c", ""));
    }

    #[test]
    fn rejected_forms_say_why() {
        let absolute = "a `file://` URL needs an absolute path (`file:///dir`)";
        for (url, error, message) in [
            ("s3:/b", UrlError::NoScheme, "not a URL (no `scheme://`)"),
            (
                "S3://b",
                UrlError::UnknownScheme("S3".into()),
                "unknown scheme `S3`",
            ),
            (
                " s3://b",
                UrlError::UnknownScheme(" s3".into()),
                "unknown scheme ` s3`",
            ),
            ("s3://", UrlError::NoBucket("bucket"), "no bucket name"),
            (
                "azblob:///x",
                UrlError::NoBucket("container"),
                "no container name",
            ),
            ("redis:///0", UrlError::NoHost, "no host"),
            (
                "redis://h/x",
                UrlError::NotADatabase("x".into()),
                "`x` is not a database number",
            ),
            (
                "webdav://u:p@h/x",
                UrlError::Credentials,
                "credentials do not belong in the URL (it appears in messages)",
            ),
            ("file://relative", UrlError::RelativePath, absolute),
            ("file://localhost/dir", UrlError::RelativePath, absolute),
        ] {
            assert_eq!(parse_url(url), Err(error), "{url}");
            assert_eq!(parse_url(url).unwrap_err().to_string(), message, "{url}");
        }
    }
}
