//! What differs between two builds of a unit: their key components sorted
//! into changes people recognise (features, cfgs, codegen options, flags,
//! compiler, files, environment, dependencies). Does not decide what caused
//! what (that is `roots`).

use std::collections::{BTreeMap, BTreeSet};

use kiln_types::KeyComponents;

use super::Change;

/// Arguments sorted into what people recognise.
#[derive(Default)]
struct Args {
    features: BTreeSet<String>,
    cfgs: BTreeSet<String>,
    codegen: BTreeMap<String, String>,
    flags: BTreeSet<String>,
}

/// `-C` options that follow from other changes (cargo derives them from
/// dependencies and features): reported through those instead.
const DERIVED_CODEGEN: &[&str] = &["metadata", "extra-filename"];

/// Flags whose value is the next argument when not joined with `=`.
const TAKES_VALUE: &[&str] = &[
    "--cfg",
    "--check-cfg",
    "-L",
    "-l",
    "--crate-type",
    "--crate-name",
    "--edition",
    "--emit",
    "-o",
    "--out-dir",
    "--target",
    "-A",
    "-W",
    "-D",
    "-F",
    "--cap-lints",
    "-C",
    "--codegen",
    "-Z",
    "--error-format",
    "--json",
    "--color",
    "--extern",
    "--remap-path-prefix",
    "--sysroot",
    "--force-warn",
];

/// The flag at `args[*i]` and its value (joined with `=`, glued to `-C`,
/// `-L` or `-l`, or the next argument), with `i` moved past both.
fn next_flag(args: &[String], i: &mut usize) -> (String, Option<String>) {
    let a = args[*i].as_str();
    let flag = if let Some((f, v)) = a.split_once('=').filter(|(f, _)| f.starts_with("--")) {
        (f.to_owned(), Some(v.to_owned()))
    } else if a.len() > 2
        && (a.starts_with("-C") || a.starts_with("-L") || a.starts_with("-l"))
        && !a.starts_with("--")
    {
        (a[..2].to_owned(), Some(a[2..].to_owned()))
    } else if TAKES_VALUE.contains(&a) && *i + 1 < args.len() {
        *i += 1;
        (a.to_owned(), Some(args[*i].clone()))
    } else {
        (a.to_owned(), None)
    };
    *i += 1;
    flag
}

impl Args {
    /// Sorts one flag and its value in.
    fn add(&mut self, flag: &str, value: Option<String>) {
        match (flag, value) {
            ("--cfg", Some(v)) => match v.strip_prefix("feature=") {
                Some(f) => {
                    self.features.insert(f.trim_matches('"').to_owned());
                }
                None => {
                    self.cfgs.insert(v);
                }
            },
            ("-C" | "--codegen", Some(v)) => {
                let (k, val) = v
                    .split_once('=')
                    .map_or((v.clone(), String::new()), |(k, v)| {
                        (k.to_owned(), v.to_owned())
                    });
                if !DERIVED_CODEGEN.contains(&k.as_str()) {
                    self.codegen.insert(k, val);
                }
            }
            // Dependencies are compared by content; where outputs go follows
            // from cargo's hash of the other inputs.
            ("--extern" | "--out-dir" | "-o", _) => {}
            (f, Some(v)) => {
                self.flags.insert(format!("{f} {v}"));
            }
            (f, None) => {
                self.flags.insert(f.to_owned());
            }
        }
    }
}

fn sort_args(args: &[String]) -> Args {
    let mut out = Args::default();
    let mut i = 0;
    while i < args.len() {
        let (flag, value) = next_flag(args, &mut i);
        out.add(&flag, value);
    }
    out
}

/// Adds what `now` has and `before` lacks, then what `before` had and `now` lacks.
fn set_changes(
    changes: &mut Vec<Change>,
    before: &BTreeSet<String>,
    now: &BTreeSet<String>,
    added: impl Fn(String) -> Change,
    removed: impl Fn(String) -> Change,
) {
    changes.extend(now.difference(before).cloned().map(added));
    changes.extend(before.difference(now).cloned().map(removed));
}

/// How the entries of a name-to-digest list changed, one constructor a way.
struct MapChange {
    added: fn(String) -> Change,
    changed: fn(String) -> Change,
    removed: fn(String) -> Change,
}

/// Adds, in `now`'s order, the names `now` has and `before` lacks or holds
/// with another digest, then the names `before` had and `now` lacks; names
/// `counted` refuses are left out.
fn map_changes(
    changes: &mut Vec<Change>,
    before: &[(String, String)],
    now: &[(String, String)],
    counted: fn(&str) -> bool,
    way: &MapChange,
) {
    let before: BTreeMap<&String, &String> = before.iter().map(|(k, v)| (k, v)).collect();
    let now: BTreeMap<&String, &String> = now.iter().map(|(k, v)| (k, v)).collect();
    for (name, d) in now.iter().filter(|(k, _)| counted(k)) {
        match before.get(name) {
            None => changes.push((way.added)((*name).clone())),
            Some(old) if old != d => changes.push((way.changed)((*name).clone())),
            Some(_) => {}
        }
    }
    changes.extend(
        before
            .keys()
            .filter(|k| !now.contains_key(*k) && counted(k))
            .map(|k| (way.removed)((*k).clone())),
    );
}

/// A compiled crate in the target dir: what `--extern` and the linker read.
fn is_dependency_artifact(path: &str) -> bool {
    path.starts_with("{target}")
        && [".rlib", ".rmeta", ".so", ".dylib"]
            .iter()
            .any(|ext| path.ends_with(ext))
}

/// Environment variables known on both sides whose value (or whether it is
/// set) differs.
fn env_changes(changes: &mut Vec<Change>, before: &KeyComponents, now: &KeyComponents) {
    let bv: BTreeMap<_, _> = before.env.iter().cloned().collect();
    let nv: BTreeMap<_, _> = now.env.iter().cloned().collect();
    let names: BTreeSet<&String> = bv.keys().chain(nv.keys()).collect();
    for name in names {
        let (Some(x), Some(y)) = (bv.get(name), nv.get(name)) else {
            continue;
        };
        if x != y {
            changes.push(Change::EnvChanged {
                name: name.clone(),
                was_set: x.is_some(),
                is_set: y.is_some(),
                from: before.env_values.get(name.as_str()).cloned(),
                to: now.env_values.get(name.as_str()).cloned(),
                by_build_script: now.build_script_env.contains(name)
                    || before.build_script_env.contains(name),
            });
        }
    }
}

/// `-C` options given on one side only or with another value.
fn codegen_changes(
    changes: &mut Vec<Change>,
    before: &BTreeMap<String, String>,
    now: &BTreeMap<String, String>,
) {
    let options: BTreeSet<&String> = before.keys().chain(now.keys()).collect();
    for o in options {
        let (x, y) = (before.get(o), now.get(o));
        if x != y {
            changes.push(Change::Codegen {
                option: o.clone(),
                from: x.cloned(),
                to: y.cloned(),
            });
        }
    }
}

/// Features, cfgs, codegen options and other flags that differ.
fn arg_changes(changes: &mut Vec<Change>, before: &[String], now: &[String]) {
    let (b, n) = (sort_args(before), sort_args(now));
    set_changes(
        changes,
        &b.features,
        &n.features,
        |name| Change::FeatureAdded { name },
        |name| Change::FeatureRemoved { name },
    );
    set_changes(
        changes,
        &b.cfgs,
        &n.cfgs,
        |cfg| Change::CfgAdded { cfg },
        |cfg| Change::CfgRemoved { cfg },
    );
    codegen_changes(changes, &b.codegen, &n.codegen);
    set_changes(
        changes,
        &b.flags,
        &n.flags,
        |flag| Change::FlagAdded { flag },
        |flag| Change::FlagRemoved { flag },
    );
}

/// The changes from `before` to `now`.
pub fn diff(before: &KeyComponents, now: &KeyComponents) -> Vec<Change> {
    let mut changes = Vec::new();
    if before.compiler_digest != now.compiler_digest {
        changes.push(Change::Compiler {
            from: before.compiler.clone(),
            to: now.compiler.clone(),
        });
    }
    env_changes(&mut changes, before, now);
    arg_changes(&mut changes, &before.args, &now.args);
    map_changes(
        &mut changes,
        &before.externs,
        &now.externs,
        |_| true,
        &MapChange {
            added: |name| Change::DependencyAdded { name },
            changed: |name| Change::DependencyRebuilt { name },
            removed: |name| Change::DependencyRemoved { name },
        },
    );
    // Artifacts of dependencies (read through `--extern` and `-L
    // dependency=`, and by the linker) change with the dependency, and
    // their names with its features and flags: reported once, as rebuilt
    // dependencies.
    map_changes(
        &mut changes,
        &before.files,
        &now.files,
        |path| !is_dependency_artifact(path),
        &MapChange {
            added: |path| Change::FileAdded { path },
            changed: |path| Change::FileChanged { path },
            removed: |path| Change::FileRemoved { path },
        },
    );
    if changes.is_empty() && before != now {
        changes.push(Change::Unknown);
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Explanation, UnitExplanation};

    fn comps(
        args: &[&str],
        externs: &[(&str, &str)],
        files: &[(&str, &str)],
        env: &[(&str, Option<&str>)],
    ) -> KeyComponents {
        KeyComponents {
            version: 1,
            compiler: "rustc 1.95.0".into(),
            compiler_digest: "c1".into(),
            clippy: None,
            args: args.iter().map(|s| (*s).to_owned()).collect(),
            externs: externs
                .iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect(),
            files: files
                .iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect(),
            absent: vec![],
            env: env
                .iter()
                .map(|(a, b)| ((*a).to_owned(), b.map(str::to_owned)))
                .collect(),
            env_values: BTreeMap::new(),
            build_script_env: vec![],
        }
    }

    #[test]
    fn env_values_are_shown_for_harmless_names_or_on_request() {
        let mut a = comps(
            &[],
            &[],
            &[],
            &[("CARGO_PKG_VERSION", Some("v1")), ("TOKEN", Some("t1"))],
        );
        let mut b = comps(
            &[],
            &[],
            &[],
            &[("CARGO_PKG_VERSION", Some("v2")), ("TOKEN", Some("t2"))],
        );
        a.env_values = [("CARGO_PKG_VERSION", "1.0.0"), ("TOKEN", "secret-1")]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        b.env_values = [("CARGO_PKG_VERSION", "1.1.0"), ("TOKEN", "secret-2")]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let changes = diff(&a, &b);
        let described: Vec<String> = changes.iter().map(Change::describe).collect();
        assert!(
            described.contains(&"env `CARGO_PKG_VERSION` changed: `1.0.0` → `1.1.0`".to_owned()),
            "{described:?}"
        );
        let mut e = Explanation {
            version: 1,
            run: "r".into(),
            against: None,
            units: 1,
            misses: vec![UnitExplanation {
                unit: "x".into(),
                crate_name: "x".into(),
                compile_ms: 1,
                changes,
                root_cause: None,
                artifact: "x-1".into(),
                externs: BTreeMap::new(),
                package: None,
                run_dir: None,
            }],
            root_causes: vec![],
        };
        let mut shown = e.clone();
        e.redact_env_values(false);
        let text: Vec<String> = e.misses[0].changes.iter().map(Change::describe).collect();
        assert!(text.iter().any(|t| t == "env `TOKEN` changed"), "{text:?}");
        assert!(!format!("{text:?}").contains("secret"));
        assert!(text.iter().any(|t| t.contains("1.1.0")));
        shown.redact_env_values(true);
        assert!(format!("{:?}", shown.misses[0].changes).contains("secret-2"));
    }

    #[test]
    fn dependencies_and_files_come_and_go_but_artifacts_are_not_files() {
        let a = comps(
            &["-Cdebuginfo=2", "--edition=2021"],
            &[("gone", "g1"), ("kept", "k1")],
            &[
                ("{cwd}/src/old.rs", "o1"),
                ("{target}/debug/deps/libkept-1.rmeta", "m1"),
            ],
            &[("UNSET_NOW", Some("u1")), ("ONLY_BEFORE", None)],
        );
        let mut b = comps(
            &["-Cdebuginfo=0", "--edition=2024"],
            &[("kept", "k1"), ("new", "n1")],
            &[
                ("{cwd}/src/new.rs", "n1"),
                ("{target}/debug/deps/libkept-2.rmeta", "m2"),
                ("{target}/debug/deps/libnew-3.rlib", "m3"),
            ],
            &[("UNSET_NOW", None)],
        );
        b.compiler = "rustc 1.96.0".into();
        b.compiler_digest = "c2".into();
        let changes: Vec<String> = diff(&a, &b).iter().map(Change::describe).collect();
        assert_eq!(
            changes,
            [
                "compiler rustc 1.95.0 → rustc 1.96.0",
                "env `UNSET_NOW` was unset",
                "`-C debuginfo` 2 → 0",
                "flag `--edition 2024` added",
                "flag `--edition 2021` removed",
                "dependency `new` added",
                "dependency `gone` removed",
                "`{cwd}/src/new.rs` is read now",
                "`{cwd}/src/old.rs` is no longer read",
            ]
        );
        assert_eq!(diff(&a, &a), []);
    }

    #[test]
    fn sorts_changes_into_kinds() {
        let a = comps(
            &[
                "--crate-name",
                "x",
                "--cfg",
                "feature=\"std\"",
                "-C",
                "opt-level=2",
                "-C",
                "metadata=aa",
            ],
            &[("dep", "d1")],
            &[("{cwd}/src/lib.rs", "f1")],
            &[("GIT_SHA", Some("s1"))],
        );
        let b = comps(
            &[
                "--crate-name",
                "x",
                "--cfg",
                "feature=\"tls\"",
                "-C",
                "opt-level=3",
                "-C",
                "metadata=bb",
                "--cfg",
                "tokio_unstable",
            ],
            &[("dep", "d2")],
            &[("{cwd}/src/lib.rs", "f2")],
            &[("GIT_SHA", Some("s2"))],
        );
        let changes: Vec<String> = diff(&a, &b).iter().map(Change::describe).collect();
        assert_eq!(
            changes,
            [
                "env `GIT_SHA` changed",
                "feature `tls` added",
                "feature `std` removed",
                "`--cfg tokio_unstable` added",
                "`-C opt-level` 2 → 3",
                "dependency `dep` was rebuilt",
                "`{cwd}/src/lib.rs` changed"
            ]
        );
    }
}
