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

fn sort_args(args: &[String]) -> Args {
    let mut out = Args::default();
    let mut i = 0;
    let takes_value = |a: &str| {
        matches!(
            a,
            "--cfg"
                | "--check-cfg"
                | "-L"
                | "-l"
                | "--crate-type"
                | "--crate-name"
                | "--edition"
                | "--emit"
                | "-o"
                | "--out-dir"
                | "--target"
                | "-A"
                | "-W"
                | "-D"
                | "-F"
                | "--cap-lints"
                | "-C"
                | "--codegen"
                | "-Z"
                | "--error-format"
                | "--json"
                | "--color"
                | "--extern"
                | "--remap-path-prefix"
                | "--sysroot"
                | "--force-warn"
        )
    };
    while i < args.len() {
        let a = args[i].as_str();
        let (flag, value) =
            if let Some((f, v)) = a.split_once('=').filter(|(f, _)| f.starts_with("--")) {
                (f.to_owned(), Some(v.to_owned()))
            } else if a.len() > 2
                && (a.starts_with("-C") || a.starts_with("-L") || a.starts_with("-l"))
                && !a.starts_with("--")
            {
                (a[..2].to_owned(), Some(a[2..].to_owned()))
            } else if takes_value(a) && i + 1 < args.len() {
                i += 1;
                (a.to_owned(), Some(args[i].clone()))
            } else {
                (a.to_owned(), None)
            };
        i += 1;
        match (flag.as_str(), value) {
            ("--cfg", Some(v)) => match v.strip_prefix("feature=") {
                Some(f) => {
                    out.features.insert(f.trim_matches('"').to_owned());
                }
                None => {
                    out.cfgs.insert(v);
                }
            },
            ("-C" | "--codegen", Some(v)) => {
                let (k, val) = v
                    .split_once('=')
                    .map_or((v.clone(), String::new()), |(k, v)| {
                        (k.to_owned(), v.to_owned())
                    });
                if !DERIVED_CODEGEN.contains(&k.as_str()) {
                    out.codegen.insert(k, val);
                }
            }
            // Dependencies are compared by content; where outputs go follows
            // from cargo's hash of the other inputs.
            ("--extern" | "--out-dir" | "-o", _) => {}
            (f, Some(v)) => {
                out.flags.insert(format!("{f} {v}"));
            }
            (f, None) => {
                out.flags.insert(f.to_owned());
            }
        }
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

/// A compiled crate in the target dir: what `--extern` and the linker read.
fn is_dependency_artifact(path: &str) -> bool {
    path.starts_with("{target}")
        && [".rlib", ".rmeta", ".so", ".dylib"]
            .iter()
            .any(|ext| path.ends_with(ext))
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
    let (bv, nv): (BTreeMap<_, _>, BTreeMap<_, _>) = (
        before.env.iter().cloned().collect(),
        now.env.iter().cloned().collect(),
    );
    let names: BTreeSet<&String> = bv.keys().chain(nv.keys()).collect();
    for name in names {
        let (x, y) = (
            bv.get(name).cloned().flatten(),
            nv.get(name).cloned().flatten(),
        );
        let known_both = bv.contains_key(name) && nv.contains_key(name);
        if known_both && x != y {
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
    let (b, n) = (sort_args(&before.args), sort_args(&now.args));
    set_changes(
        &mut changes,
        &b.features,
        &n.features,
        |name| Change::FeatureAdded { name },
        |name| Change::FeatureRemoved { name },
    );
    set_changes(
        &mut changes,
        &b.cfgs,
        &n.cfgs,
        |cfg| Change::CfgAdded { cfg },
        |cfg| Change::CfgRemoved { cfg },
    );
    let options: BTreeSet<&String> = b.codegen.keys().chain(n.codegen.keys()).collect();
    for o in options {
        let (x, y) = (b.codegen.get(o), n.codegen.get(o));
        if x != y {
            changes.push(Change::Codegen {
                option: o.clone(),
                from: x.cloned(),
                to: y.cloned(),
            });
        }
    }
    set_changes(
        &mut changes,
        &b.flags,
        &n.flags,
        |flag| Change::FlagAdded { flag },
        |flag| Change::FlagRemoved { flag },
    );

    let (be, ne): (BTreeMap<_, _>, BTreeMap<_, _>) = (
        before.externs.iter().cloned().collect(),
        now.externs.iter().cloned().collect(),
    );
    for (name, d) in &ne {
        match be.get(name) {
            None => changes.push(Change::DependencyAdded { name: name.clone() }),
            Some(old) if old != d => changes.push(Change::DependencyRebuilt { name: name.clone() }),
            Some(_) => {}
        }
    }
    changes.extend(
        be.keys()
            .filter(|k| !ne.contains_key(*k))
            .map(|k| Change::DependencyRemoved { name: k.clone() }),
    );

    let (bf, nf): (BTreeMap<_, _>, BTreeMap<_, _>) = (
        before.files.iter().cloned().collect(),
        now.files.iter().cloned().collect(),
    );
    // Artifacts of dependencies (read through `--extern` and `-L
    // dependency=`, and by the linker) change with the dependency, and
    // their names with its features and flags: reported once, as rebuilt
    // dependencies.
    for (path, d) in nf.iter().filter(|(p, _)| !is_dependency_artifact(p)) {
        match bf.get(path) {
            None => changes.push(Change::FileAdded { path: path.clone() }),
            Some(old) if old != d => changes.push(Change::FileChanged { path: path.clone() }),
            Some(_) => {}
        }
    }
    changes.extend(
        bf.keys()
            .filter(|k| !nf.contains_key(*k) && !is_dependency_artifact(k))
            .map(|k| Change::FileRemoved { path: k.clone() }),
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
