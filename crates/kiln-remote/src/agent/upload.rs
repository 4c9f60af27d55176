//! Uploads in the background, bounded in number and counted.

use crate::{Kind, local};
use kiln_key::Digest;
use std::sync::Arc;

use super::state::*;

pub(super) async fn put_counted(shared: &Shared, name: &str, payload: &[u8]) {
    bump(&shared.counters.requests, 1);
    match shared.remote.put(name, payload).await {
        Ok(n) => bump(&shared.counters.bytes_up, n),
        Err(e) => {
            bump(&shared.counters.upload_errors, 1);
            shared.upload_failed(&e);
        }
    }
}

pub(super) async fn upload(shared: &Arc<Shared>, kind: Kind, key: &Digest) {
    let Ok(_slot) = shared.upload_slots.acquire().await else {
        return;
    };
    if !shared.writes_allowed() {
        return;
    }
    let local_store = shared.local.clone();
    let key_copy = *key;
    let read =
        tokio::task::spawn_blocking(move || local::read(&local_store, kind, &key_copy)).await;
    let Ok(Ok(payload)) = read else {
        bump(&shared.counters.upload_errors, 1);
        return;
    };
    let name = kind.name(key);
    let payload = if kind == Kind::Manifest {
        bump(&shared.counters.requests, 1);
        match shared.remote.get(&name).await {
            Ok(remote) => local::merged_manifest(&payload, remote.as_deref()),
            Err(_) => payload,
        }
    } else {
        payload
    };
    bump(&shared.counters.requests, 1);
    match shared.remote.put(&name, &payload).await {
        Ok(n) => {
            bump(&shared.counters.uploads, 1);
            bump(&shared.counters.bytes_up, n);
        }
        Err(e) => {
            bump(&shared.counters.upload_errors, 1);
            shared.upload_failed(&e);
        }
    }
}
