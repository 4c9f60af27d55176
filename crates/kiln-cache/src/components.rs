//! What an entry key covered, saved for `kiln explain` beside the entry.
//! Best effort: explanations are a convenience, the entry is what matters.

use kiln_key::Digest;
use kiln_store::LocalStore;
use kiln_types::KeyComponents;

/// Writes `components` for `key` (atomically; errors are ignored).
pub(crate) fn save(store: &LocalStore, key: &Digest, components: &KeyComponents) {
    let path = store.components_path(key);
    let Some(dir) = path.parent() else { return };
    let Ok(json) = serde_json::to_vec(components) else {
        return;
    };
    if std::fs::create_dir_all(dir).is_ok() {
        let tmp = dir.join(format!(".{}.tmp", std::process::id()));
        if std::fs::write(&tmp, json).is_ok() {
            let _ = std::fs::rename(&tmp, &path);
        }
    }
}

/// A digest prefix for people.
pub(crate) fn short(d: &str) -> String {
    d.get(..16).unwrap_or(d).to_owned()
}
