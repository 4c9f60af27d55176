//! Where a run happened: git commit and branch, and the CI job.
//!
//! CI facts come from the variables the CI sets (`GITHUB_*`, GitLab's
//! `CI_*`) through a lookup function, so tests pass maps; git facts from
//! `git rev-parse` in the working directory. Nothing here fails: what cannot
//! be found is `None`. The first of the crate's modules: it imports none of
//! them (context → summary → regress → report).

use std::path::Path;
use std::process::Command;

use serde::{Deserialize, Serialize};

/// Git facts of the checkout the run built.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitInfo {
    /// Commit id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Branch name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
}

/// The CI job the run belonged to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CiInfo {
    /// `github` or `gitlab`.
    pub provider: String,
    /// Branch or tag the pipeline runs for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref_name: Option<String>,
    /// Commit the pipeline runs for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha: Option<String>,
    /// Pipeline or workflow run id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// Workflow (GitHub) or project path (GitLab).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<String>,
    /// Job name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
}

/// What a run summary needs besides the records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunContext {
    /// Unix time (ms) the run started.
    pub started_ms: u64,
    /// Wall-clock time of the wrapped command, ms.
    pub wall_ms: u64,
    /// The wrapped command.
    pub command: String,
    /// Its exit code.
    pub exit_code: i32,
    /// Git commit and branch.
    pub git: GitInfo,
    /// CI job.
    pub ci: Option<CiInfo>,
    /// The project built ([`project_of`]).
    pub project: Option<String>,
}

/// The CI job described by the environment (`lookup` returns a variable's
/// value), or `None` outside CI.
pub fn ci_from_env(lookup: &dyn Fn(&str) -> Option<String>) -> Option<CiInfo> {
    let get = |name: &str| lookup(name).filter(|v| !v.is_empty());
    if get("GITHUB_ACTIONS").is_some() || get("GITHUB_RUN_ID").is_some() {
        return Some(CiInfo {
            provider: "github".into(),
            // Pull requests: the source branch, not `123/merge`.
            ref_name: get("GITHUB_HEAD_REF").or_else(|| get("GITHUB_REF_NAME")),
            sha: get("GITHUB_SHA"),
            run_id: get("GITHUB_RUN_ID"),
            workflow: get("GITHUB_WORKFLOW"),
            job: get("GITHUB_JOB"),
        });
    }
    if get("GITLAB_CI").is_some() || get("CI_PIPELINE_ID").is_some() {
        return Some(CiInfo {
            provider: "gitlab".into(),
            ref_name: get("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME")
                .or_else(|| get("CI_COMMIT_REF_NAME")),
            sha: get("CI_COMMIT_SHA"),
            run_id: get("CI_PIPELINE_ID"),
            workflow: get("CI_PROJECT_PATH"),
            job: get("CI_JOB_NAME"),
        });
    }
    // Partial GitHub-style context (a ref given by hand, other CI systems
    // exporting the same names).
    let ref_name = get("GITHUB_REF_NAME");
    let sha = get("GITHUB_SHA");
    (ref_name.is_some() || sha.is_some()).then(|| CiInfo {
        provider: "github".into(),
        ref_name,
        sha,
        ..CiInfo::default()
    })
}

/// What `git ARGS` in `dir` prints, trimmed; `None` when it fails or
/// prints nothing.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !text.is_empty()).then_some(text)
}

/// Commit and branch of the git checkout at `dir` (none outside git).
pub fn git_info(dir: &Path) -> GitInfo {
    let git = |args: &[&str]| git(dir, args);
    GitInfo {
        commit: git(&["rev-parse", "HEAD"]),
        branch: git(&["rev-parse", "--abbrev-ref", "HEAD"]).filter(|b| b != "HEAD"),
    }
}

/// The project a build in `dir` belongs to: the git remote `origin` (host
/// and path, without credentials or `.git`) plus the workspace's place in
/// the repository, or the workspace root's path when there is no remote.
/// The same in every checkout of a repository, different between
/// workspaces.
pub fn project_of(dir: &Path) -> Option<String> {
    let root = workspace_root(dir)?;
    let git = |args: &[&str]| git(&root, args);
    let Some(remote) = git(&["remote", "get-url", "origin"]) else {
        return Some(root.display().to_string());
    };
    let inner = git(&["rev-parse", "--show-prefix"]).unwrap_or_default();
    let name = remote_name(&remote);
    let inner = inner.trim_end_matches('/');
    Some(if inner.is_empty() {
        name
    } else {
        format!("{name}:{inner}")
    })
}

/// `https://user:token@github.com/team/app.git` and
/// `git@github.com:team/app.git` are both `github.com/team/app`.
fn remote_name(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let rest = rest.trim_end_matches('/').trim_end_matches(".git");
    match rest.split_once(':') {
        // scp-like `host:path` (not `host:port/path`).
        Some((host, path)) if !path.starts_with(|c: char| c.is_ascii_digit()) => {
            format!("{host}/{path}")
        }
        _ => rest.to_owned(),
    }
}

/// The root of the cargo workspace containing `dir`: the nearest
/// `Cargo.toml` with `[workspace]` at or above the nearest manifest, else
/// the nearest manifest.
fn workspace_root(dir: &Path) -> Option<std::path::PathBuf> {
    let mut nearest = None;
    for d in dir.ancestors() {
        let Ok(text) = std::fs::read_to_string(d.join("Cargo.toml")) else {
            continue;
        };
        nearest.get_or_insert_with(|| d.to_path_buf());
        if text.lines().any(|l| l.trim() == "[workspace]") {
            return Some(d.to_path_buf());
        }
    }
    nearest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn remotes_name_one_project_however_they_are_spelled() {
        for url in [
            "https://github.com/team/app.git",
            "https://ci:secret@github.com/team/app",
            "git@github.com:team/app.git",
            "ssh://git@github.com/team/app.git",
        ] {
            assert_eq!(remote_name(url), "github.com/team/app", "{url}");
        }
        assert_eq!(
            remote_name("ssh://git@host:2222/team/app"),
            "host:2222/team/app"
        );
    }

    #[test]
    fn github_pull_request_uses_the_head_branch() {
        let ci = ci_from_env(&env(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_REF_NAME", "12/merge"),
            ("GITHUB_HEAD_REF", "feature"),
            ("GITHUB_SHA", "abc"),
            ("GITHUB_RUN_ID", "99"),
            ("GITHUB_JOB", "build"),
        ]))
        .unwrap();
        assert_eq!(ci.provider, "github");
        assert_eq!(ci.ref_name.as_deref(), Some("feature"));
        assert_eq!(ci.job.as_deref(), Some("build"));
    }

    #[test]
    fn gitlab_and_nothing() {
        let ci = ci_from_env(&env(&[
            ("GITLAB_CI", "true"),
            ("CI_COMMIT_REF_NAME", "main"),
            ("CI_PIPELINE_ID", "7"),
        ]))
        .unwrap();
        assert_eq!(
            (ci.provider.as_str(), ci.ref_name.as_deref()),
            ("gitlab", Some("main"))
        );
        assert!(ci_from_env(&env(&[])).is_none());
    }

    #[test]
    fn git_commit_and_branch_come_from_the_checkout() {
        let d = tempfile::tempdir().unwrap();
        let git = |args: &[&str]| {
            let ok = Command::new("git")
                .current_dir(d.path())
                .args(["-c", "user.name=k", "-c", "user.email=k@example.invalid"])
                .args(["-c", "commit.gpgsign=false"])
                .args(args)
                .output()
                .unwrap();
            assert!(ok.status.success(), "{ok:?}");
            String::from_utf8(ok.stdout).unwrap()
        };
        assert_eq!(git_info(d.path()), GitInfo::default(), "not a checkout");
        git(&["init", "-q", "-b", "trunk"]);
        git(&["commit", "-q", "--allow-empty", "-m", "one"]);
        let head = git(&["rev-parse", "HEAD"]).trim().to_owned();
        let info = git_info(d.path());
        assert_eq!(info.commit.as_deref(), Some(head.as_str()));
        assert_eq!(info.branch.as_deref(), Some("trunk"));
        // A detached HEAD has a commit and no branch.
        git(&["checkout", "-q", "--detach"]);
        assert_eq!(git_info(d.path()).branch, None);
    }
}
