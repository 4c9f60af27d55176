//! Snapshots of what people read: text (no color), Markdown and JSON for
//! the `messy` fixture, and the text of the clean one.

mod common;

use common::{audit_fixture, stable};

fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(r#"channel = "\d+\.\d+\.\d+""#, r#"channel = "[RUSTC]""#);
    s.add_filter(
        r#"channel = \\"\d+\.\d+\.\d+\\""#,
        r#"channel = \"[RUSTC]\""#,
    );
    s.add_filter(r"cargo \+\d+\.\d+\.\d+", "cargo +[RUSTC]");
    s
}

#[test]
fn messy_text() {
    let (tmp, report) = audit_fixture("messy");
    let text = stable(&kiln_doctor::render_text(&report, false), tmp.path());
    assert!(!text.contains('\x1b'), "no color codes when color is off");
    settings().bind(|| insta::assert_snapshot!(text));
}

#[test]
fn messy_text_in_color() {
    let (_tmp, report) = audit_fixture("messy");
    let text = kiln_doctor::render_text(&report, true);
    assert!(
        text.contains("\x1b[1m\x1b[31merror\x1b[0m"),
        "errors in red"
    );
}

#[test]
fn messy_markdown() {
    let (tmp, report) = audit_fixture("messy");
    let md = stable(&kiln_doctor::render_markdown(&report), tmp.path());
    settings().bind(|| insta::assert_snapshot!(md));
}

#[test]
fn messy_json() {
    let (tmp, report) = audit_fixture("messy");
    let json = stable(&kiln_doctor::render_json(&report), tmp.path());
    settings().bind(|| insta::assert_snapshot!(json));
}

#[test]
fn clean_text() {
    let (tmp, report) = audit_fixture("clean");
    let text = stable(&kiln_doctor::render_text(&report, false), tmp.path());
    insta::assert_snapshot!(text, @"kiln doctor: no findings in `[ROOT]`");
}
