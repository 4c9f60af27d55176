//! CI configuration as pipelines, jobs, steps and the cargo calls they make.
//!
//! Owns finding CI files (GitHub Actions workflows, `.gitlab-ci.yml`),
//! reading them into one [`Pipeline`] model, and extracting [`CargoCall`]s
//! from their scripts. It judges nothing: the checks in `checks::ci` do.

mod cargo_call;
mod github;
mod gitlab;
mod shell;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub(crate) use cargo_call::{CargoCall, Sub};

use crate::files;
use crate::finding::Finding;

/// One CI file.
#[derive(Debug, Default)]
pub(crate) struct Pipeline {
    /// Path relative to the report root.
    pub rel: PathBuf,
    /// Variables set for every job.
    pub env: Vec<EnvVar>,
    pub jobs: Vec<Job>,
    /// GitLab: stage names in order (empty for GitHub).
    pub stages: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct EnvVar {
    pub name: String,
    pub value: String,
    pub line: u32,
}

#[derive(Debug, Default)]
pub(crate) struct Job {
    pub id: String,
    pub line: u32,
    /// Jobs named in `needs:`.
    pub needs: Vec<String>,
    /// `needs:` is present (GitLab: even empty, it overrides stage order).
    pub needs_declared: bool,
    /// GitLab stage.
    pub stage: Option<String>,
    pub env: Vec<EnvVar>,
    pub steps: Vec<Step>,
    /// The job publishes artifacts (upload-artifact, GitLab `artifacts:`).
    pub uploads: bool,
    pub downloads: Downloads,
    pub caches: Vec<CacheUse>,
    /// The job runs over a matrix: its values are not known statically.
    pub matrix: bool,
    /// The job runs for tags only (a release build): its profile and
    /// features are meant to differ from CI's.
    pub releases_only: bool,
}

/// Which artifacts of earlier jobs a job reads.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) enum Downloads {
    #[default]
    None,
    All,
    Only(Vec<String>),
}

#[derive(Debug, Default)]
pub(crate) struct Step {
    pub uses: Option<String>,
    pub env: Vec<EnvVar>,
    pub script: Option<Script>,
}

/// Shell text and the line its first line is on.
#[derive(Debug, Clone)]
pub(crate) struct Script {
    pub text: String,
    pub line: u32,
}

/// A cache declared in CI: an `actions/cache` step, `Swatinem/rust-cache`,
/// or a GitLab `cache:`.
#[derive(Debug, Clone)]
pub(crate) struct CacheUse {
    pub line: u32,
    pub what: String,
    pub paths: Vec<String>,
    pub key: String,
}

impl Job {
    /// Every variable that applies to `step` of this job, later ones winning.
    pub fn env_for(&self, pipeline: &Pipeline, step: &Step) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        for v in pipeline.env.iter().chain(&self.env).chain(&step.env) {
            env.insert(v.name.clone(), v.value.clone());
        }
        env
    }

    /// All variables the job sets at any level, with where.
    pub fn all_env<'a>(&'a self, pipeline: &'a Pipeline) -> impl Iterator<Item = &'a EnvVar> {
        pipeline
            .env
            .iter()
            .chain(&self.env)
            .chain(self.steps.iter().flat_map(|s| &s.env))
    }
}

impl Pipeline {
    /// GitLab pipelines have stages; GitHub workflows do not.
    pub fn is_gitlab(&self) -> bool {
        !self.stages.is_empty()
    }

    /// The key that sets variables for every job: `env` or `variables`.
    pub fn env_key(&self) -> &'static str {
        if self.is_gitlab() { "variables" } else { "env" }
    }

    pub fn job(&self, id: &str) -> Option<&Job> {
        self.jobs.iter().find(|j| j.id == id)
    }

    /// The jobs `job` waits for: its `needs:`, or on GitLab without
    /// `needs:` every job of an earlier stage.
    pub fn prerequisites(&self, job: &Job) -> Vec<&Job> {
        if job.needs_declared || self.stages.is_empty() {
            return job.needs.iter().filter_map(|n| self.job(n)).collect();
        }
        let stage_of = |j: &Job| {
            let s = j.stage.as_deref().unwrap_or("test");
            self.stages.iter().position(|x| x == s).unwrap_or(0)
        };
        let mine = stage_of(job);
        self.jobs.iter().filter(|j| stage_of(j) < mine).collect()
    }
}

/// Finds and reads every CI file under `root`. Files that cannot be parsed
/// add `malformed-file` findings to `problems`.
pub(crate) fn load(root: &Path, problems: &mut Vec<Finding>) -> Vec<Pipeline> {
    let mut pipelines = Vec::new();
    let workflows = root.join(".github").join("workflows");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&workflows)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    paths.sort();
    for path in paths {
        if let Some(node) = read_yaml(root, &path, problems) {
            pipelines.push(github::parse(files::relative(root, &path), &node));
        }
    }
    let gitlab = root.join(".gitlab-ci.yml");
    if let Some(node) = read_yaml(root, &gitlab, problems) {
        pipelines.push(gitlab::parse(files::relative(root, &gitlab), &node));
    }
    pipelines
}

fn read_yaml(root: &Path, path: &Path, problems: &mut Vec<Finding>) -> Option<crate::yaml::Node> {
    let text = files::read_text(root, path, problems)?;
    match crate::yaml::parse(&text) {
        Ok(node) => Some(node),
        Err(e) => {
            problems.push(files::malformed(
                &files::relative(root, path),
                Some(e.line),
                &e.message,
            ));
            None
        }
    }
}

/// Every cargo call in every script of `pipelines`.
pub(crate) fn cargo_calls(pipelines: &[Pipeline]) -> Vec<CargoCall> {
    let mut calls = Vec::new();
    for (p, pipeline) in pipelines.iter().enumerate() {
        for (j, job) in pipeline.jobs.iter().enumerate() {
            for step in &job.steps {
                let Some(script) = &step.script else { continue };
                let env = job.env_for(pipeline, step);
                for cmd in shell::commands(&script.text) {
                    if let Some(mut call) = cargo_call::parse(&cmd.words, &env) {
                        call.pipeline = p;
                        call.job = j;
                        call.line = script.line + cmd.line;
                        calls.push(call);
                    }
                }
            }
        }
    }
    calls
}

/// `NAME=value` pairs a script appends to `$GITHUB_ENV`, with line offsets.
pub(crate) fn exported_env(script: &Script) -> Vec<EnvVar> {
    let mut out = Vec::new();
    for (i, line) in script.text.lines().enumerate() {
        if !line.contains("GITHUB_ENV") {
            continue;
        }
        let Some(cmd) = shell::commands(line).into_iter().next() else {
            continue;
        };
        for word in cmd.words.iter().skip(1) {
            if let Some((name, value)) = word.split_once('=')
                && !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
            {
                out.push(EnvVar {
                    name: name.to_owned(),
                    value: value.to_owned(),
                    line: script.line + u32::try_from(i).unwrap_or(0),
                });
            }
        }
    }
    out
}
