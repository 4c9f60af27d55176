//! `Cargo.lock` as a graph: packages, their dependencies, workspace members.
//!
//! Parsed with `toml_edit`; lockfile versions 1 to 4 all list
//! `[[package]]` tables with `name`, `version`, optional `source` and
//! `dependencies` entries written `name`, `name version` or
//! `name version (source)`. Packages without `source` are the workspace's
//! own (members and path dependencies).

use std::collections::{BTreeSet, HashMap};

/// One locked package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    /// Package name.
    pub name: String,
    /// Locked version.
    pub version: String,
    /// `registry+…`, `git+…`; `None` for the workspace's own packages.
    pub source: Option<String>,
    /// Dependency entries as written.
    pub dependencies: Vec<String>,
}

/// The crates.io index, the source most packages come from.
const CRATES_IO: &str = "registry+https://github.com/rust-lang/crates.io-index";

impl Package {
    /// The version as the diff shows it: `1.0.0`, or `1.0.0 (git+…#rev)`
    /// for a package from anywhere but crates.io or the workspace, so a
    /// fork at the same version is another package.
    pub fn shown_version(&self) -> String {
        match self.source.as_deref() {
            None | Some(CRATES_IO) => self.version.clone(),
            Some(source) => format!("{} ({source})", self.version),
        }
    }
}

/// A parsed lockfile.
#[derive(Debug, Clone, Default)]
pub struct Lockfile {
    /// Every package, in file order.
    pub packages: Vec<Package>,
}

impl Lockfile {
    /// Parses lockfile text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let doc: toml_edit::DocumentMut = text
            .parse()
            .map_err(|e: toml_edit::TomlError| e.message().to_owned())?;
        let Some(item) = doc.get("package") else {
            return Ok(Self::default());
        };
        let tables = item
            .as_array_of_tables()
            .ok_or("`package` is not an array of tables")?;
        let mut packages = Vec::new();
        for t in tables {
            let field = |k: &str| t.get(k).and_then(|v| v.as_str()).map(str::to_owned);
            let name = field("name").ok_or("a `[[package]]` without `name`")?;
            let version = field("version").ok_or("a `[[package]]` without `version`")?;
            let dependencies = t
                .get("dependencies")
                .and_then(|d| d.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            packages.push(Package {
                name,
                version,
                source: field("source"),
                dependencies,
            });
        }
        Ok(Self { packages })
    }

    /// Index of the package a dependency entry names (`name`,
    /// `name version` or `name version (source)`).
    pub fn resolve(&self, entry: &str) -> Option<usize> {
        let (head, source) = match entry.split_once(" (") {
            Some((h, s)) => (h, Some(s.trim_end_matches(')'))),
            None => (entry, None),
        };
        let mut parts = head.split_whitespace();
        let name = parts.next()?;
        let version = parts.next();
        let mut found = self.packages.iter().enumerate().filter(|(_, p)| {
            p.name == name
                && version.is_none_or(|v| p.version == v)
                && source.is_none_or(|s| p.source.as_deref() == Some(s))
        });
        let first = found.next()?.0;
        Some(first)
    }

    /// `name` and [`Package::shown_version`] of every package.
    pub fn ids(&self) -> BTreeSet<(String, String)> {
        self.packages
            .iter()
            .map(|p| (p.name.clone(), p.shown_version()))
            .collect()
    }

    /// Shown versions of each package name.
    pub fn versions(&self) -> HashMap<&str, BTreeSet<String>> {
        let mut m: HashMap<&str, BTreeSet<String>> = HashMap::new();
        for p in &self.packages {
            m.entry(p.name.as_str())
                .or_default()
                .insert(p.shown_version());
        }
        m
    }

    /// Packages a workspace package (no `source`) depends on: the direct
    /// dependencies, as indices.
    pub fn direct(&self) -> BTreeSet<usize> {
        self.packages
            .iter()
            .filter(|p| p.source.is_none())
            .flat_map(|p| p.dependencies.iter().filter_map(|d| self.resolve(d)))
            .collect()
    }

    /// Everything `start` depends on, transitively (itself excluded).
    pub fn closure(&self, start: usize) -> BTreeSet<usize> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![start];
        while let Some(i) = stack.pop() {
            for d in &self.packages[i].dependencies {
                if let Some(j) = self.resolve(d)
                    && j != start
                    && seen.insert(j)
                {
                    stack.push(j);
                }
            }
        }
        seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"
version = 4

[[package]]
name = "app"
version = "0.1.0"
dependencies = ["serde", "itoa 1.0.0"]

[[package]]
name = "itoa"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "serde"
version = "1.0.1"
source = "registry+https://github.com/rust-lang/crates.io-index"
dependencies = ["serde_derive"]

[[package]]
name = "serde_derive"
version = "1.0.1"
source = "registry+https://github.com/rust-lang/crates.io-index"
"#;

    #[test]
    fn graph() {
        let l = Lockfile::parse(LOCK).unwrap();
        assert_eq!(l.packages.len(), 4);
        let direct: Vec<&str> = l
            .direct()
            .into_iter()
            .map(|i| l.packages[i].name.as_str())
            .collect();
        assert_eq!(direct, ["itoa", "serde"]);
        let serde = l.resolve("serde").unwrap();
        assert_eq!(l.closure(serde).len(), 1);
        assert!(Lockfile::parse("[[package]]\nversion = \"1\"\n").is_err());
    }

    #[test]
    fn a_git_fork_at_the_same_version_is_another_package() {
        let fork = LOCK.replace(
            "name = \"serde\"\nversion = \"1.0.1\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"",
            "name = \"serde\"\nversion = \"1.0.1\"\nsource = \"git+https://github.com/me/serde#abc\"",
        );
        let (base, head) = (
            Lockfile::parse(LOCK).unwrap(),
            Lockfile::parse(&fork).unwrap(),
        );
        assert_eq!(
            head.versions()["serde"].iter().collect::<Vec<_>>(),
            ["1.0.1 (git+https://github.com/me/serde#abc)"]
        );
        let d = crate::diff("base", &base, "head", &head, &crate::CostModel::default());
        assert_eq!(d.upgraded.len(), 1, "{d:?}");
        assert_eq!(d.upgraded[0].from, "1.0.1");
        assert_eq!(
            d.upgraded[0].to,
            "1.0.1 (git+https://github.com/me/serde#abc)"
        );
        // An entry naming its source resolves to that package only.
        assert!(
            head.resolve("serde 1.0.1 (registry+https://github.com/rust-lang/crates.io-index)")
                .is_none()
        );
        assert!(
            head.resolve("serde 1.0.1 (git+https://github.com/me/serde#abc)")
                .is_some()
        );
    }
}
