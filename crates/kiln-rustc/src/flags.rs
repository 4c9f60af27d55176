//! The rustc flags kiln knows, and what it does with each.
//!
//! [`FLAGS`] is the table: one row per flag, with its spellings, whether it
//! takes a value and what kiln reads out of it. Teaching kiln a flag is one
//! row. The forms a spelling accepts follow from how it is written:
//!
//! - a value flag spelled `--name` takes `--name value` or `--name=value`;
//! - a value flag spelled `-X` takes `-X value` or `-Xvalue` (`-Copt-level=3`);
//! - a switch takes neither: `--test=x` and `-gx` are unknown flags.
//!
//! Every argument, whatever its row, is in the argument list the invocation
//! key covers (how it is normalized there is `kiln-cache`'s business); a row
//! says what kiln needs besides: an output location, a probe, a refusal.
//! `-C` and `-Z` options have tables of their own ([`CODEGEN`],
//! [`SAFE_UNSTABLE`]).
//!
//! A flag missing from the table is never guessed at: the call is compiled
//! uncached. A row marked [`OnValue::Keyed`] or [`OnSwitch::Keyed`] claims
//! that the flag's effect on the output follows from its spelling and from
//! the files the compile is seen to read, and that it writes nothing beyond
//! the outputs kiln collects; a flag for which that is not true needs a row
//! that refuses the call. Applying a row to a call is [`crate::args`]'s.

use kiln_types::PassReason;

/// One flag rustc accepts.
#[derive(Debug)]
pub(crate) struct Flag {
    /// Its spellings, which all mean the same: `-C` and `--codegen`.
    pub names: &'static [&'static str],
    /// Whether it takes a value, and what kiln does with it.
    pub takes: Takes,
}

/// Whether a flag takes a value, and what kiln does with it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Takes {
    /// A switch: no value.
    Nothing(OnSwitch),
    /// A value, in the next argument or attached to the flag.
    Value(OnValue),
}

/// What a switch makes of the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnSwitch {
    /// Only keyed.
    Keyed,
    /// A question to the compiler (`-vV`, `--help`): the call is a probe.
    Probe,
    /// `--test`: a test harness, which links.
    Test,
}

/// What kiln reads out of a flag's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnValue {
    /// Only keyed.
    Keyed,
    /// A question to the compiler (`--print`): the call is a probe.
    Probe,
    /// The crate's name, which names its outputs.
    CrateName,
    /// Crate types, comma-separated; several flags add up.
    CrateTypes,
    /// Output kinds, comma-separated, each with an optional `=path`; a path
    /// of `-` (standard output) makes the call uncacheable.
    Emit,
    /// The output file (`-o`); `-` (standard output) makes the call
    /// uncacheable.
    Output,
    /// The output directory.
    OutDir,
    /// The target: a name or the path of a JSON specification.
    Target,
    /// `[opts:]name[=path]`: a crate the compiled crate may use.
    Extern,
    /// `[kind=]path`: a library search path.
    SearchPath,
    /// The diagnostic format: `json` means cargo reads the messages as JSON.
    ErrorFormat,
    /// `name[=value]`: a codegen option, looked up in [`CODEGEN`].
    Codegen,
    /// `name[=value]`: an unstable option, looked up in [`SAFE_UNSTABLE`].
    Unstable,
}

const fn switch(names: &'static [&'static str], on: OnSwitch) -> Flag {
    Flag {
        names,
        takes: Takes::Nothing(on),
    }
}

const fn value(names: &'static [&'static str], on: OnValue) -> Flag {
    Flag {
        names,
        takes: Takes::Value(on),
    }
}

/// Every flag kiln understands.
pub(crate) const FLAGS: &[Flag] = &[
    // What is compiled, and how.
    value(&["--crate-name"], OnValue::CrateName),
    value(&["--crate-type"], OnValue::CrateTypes),
    value(&["--edition"], OnValue::Keyed),
    value(&["--cfg"], OnValue::Keyed),
    value(&["--check-cfg"], OnValue::Keyed),
    value(&["--target"], OnValue::Target),
    value(&["-C", "--codegen"], OnValue::Codegen),
    value(&["-Z"], OnValue::Unstable),
    switch(&["-g"], OnSwitch::Keyed),
    switch(&["-O"], OnSwitch::Keyed),
    switch(&["--test"], OnSwitch::Test),
    // Where inputs come from.
    value(&["--extern"], OnValue::Extern),
    value(&["-L"], OnValue::SearchPath),
    value(&["-l"], OnValue::Keyed),
    value(&["--sysroot"], OnValue::Keyed),
    value(&["--env-set"], OnValue::Keyed),
    value(&["--remap-path-prefix"], OnValue::Keyed),
    // Where outputs go.
    value(&["--emit"], OnValue::Emit),
    value(&["-o"], OnValue::Output),
    value(&["--out-dir"], OnValue::OutDir),
    // Lints and messages.
    value(&["-A", "--allow"], OnValue::Keyed),
    value(&["-W", "--warn"], OnValue::Keyed),
    value(&["-D", "--deny"], OnValue::Keyed),
    value(&["-F", "--forbid"], OnValue::Keyed),
    value(&["--force-warn"], OnValue::Keyed),
    value(&["--cap-lints"], OnValue::Keyed),
    value(&["--error-format"], OnValue::ErrorFormat),
    value(&["--json"], OnValue::Keyed),
    value(&["--color"], OnValue::Keyed),
    value(&["--diagnostic-width"], OnValue::Keyed),
    // Questions to the compiler.
    value(&["--print"], OnValue::Probe),
    value(&["--explain"], OnValue::Probe),
    switch(&["-v", "--verbose"], OnSwitch::Probe),
    switch(&["-vV"], OnSwitch::Probe),
    switch(&["-V", "--version"], OnSwitch::Probe),
    switch(&["-h", "--help"], OnSwitch::Probe),
];

/// What kiln does with one `-C` option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OnCodegen {
    /// Only keyed.
    Keyed,
    /// `extra-filename`: part of every output's name.
    ExtraFilename,
    /// `linker`: the program that links.
    Linker,
    /// The call is not cached, for this reason.
    Refuse(PassReason, &'static str),
}

/// The `-C` options kiln does more with than key them, by name (`-` for
/// `_`, as rustc accepts either). Every other `-C` option is keyed.
pub(crate) const CODEGEN: &[(&str, OnCodegen)] = &[
    (
        "incremental",
        OnCodegen::Refuse(
            PassReason::Incremental,
            "`-C incremental` keeps rustc's own state",
        ),
    ),
    (
        "profile-generate",
        OnCodegen::Refuse(PassReason::ProfileGuided, "`-C profile-generate`"),
    ),
    (
        "profile-use",
        OnCodegen::Refuse(PassReason::ProfileGuided, "`-C profile-use`"),
    ),
    (
        "profile-sample-use",
        OnCodegen::Refuse(PassReason::ProfileGuided, "`-C profile-sample-use`"),
    ),
    ("extra-filename", OnCodegen::ExtraFilename),
    ("linker", OnCodegen::Linker),
];

/// `-Z` options known not to read or write anything beyond the normal
/// outputs, by name (`-` for `_`): keyed. Any other makes the call
/// uncacheable.
pub(crate) const SAFE_UNSTABLE: &[&str] = &[
    "unstable-options",
    "threads",
    "share-generics",
    "next-solver",
    "macro-backtrace",
];

/// A flag as written in one argument.
#[derive(Debug)]
pub(crate) struct Written<'a> {
    /// Its row.
    pub flag: &'static Flag,
    /// The spelling used.
    pub name: &'a str,
    /// A value attached to it (`--emit=link`, `-Copt-level=3`).
    pub attached: Option<&'a str>,
}

/// The row of `arg` (an argument starting with `-`), with the value attached
/// to it split off; `None` for a flag kiln does not know.
pub(crate) fn recognize(arg: &str) -> Option<Written<'_>> {
    if let Some(rest) = arg.strip_prefix("--") {
        let (name, attached) = match rest.split_once('=') {
            Some((name, value)) => (&arg[..name.len() + 2], Some(value)),
            None => (arg, None),
        };
        return row(name).map(|flag| Written {
            flag,
            name,
            attached,
        });
    }
    if arg.len() > 2
        && let Some(name) = arg.get(..2)
        && let Some(flag) = row(name).filter(|f| matches!(f.takes, Takes::Value(_)))
    {
        return Some(Written {
            flag,
            name,
            attached: Some(&arg[2..]),
        });
    }
    row(arg).map(|flag| Written {
        flag,
        name: arg,
        attached: None,
    })
}

fn row(name: &str) -> Option<&'static Flag> {
    FLAGS.iter().find(|f| f.names.contains(&name))
}

/// What kiln does with the `-C` option `name` (already spelled with `-`).
pub(crate) fn codegen(name: &str) -> OnCodegen {
    CODEGEN
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(OnCodegen::Keyed, |(_, on)| on.clone())
}

/// Whether the `-Z` option `name` (already spelled with `-`) is keyed.
pub(crate) fn unstable_is_safe(name: &str) -> bool {
    SAFE_UNSTABLE.contains(&name)
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use super::*;
    use crate::args::{Invocation, Plan, plan};

    #[test]
    fn spellings_are_unique_and_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for flag in FLAGS {
            assert!(!flag.names.is_empty());
            for name in flag.names {
                assert!(seen.insert(*name), "`{name}` is in two rows");
                assert!(name.starts_with('-') && !name.contains('='), "`{name}`");
                // A short value flag glues its value on (`-Cx`): only a
                // two-character spelling has a place where the value starts.
                if matches!(flag.takes, Takes::Value(_)) && !name.starts_with("--") {
                    assert_eq!(name.len(), 2, "`{name}`");
                }
            }
        }
        for (i, (name, _)) in CODEGEN.iter().enumerate() {
            assert!(!name.contains('_'), "`-C {name}`");
            assert!(CODEGEN[..i].iter().all(|(n, _)| n != name), "`-C {name}`");
        }
        assert!(SAFE_UNSTABLE.iter().all(|n| !n.contains('_')));
    }

    #[test]
    fn forms_follow_the_spelling() {
        fn split(arg: &str) -> Option<(&str, Option<&str>)> {
            recognize(arg).map(|w| (w.name, w.attached))
        }
        assert_eq!(split("--emit=link"), Some(("--emit", Some("link"))));
        assert_eq!(split("--emit"), Some(("--emit", None)));
        assert_eq!(split("--cfg="), Some(("--cfg", Some(""))));
        assert_eq!(
            split("--codegen=opt-level=3"),
            Some(("--codegen", Some("opt-level=3")))
        );
        assert_eq!(split("-Copt-level=3"), Some(("-C", Some("opt-level=3"))));
        assert_eq!(split("-C"), Some(("-C", None)));
        assert_eq!(split("-o-"), Some(("-o", Some("-"))));
        assert_eq!(split("-vV"), Some(("-vV", None)));
        assert_eq!(split("--test=x"), Some(("--test", Some("x"))));
        assert_eq!(split("-gx"), None);
        assert_eq!(split("-O3"), None);
        assert_eq!(split("--"), None);
        assert_eq!(split("--frobnicate=1"), None);
        assert_eq!(split("-é"), None);
    }

    #[test]
    fn option_tables() {
        assert_eq!(codegen("opt-level"), OnCodegen::Keyed);
        assert_eq!(codegen("linker"), OnCodegen::Linker);
        assert!(matches!(
            codegen("incremental"),
            OnCodegen::Refuse(PassReason::Incremental, _)
        ));
        assert!(unstable_is_safe("threads"));
        assert!(!unstable_is_safe("self-profile"));
    }

    const BASE: &str = "--crate-name foo src/lib.rs --out-dir /o";
    const SAFE_UNSTABLE_SAMPLE: &str = "threads=2";

    /// `BASE` with `flag` added, in every form its spelling accepts.
    fn forms(name: &str, takes: Takes, value: &str) -> Vec<Vec<String>> {
        let base = || BASE.split_whitespace().map(str::to_owned);
        let with = |extra: &[String]| base().chain(extra.iter().cloned()).collect();
        match takes {
            Takes::Nothing(_) => vec![with(&[name.to_owned()])],
            Takes::Value(_) if name.starts_with("--") => vec![
                with(&[name.to_owned(), value.to_owned()]),
                with(&[format!("{name}={value}")]),
            ],
            Takes::Value(_) => vec![
                with(&[name.to_owned(), value.to_owned()]),
                with(&[format!("{name}{value}")]),
            ],
        }
    }

    use crate::args::tests::{inv, plan_of};

    fn plan_of_args(args: &[String]) -> Plan {
        let raw: Vec<OsString> = args.iter().map(OsString::from).collect();
        plan(&raw)
    }

    #[test]
    fn every_flag_in_the_table_round_trips() {
        let base = inv(BASE);
        for flag in FLAGS {
            for name in flag.names {
                let value = match flag.takes {
                    Takes::Value(OnValue::Unstable) => SAFE_UNSTABLE_SAMPLE,
                    _ => "v",
                };
                for args in forms(name, flag.takes, value) {
                    let got = plan_of_args(&args);
                    match flag.takes {
                        Takes::Nothing(OnSwitch::Keyed) | Takes::Value(OnValue::Keyed) => {
                            // Only keyed: the call is the base call with
                            // this argument list.
                            let Plan::Cache(got) = got else {
                                panic!("{args:?}: {got:?}")
                            };
                            assert_eq!(got.args, args);
                            assert_eq!(
                                Invocation {
                                    args: base.args.clone(),
                                    ..*got
                                },
                                base,
                                "{args:?}"
                            );
                        }
                        Takes::Nothing(OnSwitch::Probe) | Takes::Value(OnValue::Probe) => {
                            assert_eq!(got, Plan::Probe, "{args:?}");
                        }
                        _ => assert!(matches!(got, Plan::Cache(_)), "{args:?}: {got:?}"),
                    }
                }
                // Missing value, or a value given to a switch: not guessed at.
                let (last, extra) = match flag.takes {
                    Takes::Value(_) => (name.to_string(), format!("flag `{name}` has no value")),
                    Takes::Nothing(_) if name.starts_with("--") => {
                        (format!("{name}=v"), format!("unknown flag `{name}=v`"))
                    }
                    Takes::Nothing(_) => (format!("{name}v"), format!("unknown flag `{name}v`")),
                };
                assert_eq!(
                    plan_of(&format!("{BASE} {last}")),
                    Plan::Pass(PassReason::UnknownFlag, extra)
                );
            }
        }
    }

    /// Today's flags and what they do: a row that changes treatment changes
    /// what goes into keys, so it must change here too.
    #[test]
    fn known_flags_keep_their_treatment() {
        let keyed = [
            "--cfg",
            "--check-cfg",
            "-l",
            "--edition",
            "-A",
            "-W",
            "-D",
            "-F",
            "--allow",
            "--warn",
            "--deny",
            "--forbid",
            "--force-warn",
            "--cap-lints",
            "--json",
            "--color",
            "--diagnostic-width",
            "--remap-path-prefix",
            "--sysroot",
            "--env-set",
        ];
        let probes = ["--print", "--explain"];
        let switches = [
            ("-g", OnSwitch::Keyed),
            ("-O", OnSwitch::Keyed),
            ("--test", OnSwitch::Test),
            ("-v", OnSwitch::Probe),
            ("-vV", OnSwitch::Probe),
            ("--verbose", OnSwitch::Probe),
            ("-V", OnSwitch::Probe),
            ("--version", OnSwitch::Probe),
            ("-h", OnSwitch::Probe),
            ("--help", OnSwitch::Probe),
        ];
        let values = [
            ("--crate-name", OnValue::CrateName),
            ("--crate-type", OnValue::CrateTypes),
            ("--emit", OnValue::Emit),
            ("-o", OnValue::Output),
            ("--out-dir", OnValue::OutDir),
            ("--target", OnValue::Target),
            ("--extern", OnValue::Extern),
            ("-L", OnValue::SearchPath),
            ("--error-format", OnValue::ErrorFormat),
            ("-C", OnValue::Codegen),
            ("--codegen", OnValue::Codegen),
            ("-Z", OnValue::Unstable),
        ];
        let takes = |name: &str| recognize(name).map(|w| w.flag.takes);
        for name in keyed {
            assert!(
                matches!(takes(name), Some(Takes::Value(OnValue::Keyed))),
                "{name}"
            );
        }
        for name in probes {
            assert!(
                matches!(takes(name), Some(Takes::Value(OnValue::Probe))),
                "{name}"
            );
        }
        for (name, on) in switches {
            assert!(
                matches!(takes(name), Some(Takes::Nothing(o)) if o == on),
                "{name}"
            );
        }
        for (name, on) in values {
            assert!(
                matches!(takes(name), Some(Takes::Value(o)) if o == on),
                "{name}"
            );
        }
    }
}
