//! One `cargo` command line from a CI script, parsed into what it compiles
//! and with which settings.

use std::collections::BTreeMap;

/// The cargo subcommand, as far as compiling goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sub {
    Build,
    Test,
    Check,
    Clippy,
    Run,
    Bench,
    Doc,
    /// `cargo nextest run`
    Nextest,
    Other,
}

/// A `cargo` invocation found in a CI script.
#[derive(Debug, Clone)]
pub(crate) struct CargoCall {
    /// Index of the pipeline and job it is in.
    pub pipeline: usize,
    pub job: usize,
    /// Line in the CI file.
    pub line: u32,
    pub sub: Sub,
    /// `+toolchain`, when given.
    pub toolchain: Option<String>,
    pub packages: Vec<String>,
    pub bins: Vec<String>,
    /// `--bins`
    pub all_bins: bool,
    /// `--workspace` or `--all`
    pub workspace: bool,
    /// Sorted, deduplicated `--features`.
    pub features: Vec<String>,
    pub all_features: bool,
    pub no_default_features: bool,
    pub release: bool,
    pub profile: Option<String>,
    pub target: Option<String>,
    /// Effective environment: CI variables overlaid with inline `VAR=x`.
    pub env: BTreeMap<String, String>,
    /// Some argument is a CI expression or shell variable whose value is
    /// not known here.
    pub dynamic: bool,
    /// The command as written (words joined by spaces).
    pub text: String,
}

/// Words that may precede the command itself.
const PREFIXES: &[&str] = &["then", "do", "else", "time", "exec", "env", "command", "!"];

/// Parses `words` when they run cargo; `None` for any other command.
pub(crate) fn parse(words: &[String], ci_env: &BTreeMap<String, String>) -> Option<CargoCall> {
    let mut env = ci_env.clone();
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        if PREFIXES.contains(&w.as_str()) {
            i += 1;
        } else if let Some((name, value)) = assignment(w) {
            env.insert(name.to_owned(), value.to_owned());
            i += 1;
        } else {
            break;
        }
    }
    let program = words.get(i)?;
    let base = program.rsplit('/').next().unwrap_or(program);
    if base != "cargo" && base != "cross" {
        return None;
    }
    let mut rest = &words[i + 1..];
    let mut toolchain = None;
    if let Some(tc) = rest.first().and_then(|w| w.strip_prefix('+')) {
        toolchain = Some(tc.to_owned());
        rest = &rest[1..];
    }
    let (sub_word, args) = rest.split_first()?;
    let (sub, args) = match sub_word.as_str() {
        "build" | "b" => (Sub::Build, args),
        "test" | "t" => (Sub::Test, args),
        "check" | "c" => (Sub::Check, args),
        "clippy" => (Sub::Clippy, args),
        "run" | "r" => (Sub::Run, args),
        "bench" => (Sub::Bench, args),
        "doc" | "d" => (Sub::Doc, args),
        "nextest" if args.first().is_some_and(|a| a == "run") => (Sub::Nextest, &args[1..]),
        _ => (Sub::Other, args),
    };
    let mut call = CargoCall {
        pipeline: 0,
        job: 0,
        line: 0,
        sub,
        toolchain,
        packages: Vec::new(),
        bins: Vec::new(),
        all_bins: false,
        workspace: false,
        features: Vec::new(),
        all_features: false,
        no_default_features: false,
        release: false,
        profile: None,
        target: None,
        env,
        dynamic: false,
        text: words[i..].join(" "),
    };
    parse_args(&mut call, args);
    call.features.sort();
    call.features.dedup();
    Some(call)
}

fn parse_args(call: &mut CargoCall, args: &[String]) {
    let mut k = 0;
    while k < args.len() {
        let arg = args[k].as_str();
        if arg == "--" {
            break;
        }
        if arg.contains("${{") || arg.starts_with('$') {
            call.dynamic = true;
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_owned())),
            _ => (arg, None),
        };
        let takes_value = matches!(
            flag,
            "-p" | "--package"
                | "--bin"
                | "-F"
                | "--features"
                | "--profile"
                | "--cargo-profile"
                | "--target"
        );
        // nextest's `--profile` is its own; cargo's is `--cargo-profile`.
        let nextest = call.sub == Sub::Nextest;
        let value = if takes_value {
            inline.or_else(|| {
                k += 1;
                args.get(k).cloned()
            })
        } else {
            None
        };
        let value_str = value.unwrap_or_default();
        if value_str.contains("${{") || value_str.starts_with('$') {
            call.dynamic = true;
        }
        match flag {
            "-p" | "--package" => call.packages.push(value_str),
            "--bin" => call.bins.push(value_str),
            "--bins" => call.all_bins = true,
            "--workspace" | "--all" => call.workspace = true,
            "-F" | "--features" => call.features.extend(
                value_str
                    .split([',', ' '])
                    .filter(|f| !f.is_empty())
                    .map(str::to_owned),
            ),
            "--all-features" => call.all_features = true,
            "--no-default-features" => call.no_default_features = true,
            "-r" | "--release" => call.release = true,
            "--profile" if !nextest => call.profile = Some(value_str),
            "--cargo-profile" if nextest => call.profile = Some(value_str),
            "--target" => call.target = Some(value_str),
            _ => {}
        }
        k += 1;
    }
}

fn assignment(word: &str) -> Option<(&str, &str)> {
    let (name, value) = word.split_once('=')?;
    let valid = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    valid.then_some((name, value))
}

impl CargoCall {
    /// Produces machine code (build, test, run, bench), as opposed to
    /// metadata-only checks.
    pub fn codegen(&self) -> bool {
        matches!(
            self.sub,
            Sub::Build | Sub::Test | Sub::Run | Sub::Bench | Sub::Nextest
        )
    }

    /// Compiles anything at all.
    pub fn compiles(&self) -> bool {
        self.sub != Sub::Other
    }

    /// The profile dependencies are compiled with.
    pub fn profile_name(&self) -> String {
        if let Some(p) = &self.profile {
            return match p.as_str() {
                "test" => "dev".to_owned(),
                "bench" => "release".to_owned(),
                other => other.to_owned(),
            };
        }
        if self.release || self.sub == Sub::Bench {
            "release".to_owned()
        } else {
            "dev".to_owned()
        }
    }

    /// How features are chosen, for messages: `default features`,
    /// `--all-features`, `--features a,b`, ...
    pub fn feature_desc(&self) -> String {
        if self.all_features {
            return "`--all-features`".to_owned();
        }
        let mut parts = Vec::new();
        if self.no_default_features {
            parts.push("`--no-default-features`".to_owned());
        }
        if !self.features.is_empty() {
            parts.push(format!("`--features {}`", self.features.join(",")));
        }
        if parts.is_empty() {
            "default features".to_owned()
        } else {
            parts.join(" ")
        }
    }

    /// `RUSTFLAGS` (or `CARGO_ENCODED_RUSTFLAGS`) as set in CI; empty
    /// when unset.
    pub fn rustflags(&self) -> String {
        self.env
            .get("RUSTFLAGS")
            .or_else(|| self.env.get("CARGO_ENCODED_RUSTFLAGS"))
            .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
    }

    /// Selects specific packages or binaries rather than the workspace.
    pub fn selects_some(&self) -> bool {
        !self.workspace && (!self.packages.is_empty() || !self.bins.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(line: &str) -> Option<CargoCall> {
        let words: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
        parse(&words, &BTreeMap::new())
    }

    #[test]
    fn parses_selection_and_settings() {
        let c = call("RUSTFLAGS=-Dwarnings cargo +1.95 build -p api --package=worker --bin x --features b,a -F a --release --target x86_64-unknown-linux-musl")
            .expect("cargo call");
        assert_eq!(c.sub, Sub::Build);
        assert_eq!(c.toolchain.as_deref(), Some("1.95"));
        assert_eq!(c.packages, ["api", "worker"]);
        assert_eq!(c.bins, ["x"]);
        assert_eq!(c.features, ["a", "b"]);
        assert_eq!(c.profile_name(), "release");
        assert_eq!(c.rustflags(), "-Dwarnings");
        assert_eq!(c.target.as_deref(), Some("x86_64-unknown-linux-musl"));
    }

    #[test]
    fn profiles() {
        assert_eq!(
            call("cargo test").map(|c| c.profile_name()).as_deref(),
            Some("dev")
        );
        assert_eq!(
            call("cargo test --profile ci")
                .map(|c| c.profile_name())
                .as_deref(),
            Some("ci")
        );
        assert_eq!(
            call("cargo nextest run --profile ci --cargo-profile fast")
                .map(|c| c.profile_name())
                .as_deref(),
            Some("fast")
        );
        assert_eq!(
            call("cargo nextest run --release").map(|c| c.sub),
            Some(Sub::Nextest)
        );
        assert!(call("echo cargo build").is_none());
    }

    #[test]
    fn dynamic_values() {
        let c = call("cargo test --features ${{matrix.f}}").expect("cargo call");
        assert!(c.dynamic);
    }
}
