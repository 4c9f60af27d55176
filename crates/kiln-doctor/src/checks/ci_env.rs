//! CI caching and environment: `ci-target-cache`, `ci-incremental`,
//! `ci-no-compile-cache`.

use super::Context;
use crate::ci::{EnvVar, Pipeline};
use crate::finding::{Finding, Rule, Severity};

/// Steps (action names or words in scripts) that set up a compile cache.
const CACHE_TOOLS: &[&str] = &["sccache", "kiln"];

pub(super) fn check(ctx: &Context, out: &mut Vec<Finding>) {
    for (p, pipeline) in ctx.pipelines.iter().enumerate() {
        target_cache(pipeline, out);
        let compiling: Vec<_> = ctx
            .calls
            .iter()
            .filter(|c| c.pipeline == p && c.codegen())
            .collect();
        let Some(first) = compiling.first() else {
            continue;
        };
        incremental(ctx, pipeline, &compiling, out);
        if !has_compile_cache(ctx, pipeline) {
            let job = &pipeline.jobs[first.job];
            out.push(
                Finding::new(
                    Rule::CiNoCompileCache,
                    Severity::Warning,
                    format!(
                        "`{}` compiles without a compile cache: no `RUSTC_WRAPPER` is set",
                        pipeline.rel.display().to_string().replace('\\', "/")
                    ),
                )
                .at(&pipeline.rel, Some(job.line))
                .why(
                    "every run starts cold and recompiles the whole dependency graph; a compile \
                     cache returns unchanged crates from storage, so a warm run compiles only \
                     what changed",
                )
                .fix(format!(
                    "set kiln as cargo's compiler wrapper for every job:\n\n{}:\n  \
                     RUSTC_WRAPPER: kiln\n  CARGO_INCREMENTAL: \"0\"\n\n(or set \
                     `rustc-wrapper = \"kiln\"` under `[build]` in `.cargo/config.toml`)",
                    pipeline.env_key()
                )),
            );
        }
    }
}

fn target_cache(pipeline: &Pipeline, out: &mut Vec<Finding>) {
    // A cache defined once (a GitLab template) and used by several jobs is
    // reported once, naming every job.
    let mut seen: Vec<(u32, Vec<String>, &crate::ci::CacheUse)> = Vec::new();
    for job in &pipeline.jobs {
        for cache in &job.caches {
            let target = cache.paths.iter().any(|p| {
                p.trim_start_matches("./")
                    .trim_start_matches("${CI_PROJECT_DIR}/")
                    .starts_with("target")
            });
            if !target {
                continue;
            }
            match seen.iter_mut().find(|(line, _, _)| *line == cache.line) {
                Some((_, jobs, _)) => jobs.push(format!("`{}`", job.id)),
                None => seen.push((cache.line, vec![format!("`{}`", job.id)], cache)),
            }
        }
    }
    for (line, jobs, cache) in seen {
        let lock_key = cache.key.contains("Cargo.lock");
        let keyed = if lock_key {
            ", keyed on `Cargo.lock`"
        } else {
            ""
        };
        let who = if jobs.len() == 1 {
            format!("job {} caches", jobs[0])
        } else {
            format!("jobs {} cache", jobs.join(", "))
        };
        out.push(
            Finding::new(
                Rule::CiTargetCache,
                Severity::Warning,
                format!("{who} `target/` with {}{keyed}", cache.what),
            )
            .at(&pipeline.rel, Some(line))
            .why(format!(
                "`target/` is gigabytes: saving and restoring it adds minutes per run, it \
                 grows without bound and its entries are tied to absolute paths{}",
                if lock_key {
                    "; keyed on `Cargo.lock`, any dependency bump throws all of it away"
                } else {
                    ""
                }
            ))
            .fix(format!(
                "drop the `target/` cache and cache compilations instead, per crate: set \
                 `RUSTC_WRAPPER: kiln` under `{}:`",
                pipeline.env_key()
            )),
        );
    }
}

fn incremental(
    ctx: &Context,
    pipeline: &Pipeline,
    calls: &[&crate::ci::CargoCall],
    out: &mut Vec<Finding>,
) {
    let mut reported = Vec::new();
    for job in &pipeline.jobs {
        for var in job
            .all_env(pipeline)
            .filter(|v| v.name == "CARGO_INCREMENTAL")
        {
            if var.value.trim() != "0"
                && !var.value.contains("${{")
                && !reported.contains(&var.line)
            {
                reported.push(var.line);
                out.push(on(pipeline, var));
            }
        }
    }
    if ctx
        .config_str(&["build", "incremental"])
        .is_some_and(|(_, v)| v == "false")
    {
        return;
    }
    let Some(call) = calls.iter().find(|c| {
        let job = &pipeline.jobs[c.job];
        let disabled = c
            .env
            .get("CARGO_INCREMENTAL")
            .is_some_and(|v| v.trim() == "0");
        let set = job.all_env(pipeline).any(|v| v.name == "CARGO_INCREMENTAL");
        if disabled || set {
            return false;
        }
        let profile = c.profile_name();
        match ctx.profile_setting(&profile, "incremental") {
            Some(s) => s.value == "true",
            None => ctx.profile_base(&profile) == "dev",
        }
    }) else {
        return;
    };
    out.push(
        Finding::new(
            Rule::CiIncremental,
            Severity::Warning,
            format!(
                "job {} compiles incrementally (`{}` profile, `CARGO_INCREMENTAL` not set to 0)",
                ctx.job_label(call),
                call.profile_name()
            ),
        )
        .at(&pipeline.rel, Some(call.line))
        .why(WHY)
        .fix(format!(
            "set it for every job:\n\n{}:\n  CARGO_INCREMENTAL: \"0\"",
            pipeline.env_key()
        )),
    );
}

const WHY: &str = "CI starts from a clean `target/`, so incremental state is never reused: \
    it only adds work and disk writes, and incremental units cannot be served by a compile cache";

fn on(pipeline: &Pipeline, var: &EnvVar) -> Finding {
    Finding::new(
        Rule::CiIncremental,
        Severity::Warning,
        format!("`CARGO_INCREMENTAL` is set to `{}` in CI", var.value),
    )
    .at(&pipeline.rel, Some(var.line))
    .why(WHY)
    .fix("set `CARGO_INCREMENTAL: \"0\"`")
}

fn has_compile_cache(ctx: &Context, pipeline: &Pipeline) -> bool {
    if ctx.config_str(&["build", "rustc-wrapper"]).is_some() {
        return true;
    }
    pipeline.jobs.iter().any(|job| {
        job.all_env(pipeline)
            .any(|v| v.name == "RUSTC_WRAPPER" || v.name == "CARGO_BUILD_RUSTC_WRAPPER")
            || job.steps.iter().any(|s| {
                let uses = s.uses.as_deref().unwrap_or_default().to_ascii_lowercase();
                let script = s
                    .script
                    .as_ref()
                    .map(|x| x.text.as_str())
                    .unwrap_or_default();
                CACHE_TOOLS.iter().any(|t| uses.contains(t))
                    || script.contains("RUSTC_WRAPPER")
                    || script
                        .split_whitespace()
                        .any(|w| CACHE_TOOLS.contains(&w.rsplit('/').next().unwrap_or(w)))
            })
    })
}
