//! `kiln gc` and `kiln clean`.

use std::process::ExitCode;

use anyhow::{Context, Result};
use kiln_config::format_size;
use kiln_store::LocalStore;

use crate::cli::GcArgs;
use crate::error::hinted;

pub fn gc(args: &GcArgs) -> Result<ExitCode> {
    let cfg = super::config()?;
    if args.remote {
        return gc_remote(&cfg, args.older_than.as_deref().unwrap_or_default());
    }
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

fn gc_remote(cfg: &kiln_config::Config, older_than: &str) -> Result<ExitCode> {
    let remote_cfg = super::remote_config(cfg)?;
    let Some(age) = kiln_config::parse_duration(older_than) else {
        return Err(hinted(
            format!("invalid age `{older_than}`"),
            "use a duration such as `30d`, `12h` or `90m`",
        ));
    };
    if remote_cfg.read_only {
        return Err(hinted(
            format!("the remote store `{}` is read-only here", remote_cfg.url),
            "unset `KILN_REMOTE_READ_ONLY` to expire objects",
        ));
    }
    if remote_cfg.kind == kiln_config::RemoteKind::Redis {
        return Err(hinted(
            format!(
                "a Redis store cannot list its objects, so `{}` cannot be expired by age",
                remote_cfg.url
            ),
            "bound Redis's memory instead: `maxmemory` with `maxmemory-policy allkeys-lru`",
        ));
    }
    let report = kiln_remote::Remote::blocking(remote_cfg)
        .and_then(|(rt, remote)| rt.block_on(kiln_remote::gc::gc(&remote, age)));
    let r = report.map_err(|e| {
        hinted(
            format!("cannot expire objects of `{}`: {e}", remote_cfg.url),
            "check the store settings and credentials; nothing was removed locally",
        )
    })?;
    println!(
        "kiln: remote `{}`: {} objects, {}; removed {} older than {older_than}, {}",
        remote_cfg.url,
        r.objects - r.removed,
        format_size(r.bytes - r.removed_bytes),
        r.removed,
        format_size(r.removed_bytes)
    );
    Ok(ExitCode::SUCCESS)
}
