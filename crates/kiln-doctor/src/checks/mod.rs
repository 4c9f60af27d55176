//! The checks, one module per family, and the [`Context`] they share.
//!
//! Every check takes the loaded context and pushes findings; none of them
//! reads the environment of the process or runs cargo.

mod ci;
mod ci_env;
mod deps;
mod features;
mod per_commit;
mod profiles;
mod toolchain;

use std::path::{Path, PathBuf};

use crate::UnitCosts;
use crate::ci::{CargoCall, Pipeline};
use crate::files::{self, TomlFile};
use crate::finding::Finding;
use crate::workspace::{DepKind, Member, Workspace};

pub(crate) use profiles::missing_profiles;

/// Everything loaded once and shared by the checks.
#[derive(Debug)]
pub(crate) struct Context {
    pub ws: Workspace,
    /// Report root: the directory holding `.git`, else the workspace root.
    pub root: PathBuf,
    /// The root `Cargo.toml`, when it parses.
    pub manifest: Option<TomlFile>,
    /// `.cargo/config.toml` files from the workspace up, nearest first.
    pub configs: Vec<TomlFile>,
    pub pipelines: Vec<Pipeline>,
    pub calls: Vec<CargoCall>,
}

impl Context {
    /// Reads the files around `ws`; parse failures go to `problems`.
    pub fn load(ws: Workspace, problems: &mut Vec<Finding>) -> Self {
        let root = files::project_root(&ws.root);
        let manifest = TomlFile::load(&root, &ws.manifest, problems);
        let mut configs = Vec::new();
        for dir in files::search_dirs(&ws.root, &root) {
            for name in ["config.toml", "config"] {
                let path = dir.join(".cargo").join(name);
                if path.is_file() {
                    configs.extend(TomlFile::load(&root, &path, problems));
                    break;
                }
            }
        }
        let pipelines = crate::ci::load(&root, problems);
        let calls = crate::ci::cargo_calls(&pipelines);
        Self {
            ws,
            root,
            manifest,
            configs,
            pipelines,
            calls,
        }
    }

    /// `path` relative to the report root.
    pub fn rel(&self, path: &Path) -> PathBuf {
        files::relative(&self.root, path)
    }

    /// The root manifest's path relative to the report root.
    pub fn manifest_rel(&self) -> PathBuf {
        self.rel(&self.ws.manifest)
    }

    /// A config value from the nearest `.cargo/config.toml` that sets it.
    pub fn config_str(&self, keys: &[&str]) -> Option<(&TomlFile, String)> {
        self.configs.iter().find_map(|c| {
            let item = c.get(keys)?;
            let value = item
                .as_str()
                .map(str::to_owned)
                .or_else(|| item.as_value().map(|v| v.to_string().trim().to_owned()))?;
            Some((c, value))
        })
    }

    /// Whether `call` is in a job that runs for tags only (a release
    /// build, which is meant to use its own profile).
    pub fn for_releases(&self, call: &CargoCall) -> bool {
        self.pipelines[call.pipeline].jobs[call.job].releases_only
    }

    /// `job` in `file`, for messages.
    pub fn job_label(&self, call: &CargoCall) -> String {
        format!("`{}`", self.pipelines[call.pipeline].jobs[call.job].id)
    }

    /// The line declaring dependency `key` in `member`'s manifest.
    pub fn dep_line(&self, member: &Member, key: &str, kind: DepKind) -> Option<u32> {
        let mut scratch = Vec::new();
        let file = TomlFile::load(&self.root, &member.manifest, &mut scratch)?;
        let table = match kind {
            DepKind::Normal => "dependencies",
            DepKind::Build => "build-dependencies",
            DepKind::Dev => "dev-dependencies",
        };
        file.line_of(&[table, key]).or_else(|| {
            let targets = file.table(&["target"])?;
            targets
                .iter()
                .find_map(|(t, _)| file.line_of(&["target", t, table, key]))
        })
    }
}

/// Runs every check.
pub(crate) fn run_all(ctx: &Context, costs: Option<&UnitCosts>, out: &mut Vec<Finding>) {
    toolchain::check(ctx, out);
    profiles::check(ctx, out);
    per_commit::check(ctx, costs, out);
    ci::check(ctx, out);
    ci_env::check(ctx, out);
    deps::check(ctx, out);
    features::check(ctx, out);
}
