//! End-to-end audits of the fixture workspaces (each copied to a temporary
//! directory first).

mod common;

use std::collections::BTreeMap;

use common::{audit_fixture, copy_fixture, ids, options};
use kiln_doctor::{AuditOptions, DoctorError, Rule, Severity, UnitCosts};

#[test]
fn messy_workspace_reports_every_anti_pattern() {
    let (_tmp, report) = audit_fixture("messy");
    assert_eq!(
        ids(&report),
        [
            "aws-default-features",
            "ci-bins-root-only",
            "ci-feature-split",
            "ci-incremental",
            "ci-needless-needs",
            "ci-no-compile-cache",
            "ci-profile-split",
            "ci-rustflags-split",
            "ci-separate-builds",
            "ci-target-cache",
            "duplicate-versions",
            "feature-split",
            "per-commit-value",
            "profile-ci-slow",
            "profile-ci-slow",
            "profile-no-ci",
            "profile-no-deploy",
            "toolchain-unpinned",
        ]
    );
    let severities: Vec<Severity> = report.findings.iter().map(|f| f.severity).collect();
    let mut sorted = severities.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(severities, sorted, "worst first");
}

#[test]
fn per_commit_value_states_the_blast_radius() {
    let (_tmp, report) = audit_fixture("messy");
    let f = report
        .findings
        .iter()
        .find(|f| f.id == Rule::PerCommitValue)
        .expect("per-commit-value");
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(
        f.location.as_ref().map(ToString::to_string).as_deref(),
        Some("crates/shared/build.rs:4")
    );
    assert!(
        f.message.contains("4 workspace crates and 3 binaries"),
        "{}",
        f.message
    );
    assert!(
        f.why.contains("`api`, `app`, `domain`, `worker`"),
        "{}",
        f.why
    );
    assert!(f.fix.contains("build-info"), "{}", f.fix);
    assert!(!f.why.contains("costs ~"), "no cost without measurements");
}

#[test]
fn unit_costs_state_what_a_per_commit_value_costs() {
    let tmp = copy_fixture("messy");
    let costs: BTreeMap<String, u64> = [
        ("shared", 1500),
        ("domain", 2500),
        ("api", 1000),
        ("worker", 1000),
        ("app", 500),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let report = kiln_doctor::audit(&AuditOptions {
        costs: Some(UnitCosts(costs)),
        ..options(tmp.path())
    })
    .expect("audit");
    let f = report
        .findings
        .iter()
        .find(|f| f.id == Rule::PerCommitValue)
        .expect("per-commit-value");
    assert!(
        f.why.contains("costs ~6.5s of compile per run"),
        "{}",
        f.why
    );
}

#[test]
fn ci_findings_name_both_jobs_and_lines() {
    let (_tmp, report) = audit_fixture("messy");
    let split = report
        .findings
        .iter()
        .find(|f| f.id == Rule::CiFeatureSplit)
        .expect("split");
    assert!(
        split.message.contains("`build` and `test`"),
        "{}",
        split.message
    );
    assert!(
        split.message.contains("`--all-features`"),
        "{}",
        split.message
    );
    assert_eq!(split.location.as_ref().and_then(|l| l.line), Some(29));
    let bins = report
        .findings
        .iter()
        .find(|f| f.id == Rule::CiBinsRootOnly)
        .expect("bins");
    assert!(
        bins.fix
            .contains("cargo build --release --bins --workspace"),
        "{}",
        bins.fix
    );
    let needs = report
        .findings
        .iter()
        .find(|f| f.id == Rule::CiNeedlessNeeds)
        .expect("needs");
    assert!(
        needs.message.contains("`test` waits for `build`"),
        "{}",
        needs.message
    );
}

#[test]
fn clean_workspace_has_no_findings() {
    let (_tmp, report) = audit_fixture("clean");
    assert!(
        report.findings.is_empty(),
        "{}",
        kiln_doctor::render_text(&report, false)
    );
    assert!(!report.reaches(Severity::Info));
    assert_eq!(report.worst(), None);
}

#[test]
fn release_builds_may_use_their_own_profile() {
    let tmp = copy_fixture("clean");
    let wf = tmp.path().join(".github/workflows");
    // A tag-only workflow, and a tag-only job in the CI workflow, both
    // building with the slow release profile: a release, not a CI build.
    std::fs::write(
        wf.join("release.yml"),
        "on:\n  push:\n    tags: [\"v*\"]\n  workflow_dispatch:\nenv:\n  RUSTC_WRAPPER: kiln\n  CARGO_INCREMENTAL: \"0\"\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - run: cargo build --release --locked -p app\n",
    )
    .unwrap();
    let ci = std::fs::read_to_string(wf.join("ci.yml")).unwrap();
    std::fs::write(
        wf.join("ci.yml"),
        format!("{ci}\n  deploy:\n    if: startsWith(github.ref, 'refs/tags/')\n    runs-on: ubuntu-latest\n    steps:\n      - run: cargo build --workspace --bins --release\n"),
    )
    .unwrap();
    let report = kiln_doctor::audit(&options(tmp.path())).unwrap();
    assert!(
        report.findings.is_empty(),
        "{}",
        kiln_doctor::render_text(&report, false)
    );
    // The same job on branches is a CI build, and is reported.
    std::fs::write(
        wf.join("ci.yml"),
        format!("{ci}\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n      - run: cargo build --workspace --bins --release\n"),
    )
    .unwrap();
    let report = kiln_doctor::audit(&options(tmp.path())).unwrap();
    assert!(
        ids(&report).contains(&"ci-profile-split"),
        "{:?}",
        ids(&report)
    );
}

#[test]
fn gitlab_pipeline_is_audited() {
    let (_tmp, report) = audit_fixture("gitlab");
    assert_eq!(
        ids(&report),
        [
            "ci-feature-split",
            "ci-incremental",
            "ci-needless-needs",
            "ci-no-compile-cache",
            "ci-target-cache",
        ]
    );
    let needs = report
        .findings
        .iter()
        .find(|f| f.id == Rule::CiNeedlessNeeds)
        .expect("needs");
    assert!(needs.fix.contains("needs: []"), "{}", needs.fix);
    let cache = report
        .findings
        .iter()
        .find(|f| f.id == Rule::CiTargetCache)
        .expect("cache");
    assert!(
        cache.message.contains("jobs `build`, `test`"),
        "{}",
        cache.message
    );
}

#[test]
fn malformed_files_become_findings_and_the_audit_goes_on() {
    let (_tmp, report) = audit_fixture("broken");
    let malformed: Vec<String> = report
        .findings
        .iter()
        .filter(|f| f.id == Rule::MalformedFile)
        .map(|f| {
            f.location
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(
        malformed,
        [
            ".cargo/config.toml:2",
            ".github/workflows/bad.yml:8",
            "rust-toolchain.toml:2"
        ]
    );
    let rest = ids(&report);
    for id in [
        "toolchain-unpinned",
        "profile-ci-slow",
        "ci-no-compile-cache",
    ] {
        assert!(rest.contains(&id), "{id} missing from {rest:?}");
    }
    assert!(report.reaches(Severity::Error));
}

#[test]
fn no_workspace_is_a_clear_error_with_a_hint() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let err = kiln_doctor::audit(&options(tmp.path())).expect_err("no Cargo.toml");
    assert!(matches!(err, DoctorError::Metadata { .. }));
    assert!(
        err.to_string()
            .starts_with("cannot read the cargo workspace at `"),
        "{err}"
    );
    assert!(err.to_string().contains("Cargo.toml"), "{err}");
    assert!(
        std::error::Error::source(&err).is_some(),
        "keeps cargo's message as the cause"
    );
    assert!(err.hint().contains("--manifest-path"), "{}", err.hint());
}

#[test]
fn deny_levels_follow_severity_order() {
    let (_tmp, report) = audit_fixture("gitlab");
    assert!(report.reaches(Severity::Info));
    assert!(report.reaches(Severity::Warning));
    assert!(!report.reaches(Severity::Error));
    assert!(Severity::Error > Severity::Warning && Severity::Warning > Severity::Info);
}

#[test]
fn json_has_a_version_and_stable_fields() {
    let (_tmp, report) = audit_fixture("messy");
    let value: serde_json::Value =
        serde_json::from_str(&kiln_doctor::render_json(&report)).expect("json");
    assert_eq!(value["version"], 1);
    assert_eq!(value["summary"]["error"], 2);
    let first = &value["findings"][0];
    for key in ["id", "severity", "file", "line", "message", "why", "fix"] {
        assert!(first.get(key).is_some(), "missing {key}");
    }
    let missing_file = value["findings"]
        .as_array()
        .expect("array")
        .iter()
        .find(|f| f["id"] == "profile-no-deploy")
        .expect("profile-no-deploy");
    assert_eq!(missing_file["line"], serde_json::Value::Null);
}

#[test]
fn every_rule_is_documented() {
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/doctor.md"))
            .expect("docs/doctor.md");
    for rule in Rule::ALL {
        assert!(
            docs.contains(&format!("### `{}`", rule.id())),
            "docs/doctor.md lacks `{}`",
            rule.id()
        );
    }
}

#[test]
fn crates_of_other_platforms_are_not_duplicates_here() {
    let tmp = tempfile::tempdir().unwrap();
    let write = |rel: &str, text: &str| {
        let p = tmp.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    for v in ["1", "2"] {
        write(
            &format!("vendor/dup-{v}/Cargo.toml"),
            &format!("[package]\nname = \"dup\"\nversion = \"{v}.0.0\"\nedition = \"2021\"\n"),
        );
        write(&format!("vendor/dup-{v}/src/lib.rs"), "");
    }
    write(
        "ws/Cargo.toml",
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [dependencies]\ndup = { path = \"../vendor/dup-1\" }\n\n\
         [target.'cfg(windows)'.dependencies]\ndup2 = { package = \"dup\", path = \"../vendor/dup-2\" }\n",
    );
    write("ws/src/main.rs", "fn main() {}\n");
    let report = kiln_doctor::audit(&options(&tmp.path().join("ws"))).unwrap();
    assert!(
        !ids(&report).contains(&"duplicate-versions"),
        "{}",
        kiln_doctor::render_text(&report, false)
    );
}
