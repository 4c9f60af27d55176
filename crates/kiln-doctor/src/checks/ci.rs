//! CI job structure: `ci-feature-split`, `ci-rustflags-split`,
//! `ci-profile-split`, `ci-separate-builds`, `ci-bins-root-only`,
//! `ci-needless-needs`.
//!
//! Works on the cargo calls and jobs of `crate::ci`; caches and
//! environment are in `ci_env`.

use super::Context;
use crate::ci::{CargoCall, Downloads, Pipeline};
use crate::finding::{Finding, Location, Rule, Severity};

pub(super) fn check(ctx: &Context, out: &mut Vec<Finding>) {
    splits(ctx, out);
    separate_builds(ctx, out);
    bins_root_only(ctx, out);
    needless_needs(ctx, out);
}

/// The first call of each job that compiles in `codegen` mode.
fn first_calls(ctx: &Context, p: usize, codegen: bool) -> Vec<&CargoCall> {
    let mut out: Vec<&CargoCall> = Vec::new();
    for call in ctx
        .calls
        .iter()
        .filter(|c| c.pipeline == p && c.compiles() && c.codegen() == codegen)
    {
        let job = &ctx.pipelines[p].jobs[call.job];
        if job.matrix || job.releases_only || out.iter().any(|c| c.job == call.job) {
            continue;
        }
        out.push(call);
    }
    out
}

fn splits(ctx: &Context, out: &mut Vec<Finding>) {
    for p in 0..ctx.pipelines.len() {
        for codegen in [true, false] {
            let calls = first_calls(ctx, p, codegen);
            for (i, a) in calls.iter().enumerate() {
                for b in &calls[i + 1..] {
                    compare(ctx, a, b, out);
                }
            }
        }
    }
}

fn compare(ctx: &Context, a: &CargoCall, b: &CargoCall, out: &mut Vec<Finding>) {
    let file = &ctx.pipelines[a.pipeline].rel;
    let (ja, jb) = (ctx.job_label(a), ctx.job_label(b));
    let here = |f: Finding| {
        f.at(file, Some(b.line))
            .related(Location::new(file, Some(a.line)))
    };
    let why = "cache entries are keyed on every compiler input; jobs that differ in these \
               settings compile their own copy of each shared crate and never reuse each \
               other's entries";
    if !a.dynamic && !b.dynamic && a.feature_desc() != b.feature_desc() {
        out.push(here(
            Finding::new(
                Rule::CiFeatureSplit,
                Severity::Warning,
                format!(
                    "jobs {ja} and {jb} compile with different features: {} vs {}",
                    a.feature_desc(),
                    b.feature_desc()
                ),
            )
            .why(why)
            .fix(format!(
                "use the same feature flags in both jobs (for example `--all-features` in {ja} and {jb}), \
                 or keep the difference only where it is tested on purpose"
            )),
        ));
    }
    let (ra, rb) = (a.rustflags(), b.rustflags());
    if ra != rb && !ra.contains("${{") && !rb.contains("${{") {
        let show = |r: &str| {
            if r.is_empty() {
                "none".to_owned()
            } else {
                format!("`{r}`")
            }
        };
        out.push(here(
            Finding::new(
                Rule::CiRustflagsSplit,
                Severity::Warning,
                format!(
                    "jobs {ja} and {jb} compile with different RUSTFLAGS: {} vs {}",
                    show(&ra),
                    show(&rb)
                ),
            )
            .why(why)
            .fix(
                "set RUSTFLAGS once at the workflow level (`env:` at the top) so every job \
                 uses the same value; for lints prefer `[lints]` in Cargo.toml or \
                 `cargo clippy -- -D warnings`, which do not change the flags of dependencies",
            ),
        ));
    }
    let (pa, pb) = (a.profile_name(), b.profile_name());
    let (ta, tb) = (
        a.target.clone().unwrap_or_default(),
        b.target.clone().unwrap_or_default(),
    );
    if !a.dynamic && !b.dynamic && (pa != pb || ta != tb) {
        let what = if pa == pb {
            format!("targets `{}` vs `{}`", or_host(&ta), or_host(&tb))
        } else {
            format!("profiles `{pa}` vs `{pb}`")
        };
        out.push(here(
            Finding::new(
                Rule::CiProfileSplit,
                Severity::Info,
                format!("jobs {ja} and {jb} compile with different {what}"),
            )
            .why(why)
            .fix(
                "build and test with one profile (e.g. `--profile ci` in every job) and one \
                 target unless the difference is what the job exists for",
            ),
        ));
    }
}

fn or_host(t: &str) -> &str {
    if t.is_empty() { "host" } else { t }
}

fn separate_builds(ctx: &Context, out: &mut Vec<Finding>) {
    for (p, pipeline) in ctx.pipelines.iter().enumerate() {
        for (j, job) in pipeline.jobs.iter().enumerate() {
            let builds: Vec<&CargoCall> = ctx
                .calls
                .iter()
                .filter(|c| {
                    c.pipeline == p
                        && c.job == j
                        && c.sub == crate::ci::Sub::Build
                        && c.selects_some()
                })
                .collect();
            let Some(first) = builds.first() else {
                continue;
            };
            let same: Vec<&&CargoCall> = builds
                .iter()
                .filter(|c| c.profile_name() == first.profile_name() && c.target == first.target)
                .collect();
            if same.len() < 2 {
                continue;
            }
            let mut names: Vec<String> = Vec::new();
            for c in &same {
                names.extend(c.packages.iter().map(|n| format!("`{n}`")));
                names.extend(c.bins.iter().map(|n| format!("`{n}`")));
            }
            let profile_flag = match first.profile_name().as_str() {
                "dev" => String::new(),
                "release" if first.profile.is_none() => " --release".to_owned(),
                other => format!(" --profile {other}"),
            };
            let mut finding = Finding::new(
                Rule::CiSeparateBuilds,
                Severity::Warning,
                format!(
                    "job `{}` runs {} separate `cargo build` calls for {}",
                    job.id,
                    same.len(),
                    names.join(", ")
                ),
            )
            .at(&pipeline.rel, Some(same[1].line))
            .why(
                "each call resolves, schedules and links on its own; one call lets cargo see the \
                 whole graph, share every dependency and run all targets in parallel",
            )
            .fix(format!(
                "build them in one pass:\n\ncargo build --workspace --bins{profile_flag}"
            ));
            for c in &same {
                finding = finding.related(Location::new(&pipeline.rel, Some(c.line)));
            }
            out.push(finding);
        }
    }
}

fn bins_root_only(ctx: &Context, out: &mut Vec<Finding>) {
    let default_members = ctx
        .manifest
        .as_ref()
        .is_some_and(|m| m.get(&["workspace", "default-members"]).is_some());
    if !ctx.ws.root_is_package || default_members {
        return;
    }
    let root_pkg = ctx
        .ws
        .members
        .iter()
        .find(|m| m.manifest == ctx.ws.manifest);
    let others: Vec<&str> = ctx
        .ws
        .members
        .iter()
        .filter(|m| m.manifest != ctx.ws.manifest)
        .flat_map(|m| m.bins.iter().map(String::as_str))
        .collect();
    if others.is_empty() {
        return;
    }
    for call in &ctx.calls {
        let default_members_only = call.all_bins && !call.workspace && call.packages.is_empty();
        if call.sub != crate::ci::Sub::Build || !default_members_only {
            continue;
        }
        let root_name = root_pkg.map_or("the root package", |m| m.name.as_str());
        out.push(
            Finding::new(
                Rule::CiBinsRootOnly,
                Severity::Error,
                format!(
                    "`{}` in job {} builds only the binaries of `{root_name}`, not {}",
                    call.text,
                    ctx.job_label(call),
                    others
                        .iter()
                        .map(|b| format!("`{b}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
            .at(&ctx.pipelines[call.pipeline].rel, Some(call.line))
            .why(
                "the workspace root is itself a package, so cargo builds only it by default; \
                 the other members' binaries are built later (or not at all) by separate \
                 calls that redo the scheduling",
            )
            .fix(format!("add `--workspace`:\n\n{} --workspace", call.text)),
        );
    }
}

fn needless_needs(ctx: &Context, out: &mut Vec<Finding>) {
    for (p, pipeline) in ctx.pipelines.iter().enumerate() {
        for (j, job) in pipeline.jobs.iter().enumerate() {
            if !compiles(ctx, p, j, true) {
                continue;
            }
            for pre in pipeline.prerequisites(job) {
                let pj = pipeline
                    .jobs
                    .iter()
                    .position(|x| x.id == pre.id)
                    .unwrap_or(0);
                if !compiles(ctx, p, pj, false) || uses_output(job, pre) {
                    continue;
                }
                out.push(needless(pipeline, job, pre));
            }
        }
    }
}

fn needless(pipeline: &Pipeline, job: &crate::ci::Job, pre: &crate::ci::Job) -> Finding {
    let by_stage = !job.needs_declared && !pipeline.stages.is_empty();
    let (message, fix) = if by_stage {
        (
            format!(
                "job `{}` (stage `{}`) waits for `{}` in an earlier stage but does not use its output",
                job.id,
                job.stage.as_deref().unwrap_or("test"),
                pre.id
            ),
            format!(
                "let `{}` start at once:\n\n{}:\n  needs: []",
                job.id, job.id
            ),
        )
    } else {
        (
            format!(
                "job `{}` waits for `{}` (`needs:`) but does not use its output",
                job.id, pre.id
            ),
            format!(
                "remove `{}` from the `needs:` of `{}` so both run in parallel",
                pre.id, job.id
            ),
        )
    };
    Finding::new(Rule::CiNeedlessNeeds, Severity::Warning, message)
        .at(&pipeline.rel, Some(job.line))
        .related(Location::new(&pipeline.rel, Some(pre.line)))
        .why(
            "the job compiles its own artifacts anyway, so waiting adds the other job's whole \
             duration to the pipeline's wall-clock time",
        )
        .fix(fix)
}

/// Whether job `j` of pipeline `p` runs a compiling cargo call (`codegen`
/// only when asked).
fn compiles(ctx: &Context, p: usize, j: usize, codegen: bool) -> bool {
    ctx.calls
        .iter()
        .any(|c| c.pipeline == p && c.job == j && c.compiles() && (!codegen || c.codegen()))
}

fn uses_output(job: &crate::ci::Job, pre: &crate::ci::Job) -> bool {
    if !pre.uploads {
        return false;
    }
    match &job.downloads {
        Downloads::None => false,
        Downloads::All => true,
        Downloads::Only(names) => names.contains(&pre.id),
    }
}
