//! The plan as a GitHub Actions workflow (`.github/workflows/ci.yml`).

use std::fmt::Write as _;

use crate::plan::Job;
use crate::settings::Settings;
use crate::workspace::Facts;

/// Where the workflow goes, relative to the workspace root.
pub const PATH: &str = ".github/workflows/ci.yml";

/// The workflow text.
pub fn render(facts: &Facts, settings: &Settings, jobs: &[Job]) -> String {
    let mut out = String::new();
    out.push_str(crate::HEADER);
    let branch = serde_json::to_string(&settings.branch).unwrap_or_default();
    let _ = write!(
        out,
        "name: CI\n\non:\n  push:\n    branches: [{branch}]\n    tags: [\"v*\"]\n  pull_request:\n\n\
         permissions:\n  contents: read\n\n\
         concurrency:\n  group: ${{{{ github.workflow }}}}-${{{{ github.ref }}}}\n  \
         cancel-in-progress: ${{{{ github.event_name == 'pull_request' }}}}\n\n\
         env:\n  CARGO_TERM_COLOR: always\n"
    );
    if let Some(flags) = &settings.rustflags {
        let _ = writeln!(out, "  RUSTFLAGS: {}", quote(flags));
    }
    out.push_str("\njobs:\n");
    let runner = quote(settings.runner.as_deref().unwrap_or("ubuntu-24.04"));
    for (i, job) in jobs.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        job_text(&mut out, facts, job, &runner);
    }
    out
}

fn job_text(out: &mut String, facts: &Facts, job: &Job, runner: &str) {
    let _ = writeln!(out, "  {}:\n    name: {}", job.id, job.name);
    if job.tags_only {
        out.push_str("    if: startsWith(github.ref, 'refs/tags/')\n");
    }
    let _ = writeln!(
        out,
        "    runs-on: {runner}\n    timeout-minutes: 60\n    steps:"
    );
    out.push_str(
        "      - uses: actions/checkout@v4\n        with:\n          persist-credentials: false\n",
    );
    let toolchain = if facts.toolchain_file {
        "rustup toolchain install"
    } else {
        "rustup toolchain install stable --profile minimal && rustup default stable"
    };
    let _ = writeln!(
        out,
        "      - name: Install the toolchain\n        run: {toolchain}"
    );
    let components: Vec<_> = job.tools.iter().filter_map(|t| t.component()).collect();
    if !components.is_empty() {
        let _ = writeln!(
            out,
            "      - run: rustup component add {}",
            components.join(" ")
        );
    }
    let crates: Vec<_> = job.tools.iter().filter_map(|t| t.crate_name()).collect();
    if !crates.is_empty() {
        let _ = writeln!(
            out,
            "      - uses: taiki-e/install-action@v2\n        with:\n          tool: {}",
            crates.join(",")
        );
    }
    let _ = writeln!(out, "      - uses: {}", crate::action_ref());
    if job.compiles {
        out.push_str(
            "        with:\n          read-only: ${{ github.event_name == 'pull_request' }}\n",
        );
    } else {
        out.push_str("        with:\n          cache: false\n");
    }
    for cmd in &job.commands {
        let _ = writeln!(out, "      - run: {}", quote(cmd));
    }
}

/// Words a YAML 1.1 reader (GitLab's) takes for booleans or null.
const SPECIAL: &[&str] = &[
    "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~",
];

/// A YAML scalar for `value`: plain when every YAML reader reads it back
/// the same, else double-quoted (JSON's quoting is YAML's).
pub(crate) fn quote(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " -_=./,+".contains(c))
        && !value.starts_with(['-', ' '])
        && !value.ends_with(' ')
        && !SPECIAL.contains(&value.to_ascii_lowercase().as_str());
    if plain {
        value.to_owned()
    } else {
        serde_json::to_string(value).unwrap_or_default()
    }
}
