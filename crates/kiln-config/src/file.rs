//! `kiln.toml`: the optional settings file.
//!
//! Found at `KILN_CONFIG` when set, else in the working directory or the
//! nearest parent that has one. Only the `[remote]` table is read here; other
//! tables belong to other parts of kiln and are ignored.

use std::path::{Path, PathBuf};

use crate::ConfigError;

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

/// Reads and parses the file at `path`.
pub fn load(path: &Path) -> Result<FileSettings, ConfigError> {
    let bad = |problem: String| ConfigError {
        var: "KILN_CONFIG",
        value: path.display().to_string(),
        problem,
        hint: format!("fix `{}` or remove it", path.display()),
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read it: {e}")))?;
    parse(&text).map_err(bad).map(|mut s| {
        s.path = Some(path.to_path_buf());
        s
    })
}

/// Parses the text of a `kiln.toml`.
pub fn parse(text: &str) -> Result<FileSettings, String> {
    let doc: toml_edit::DocumentMut = text.parse().map_err(|e| format!("not TOML: {e}"))?;
    let mut s = FileSettings::default();
    let Some(item) = doc.get("remote") else {
        return Ok(s);
    };
    let table = item
        .as_table_like()
        .ok_or("`remote` must be a table (`[remote]`)")?;
    for (key, value) in table.iter() {
        let string = || {
            value
                .as_str()
                .map(str::to_owned)
                .ok_or(format!("`remote.{key}` must be a string"))
        };
        match key {
            "url" => s.remote_url = Some(string()?),
            "endpoint" => s.endpoint = Some(string()?),
            "region" => s.region = Some(string()?),
            "timeout" => s.timeout = Some(string()?),
            "upload_wait" => s.upload_wait = Some(string()?),
            "read_only" | "prefetch" => {
                let b = value
                    .as_bool()
                    .ok_or(format!("`remote.{key}` must be `true` or `false`"))?;
                if key == "read_only" {
                    s.read_only = Some(b);
                } else {
                    s.prefetch = Some(b);
                }
            }
            "signing_key" => {
                return Err(
                    "`remote.signing_key` does not belong in a file; set `KILN_SIGNING_KEY` from a secret"
                        .into(),
                );
            }
            other => return Err(format!("unknown setting `remote.{other}`")),
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
        assert!(
            parse("[remote]\nurl = 3\n")
                .unwrap_err()
                .contains("remote.url")
        );
        assert!(
            parse("[remote]\nbucket = \"x\"\n")
                .unwrap_err()
                .contains("remote.bucket")
        );
        assert!(
            parse("[remote]\nsigning_key = \"x\"\n")
                .unwrap_err()
                .contains("KILN_SIGNING_KEY")
        );
        assert!(parse("[remote\n").unwrap_err().contains("not TOML"));
    }
}
