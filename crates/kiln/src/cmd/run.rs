//! `kiln run -- <command…>`: run a build with kiln as the wrapper and
//! summarize it.

use std::process::{Command, ExitCode};

use anyhow::{Context, Result};
use kiln_config::vars;

use crate::cli::RunArgs;
use crate::error::hinted;
use crate::render;

pub fn run(args: &RunArgs) -> Result<ExitCode> {
    let (program, rest) = args.command.split_first().context("no command given")?;
    let mut cmd = Command::new(program);
    cmd.args(rest);
    let cfg = match kiln_config::Config::from_env() {
        Ok(c) => Some(c),
        Err(e) => {
            eprintln!(
                "warning: kiln: {e}; running without the cache (hint: {})",
                e.hint
            );
            None
        }
    };
    let run_id = kiln_record::new_run_id(kiln_record::now_ms());
    let mut agent = None;
    if let Some(cfg) = &cfg {
        let exe = std::env::current_exe().context("cannot locate the kiln executable")?;
        cmd.env("RUSTC_WRAPPER", exe).env(vars::RUN_ID, &run_id);
        // Calls in other directories (registry crates) use the same settings.
        cmd.env(
            vars::CONFIG,
            cfg.config_file
                .as_deref()
                .map_or_else(|| "none".into(), |p| p.as_os_str().to_owned()),
        );
        agent = super::agent::start(cfg, &args.command);
        match &agent {
            Some(a) => {
                cmd.env(vars::AGENT, a.agent.socket());
            }
            // The agent could not start and said why: the calls of this
            // build leave the remote store alone rather than warn again.
            None if cfg.remote.is_some() && !cfg.disabled => {
                cmd.env(vars::REMOTE, "off");
            }
            None => {}
        }
    }
    let status = cmd.status().map_err(|e| {
        hinted(
            format!("cannot run `{}`: {e}", program.to_string_lossy()),
            "check that the command is installed and on `PATH`",
        )
    })?;
    let code = status.code().unwrap_or(1);
    if let Some(cfg) = cfg {
        let records = kiln_record::read_run(&cfg.dir, &run_id);
        let remote = agent.map(|a| {
            super::agent::finish(a, &cfg, &run_id, records.as_deref().unwrap_or_default())
        });
        if !args.quiet {
            match records {
                Ok(records) => {
                    let summary = kiln_record::summarize(&records, 3);
                    eprint!("{}", render::run_summary(&summary));
                    if let Some(r) = &remote {
                        eprint!("{}", render::remote_summary(r));
                    }
                    if summary.stats.misses > 0
                        && let Ok(e) = super::explain::explain_run(&cfg, Some(&run_id), None)
                    {
                        eprint!("{}", render::run_root_causes(&e, 3));
                    }
                }
                Err(e) => eprintln!("warning: kiln: cannot read the run's records: {e}"),
            }
        }
        if let Err(e) = kiln_store::LocalStore::new(&cfg.dir).gc(cfg.cache_size) {
            eprintln!("warning: kiln: cache size check failed: {e}");
        }
    }
    Ok(ExitCode::from(
        u8::try_from(code.clamp(0, 255)).unwrap_or(1),
    ))
}
