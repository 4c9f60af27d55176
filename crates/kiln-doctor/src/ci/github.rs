//! GitHub Actions workflows (`.github/workflows/*.yml`) into [`Pipeline`]s.

use std::path::PathBuf;

use super::{CacheUse, Downloads, EnvVar, Job, Pipeline, Script, Step};
use crate::yaml::Node;

pub(super) fn parse(rel: PathBuf, root: &Node) -> Pipeline {
    let mut pipeline = Pipeline {
        rel,
        env: env_of(root.get("env")),
        ..Pipeline::default()
    };
    let Some(jobs) = root.get("jobs") else {
        return pipeline;
    };
    let releases = releases_only(root.get("on"));
    for (key, node) in jobs.entries() {
        let Some(id) = key.as_str() else { continue };
        let mut job = job(id, key.line, node);
        job.releases_only |= releases;
        pipeline.jobs.push(job);
    }
    pipeline
}

/// A workflow started only by tags, releases or by hand: a release
/// pipeline, whose builds are meant to differ from CI's.
fn releases_only(on: Option<&Node>) -> bool {
    let Some(on) = on else { return false };
    let events: Vec<(&str, Option<&Node>)> = match on.as_str() {
        Some(one) => vec![(one, None)],
        None if on.entries().is_empty() => on.strings().into_iter().map(|e| (e, None)).collect(),
        None => on
            .entries()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str()?, Some(v))))
            .collect(),
    };
    let tags_push = |v: Option<&Node>| {
        v.is_some_and(|v| v.get("tags").is_some() && v.get("branches").is_none())
    };
    let releasing = events
        .iter()
        .any(|(e, v)| *e == "release" || (*e == "push" && tags_push(*v)));
    releasing
        && events.iter().all(|(e, v)| match *e {
            "release" | "workflow_dispatch" => true,
            "push" => tags_push(*v),
            _ => false,
        })
}

fn job(id: &str, line: u32, node: &Node) -> Job {
    let needs = node.get("needs");
    let mut job = Job {
        id: id.to_owned(),
        line,
        needs: needs
            .map(|n| n.strings().into_iter().map(str::to_owned).collect())
            .unwrap_or_default(),
        needs_declared: needs.is_some(),
        env: env_of(node.get("env")),
        matrix: node.get("strategy").and_then(|s| s.get("matrix")).is_some(),
        releases_only: node
            .get("if")
            .and_then(Node::as_str)
            .is_some_and(|c| c.contains("refs/tags/") && !c.contains("||")),
        ..Job::default()
    };
    for item in node.get("steps").map(Node::items).unwrap_or_default() {
        let step = step(item, &mut job);
        if let Some(script) = &step.script {
            job.env.extend(super::exported_env(script));
        }
        job.steps.push(step);
    }
    job
}

fn step(node: &Node, job: &mut Job) -> Step {
    let uses = node.get("uses").and_then(Node::as_str).map(str::to_owned);
    let with = node.get("with");
    let with_str = |k: &str| {
        with.and_then(|w| w.get(k))
            .and_then(Node::as_str)
            .unwrap_or("")
    };
    let mut script = node.get("run").and_then(|r| {
        Some(Script {
            text: r.as_str()?.to_owned(),
            line: r.line,
        })
    });
    if let Some(action) = uses.as_deref() {
        let name = action
            .split('@')
            .next()
            .unwrap_or(action)
            .to_ascii_lowercase();
        match name.as_str() {
            "actions/cache" | "actions/cache/restore" | "actions/cache/save" => {
                job.caches.push(CacheUse {
                    line: node.line,
                    what: format!("`{action}`"),
                    paths: with_str("path")
                        .lines()
                        .map(|l| l.trim().to_owned())
                        .collect(),
                    key: with_str("key").to_owned(),
                });
            }
            "swatinem/rust-cache" => job.caches.push(CacheUse {
                line: node.line,
                what: format!("`{action}`"),
                paths: vec!["target".to_owned()],
                key: "Cargo.lock".to_owned(),
            }),
            "actions/upload-artifact" => job.uploads = true,
            "actions/download-artifact" => job.downloads = Downloads::All,
            "actions-rs/cargo" => {
                script = Some(Script {
                    text: format!("cargo {} {}", with_str("command"), with_str("args")),
                    line: node.line,
                });
            }
            _ => {}
        }
    }
    Step {
        uses,
        env: env_of(node.get("env")),
        script,
    }
}

pub(super) fn env_of(node: Option<&Node>) -> Vec<EnvVar> {
    node.map(Node::entries)
        .unwrap_or_default()
        .iter()
        .filter_map(|(k, v)| {
            Some(EnvVar {
                name: k.as_str()?.to_owned(),
                value: v.as_str().unwrap_or_default().to_owned(),
                line: k.line,
            })
        })
        .collect()
}
