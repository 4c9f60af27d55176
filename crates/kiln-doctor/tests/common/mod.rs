//! Shared helpers: fixture workspaces are copied into a temporary directory
//! before cargo or kiln touches them, so nothing is written into the repo.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use kiln_doctor::{AuditOptions, Report};

pub fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join(name)
}

/// Copies fixture `name` into a fresh temporary directory.
pub fn copy_fixture(name: &str) -> tempfile::TempDir {
    let tmp = tempfile::Builder::new()
        .prefix("kiln-doctor-")
        .tempdir()
        .expect("tempdir");
    copy_dir(&fixture_dir(name), tmp.path());
    tmp
}

fn copy_dir(from: &Path, to: &Path) {
    fs_err::create_dir_all(to).expect("mkdir");
    for entry in fs_err::read_dir(from).expect("read fixture") {
        let entry = entry.expect("entry");
        let path = entry.path();
        let dest = to.join(entry.file_name());
        if path.is_dir() {
            copy_dir(&path, &dest);
        } else {
            fs_err::copy(&path, &dest).expect("copy");
        }
    }
}

pub fn options(dir: &Path) -> AuditOptions {
    AuditOptions {
        manifest_path: Some(dir.join("Cargo.toml")),
        costs: None,
        offline: true,
    }
}

/// Audits a fresh copy of fixture `name`; the directory lives as long as
/// the returned guard.
pub fn audit_fixture(name: &str) -> (tempfile::TempDir, Report) {
    let tmp = copy_fixture(name);
    let report = kiln_doctor::audit(&options(tmp.path())).expect("audit");
    (tmp, report)
}

/// Finding ids of `report`, sorted.
pub fn ids(report: &Report) -> Vec<&'static str> {
    let mut ids: Vec<&'static str> = report.findings.iter().map(|f| f.id.id()).collect();
    ids.sort_unstable();
    ids
}

/// Replaces the temporary root and version-specific text so snapshots are
/// stable.
pub fn stable(text: &str, root: &Path) -> String {
    let root = root.display().to_string();
    let canonical = std::fs::canonicalize(&root)
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let mut out = text.replace(&canonical, "[ROOT]").replace(&root, "[ROOT]");
    out = out.replace(
        &format!("\"version\": \"{}\"", env!("CARGO_PKG_VERSION")),
        "\"version\": \"[VERSION]\"",
    );
    out
}
