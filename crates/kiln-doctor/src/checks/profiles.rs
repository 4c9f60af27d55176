//! `profile-no-ci`, `profile-ci-slow`, `profile-no-deploy`: are the Cargo
//! profiles CI builds with tuned for compile speed?
//!
//! Profiles come from the root `Cargo.toml` and `.cargo/config.toml`
//! (config wins), following `inherits` down to `dev` or `release`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use toml_edit::Item;

use super::Context;
use crate::finding::{Finding, Location, Rule, Severity};

/// The CI profile kiln recommends, as TOML lines.
pub(crate) const CI_PROFILE: &[(&str, &str)] = &[
    ("inherits", "\"release\""),
    ("opt-level", "2"),
    ("lto", "\"off\""),
    ("codegen-units", "16"),
    ("debug", "0"),
    ("incremental", "false"),
    ("strip", "\"symbols\""),
];

/// The deploy profile kiln recommends, as TOML lines.
pub(crate) const DEPLOY_PROFILE: &[(&str, &str)] = &[
    ("inherits", "\"release\""),
    ("opt-level", "3"),
    ("lto", "\"thin\""),
    ("codegen-units", "1"),
    ("debug", "0"),
    ("strip", "\"symbols\""),
];

const BUILTIN: &[&str] = &["dev", "release", "test", "bench"];

/// One profile setting and where it is written.
#[derive(Debug, Clone)]
pub(crate) struct Setting {
    /// The value without quotes, for comparisons.
    pub value: String,
    /// The value as TOML, for messages.
    pub raw: String,
    pub from_profile: String,
    pub location: Location,
}

/// The snippet for a profile.
pub(crate) fn snippet(name: &str, lines: &[(&str, &str)]) -> String {
    let mut s = format!("[profile.{name}]\n");
    for (k, v) in lines {
        s.push_str(&format!("{k} = {v}\n"));
    }
    s
}

impl Context {
    /// Names of profiles defined in the manifest or in config.
    pub fn defined_profiles(&self) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        for file in self.manifest.iter().chain(&self.configs) {
            if let Some(t) = file.table(&["profile"]) {
                names.extend(t.iter().map(|(k, _)| k.to_owned()));
            }
        }
        names
    }

    /// `key` of profile `name`, following `inherits`; `None` when only the
    /// built-in default applies.
    pub fn profile_setting(&self, name: &str, key: &str) -> Option<Setting> {
        let mut current = name.to_owned();
        for _ in 0..8 {
            for file in self.configs.iter().chain(self.manifest.iter()) {
                if let Some(item) = file.get(&["profile", &current, key]) {
                    let (value, raw) = item_text(item);
                    return Some(Setting {
                        value,
                        raw,
                        from_profile: current.clone(),
                        location: Location::new(
                            file.rel.clone(),
                            file.line_of(&["profile", &current, key]),
                        ),
                    });
                }
            }
            let parent = self.inherits(&current);
            current = match (parent, current.as_str()) {
                (Some(p), _) => p,
                (None, "test") => "dev".to_owned(),
                (None, "bench") => "release".to_owned(),
                _ => return None,
            };
        }
        None
    }

    /// The profile `name` says it inherits from, in `.cargo/config.toml` or
    /// the manifest.
    fn inherits(&self, name: &str) -> Option<String> {
        self.configs
            .iter()
            .chain(self.manifest.iter())
            .find_map(|f| f.str(&["profile", name, "inherits"]).map(str::to_owned))
    }

    /// The built-in profile (`dev` or `release`) `name` ends at.
    pub fn profile_base(&self, name: &str) -> String {
        let mut current = name.to_owned();
        for _ in 0..8 {
            if current == "dev" || current == "release" {
                return current;
            }
            let parent = self.inherits(&current);
            current = match (parent, current.as_str()) {
                (Some(p), _) => p,
                (None, "bench") => "release".to_owned(),
                _ => "dev".to_owned(),
            };
        }
        "dev".to_owned()
    }

    /// Profiles CI compiles code with, and the jobs using each.
    pub fn ci_profiles(&self) -> Vec<(String, Vec<String>)> {
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for call in self
            .calls
            .iter()
            .filter(|c| c.codegen() && !self.for_releases(c))
        {
            let name = call.profile_name();
            let job = self.job_label(call);
            match out.iter_mut().find(|(n, _)| *n == name) {
                Some((_, jobs)) => {
                    if !jobs.contains(&job) {
                        jobs.push(job);
                    }
                }
                None => out.push((name, vec![job])),
            }
        }
        out
    }
}

/// A value unquoted and as TOML: `fat` and `"fat"`, `1` and `1`.
fn item_text(item: &Item) -> (String, String) {
    let Some(v) = item.as_value() else {
        return (String::new(), String::new());
    };
    if let Some(s) = v.as_str() {
        return (s.to_owned(), format!("\"{s}\""));
    }
    let text = v
        .as_integer()
        .map(|i| i.to_string())
        .or_else(|| v.as_bool().map(|b| b.to_string()))
        .unwrap_or_else(|| v.to_string().trim().to_owned());
    (text.clone(), text)
}

/// The profiles `--fix` should add: `ci` and/or `deploy`.
pub(crate) fn missing_profiles(
    findings: &[Finding],
) -> Vec<(&'static str, &'static [(&'static str, &'static str)])> {
    let mut out = Vec::new();
    if findings.iter().any(|f| f.id == Rule::ProfileNoCi) {
        out.push(("ci", CI_PROFILE));
    }
    if findings.iter().any(|f| f.id == Rule::ProfileNoDeploy) {
        out.push(("deploy", DEPLOY_PROFILE));
    }
    out
}

pub(super) fn check(ctx: &Context, out: &mut Vec<Finding>) {
    if ctx.manifest.is_none() {
        return;
    }
    let defined = ctx.defined_profiles();
    let mut used = ctx.ci_profiles();
    let has_custom_ci =
        defined.contains("ci") || used.iter().any(|(p, _)| !BUILTIN.contains(&p.as_str()));
    if !has_custom_ci {
        no_ci(ctx, &used, out);
    }
    if defined.contains("ci") && !used.iter().any(|(p, _)| p == "ci") {
        used.push(("ci".to_owned(), Vec::new()));
    }
    for (profile, jobs) in &used {
        slow(ctx, profile, jobs, out);
    }
    let has_bins = ctx.ws.members.iter().any(|m| !m.bins.is_empty());
    let deploy_like = defined.iter().any(|p| {
        !BUILTIN.contains(&p.as_str())
            && !used.iter().any(|(u, _)| u == p)
            && ctx.profile_base(p) == "release"
    });
    if has_bins && !deploy_like {
        let release_in_ci = used.iter().any(|(p, _)| p == "release");
        let message = if release_in_ci {
            "no deploy profile: CI and production builds share `release`"
        } else {
            "no deploy profile for production builds"
        };
        out.push(
            Finding::new(Rule::ProfileNoDeploy, Severity::Info, message)
                .at(ctx.manifest_rel(), None)
                .why(
                    "production wants small, fast binaries (LTO, one codegen unit) and CI wants \
                     fast compiles; one profile serving both either slows every CI run or ships \
                     less optimized binaries",
                )
                .fix(format!(
                    "add a profile for release artifacts and build them with `--profile deploy` \
                     (or run `kiln doctor --fix`):\n\n{}",
                    snippet("deploy", DEPLOY_PROFILE)
                )),
        );
    }
}

fn no_ci(ctx: &Context, used: &[(String, Vec<String>)], out: &mut Vec<Finding>) {
    let message = if used.is_empty() {
        "no `[profile.ci]` tuned for CI builds".to_owned()
    } else {
        let names: Vec<String> = used.iter().map(|(p, _)| format!("`{p}`")).collect();
        format!(
            "no profile tuned for CI: CI builds with {}",
            names.join(" and ")
        )
    };
    out.push(
        Finding::new(Rule::ProfileNoCi, Severity::Warning, message)
            .at(
                ctx.manifest_rel(),
                ctx.manifest.as_ref().and_then(|m| m.line_of(&["profile"])),
            )
            .why(
                "`dev` writes debug info and compiles incrementally, `release` usually pays for \
                 LTO and few codegen units; a CI profile (optimized, no LTO, 16 codegen units, \
                 no debug info, not incremental) compiles and links much faster",
            )
            .fix(format!(
                "add to the root `Cargo.toml` (or run `kiln doctor --fix`), then build and test \
                 in CI with `--profile ci`:\n\n{}",
                snippet("ci", CI_PROFILE)
            )),
    );
}

/// A profile setting that slows CI builds down.
struct SlowSetting {
    key: &'static str,
    bad: fn(&str) -> bool,
    why: &'static str,
    fix: &'static str,
}

const SLOW: &[SlowSetting] = &[
    SlowSetting {
        key: "lto",
        bad: |v| matches!(v, "true" | "fat" | "thin"),
        why: "link-time optimization redoes code generation across crates at link time, often \
              minutes per binary",
        fix: "lto = \"off\"",
    },
    SlowSetting {
        key: "codegen-units",
        bad: |v| v == "1",
        why: "one codegen unit serializes LLVM's work on each crate; 16 lets it run in parallel",
        fix: "codegen-units = 16",
    },
    SlowSetting {
        key: "debug",
        bad: |v| !matches!(v, "0" | "false" | "none"),
        why: "debug info makes compiling and linking slower and the artifacts (and cache \
              entries) several times larger",
        fix: "debug = 0",
    },
];

fn slow(ctx: &Context, profile: &str, jobs: &[String], out: &mut Vec<Finding>) {
    let who = if jobs.is_empty() {
        format!("profile `{profile}`")
    } else {
        format!("profile `{profile}` (used by {})", jobs.join(", "))
    };
    for &SlowSetting {
        key,
        bad,
        why,
        fix: fix_line,
    } in SLOW
    {
        let Some(setting) = ctx.profile_setting(profile, key) else {
            continue;
        };
        if !bad(&setting.value) {
            continue;
        }
        let inherited = if setting.from_profile == profile {
            String::new()
        } else {
            format!(" (inherited from `{}`)", setting.from_profile)
        };
        let target =
            if BUILTIN.contains(&profile) && profile != "dev" && setting.from_profile == profile {
                "a `[profile.ci]` that CI uses instead".to_owned()
            } else {
                format!("`[profile.{profile}]`")
            };
        out.push(
            Finding::new(
                Rule::ProfileCiSlow,
                Severity::Warning,
                format!("{who} compiles with `{key} = {}`{inherited}", setting.raw),
            )
            .at(PathBuf::from(&setting.location.file), setting.location.line)
            .why(why)
            .fix(format!("set `{fix_line}` in {target}")),
        );
    }
}
