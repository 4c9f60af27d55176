//! The workspace as the checks see it, built from `cargo metadata`.
//!
//! Owns running `cargo metadata` (through `cargo_metadata`) and turning its
//! output into members, declared dependencies and the resolved crate graph.
//! It reads no other file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use cargo_metadata::{DependencyKind, Metadata, MetadataCommand, TargetKind};

use crate::DoctorError;

/// Everything the checks need from `cargo metadata`.
#[derive(Debug)]
pub(crate) struct Workspace {
    /// The workspace root directory.
    pub root: PathBuf,
    /// The workspace root `Cargo.toml`.
    pub manifest: PathBuf,
    /// The root manifest has a `[package]` (not a virtual manifest).
    pub root_is_package: bool,
    pub members: Vec<Member>,
    /// Every package in the resolved graph, members included.
    pub packages: Vec<Pkg>,
    /// Normal and build dependencies, by index into `packages`.
    pub edges: Vec<Vec<usize>>,
}

#[derive(Debug)]
pub(crate) struct Member {
    /// Index into [`Workspace::packages`].
    pub pkg: usize,
    pub name: String,
    pub manifest: PathBuf,
    pub dir: PathBuf,
    pub bins: Vec<String>,
    pub build_script: Option<PathBuf>,
    pub deps: Vec<DeclaredDep>,
}

/// A dependency as written in a member's manifest.
#[derive(Debug, Clone)]
pub(crate) struct DeclaredDep {
    /// The package name (not the rename).
    pub name: String,
    /// The key in the manifest (the rename, when there is one).
    pub key: String,
    pub kind: DepKind,
    pub features: Vec<String>,
    pub default_features: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DepKind {
    Normal,
    Build,
    Dev,
}

#[derive(Debug, Clone)]
pub(crate) struct Pkg {
    pub name: String,
    pub version: String,
    pub member: bool,
}

/// Runs `cargo metadata` for `manifest_path` (or the current directory).
pub(crate) fn load(manifest_path: Option<&Path>, offline: bool) -> Result<Workspace, DoctorError> {
    let mut cmd = MetadataCommand::new();
    if let Some(path) = manifest_path {
        cmd.manifest_path(path);
    }
    let mut options = Vec::new();
    if offline {
        options.push("--offline".to_owned());
    }
    // Only what is built here: this machine's platform and the targets the
    // toolchain file installs (windows- or wasm-only crates are never
    // compiled on a Linux runner and cost nothing there).
    for target in platforms(manifest_path) {
        options.extend(["--filter-platform".to_owned(), target]);
    }
    cmd.other_options(options);
    let metadata = cmd.exec().map_err(|source| DoctorError::Metadata {
        manifest: manifest_path.map(Path::to_path_buf),
        source: Box::new(source),
    })?;
    Ok(from_metadata(&metadata))
}

/// The host triple (`rustc -vV`) and the `targets` of the toolchain file
/// next to the manifest; empty when the host cannot be told (no filter).
fn platforms(manifest_path: Option<&Path>) -> Vec<String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let Ok(out) = std::process::Command::new(rustc).arg("-vV").output() else {
        return Vec::new();
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let Some(host) = text.lines().find_map(|l| l.strip_prefix("host: ")) else {
        return Vec::new();
    };
    let mut out = vec![host.trim().to_owned()];
    let dir = manifest_path
        .and_then(Path::parent)
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    for d in dir.ancestors() {
        let Ok(text) = fs_err::read_to_string(d.join("rust-toolchain.toml")) else {
            continue;
        };
        let doc: Option<toml_edit::DocumentMut> = text.parse().ok();
        let targets = doc
            .as_ref()
            .and_then(|d| d.get("toolchain")?.get("targets")?.as_array().cloned());
        for t in targets
            .iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
        {
            if !out.contains(&t) {
                out.push(t);
            }
        }
        break;
    }
    out
}

fn from_metadata(meta: &Metadata) -> Workspace {
    let root = meta.workspace_root.clone().into_std_path_buf();
    let manifest = root.join("Cargo.toml");
    let mut packages = Vec::new();
    let mut index = HashMap::new();
    for p in &meta.packages {
        index.insert(p.id.clone(), packages.len());
        packages.push(Pkg {
            name: p.name.to_string(),
            version: p.version.to_string(),
            member: meta.workspace_members.contains(&p.id),
        });
    }
    let mut edges = vec![Vec::new(); packages.len()];
    if let Some(resolve) = &meta.resolve {
        for node in &resolve.nodes {
            let Some(&from) = index.get(&node.id) else {
                continue;
            };
            for dep in &node.deps {
                let runtime = dep.dep_kinds.is_empty()
                    || dep
                        .dep_kinds
                        .iter()
                        .any(|k| k.kind != DependencyKind::Development);
                if let (true, Some(&to)) = (runtime, index.get(&dep.pkg))
                    && !edges[from].contains(&to)
                {
                    edges[from].push(to);
                }
            }
        }
    }
    let mut members = Vec::new();
    for p in meta.workspace_packages() {
        let manifest_path = p.manifest_path.clone().into_std_path_buf();
        let dir = manifest_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let bins = p
            .targets
            .iter()
            .filter(|t| t.kind.contains(&TargetKind::Bin))
            .map(|t| t.name.clone())
            .collect();
        let build_script = p
            .targets
            .iter()
            .find(|t| t.kind.contains(&TargetKind::CustomBuild))
            .map(|t| t.src_path.clone().into_std_path_buf());
        let deps = p
            .dependencies
            .iter()
            .map(|d| DeclaredDep {
                name: d.name.clone(),
                key: d.rename.clone().unwrap_or_else(|| d.name.clone()),
                kind: match d.kind {
                    DependencyKind::Build => DepKind::Build,
                    DependencyKind::Development => DepKind::Dev,
                    _ => DepKind::Normal,
                },
                features: d.features.clone(),
                default_features: d.uses_default_features,
            })
            .collect();
        members.push(Member {
            pkg: index.get(&p.id).copied().unwrap_or_default(),
            name: p.name.to_string(),
            manifest: manifest_path,
            dir,
            bins,
            build_script,
            deps,
        });
    }
    members.sort_by(|a, b| a.name.cmp(&b.name));
    let root_is_package = meta.root_package().is_some();
    Workspace {
        root,
        manifest,
        root_is_package,
        members,
        packages,
        edges,
    }
}

impl Workspace {
    /// Members that depend on member package `pkg`, directly or not
    /// (normal and build dependencies), sorted by name.
    pub fn dependents(&self, pkg: usize) -> Vec<&Member> {
        let mut seen = vec![false; self.packages.len()];
        let mut stack = vec![pkg];
        let mut out = Vec::new();
        while let Some(current) = stack.pop() {
            for m in &self.members {
                if !seen[m.pkg] && m.pkg != pkg && self.edges[m.pkg].contains(&current) {
                    seen[m.pkg] = true;
                    out.push(m);
                    stack.push(m.pkg);
                }
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// How many packages `pkg` brings in, itself included.
    pub fn closure_size(&self, pkg: usize) -> usize {
        let mut seen = vec![false; self.packages.len()];
        let mut stack = vec![pkg];
        seen[pkg] = true;
        let mut count = 0;
        while let Some(current) = stack.pop() {
            count += 1;
            for &next in &self.edges[current] {
                if !seen[next] {
                    seen[next] = true;
                    stack.push(next);
                }
            }
        }
        count
    }
}

#[cfg(test)]
pub(crate) mod synthetic {
    //! Hand-built graphs for unit tests of graph checks.

    use super::{Pkg, Workspace};

    /// A workspace with the given members (`name`) and outside packages
    /// (`name@version`), and `edges` between names (or `name@version`).
    pub fn graph(members: &[&str], outside: &[&str], links: &[(&str, &str)]) -> Workspace {
        let mut packages = Vec::new();
        for m in members {
            packages.push(Pkg {
                name: (*m).to_owned(),
                version: "0.1.0".to_owned(),
                member: true,
            });
        }
        for o in outside {
            let (name, version) = o.split_once('@').unwrap_or((o, "1.0.0"));
            packages.push(Pkg {
                name: name.to_owned(),
                version: version.to_owned(),
                member: false,
            });
        }
        let find = |s: &str| {
            packages
                .iter()
                .position(|p| p.name == s || format!("{}@{}", p.name, p.version) == s)
                .unwrap_or_else(|| panic!("unknown package {s}"))
        };
        let mut edges = vec![Vec::new(); packages.len()];
        for (from, to) in links {
            edges[find(from)].push(find(to));
        }
        let member_list = members
            .iter()
            .enumerate()
            .map(|(i, m)| super::Member {
                pkg: i,
                name: (*m).to_owned(),
                manifest: format!("{m}/Cargo.toml").into(),
                dir: (*m).into(),
                bins: Vec::new(),
                build_script: None,
                deps: Vec::new(),
            })
            .collect();
        Workspace {
            root: ".".into(),
            manifest: "Cargo.toml".into(),
            root_is_package: false,
            members: member_list,
            packages,
            edges,
        }
    }
}
