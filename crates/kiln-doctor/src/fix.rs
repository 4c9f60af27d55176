//! `kiln doctor --fix`: adds the missing `[profile.ci]` and
//! `[profile.deploy]` to the root manifest with `toml_edit`, keeping the
//! rest of the file (formatting, comments, order) as it was.
//!
//! Only profiles are fixed automatically; every other finding needs a
//! decision from a person.

use std::path::PathBuf;

use toml_edit::{DocumentMut, Item, Table, Value};

use crate::checks::missing_profiles;
use crate::{AuditOptions, DoctorError};

/// What [`fix`] changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixOutcome {
    /// The manifest that was (or would have been) edited.
    pub manifest: PathBuf,
    /// Profiles added, e.g. `["ci", "deploy"]`; empty when nothing was
    /// missing.
    pub added: Vec<String>,
}

/// Adds the profiles the audit finds missing (`profile-no-ci`,
/// `profile-no-deploy`) to the workspace root `Cargo.toml`.
///
/// # Errors
/// When the workspace cannot be read or the manifest cannot be written.
pub fn fix(options: &AuditOptions) -> Result<FixOutcome, DoctorError> {
    let report = crate::audit(options)?;
    let manifest = report.workspace_root.join("Cargo.toml");
    let missing = missing_profiles(&report.findings);
    let mut outcome = FixOutcome {
        manifest: manifest.clone(),
        added: Vec::new(),
    };
    if missing.is_empty() {
        return Ok(outcome);
    }
    let text = fs_err::read_to_string(&manifest).map_err(|source| DoctorError::Io {
        path: manifest.clone(),
        source,
    })?;
    let mut doc: DocumentMut =
        text.parse()
            .map_err(|e: toml_edit::TomlError| DoctorError::Toml {
                path: manifest.clone(),
                line: e
                    .span()
                    .map_or(1, |s| crate::files::line_at(&text, s.start)),
                message: e.message().trim().to_owned(),
            })?;
    for (name, lines) in missing {
        if add_profile(&mut doc, name, lines) {
            outcome.added.push(name.to_owned());
        }
    }
    if outcome.added.is_empty() {
        return Ok(outcome);
    }
    let mut out = doc.to_string();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    fs_err::write(&manifest, out).map_err(|source| DoctorError::Io {
        path: manifest.clone(),
        source,
    })?;
    Ok(outcome)
}

/// Adds `[profile.<name>]`; `false` when it exists or `profile` is not a
/// table.
fn add_profile(doc: &mut DocumentMut, name: &str, lines: &[(&str, &str)]) -> bool {
    let profiles = doc.entry("profile").or_insert_with(|| {
        let mut t = Table::new();
        t.set_implicit(true);
        Item::Table(t)
    });
    let Some(profiles) = profiles.as_table_mut() else {
        return false;
    };
    if profiles.contains_key(name) {
        return false;
    }
    let mut table = Table::new();
    for (key, raw) in lines {
        if let Ok(value) = raw.parse::<Value>() {
            table.insert(key, Item::Value(value));
        }
    }
    let purpose = if name == "ci" {
        "Fast CI builds: build and test in CI with `--profile ci`."
    } else {
        "Release artifacts: build them with `--profile deploy`."
    };
    table
        .decor_mut()
        .set_prefix(format!("\n# {purpose} (added by `kiln doctor --fix`)\n"));
    profiles.insert(name, Item::Table(table));
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::missing_profiles;
    use crate::finding::{Finding, Rule, Severity};

    #[test]
    fn adds_after_existing_content_and_keeps_comments() {
        let mut doc: DocumentMut =
            "# top\n[package]\nname = \"a\" # the name\n\n[profile.release]\nlto = \"fat\"\n"
                .parse()
                .expect("toml");
        let findings = [
            Finding::new(Rule::ProfileNoCi, Severity::Warning, ""),
            Finding::new(Rule::ProfileNoDeploy, Severity::Info, ""),
        ];
        for (name, lines) in missing_profiles(&findings) {
            assert!(add_profile(&mut doc, name, lines));
        }
        let out = doc.to_string();
        assert!(
            out.starts_with(
                "# top\n[package]\nname = \"a\" # the name\n\n[profile.release]\nlto = \"fat\"\n"
            ),
            "{out}"
        );
        assert!(
            out.contains("[profile.ci]\ninherits = \"release\"\nopt-level = 2\n"),
            "{out}"
        );
        assert!(out.contains("[profile.deploy]\n"), "{out}");
        assert!(!add_profile(&mut doc, "ci", &[]));
    }
}
