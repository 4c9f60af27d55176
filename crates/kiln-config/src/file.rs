//! `kiln.toml`: the optional settings file.
//!
//! Found at `KILN_CONFIG` when set, else in the working directory or the
//! nearest parent that has one. Only the `[remote]` table is read here; other
//! tables belong to other parts of kiln and are ignored.

use std::path::{Path, PathBuf};

use crate::{ConfigError, vars};

/// The name of the settings file.
pub const FILE_NAME: &str = "kiln.toml";

/// The settings `kiln.toml` may hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileSettings {
    /// The file they came from.
    pub path: Option<PathBuf>,
    /// `[remote] url`.
    pub remote_url: Option<String>,
    /// `[remote] endpoint`.
    pub endpoint: Option<String>,
    /// `[remote] region`.
    pub region: Option<String>,
    /// `[remote] read_only`.
    pub read_only: Option<bool>,
    /// `[remote] timeout`.
    pub timeout: Option<String>,
    /// `[remote] upload_wait`.
    pub upload_wait: Option<String>,
    /// `[remote] prefetch`.
    pub prefetch: Option<bool>,
}

/// Finds `kiln.toml` at or above `start`.
pub fn find(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|d| d.join(FILE_NAME))
        .find(|p| p.is_file())
}

/// Why a `kiln.toml` cannot be used.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum FileError {
    /// The read failed (the I/O error's text).
    #[error("cannot read it: {0}")]
    Unreadable(String),
    /// The TOML parser's message.
    #[error("not TOML: {0}")]
    NotToml(String),
    #[error("`remote` must be a table (`[remote]`)")]
    NotATable,
    /// A setting that takes a string, by key.
    #[error("`remote.{0}` must be a string")]
    NotAString(String),
    /// A setting that takes a boolean, by key.
    #[error("`remote.{0}` must be `true` or `false`")]
    NotABoolean(String),
    #[error("`remote.signing_key` does not belong in a file; set `KILN_SIGNING_KEY` from a secret")]
    SigningKey,
    /// A key kiln does not know.
    #[error("unknown setting `remote.{0}`")]
    Unknown(String),
}

/// Reads and parses the file at `path`.
pub fn load(path: &Path) -> Result<FileSettings, ConfigError> {
    let bad = |problem: FileError| {
        ConfigError::new(
            vars::CONFIG,
            path.display().to_string(),
            problem,
            format!("fix `{}` or remove it", path.display()),
        )
    };
    let text =
        std::fs::read_to_string(path).map_err(|e| bad(FileError::Unreadable(e.to_string())))?;
    parse(&text).map_err(bad).map(|mut s| {
        s.path = Some(path.to_path_buf());
        s
    })
}

/// Parses the text of a `kiln.toml`.
pub fn parse(text: &str) -> Result<FileSettings, FileError> {
    let doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| FileError::NotToml(e.to_string()))?;
    let mut s = FileSettings::default();
    let Some(item) = doc.get("remote") else {
        return Ok(s);
    };
    let table = item.as_table_like().ok_or(FileError::NotATable)?;
    for (key, value) in table.iter() {
        let string = || {
            value
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| FileError::NotAString(key.to_owned()))
        };
        let boolean = || {
            value
                .as_bool()
                .ok_or_else(|| FileError::NotABoolean(key.to_owned()))
        };
        match key {
            "url" => s.remote_url = Some(string()?),
            "endpoint" => s.endpoint = Some(string()?),
            "region" => s.region = Some(string()?),
            "timeout" => s.timeout = Some(string()?),
            "upload_wait" => s.upload_wait = Some(string()?),
            "read_only" => s.read_only = Some(boolean()?),
            "prefetch" => s.prefetch = Some(boolean()?),
            "signing_key" => return Err(FileError::SigningKey),
            other => return Err(FileError::Unknown(other.to_owned())),
        }
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_remote_table_and_ignores_others() {
        let s = parse(
            "[budgets]\nmin_hit_rate = 0.9\n[remote]\nurl = \"s3://b/p\"\nread_only = true\ntimeout = \"5s\"\n",
        )
        .unwrap();
        assert_eq!(s.remote_url.as_deref(), Some("s3://b/p"));
        assert_eq!(s.read_only, Some(true));
        assert_eq!(s.timeout.as_deref(), Some("5s"));
    }

    #[test]
    fn mistakes_are_named() {
        let message = |text: &str| parse(text).unwrap_err().to_string();
        assert_eq!(
            message("[remote]\nurl = 3\n"),
            "`remote.url` must be a string"
        );
        assert_eq!(
            message("[remote]\nprefetch = \"no\"\n"),
            "`remote.prefetch` must be `true` or `false`"
        );
        assert_eq!(
            message("[remote]\nbucket = \"x\"\n"),
            "unknown setting `remote.bucket`"
        );
        assert_eq!(
            parse("[remote]\nsigning_key = \"x\"\n"),
            Err(FileError::SigningKey)
        );
        assert!(message("[remote\n").starts_with("not TOML: "));
        assert_eq!(
            message("remote = 1\n"),
            "`remote` must be a table (`[remote]`)"
        );
    }
}
