//! What a crate costs to compile: measured from kiln's records when kiln has
//! built it before, otherwise estimated.
//!
//! The estimate (marked `~est` everywhere it is shown): when the crate's
//! sources are in `CARGO_HOME/registry/src/*/<name>-<version>/`,
//! [`BASE_MS`] plus [`MS_PER_KIB`] per KiB of `.rs` source; otherwise
//! [`UNKNOWN_MS`]. Debug builds of typical crates compile at very roughly
//! 100–150 KiB of source per second on one core; the numbers are meant to
//! rank dependencies, not to predict a build.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// Fixed cost of any crate, ms.
pub const BASE_MS: u64 = 150;
/// Cost per KiB of Rust source, ms.
pub const MS_PER_KIB: u64 = 8;
/// Cost of a crate whose sources are not on this machine, ms.
pub const UNKNOWN_MS: u64 = 1500;

/// A compile cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Cost {
    /// Milliseconds of compile.
    pub ms: u64,
    /// At least part of it is estimated, not measured.
    pub estimated: bool,
}

impl Cost {
    /// Sum of two costs.
    #[must_use]
    pub fn plus(self, other: Self) -> Self {
        Self {
            ms: self.ms + other.ms,
            estimated: self.estimated || other.estimated,
        }
    }
}

/// Measured costs and where to look for sources.
#[derive(Debug, Clone, Default)]
pub struct CostModel {
    /// Compile ms by package version (`name@version`, `name` as cargo
    /// spells the package), from records.
    pub measured: BTreeMap<String, u64>,
    /// `CARGO_HOME`, for source sizes.
    pub cargo_home: Option<PathBuf>,
    /// The packages (name, version) this platform compiles, when known:
    /// the others (another OS's, wasm-only) cost nothing here.
    pub built_here: Option<std::collections::BTreeSet<(String, String)>>,
}

impl CostModel {
    /// Whether this platform compiles the package (unknown: yes).
    pub fn is_built(&self, name: &str, version: &str) -> bool {
        self.built_here
            .as_ref()
            .is_none_or(|b| b.contains(&(name.to_owned(), version.to_owned())))
    }

    /// The cost of one package: measured when kiln built this version;
    /// else estimated, from another version kiln built when there is one,
    /// else from the size of its sources.
    pub fn cost(&self, name: &str, version: &str) -> Cost {
        if !self.is_built(name, version) {
            return Cost::default();
        }
        // Records name a package as cargo does; without a package, by its
        // crate name (`-` becomes `_`).
        let names = [name.to_owned(), name.replace('-', "_")];
        for n in &names {
            if let Some(&ms) = self.measured.get(&format!("{n}@{version}")) {
                return Cost {
                    ms,
                    estimated: false,
                };
            }
        }
        for n in &names {
            let prefix = format!("{n}@");
            let other_version = self
                .measured
                .range(prefix.clone()..)
                .take_while(|(k, _)| k.starts_with(&prefix))
                .last();
            if let Some((_, &ms)) = other_version {
                return Cost {
                    ms,
                    estimated: true,
                };
            }
        }
        let ms = self
            .cargo_home
            .as_deref()
            .and_then(|home| source_dir(home, name, version))
            .map_or(UNKNOWN_MS, |dir| {
                BASE_MS + rust_source_bytes(&dir) / 1024 * MS_PER_KIB
            });
        Cost {
            ms,
            estimated: true,
        }
    }
}

fn source_dir(cargo_home: &Path, name: &str, version: &str) -> Option<PathBuf> {
    let registries = std::fs::read_dir(cargo_home.join("registry/src")).ok()?;
    registries
        .flatten()
        .map(|r| r.path().join(format!("{name}-{version}")))
        .find(|p| p.is_dir())
}

fn rust_source_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(t) = e.file_type() else { continue };
            let p = e.path();
            if t.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                total += e.metadata().map_or(0, |m| m.len());
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measured_then_estimated() {
        let mut m = CostModel::default();
        m.measured.insert("serde_json@1.0.0".into(), 900);
        assert_eq!(
            m.cost("serde-json", "1.0.0"),
            Cost {
                ms: 900,
                estimated: false
            }
        );
        // Another version kiln built is the estimate for this one.
        assert_eq!(
            m.cost("serde_json", "1.1.0"),
            Cost {
                ms: 900,
                estimated: true
            }
        );
        assert_eq!(m.cost("other", "1.0.0").ms, UNKNOWN_MS);
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().to_owned();
        let src = d.join("registry/src/index-x/foo-1.2.3/src");
        std::fs::create_dir_all(&src).unwrap();
        std::fs::write(src.join("lib.rs"), vec![b' '; 10 * 1024]).unwrap();
        m.cargo_home = Some(d);
        assert_eq!(m.cost("foo", "1.2.3").ms, BASE_MS + 10 * MS_PER_KIB);
    }

    #[test]
    fn packages_this_platform_never_compiles_cost_nothing() {
        let m = CostModel {
            built_here: Some([("ureq".to_owned(), "2.0.0".to_owned())].into()),
            ..CostModel::default()
        };
        assert_eq!(m.cost("ureq", "2.0.0").ms, UNKNOWN_MS);
        assert_eq!(m.cost("web-sys", "0.3.0"), Cost::default());
        assert!(!m.is_built("web-sys", "0.3.0"));
    }
}
