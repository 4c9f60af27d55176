//! The hit path: find an earlier compile whose inputs still hold, restore its
//! outputs, replay its messages. rustc does not run.

use std::io::Write;
use std::time::Instant;

use kiln_key::Digest;
use kiln_remote::{Fetched, Kind};
use kiln_store::manifest;
use kiln_store::{Store, StoreError, entry};
use kiln_types::{Outcome, UnitRecord};

use crate::inputs::{Keying, entry_key, verify};
use crate::wrapper::{Unit, log, micros, warn};

/// Tries to answer the call from the store. Returns `true` when the outputs
/// are in place and the messages replayed.
pub(crate) fn lookup(
    unit: &Unit<'_>,
    k: &Keying<'_>,
    inv_key: &Digest,
    rec: &mut UnitRecord,
    hash_start: Instant,
) -> bool {
    if try_candidates(unit, k, inv_key, rec, hash_start) {
        return true;
    }
    // Nothing local fits: the remote store may know more compiles of this
    // invocation (its manifest is merged into the local one).
    if fetch(unit, Kind::Manifest, inv_key) == Fetched::Found {
        return try_candidates(unit, k, inv_key, rec, hash_start);
    }
    false
}

/// Asks the remote tier, if there is one, for an object.
fn fetch(unit: &Unit<'_>, kind: Kind, key: &Digest) -> Fetched {
    unit.with_remote(|t| t.fetch(kind, key))
        .unwrap_or(Fetched::Off)
}

/// An entry opened for restoring, and whether it came from the remote tier.
type Opened = Option<(Box<dyn std::io::Read + Send>, bool)>;

/// Opens the entry of `key`, locally or else fetched from the remote tier.
fn open_entry(unit: &Unit<'_>, key: &Digest) -> Result<Opened, StoreError> {
    match unit.store.open(key)? {
        Some(r) => Ok(Some((r, false))),
        None if fetch(unit, Kind::Entry, key) == Fetched::Found => {
            Ok(unit.store.open(key)?.map(|r| (r, true)))
        }
        None => Ok(None),
    }
}

fn try_candidates(
    unit: &Unit<'_>,
    k: &Keying<'_>,
    inv_key: &Digest,
    rec: &mut UnitRecord,
    hash_start: Instant,
) -> bool {
    let m = manifest::load(&unit.store.manifest_dir(), inv_key);
    for c in &m.candidates {
        let key = entry_key(inv_key, &c.inputs);
        if key.to_hex() != c.key || !verify(&c.inputs, k) {
            continue;
        }
        let (reader, fetched) = match open_entry(unit, &key) {
            Ok(Some(opened)) => opened,
            Ok(None) => {
                log(
                    unit.cfg,
                    &format!("{}: entry {key:?} evicted", unit.inv.crate_name),
                );
                continue;
            }
            Err(e) => {
                warn(&format!("cannot read {}: {e}", unit.store.describe()));
                return false;
            }
        };
        rec.timings.hash_us += micros(hash_start.elapsed());
        let restore_start = Instant::now();
        let fix = |b: &[u8]| unit.roots.restore(b);
        match entry::restore(&key, reader, &unit.out_dir, &fix) {
            Ok(restored) => {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(&restored.stdout);
                let _ = out.flush();
                let mut err = std::io::stderr().lock();
                let _ = err.write_all(&unit.roots.restore(&restored.stderr));
                let _ = err.flush();
                for (_, dest, digest) in &restored.files {
                    if let Some(d) = digest {
                        unit.hasher.remember(dest, *d);
                    }
                }
                if fetched {
                    unit.with_remote(kiln_remote::Tier::mark_hit);
                }
                rec.outcome = Outcome::Hit;
                rec.key = Some(key.to_hex());
                rec.compile_ms = restored.compile_ms;
                rec.bytes_read = restored.bytes;
                rec.timings.store_us = micros(restore_start.elapsed());
                return true;
            }
            Err(e @ StoreError::Corrupt { .. }) => {
                warn(&format!("{e}; removed it"));
                let _ = unit.store.remove(&key);
                rec.corrupt_entry = true;
            }
            Err(e) => {
                warn(&format!(
                    "cannot restore from {}: {e}",
                    unit.store.describe()
                ));
                return false;
            }
        }
    }
    false
}
