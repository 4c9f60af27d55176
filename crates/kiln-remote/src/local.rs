//! Moving objects between the remote store and the local one.
//!
//! A fetched entry is staged and renamed into the local store, compressed as
//! it came (its own digests are checked when it is restored); a fetched
//! manifest is merged with the local one, remote lists first; key components
//! are copied.

use std::io::Write;
use std::path::PathBuf;

use kiln_key::Digest;
use kiln_store::manifest::{Candidate, Manifest};
use kiln_store::{LocalStore, Store, StoreError, manifest};

use crate::Kind;
use crate::client::Object;

/// Where `kind`'s object for `key` lives locally.
pub fn path(local: &LocalStore, kind: Kind, key: &Digest) -> PathBuf {
    match kind {
        Kind::Entry => local.entry_path(key),
        Kind::Manifest => manifest::path_for(&local.manifest_dir(), key),
        Kind::Components => local.components_path(key),
    }
}

/// Reads the local object to upload. Manifests are returned as they are.
/// Links and files over the object bound are refused, as in any store.
pub fn read(local: &LocalStore, kind: Kind, key: &Digest) -> Result<Vec<u8>, StoreError> {
    let p = path(local, kind, key);
    let rel = p.strip_prefix(local.root()).unwrap_or(&p);
    let max = crate::client::max_object(&kind.name(key));
    match kiln_store::nofollow::read(local.root(), rel, max) {
        Ok(Some(bytes)) => Ok(bytes),
        Ok(None) => Err(StoreError::io(
            "read",
            &p,
            std::io::ErrorKind::NotFound.into(),
        )),
        Err(e) => Err(StoreError::io("read", &p, e)),
    }
}

/// Writes a fetched object into the local store.
pub fn install(
    local: &LocalStore,
    kind: Kind,
    key: &Digest,
    object: Object,
) -> Result<(), StoreError> {
    let unreadable = |what: &str, e: crate::frame::FrameError| StoreError::Corrupt {
        key: key.to_hex(),
        detail: format!("remote {what}: {e}"),
    };
    match kind {
        Kind::Entry => {
            let file = object.entry_file().map_err(|e| unreadable("entry", e))?;
            let staging = local.staging_dir();
            std::fs::create_dir_all(&staging).map_err(|e| StoreError::io("create", &staging, e))?;
            let mut tmp = tempfile::Builder::new()
                .prefix(&format!("entry-{}-", kiln_store::local::staging_tag()))
                .tempfile_in(&staging)
                .map_err(|e| StoreError::io("create", &staging, e))?;
            tmp.write_all(&file)
                .map_err(|e| StoreError::io("write", tmp.path(), e))?;
            local.put(key, tmp.path())?;
            Ok(())
        }
        Kind::Manifest => {
            let payload = object.payload().map_err(|e| unreadable("manifest", e))?;
            let Some(remote) = manifest::parse(&payload) else {
                return Err(StoreError::Corrupt {
                    key: key.to_hex(),
                    detail: "remote manifest is not readable".into(),
                });
            };
            let dir = local.manifest_dir();
            let merged = manifest::merge(&remote, &manifest::load(&dir, key));
            manifest::save(&dir, key, &merged)
        }
        Kind::Components => {
            let payload = object
                .payload()
                .map_err(|e| unreadable("key components", e))?;
            install_components(local, key, &payload)
        }
    }
}

/// Writes fetched key components (`payload`, plain) into the local store.
pub fn install_components(
    local: &LocalStore,
    key: &Digest,
    payload: &[u8],
) -> Result<(), StoreError> {
    let p = local.components_path(key);
    let parent = p.parent().unwrap_or(local.root());
    std::fs::create_dir_all(parent).map_err(|e| StoreError::io("create", parent, e))?;
    let mut tmp =
        tempfile::NamedTempFile::new_in(parent).map_err(|e| StoreError::io("create", parent, e))?;
    tmp.write_all(payload)
        .map_err(|e| StoreError::io("write", tmp.path(), e))?;
    tmp.persist(&p)
        .map_err(|e| StoreError::io("write", &p, e.error))?;
    Ok(())
}

/// Puts the manifest lists a prefetch index carries first in the local
/// manifests (a list already there is left as it is). Returns the
/// invocation keys installed; one that fails is fetched on demand instead.
pub fn install_candidates(local: &LocalStore, candidates: &[(Digest, Candidate)]) -> Vec<Digest> {
    let dir = local.manifest_dir();
    candidates
        .iter()
        .filter(|(key, candidate)| {
            let current = manifest::load(&dir, key);
            if current.candidates.iter().any(|c| c == candidate) {
                return true;
            }
            let carried = Manifest {
                version: manifest::MANIFEST_VERSION,
                candidates: vec![candidate.clone()],
            };
            manifest::save(&dir, key, &manifest::merge(&carried, &current)).is_ok()
        })
        .map(|(key, _)| *key)
        .collect()
}

/// A manifest to upload: the local one merged with what the remote holds
/// (`remote`, if any), local lists first, so parallel jobs keep each other's.
pub fn merged_manifest(local_bytes: &[u8], remote: Option<&[u8]>) -> Vec<u8> {
    let Some(local) = manifest::parse(local_bytes) else {
        return local_bytes.to_vec();
    };
    let Some(remote) = remote.and_then(manifest::parse) else {
        return local_bytes.to_vec();
    };
    serde_json::to_vec(&manifest::merge(&local, &remote)).unwrap_or_else(|_| local_bytes.to_vec())
}
