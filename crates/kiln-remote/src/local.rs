//! Moving objects between the remote store and the local one.
//!
//! A fetched entry is staged and renamed into the local store (its own
//! digests are checked again when it is restored); a fetched manifest is
//! merged with the local one, remote lists first; key components are copied.

use std::io::Write;
use std::path::PathBuf;

use kiln_key::Digest;
use kiln_store::{LocalStore, Store, StoreError, manifest};

use crate::Kind;

/// Where `kind`'s object for `key` lives locally.
pub fn path(local: &LocalStore, kind: Kind, key: &Digest) -> PathBuf {
    match kind {
        Kind::Entry => local.entry_path(key),
        Kind::Manifest => manifest::path_for(&local.manifest_dir(), key),
        Kind::Components => local.components_path(key),
    }
}

/// Reads the local object to upload. Manifests are returned as they are.
pub fn read(local: &LocalStore, kind: Kind, key: &Digest) -> Result<Vec<u8>, StoreError> {
    let p = path(local, kind, key);
    std::fs::read(&p).map_err(|e| StoreError::io("read", &p, e))
}

/// Writes a fetched object into the local store.
pub fn install(
    local: &LocalStore,
    kind: Kind,
    key: &Digest,
    payload: &[u8],
) -> Result<(), StoreError> {
    match kind {
        Kind::Entry => {
            let staging = local.staging_dir();
            std::fs::create_dir_all(&staging).map_err(|e| StoreError::io("create", &staging, e))?;
            let mut tmp = tempfile::NamedTempFile::new_in(&staging)
                .map_err(|e| StoreError::io("create", &staging, e))?;
            tmp.write_all(payload)
                .map_err(|e| StoreError::io("write", tmp.path(), e))?;
            local.put(key, tmp.path())?;
            Ok(())
        }
        Kind::Manifest => {
            let Some(remote) = manifest::parse(payload) else {
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
            let p = local.components_path(key);
            let parent = p.parent().unwrap_or(local.root());
            std::fs::create_dir_all(parent).map_err(|e| StoreError::io("create", parent, e))?;
            let mut tmp = tempfile::NamedTempFile::new_in(parent)
                .map_err(|e| StoreError::io("create", parent, e))?;
            tmp.write_all(payload)
                .map_err(|e| StoreError::io("write", tmp.path(), e))?;
            tmp.persist(&p)
                .map_err(|e| StoreError::io("write", &p, e.error))?;
            Ok(())
        }
    }
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
