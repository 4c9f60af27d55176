//! `[ci]` in `kiln.toml`: the choices a generated pipeline keeps.
//!
//! Every job of the pipeline uses the same features and `RUSTFLAGS`, so a
//! crate compiled by one job is a cache hit for the others; they are set
//! here once, not per job.

use std::path::Path;

use crate::CiError;

/// The `[ci]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `features`: passed as `--features a,b` to every cargo call.
    pub features: Vec<String>,
    /// `all_features`: `--all-features` instead.
    pub all_features: bool,
    /// `no_default_features`.
    pub no_default_features: bool,
    /// `rustflags`: the pipeline's `RUSTFLAGS`, one value for every job.
    pub rustflags: Option<String>,
    /// `test`: the test job's command, replacing `cargo test`/nextest.
    pub test: Option<String>,
    /// `runner`: the GitHub runner label (default `ubuntu-24.04`) or the
    /// GitLab image (default `rust:latest`).
    pub runner: Option<String>,
    /// `branch`: the default branch pushes to build (default `main`).
    pub branch: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            features: Vec::new(),
            all_features: false,
            no_default_features: false,
            rustflags: None,
            test: None,
            runner: None,
            branch: "main".to_owned(),
        }
    }
}

impl Settings {
    /// The feature flags every cargo call gets, with a leading space (or
    /// empty).
    pub fn feature_args(&self) -> String {
        let mut out = String::new();
        if self.all_features {
            out.push_str(" --all-features");
        } else if !self.features.is_empty() {
            out.push_str(&format!(" --features {}", self.features.join(",")));
        }
        if self.no_default_features {
            out.push_str(" --no-default-features");
        }
        out
    }
}

/// Reads `[ci]` from the `kiln.toml` in `root`; defaults when there is
/// none.
///
/// # Errors
/// When the file is not TOML or a setting has the wrong type or name.
pub fn load(root: &Path) -> Result<Settings, CiError> {
    let path = root.join("kiln.toml");
    let Ok(text) = fs_err::read_to_string(&path) else {
        return Ok(Settings::default());
    };
    parse(&text).map_err(|problem| CiError::Settings { path, problem })
}

/// Parses the `[ci]` table of a `kiln.toml`'s text.
pub fn parse(text: &str) -> Result<Settings, String> {
    let doc: toml_edit::DocumentMut = text.parse().map_err(|e| format!("not TOML: {e}"))?;
    let mut s = Settings::default();
    let Some(item) = doc.get("ci") else {
        return Ok(s);
    };
    let table = item
        .as_table_like()
        .ok_or("`ci` must be a table (`[ci]`)")?;
    for (key, value) in table.iter() {
        let string = || {
            value
                .as_str()
                .map(str::to_owned)
                .ok_or(format!("`ci.{key}` must be a string"))
        };
        let boolean = || {
            value
                .as_bool()
                .ok_or(format!("`ci.{key}` must be `true` or `false`"))
        };
        match key {
            "features" => {
                let list = value
                    .as_array()
                    .ok_or("`ci.features` must be a list of strings")?;
                s.features = list
                    .iter()
                    .map(|v| v.as_str().map(str::to_owned))
                    .collect::<Option<_>>()
                    .ok_or("`ci.features` must be a list of strings")?;
            }
            "all_features" => s.all_features = boolean()?,
            "no_default_features" => s.no_default_features = boolean()?,
            "rustflags" => s.rustflags = Some(string()?),
            "test" => s.test = Some(string()?),
            "runner" => s.runner = Some(string()?),
            "branch" => s.branch = string()?,
            other => return Err(format!("unknown setting `ci.{other}`")),
        }
    }
    if let Some(f) = s.features.iter().find(|f| {
        f.is_empty()
            || !f
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-+/.".contains(c))
    }) {
        return Err(format!("`ci.features`: `{f}` is not a feature name"));
    }
    if s.branch.is_empty()
        || s.branch
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "\"\\,*?[]{}".contains(c))
    {
        return Err(format!("`ci.branch`: `{}` is not a branch name", s.branch));
    }
    if s.all_features && !s.features.is_empty() {
        return Err("`ci.all_features` and `ci.features` exclude each other".into());
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_table_and_names_mistakes() {
        let s = parse("[ci]\nfeatures = [\"a\", \"b\"]\ntest = \"make test\"\n").unwrap();
        assert_eq!(s.feature_args(), " --features a,b");
        assert_eq!(s.test.as_deref(), Some("make test"));
        assert_eq!(
            parse("[remote]\nurl = \"x\"\n").unwrap(),
            Settings::default()
        );
        assert!(
            parse("[ci]\nfeature = []\n")
                .unwrap_err()
                .contains("ci.feature")
        );
        assert!(
            parse("[ci]\nall_features = 1\n")
                .unwrap_err()
                .contains("true")
        );
        assert!(
            parse("[ci]\nall_features = true\nfeatures = [\"a\"]\n")
                .unwrap_err()
                .contains("exclude")
        );
    }
}
