//! `fix` round trip: the profiles are added, the user's comments and
//! formatting stay, the findings go away and the workspace builds with the
//! new profile (offline: fixtures only have path dependencies).

mod common;

use common::{copy_fixture, options};
use kiln_doctor::Rule;

#[test]
fn fix_adds_profiles_keeps_comments_and_builds() {
    let tmp = copy_fixture("messy");
    let manifest = tmp.path().join("Cargo.toml");
    let before = fs_err::read_to_string(&manifest).expect("read");

    let outcome = kiln_doctor::fix(&options(tmp.path())).expect("fix");
    assert_eq!(outcome.added, ["ci", "deploy"]);

    let after = fs_err::read_to_string(&manifest).expect("read");
    assert!(
        after.starts_with(before.trim_end()),
        "existing text is kept as is:\n{after}"
    );
    for comment in [
        "# The root is a package",
        "# Release builds for production.",
        "# smallest binaries",
    ] {
        assert!(after.contains(comment), "{comment} kept");
    }
    assert!(after.contains("[profile.ci]\ninherits = \"release\"\nopt-level = 2\nlto = \"off\"\ncodegen-units = 16\n"), "{after}");
    assert!(after.contains("[profile.deploy]\n"), "{after}");

    let report = kiln_doctor::audit(&options(tmp.path())).expect("audit");
    for gone in [Rule::ProfileNoCi, Rule::ProfileNoDeploy] {
        assert!(
            !report.findings.iter().any(|f| f.id == gone),
            "{gone} still reported"
        );
    }
    assert!(
        !report
            .findings
            .iter()
            .any(|f| f.id == Rule::ProfileCiSlow && f.message.contains("profile `ci`")),
        "the added ci profile is fast"
    );

    let again = kiln_doctor::fix(&options(tmp.path())).expect("fix again");
    assert!(again.added.is_empty(), "a second fix changes nothing");

    let target = tmp.path().join("target");
    let status = std::process::Command::new(env!("CARGO"))
        .args([
            "build",
            "--offline",
            "--quiet",
            "--profile",
            "ci",
            "--workspace",
        ])
        .current_dir(tmp.path())
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTC_WRAPPER")
        .env_remove("RUSTFLAGS")
        .status()
        .expect("run cargo");
    assert!(
        status.success(),
        "the fixed workspace builds with --profile ci"
    );
    assert!(
        target.join("ci").join("api").exists(),
        "binaries land in target/ci"
    );
}
