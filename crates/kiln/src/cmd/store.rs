//! `kiln gc` and `kiln clean`.

use std::process::ExitCode;

use anyhow::{Context, Result};
use kiln_config::format_size;
use kiln_store::LocalStore;

pub fn gc() -> Result<ExitCode> {
    let cfg = super::config()?;
    let store = LocalStore::new(&cfg.dir);
    let r = store
        .gc(cfg.cache_size)
        .with_context(|| format!("cannot trim the store `{}`", cfg.dir.display()))?;
    kiln_record::prune(&cfg.dir, 30);
    println!(
        "kiln: {} entries, {} (bound {}); removed {} entries, {}",
        r.entries - r.removed,
        format_size(r.bytes - r.removed_bytes),
        format_size(cfg.cache_size),
        r.removed,
        format_size(r.removed_bytes)
    );
    Ok(ExitCode::SUCCESS)
}

pub fn clean() -> Result<ExitCode> {
    let cfg = super::config()?;
    let store = LocalStore::new(&cfg.dir);
    let r = store
        .clear()
        .with_context(|| format!("cannot empty the store `{}`", cfg.dir.display()))?;
    println!(
        "kiln: removed {} entries, {}",
        r.removed,
        format_size(r.removed_bytes)
    );
    Ok(ExitCode::SUCCESS)
}
