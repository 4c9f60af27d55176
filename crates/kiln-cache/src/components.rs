//! What an entry key covered, saved for `kiln explain` beside the entry.
//! Best effort: explanations are a convenience, the entry is what matters.

use kiln_key::Digest;
use kiln_store::LocalStore;
use kiln_store::manifest::Inputs;
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

/// The components of an action observed while it ran: files read, paths
/// missing, and the variables it read besides `env` (name and digest), with
/// the values people may see (`show_all_values`: every one).
pub(crate) fn observed(
    inputs: &Inputs,
    mut env: Vec<(String, Option<String>)>,
    show_all_values: bool,
) -> KeyComponents {
    env.extend(
        inputs
            .env
            .iter()
            .map(|(n, d)| (n.clone(), d.as_deref().map(short))),
    );
    env.sort();
    env.dedup();
    KeyComponents {
        version: kiln_types::COMPONENTS_VERSION,
        compiler: String::new(),
        compiler_digest: String::new(),
        clippy: None,
        args: Vec::new(),
        externs: Vec::new(),
        files: inputs
            .files
            .iter()
            .map(|(p, d)| (kiln_key::Roots::display(p), short(d)))
            .collect(),
        absent: inputs
            .absent
            .iter()
            .map(|p| kiln_key::Roots::display(p))
            .collect(),
        env_values: env
            .iter()
            .filter(|(name, digest)| {
                digest.is_some() && (show_all_values || kiln_types::env_value_shown(name))
            })
            .filter_map(|(name, _)| {
                Some((
                    name.clone(),
                    crate::env_rules::var(name)?.into_string().ok()?,
                ))
            })
            .collect(),
        build_script_env: Vec::new(),
        env,
    }
}
