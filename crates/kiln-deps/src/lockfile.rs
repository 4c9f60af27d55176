//! `Cargo.lock` as a graph: packages, their dependencies, workspace members.
//!
//! Parsed with `toml_edit`; lockfile versions 1 to 4 all list
//! `[[package]]` tables with `name`, `version`, optional `source` and
//! `dependencies` entries written `name`, `name version` or
//! `name version (source)` (cargo adds what it takes to tell packages
//! apart). Packages without `source` are the workspace's own (members and
//! path dependencies). A package is identified by name, version and
//! source: a git fork and the crates.io package of one name and version are
//! two packages, each with its own dependencies.

use std::collections::{BTreeSet, HashMap};

use crate::error::{Cause, Error};

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

/// What identifies a locked package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PackageKey<'a> {
    pub name: &'a str,
    pub version: &'a str,
    pub source: Option<&'a str>,
}

/// The crates.io index, the source most packages come from.
pub const CRATES_IO: &str = "registry+https://github.com/rust-lang/crates.io-index";

/// A version as the diff shows it: `1.0.0`, or `1.0.0 (git+…#rev)` for a
/// package from anywhere but crates.io or the workspace, so a fork at the
/// same version reads as another package.
pub fn shown_version(version: &str, source: Option<&str>) -> String {
    match source {
        None | Some(CRATES_IO) => version.to_owned(),
        Some(source) => format!("{version} ({source})"),
    }
}

impl Package {
    /// Its name, version and source.
    pub fn key(&self) -> PackageKey<'_> {
        PackageKey {
            name: &self.name,
            version: &self.version,
            source: self.source.as_deref(),
        }
    }

    /// [`shown_version`] of this package.
    pub fn shown_version(&self) -> String {
        shown_version(&self.version, self.source.as_deref())
    }
}

/// A dependency entry: `name`, `name version` or `name version (source)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reference<'a> {
    pub name: &'a str,
    pub version: Option<&'a str>,
    pub source: Option<&'a str>,
}

impl<'a> Reference<'a> {
    /// Reads an entry as cargo writes it; `None` for an empty one.
    pub fn parse(entry: &'a str) -> Option<Self> {
        let (head, source) = match entry.split_once(" (") {
            Some((h, s)) => (h, Some(s.strip_suffix(')').unwrap_or(s))),
            None => (entry, None),
        };
        let mut parts = head.split_whitespace();
        Some(Self {
            name: parts.next()?,
            version: parts.next(),
            source,
        })
    }

    /// Whether `p` is a package this entry can name.
    pub fn names(&self, p: &Package) -> bool {
        p.name == self.name
            && self.version.is_none_or(|v| p.version == v)
            && self.source.is_none_or(|s| p.source.as_deref() == Some(s))
    }
}

/// A parsed lockfile.
#[derive(Debug, Clone, Default)]
pub struct Lockfile {
    /// Every package, in file order.
    packages: Vec<Package>,
    /// Per package, the packages its entries name (entries naming no
    /// package of the file left out).
    edges: Vec<Vec<usize>>,
}

/// The fix for text that is not a lockfile.
const MALFORMED_HINT: &str = "pass a `Cargo.lock` written by cargo";

/// The `[[package]]` table `t`.
fn package(t: &toml_edit::Table) -> Result<Package, Error> {
    let malformed = |what: &str| {
        Error::new(
            Cause::Malformed,
            format!("a `[[package]]` without `{what}`"),
            MALFORMED_HINT,
        )
    };
    let field = |k: &str| t.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    let dependencies = t
        .get("dependencies")
        .and_then(|d| d.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    Ok(Package {
        name: field("name").ok_or_else(|| malformed("name"))?,
        version: field("version").ok_or_else(|| malformed("version"))?,
        source: field("source"),
        dependencies,
    })
}

impl Lockfile {
    /// Parses lockfile text.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let malformed = |message: &str| Error::new(Cause::Malformed, message, MALFORMED_HINT);
        let doc: toml_edit::DocumentMut = text
            .parse()
            .map_err(|e: toml_edit::TomlError| malformed(e.message()))?;
        let Some(item) = doc.get("package") else {
            return Ok(Self::default());
        };
        let tables = item
            .as_array_of_tables()
            .ok_or_else(|| malformed("`package` is not an array of tables"))?;
        let packages = tables.iter().map(package).collect::<Result<_, _>>()?;
        Ok(Self::new(packages))
    }

    /// The graph of `packages`, each entry resolved once.
    pub fn new(packages: Vec<Package>) -> Self {
        let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, p) in packages.iter().enumerate() {
            by_name.entry(&p.name).or_default().push(i);
        }
        let resolve = |entry: &str| {
            let r = Reference::parse(entry)?;
            by_name
                .get(r.name)?
                .iter()
                .copied()
                .find(|&i| r.names(&packages[i]))
        };
        let edges = packages
            .iter()
            .map(|p| p.dependencies.iter().filter_map(|d| resolve(d)).collect())
            .collect();
        Self { packages, edges }
    }

    /// Every package, in file order.
    pub fn packages(&self) -> &[Package] {
        &self.packages
    }

    /// Index of the package a dependency entry names (`name`,
    /// `name version` or `name version (source)`): the first that fits.
    pub fn resolve(&self, entry: &str) -> Option<usize> {
        let r = Reference::parse(entry)?;
        self.packages.iter().position(|p| r.names(p))
    }

    /// The packages package `i` depends on, as indices.
    pub fn dependencies(&self, i: usize) -> &[usize] {
        &self.edges[i]
    }

    /// The key of every package.
    pub fn keys(&self) -> BTreeSet<PackageKey<'_>> {
        self.packages.iter().map(Package::key).collect()
    }

    /// Packages a workspace package (no `source`) depends on: the direct
    /// dependencies, as indices.
    pub fn direct(&self) -> BTreeSet<usize> {
        (0..self.packages.len())
            .filter(|&i| self.packages[i].source.is_none())
            .flat_map(|i| self.dependencies(i).iter().copied())
            .collect()
    }

    /// Everything `start` depends on, transitively (itself excluded).
    pub fn closure(&self, start: usize) -> BTreeSet<usize> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![start];
        while let Some(i) = stack.pop() {
            for &j in self.dependencies(i) {
                if j != start && seen.insert(j) {
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

    /// One name and version twice (crates.io and a git fork), each with its
    /// own dependencies, and entries in all three forms.
    const TWO_SERDES: &str = r#"
version = 4

[[package]]
name = "app"
version = "0.1.0"
dependencies = [
 "itoa 1.0.11",
 "serde 1.0.200 (git+https://github.com/x/serde#abc)",
]

[[package]]
name = "tool"
version = "0.1.0"
dependencies = [
 "itoa 0.4.8",
 "serde 1.0.200 (registry+https://github.com/rust-lang/crates.io-index)",
]

[[package]]
name = "serde"
version = "1.0.200"
source = "registry+https://github.com/rust-lang/crates.io-index"
dependencies = ["serde_derive"]

[[package]]
name = "serde"
version = "1.0.200"
source = "git+https://github.com/x/serde#abc"
dependencies = ["itoa 1.0.11"]

[[package]]
name = "serde_derive"
version = "1.0.200"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "itoa"
version = "0.4.8"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "itoa"
version = "1.0.11"
source = "registry+https://github.com/rust-lang/crates.io-index"
"#;

    #[test]
    fn one_name_and_version_from_two_sources_is_two_packages() {
        let l = Lockfile::parse(TWO_SERDES).unwrap();
        assert_eq!(l.keys().len(), 7);
        let label = |i: usize| {
            let p = &l.packages()[i];
            format!("{} {}", p.name, p.shown_version())
        };
        let deps = |name: &str| -> Vec<String> {
            let i = l.resolve(name).unwrap();
            l.dependencies(i).iter().map(|&j| label(j)).collect()
        };
        assert_eq!(
            deps("app"),
            [
                "itoa 1.0.11",
                "serde 1.0.200 (git+https://github.com/x/serde#abc)"
            ]
        );
        assert_eq!(deps("tool"), ["itoa 0.4.8", "serde 1.0.200"]);
        let closure = |entry: &str| -> Vec<String> {
            l.closure(l.resolve(entry).unwrap())
                .into_iter()
                .map(label)
                .collect()
        };
        assert_eq!(
            closure("serde 1.0.200 (git+https://github.com/x/serde#abc)"),
            ["itoa 1.0.11"]
        );
        assert_eq!(
            closure("serde 1.0.200 (registry+https://github.com/rust-lang/crates.io-index)"),
            ["serde_derive 1.0.200"]
        );
        let direct: Vec<String> = l.direct().into_iter().map(label).collect();
        assert_eq!(
            direct,
            [
                "serde 1.0.200",
                "serde 1.0.200 (git+https://github.com/x/serde#abc)",
                "itoa 0.4.8",
                "itoa 1.0.11"
            ]
        );
        assert_eq!(
            l.resolve("serde 1.0.200 (git+https://github.com/y/serde#abc)"),
            None
        );
    }

    #[test]
    fn references_are_read_in_all_three_forms() {
        let r = |name, version, source| {
            Some(Reference {
                name,
                version,
                source,
            })
        };
        assert_eq!(Reference::parse("serde"), r("serde", None, None));
        assert_eq!(
            Reference::parse("serde 1.0.200"),
            r("serde", Some("1.0.200"), None)
        );
        assert_eq!(
            Reference::parse("serde 1.0.200 (git+https://github.com/x/serde#abc)"),
            r(
                "serde",
                Some("1.0.200"),
                Some("git+https://github.com/x/serde#abc")
            )
        );
        assert_eq!(Reference::parse(""), None);
    }

    #[test]
    fn malformed_lockfiles_say_what_is_missing() {
        let e = Lockfile::parse("[[package]]\nname = \"x\"\n").unwrap_err();
        assert_eq!(e.cause, Cause::Malformed);
        assert_eq!(e.to_string(), "a `[[package]]` without `version`");
        assert_eq!(e.hint(), "pass a `Cargo.lock` written by cargo");
        let e = Lockfile::parse("package = 1\n").unwrap_err();
        assert_eq!(e.to_string(), "`package` is not an array of tables");
    }
}
