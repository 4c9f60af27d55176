//! Environment values as the settings read them: through a lookup function
//! (the process environment, or a map in tests), an empty value counting as
//! unset, text checked for UTF-8 and booleans parsed, each failure a
//! [`ConfigError`] that names the variable. What a value means is decided by
//! the settings that read it, not here.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::{ConfigError, Problem};

/// A name → value lookup.
pub(crate) struct Env<'a> {
    lookup: &'a dyn Fn(&str) -> Option<OsString>,
}

impl<'a> Env<'a> {
    pub(crate) fn new(lookup: &'a dyn Fn(&str) -> Option<OsString>) -> Self {
        Self { lookup }
    }

    /// The value as set, empty or not.
    pub(crate) fn raw(&self, name: &str) -> Option<OsString> {
        (self.lookup)(name)
    }

    /// A non-empty value as a path.
    pub(crate) fn path(&self, name: &str) -> Option<PathBuf> {
        self.raw(name).filter(|v| !v.is_empty()).map(PathBuf::from)
    }

    /// A non-empty value as text.
    pub(crate) fn text(&self, name: &'static str) -> Result<Option<String>, ConfigError> {
        match self.raw(name) {
            None => Ok(None),
            Some(v) if v.is_empty() => Ok(None),
            Some(v) => v.into_string().map(Some).map_err(|v| {
                let shown = if crate::vars::SECRETS.contains(&name) {
                    "(hidden)".into()
                } else {
                    v.to_string_lossy()
                };
                ConfigError::new(
                    name,
                    shown,
                    Problem::NotUtf8,
                    format!("set `{name}` to a UTF-8 value"),
                )
            }),
        }
    }

    /// A non-empty value as a boolean (`1`/`true`/`yes`/`on` or
    /// `0`/`false`/`no`/`off`).
    pub(crate) fn flag(&self, name: &'static str) -> Result<Option<bool>, ConfigError> {
        let Some(v) = self.text(name)? else {
            return Ok(None);
        };
        match parse_bool(&v) {
            Some(b) => Ok(Some(b)),
            None => Err(ConfigError::new(
                name,
                v,
                Problem::NotABoolean,
                format!("use `1`/`true` or `0`/`false` for `{name}`"),
            )),
        }
    }
}

/// `1`/`true`/`yes`/`on` or `0`/`false`/`no`/`off`, in any case.
pub(crate) fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}
