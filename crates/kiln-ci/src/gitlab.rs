//! The plan as a GitLab CI pipeline (`.gitlab-ci.yml`).
//!
//! GitLab has no Action: a hidden `.kiln` job installs the release binary
//! (checksum verified; `cargo install` when the download fails), sets the
//! wrapper, and carries the store between pipelines as one snapshot file
//! in GitLab's own cache (`kiln ci restore --file` before the job,
//! `kiln ci finish --file` after it).

use std::fmt::Write as _;

use crate::github::quote;
use crate::plan::Job;
use crate::settings::Settings;
use crate::workspace::Facts;

/// Where the pipeline goes, relative to the workspace root.
pub const PATH: &str = ".gitlab-ci.yml";

/// The pipeline text.
pub fn render(facts: &Facts, settings: &Settings, jobs: &[Job]) -> String {
    let mut out = String::new();
    out.push_str(crate::HEADER);
    let image = quote(settings.runner.as_deref().unwrap_or("rust:latest"));
    let version = env!("CARGO_PKG_VERSION");
    let _ = write!(
        out,
        "workflow:\n  rules:\n    - if: $CI_PIPELINE_SOURCE == \"merge_request_event\"\n      \
         variables:\n        KILN_CACHE_POLICY: pull\n    \
         - if: $CI_COMMIT_BRANCH == \"{branch}\"\n    - if: $CI_COMMIT_TAG\n\n\
         default:\n  image: {image}\n\n\
         variables:\n  CARGO_TERM_COLOR: always\n  KILN_VERSION: \"{version}\"\n  \
         KILN_CACHE_POLICY: pull-push\n",
        branch = settings.branch,
    );
    if let Some(flags) = &settings.rustflags {
        let _ = writeln!(out, "  RUSTFLAGS: {}", quote(flags));
    }
    out.push_str(KILN_TEMPLATE);
    for job in jobs {
        out.push('\n');
        job_text(&mut out, facts, job);
    }
    out
}

/// The hidden job every job extends.
const KILN_TEMPLATE: &str = r#"
.kiln:
  variables:
    KILN_DIR: $CI_PROJECT_DIR/.kiln
    KILN_RUN_ID: gl-$CI_JOB_ID
    RUSTC_WRAPPER: kiln
    CARGO_INCREMENTAL: "0"
  cache:
    key: kiln-$CI_JOB_NAME
    # Merge requests restore and never upload (their code is not reviewed).
    policy: $KILN_CACHE_POLICY
    paths:
      - .kiln-snapshot/
  before_script:
    - |
      target="$(uname -m)-unknown-linux-gnu"
      name="kiln-$KILN_VERSION-$target"
      url="https://github.com/kiln-rs/kiln/releases/download/v$KILN_VERSION/$name.tar.gz"
      if curl -fsSL -o "/tmp/$name.tar.gz" "$url" && curl -fsSL -o "/tmp/$name.tar.gz.sha256" "$url.sha256" &&
        (cd /tmp && sha256sum -c "$name.tar.gz.sha256"); then
        tar -xzf "/tmp/$name.tar.gz" -C /tmp && install "/tmp/$name/kiln" /usr/local/bin/kiln
      else
        RUSTC_WRAPPER= cargo install --locked --git https://github.com/kiln-rs/kiln --tag "v$KILN_VERSION" kiln
      fi
    - if [ "$CI_PIPELINE_SOURCE" = merge_request_event ]; then export KILN_REMOTE_READ_ONLY=1; fi
    - kiln ci restore --file .kiln-snapshot/store.tar.zst
  after_script:
    - if [ "$CI_PIPELINE_SOURCE" = merge_request_event ]; then export KILN_REMOTE_READ_ONLY=1; fi
    - kiln ci finish --file .kiln-snapshot/store.tar.zst
"#;

fn job_text(out: &mut String, facts: &Facts, job: &Job) {
    let _ = writeln!(out, "{}:\n  extends: .kiln\n  needs: []", job.id);
    if job.tags_only {
        out.push_str("  rules:\n    - if: $CI_COMMIT_TAG\n");
    }
    out.push_str("  script:\n");
    if facts.toolchain_file {
        out.push_str("    - rustup toolchain install\n");
    }
    let components: Vec<_> = job.tools.iter().filter_map(|t| t.component()).collect();
    if !components.is_empty() {
        let _ = writeln!(out, "    - rustup component add {}", components.join(" "));
    }
    for tool in job.tools.iter().filter_map(|t| t.crate_name()) {
        let _ = writeln!(out, "    - cargo install --locked {tool}");
    }
    for cmd in &job.commands {
        let _ = writeln!(out, "    - {}", quote(cmd));
    }
}
