//! SARIF 2.1.0 for GitHub code scanning (`github/codeql-action/upload-sarif`).
//!
//! One run, every [`Rule`] in `tool.driver.rules`, one result per finding.
//! GitHub needs a physical location on every result: findings about
//! something missing point at the root `Cargo.toml`, line 1.

use serde_json::{Value, json};

use crate::{Finding, Report, Rule, Severity};

const DOCS: &str = "https://github.com/kiln-rs/kiln/blob/main/docs/doctor.md";

/// Renders `report` as a SARIF 2.1.0 log.
pub fn render_sarif(report: &Report) -> String {
    let rules: Vec<Value> = Rule::ALL.iter().map(|r| rule(*r)).collect();
    let fallback = crate::files::relative(&report.root, &report.workspace_root.join("Cargo.toml"));
    let fallback = fallback.display().to_string().replace('\\', "/");
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| result(f, &fallback))
        .collect();
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "kiln-doctor",
                    "semanticVersion": report.tool.version,
                    "informationUri": DOCS,
                    "rules": rules,
                }
            },
            "results": results,
            "columnKind": "unicodeCodePoints",
        }]
    });
    let mut s = serde_json::to_string_pretty(&log).unwrap_or_default();
    s.push('\n');
    s
}

fn rule(r: Rule) -> Value {
    let name: String = r
        .id()
        .split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next().map_or_else(String::new, |f| {
                f.to_ascii_uppercase().to_string() + c.as_str()
            })
        })
        .collect();
    json!({
        "id": r.id(),
        "name": name,
        "shortDescription": { "text": r.title() },
        "fullDescription": { "text": r.title() },
        "helpUri": format!("{DOCS}#{}", r.id()),
        "help": {
            "text": format!("{} See {DOCS}#{}", r.title(), r.id()),
            "markdown": format!("{} See [the docs]({DOCS}#{}).", r.title(), r.id()),
        },
        "properties": { "tags": ["build-performance", r.family()] },
    })
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

fn location(file: &str, line: Option<u32>) -> Value {
    json!({
        "physicalLocation": {
            "artifactLocation": { "uri": file },
            "region": { "startLine": line.unwrap_or(1).max(1) },
        }
    })
}

fn result(f: &Finding, fallback: &str) -> Value {
    let index = Rule::ALL.iter().position(|r| *r == f.id).unwrap_or(0);
    let primary = f.location.as_ref().map_or_else(
        || location(fallback, Some(1)),
        |l| location(&l.file_str(), l.line),
    );
    let mut text = f.message.clone();
    if !f.why.is_empty() {
        text.push_str(&format!("\n\nWhy: {}", f.why));
    }
    if !f.fix.is_empty() {
        text.push_str(&format!("\n\nFix: {}", f.fix));
    }
    let mut result = json!({
        "ruleId": f.id.id(),
        "ruleIndex": index,
        "level": level(f.severity),
        "message": { "text": text },
        "locations": [primary],
    });
    if !f.related.is_empty() {
        let related: Vec<Value> = f
            .related
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let mut v = location(&l.file_str(), l.line);
                v["id"] = json!(i);
                v
            })
            .collect();
        result["relatedLocations"] = Value::Array(related);
    }
    result
}
