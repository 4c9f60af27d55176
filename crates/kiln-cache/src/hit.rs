//! The hit path of a rustc call: an earlier compile whose inputs still hold
//! (found by [`crate::lookup`]) has its outputs restored and its messages
//! replayed. rustc does not run.

use std::time::Instant;

use kiln_key::Digest;
use kiln_store::entry;
use kiln_types::UnitRecord;

use crate::inputs::Keying;
use crate::log::micros;
use crate::lookup::{Found, lookup_noted};
use crate::unit::Unit;

/// Tries to answer the call from the store. Returns `true` when the outputs
/// are in place and the messages replayed.
pub(crate) fn lookup(
    unit: &Unit<'_>,
    k: &Keying<'_>,
    inv_key: &Digest,
    rec: &mut UnitRecord,
    hash_start: Instant,
) -> bool {
    let mut restore_start = None;
    let found = lookup_noted(
        &unit.basis.tiers,
        k,
        inv_key,
        unit.basis.cfg,
        rec,
        "compile",
        &mut |key, reader| {
            let started = *restore_start.get_or_insert_with(Instant::now);
            let fix = |b: &[u8]| unit.basis.roots.restore(b);
            entry::restore(key, reader, &unit.out_dir, &fix).map(|r| (r, started))
        },
    );
    let Found::Hit {
        key,
        value: (restored, started),
        inputs,
    } = found
    else {
        return false;
    };
    // Inside an observed build-script run, the run depends on what this
    // compile depended on.
    let program = std::path::Path::new(&unit.call.program);
    kiln_trace::forward_lookups(crate::env_rules::ALWAYS.iter().copied(), program);
    crate::lookup::forward_inputs(&inputs, k, program);
    crate::lookup::forward_outputs(&restored);
    rec.timings.hash_us += micros(started.saturating_duration_since(hash_start));
    crate::compile::replay(
        &restored.stdout,
        &unit.basis.roots.restore(&restored.stderr),
    );
    for (_, dest, digest) in &restored.files {
        if let Some(d) = digest {
            unit.basis.hasher.remember(dest, *d);
        }
    }
    crate::lookup::record_hit(rec, &key, &restored, started);
    true
}
