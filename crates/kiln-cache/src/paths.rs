//! The path mode's one switch. In `normalize` mode (the default) the
//! machine's directories in what a key covers and in stored text become
//! placeholders, so that hits do not depend on the checkout dir or
//! `CARGO_HOME`; in `exact` mode paths are keyed and stored as they are.

use std::path::{Path, PathBuf};

use kiln_config::PathMode;
use kiln_key::Roots;

/// How paths enter keys and the store under one mode.
#[derive(Clone, Copy)]
pub(crate) struct PathRule<'a> {
    pub roots: &'a Roots,
    pub mode: PathMode,
}

impl PathRule<'_> {
    /// Whether paths are keyed as they are.
    pub fn exact(&self) -> bool {
        self.mode == PathMode::Exact
    }

    /// `text` as a key holds it.
    pub fn key_text(&self, text: &str) -> String {
        if self.exact() {
            text.to_owned()
        } else {
            self.roots.normalize(text)
        }
    }

    /// `p` as a key holds it.
    pub fn key_path(&self, p: &Path) -> String {
        if self.exact() {
            p.to_string_lossy().into_owned()
        } else {
            self.roots.normalize_path(p)
        }
    }

    /// A path a key holds, on this machine.
    pub fn local_path(&self, s: &str) -> PathBuf {
        if self.exact() {
            PathBuf::from(s)
        } else {
            self.roots.local_path(s)
        }
    }

    /// `text` as the store keeps it, when it changes and can be put back;
    /// `None` to store it as it is.
    pub fn store_text(&self, text: &str) -> Option<Vec<u8>> {
        if self.exact() || !Roots::reversible(text.as_bytes()) {
            return None;
        }
        Some(self.roots.normalize(text).into_bytes())
    }
}

/// How the text an action in a build-script run leaves (messages,
/// `OUT_DIR` files, dependency files) is mapped between this machine and
/// the store: paths are replaced only in what a package from `CARGO_HOME`
/// left, in normalize mode.
pub(crate) struct TextRule<'a> {
    /// Local roots.
    pub roots: &'a Roots,
    /// Paths are replaced (a package from `CARGO_HOME`, normalize mode).
    pub normalize: bool,
}

impl TextRule<'_> {
    /// `text` with local roots replaced, when they appear and can be put
    /// back; `None` to store the bytes as they are.
    pub fn to_store(&self, bytes: &[u8]) -> Option<Vec<u8>> {
        if !self.normalize || !Roots::reversible(bytes) {
            return None;
        }
        let text = std::str::from_utf8(bytes).ok()?;
        let normalized = self.roots.normalize(text);
        (normalized != text).then(|| normalized.into_bytes())
    }

    /// `bytes` as the store keeps them: mapped, or as they are.
    pub fn stored(&self, bytes: &[u8]) -> Vec<u8> {
        self.to_store(bytes).unwrap_or_else(|| bytes.to_vec())
    }

    /// Stored text for this machine.
    pub fn to_local(&self, bytes: &[u8]) -> Vec<u8> {
        if self.normalize {
            self.roots.restore(bytes)
        } else {
            bytes.to_vec()
        }
    }
}
