//! Keeping the local store within its bound: after a write, gc runs when
//! the store's ledger says it outgrew it, one process at a time.

use kiln_config::Config;
use kiln_store::LocalStore;

use crate::log::warn;

/// Runs a size-bounded gc when the store's ledger says it outgrew its
/// bound (or does not know), skipping it when another process is already
/// collecting.
pub(crate) fn maybe_gc(cfg: &Config, store: &LocalStore) {
    if !store.may_exceed(cfg.cache_size) {
        return;
    }
    let lock_path = store.lock_dir().join("gc");
    let Ok(f) = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
    else {
        return;
    };
    if f.try_lock().is_ok() {
        if let Err(e) = store.gc(cfg.cache_size) {
            warn(&format!("cache size check failed: {e}"));
        }
        kiln_record::prune(&cfg.dir, 30);
    }
}
