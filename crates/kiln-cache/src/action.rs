//! What every kind of cached action (a rustc call, a build-script run, a C
//! compile) is keyed and stored with once it is prepared: the
//! configuration, the machine's roots, the file hasher and the tiers. A
//! kind holds a [`Basis`] beside what is its own, and
//! [`Basis::restore_and_replay`] is the hit of the kinds whose entries
//! restore as a whole and replay their messages.

use std::cell::RefCell;
use std::path::Path;
use std::time::{Instant, SystemTime};

use kiln_config::{Config, PathMode};
use kiln_key::{Digest, FileHasher, Roots};
use kiln_store::LocalStore;
use kiln_store::Store;
use kiln_store::entry::{EntryWriter, Restored, SourceFile, Written};
use kiln_store::manifest;
use kiln_types::{PassReason, UnitKind, UnitRecord};

use crate::inputs::{Keying, Observed, entry_key, snapshot};
use crate::lookup::{Entry, Found, Tiers, lookup_noted};
use crate::paths::TextRule;
use crate::refusal::NotStored;

/// The shared part of a prepared action.
pub(crate) struct Basis<'a> {
    pub cfg: &'a Config,
    /// The machine's directories, as keys and stored texts name them.
    pub roots: Roots,
    /// The action belongs to a package below `CARGO_HOME` (a dependency).
    pub from_cargo_home: bool,
    pub hasher: FileHasher,
    /// The local store and the remote tier behind it.
    pub tiers: Tiers,
}

impl<'a> Basis<'a> {
    /// The basis of an action of `cfg` placed by `roots`.
    pub fn new(cfg: &'a Config, roots: Roots, from_cargo_home: bool) -> Self {
        Self {
            cfg,
            roots,
            from_cargo_home,
            hasher: FileHasher::new(Some(cfg.dir.join("hashes"))),
            tiers: Tiers {
                store: LocalStore::new(&cfg.dir),
                remote: RefCell::new(kiln_remote::Tier::new(cfg)),
            },
        }
    }

    /// How the action's inputs are keyed; `script` for actions inside a
    /// build-script run.
    pub fn keying(&self, script: bool) -> Keying<'_> {
        Keying {
            roots: &self.roots,
            mode: self.cfg.paths,
            from_cargo_home: self.from_cargo_home,
            hasher: &self.hasher,
            env: &crate::env_rules::lookup,
            script,
            salt: crate::inputs::value_salt(self.cfg),
        }
    }

    /// How stored text is mapped to this machine: paths are replaced in the
    /// outputs of a package from `CARGO_HOME` in normalize mode.
    pub fn text_rule(&self) -> TextRule<'_> {
        TextRule {
            roots: &self.roots,
            normalize: self.from_cargo_home && self.cfg.paths == PathMode::Normalize,
        }
    }

    /// Looks `inv_key` up inside a build-script run, restores a hit with
    /// `restore`, replays its messages and records it. Returns the inputs
    /// of a hit, `None` on a miss.
    pub fn restore_and_replay(
        &self,
        inv_key: &Digest,
        rec: &mut UnitRecord,
        what: &str,
        restore: &mut dyn FnMut(&Digest, Entry) -> Result<Restored, kiln_store::StoreError>,
    ) -> Option<(manifest::Inputs, Restored)> {
        let keying = self.keying(true);
        let started = Instant::now();
        let found = lookup_noted(&self.tiers, &keying, inv_key, self.cfg, rec, what, restore);
        let Found::Hit { key, value, inputs } = found else {
            return None;
        };
        let rule = self.text_rule();
        crate::compile::replay(&rule.to_local(&value.stdout), &rule.to_local(&value.stderr));
        crate::lookup::record_hit(rec, &key, &value, started);
        Some((inputs, value))
    }

    /// Hands what a hit read and wrote to the trace of the run around it, as
    /// if `program` had run.
    pub fn forward(&self, inputs: &manifest::Inputs, restored: &Restored, program: &Path) {
        crate::lookup::forward_inputs(inputs, &self.keying(true), program);
        crate::lookup::forward_outputs(restored);
    }

    /// The input list of what `o` observed and the entry key it gives
    /// under `inv_key`. Refused when an input changed since `started_at`
    /// (`during`: what ran, for the message).
    pub fn key_observed(
        &self,
        o: &Observed,
        k: &Keying<'_>,
        inv_key: &Digest,
        started_at: SystemTime,
        target_dir: Option<&Path>,
        during: &str,
    ) -> Result<(manifest::Inputs, Digest), NotStored> {
        if let Some(p) = crate::inputs::changed_since(o, started_at, target_dir) {
            return Err(NotStored::Uncacheable(
                PassReason::InputChanged,
                format!("`{}` changed while {during}", p.display()),
            ));
        }
        let inputs = snapshot(o, k).map_err(|e| NotStored::Problem(e.to_string()))?;
        let key = entry_key(inv_key, &inputs);
        Ok((inputs, key))
    }

    /// Writes the entry `key` (`files`, the messages, the compile time) and
    /// puts it in the local store.
    pub fn put_entry(
        &self,
        key: &Digest,
        files: &[SourceFile<'_>],
        messages: (&[u8], &[u8]),
        compile_ms: u64,
        name: &str,
    ) -> Result<Written, NotStored> {
        let staging = self.tiers.store.staging_dir();
        let (stdout, stderr) = messages;
        let written = EntryWriter::write(&staging, key, files, stdout, stderr, compile_ms, name)
            .map_err(|e| NotStored::Problem(e.to_string()))?;
        self.tiers.put_entry(key, &written)?;
        Ok(written)
    }

    /// Adds `inputs` as the newest input list of `inv_key` and hands the
    /// entry to the remote tier.
    pub fn publish(
        &self,
        inv_key: &Digest,
        key: &Digest,
        inputs: manifest::Inputs,
    ) -> Result<(), NotStored> {
        self.tiers
            .publish(inv_key, key, inputs, !self.cfg.explain_env_values)
    }
}

/// The observer's trace of an action that ran observed.
pub(crate) fn read_trace(trace_file: &Path) -> Result<kiln_trace::Trace, NotStored> {
    let path_var = crate::env_rules::var("PATH");
    kiln_trace::parse_trace(trace_file, path_var.as_deref())
        .map_err(|e| NotStored::Problem(format!("cannot read the input trace: {e}")))
}

/// The record of an action of `kind` starting now: in this build's run (or
/// the day's ad-hoc run), of the package cargo names in the environment.
pub(crate) fn start_record(cfg: &Config, kind: UnitKind) -> UnitRecord {
    let now = kiln_record::now_ms();
    UnitRecord {
        kind,
        run: cfg
            .run_id
            .clone()
            .unwrap_or_else(|| kiln_record::adhoc_run_id(now)),
        started_ms: now,
        package: crate::env_rules::text("CARGO_PKG_NAME"),
        package_version: crate::env_rules::text("CARGO_PKG_VERSION"),
        ..UnitRecord::starting()
    }
}
