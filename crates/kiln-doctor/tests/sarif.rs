//! `render_sarif` output validated against the official SARIF 2.1.0 JSON
//! schema (a copy in `tests/fixtures/sarif/`, see its NOTICE.md), plus the
//! rules GitHub code scanning adds on top of the schema.

mod common;

use common::audit_fixture;
use serde_json::Value;

fn schema() -> Value {
    let text =
        std::fs::read_to_string(common::fixture_dir("sarif").join("sarif-schema-2.1.0.json"))
            .expect("schema");
    serde_json::from_str(&text).expect("schema json")
}

fn check(fixture: &str) -> Value {
    let (_tmp, report) = audit_fixture(fixture);
    let log: Value = serde_json::from_str(&kiln_doctor::render_sarif(&report)).expect("sarif json");
    let schema = schema();
    let validator = jsonschema::draft4::new(&schema).expect("valid schema");
    let errors: Vec<String> = validator
        .iter_errors(&log)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{fixture}: {errors:#?}");
    github_rules(&log);
    assert_eq!(
        log["runs"][0]["results"].as_array().map(Vec::len),
        Some(report.findings.len())
    );
    log
}

/// What GitHub's upload requires beyond the schema: a driver name, rule ids
/// that resolve, and a physical location with a relative URI and a start
/// line on every result.
fn github_rules(log: &Value) {
    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    assert!(run["tool"]["driver"]["name"].is_string());
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    for result in run["results"].as_array().expect("results") {
        let id = result["ruleId"].as_str().expect("ruleId");
        let index = result["ruleIndex"].as_u64().expect("ruleIndex");
        assert_eq!(rules[usize::try_from(index).expect("index")]["id"], id);
        assert!(
            result["message"]["text"]
                .as_str()
                .is_some_and(|t| !t.is_empty())
        );
        let loc = &result["locations"][0]["physicalLocation"];
        let uri = loc["artifactLocation"]["uri"].as_str().expect("uri");
        assert!(
            !uri.starts_with('/') && !uri.contains("://"),
            "relative uri: {uri}"
        );
        assert!(loc["region"]["startLine"].as_u64().is_some_and(|l| l >= 1));
        assert!(matches!(
            result["level"].as_str(),
            Some("error" | "warning" | "note")
        ));
    }
}

#[test]
fn messy_sarif_is_valid() {
    let log = check("messy");
    let results = log["runs"][0]["results"].as_array().expect("results");
    let per_commit = results
        .iter()
        .find(|r| r["ruleId"] == "per-commit-value")
        .expect("per-commit");
    assert_eq!(per_commit["level"], "error");
    assert_eq!(
        per_commit["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "crates/shared/build.rs"
    );
    // A finding about something missing points at the root manifest.
    let deploy = results
        .iter()
        .find(|r| r["ruleId"] == "profile-no-deploy")
        .expect("deploy");
    assert_eq!(
        deploy["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "Cargo.toml"
    );
}

#[test]
fn clean_and_broken_sarif_are_valid() {
    check("clean");
    check("broken");
    check("gitlab");
}

#[test]
fn the_validator_rejects_a_broken_log() {
    let schema = schema();
    let validator = jsonschema::draft4::new(&schema).expect("valid schema");
    let bad = serde_json::json!({ "version": "2.1.0", "runs": [{ "tool": {} }] });
    assert!(!validator.is_valid(&bad));
}
