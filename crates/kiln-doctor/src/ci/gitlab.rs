//! GitLab CI (`.gitlab-ci.yml`) into a [`Pipeline`].
//!
//! Handles stages, `needs:`, `variables:`, `script:`/`before_script:`,
//! `cache:`, `artifacts:` and `dependencies:`; `include:` and `extends:`
//! are not followed.

use std::path::PathBuf;

use super::github::env_of;
use super::{CacheUse, Downloads, Job, Pipeline, Script, Step};
use crate::yaml::{Node, Value};

const RESERVED: &[&str] = &[
    "image",
    "services",
    "stages",
    "types",
    "before_script",
    "after_script",
    "variables",
    "cache",
    "include",
    "workflow",
    "default",
    "spec",
];

const DEFAULT_STAGES: &[&str] = &[".pre", "build", "test", "deploy", ".post"];

pub(super) fn parse(rel: PathBuf, root: &Node) -> Pipeline {
    let stages = match root.get("stages") {
        Some(s) => {
            let mut v: Vec<String> = vec![".pre".to_owned()];
            v.extend(s.strings().into_iter().map(str::to_owned));
            v.push(".post".to_owned());
            v
        }
        None => DEFAULT_STAGES.iter().map(|s| (*s).to_owned()).collect(),
    };
    let default = root.get("default");
    let inherited = |key: &str| default.and_then(|d| d.get(key)).or_else(|| root.get(key));
    let mut pipeline = Pipeline {
        rel,
        env: env_of(root.get("variables")),
        stages,
        ..Pipeline::default()
    };
    for (key, node) in root.entries() {
        let Some(id) = key.as_str() else { continue };
        if id.starts_with('.') || RESERVED.contains(&id) || !matches!(node.value, Value::Map(_)) {
            continue;
        }
        let mut job = Job {
            id: id.to_owned(),
            line: key.line,
            stage: Some(
                node.get("stage")
                    .and_then(Node::as_str)
                    .unwrap_or("test")
                    .to_owned(),
            ),
            env: env_of(node.get("variables")),
            uploads: node.get("artifacts").is_some(),
            matrix: node.get("parallel").and_then(|p| p.get("matrix")).is_some(),
            releases_only: tags_only(node),
            ..Job::default()
        };
        if let Some(needs) = node.get("needs") {
            job.needs_declared = true;
            job.needs = needs_names(needs);
        }
        job.downloads = match node.get("dependencies") {
            None => Downloads::All,
            Some(d) => {
                let names: Vec<String> = d.strings().into_iter().map(str::to_owned).collect();
                if names.is_empty() {
                    Downloads::None
                } else {
                    Downloads::Only(names)
                }
            }
        };
        let before = node
            .get("before_script")
            .or_else(|| inherited("before_script"));
        for part in [before, node.get("script")].into_iter().flatten() {
            job.steps.extend(scripts(part));
        }
        let cache = node.get("cache").or_else(|| inherited("cache"));
        if let Some(cache) = cache {
            job.caches.extend(caches(cache));
        }
        pipeline.jobs.push(job);
    }
    pipeline
}

fn needs_names(needs: &Node) -> Vec<String> {
    needs
        .items()
        .iter()
        .filter_map(|n| n.as_str().or_else(|| n.get("job").and_then(Node::as_str)))
        .map(str::to_owned)
        .collect()
}

fn scripts(node: &Node) -> Vec<Step> {
    let lines: Vec<&Node> = match &node.value {
        Value::Seq(items) => items.iter().collect(),
        _ => vec![node],
    };
    lines
        .into_iter()
        .filter_map(|n| {
            Some(Step {
                script: Some(Script {
                    text: n.as_str()?.to_owned(),
                    line: n.line,
                }),
                ..Step::default()
            })
        })
        .collect()
}

fn caches(node: &Node) -> Vec<CacheUse> {
    let list: Vec<&Node> = match &node.value {
        Value::Seq(items) => items.iter().collect(),
        _ => vec![node],
    };
    list.into_iter()
        .map(|c| {
            let key = c.get("key").map_or_else(String::new, |k| match k.as_str() {
                Some(s) => s.to_owned(),
                None => k
                    .get("files")
                    .map(|f| f.strings().join(" "))
                    .unwrap_or_default(),
            });
            CacheUse {
                line: c.line,
                what: "GitLab `cache:`".to_owned(),
                paths: c
                    .get("paths")
                    .map(|p| p.strings().into_iter().map(str::to_owned).collect())
                    .unwrap_or_default(),
                key,
            }
        })
        .collect()
}

/// `rules:` that admit tag pipelines only (`- if: $CI_COMMIT_TAG`), or
/// `only: [tags]`.
fn tags_only(node: &Node) -> bool {
    if let Some(rules) = node.get("rules") {
        let items = rules.items();
        return !items.is_empty()
            && items.iter().all(|r| {
                r.get("if")
                    .and_then(Node::as_str)
                    .is_some_and(|c| c.trim() == "$CI_COMMIT_TAG")
            });
    }
    node.get("only").is_some_and(|o| o.strings() == ["tags"])
}
