//! One module per subcommand; [`dispatch`] routes to them.

mod agent;
mod ci;
mod deps;
pub mod doctor;
pub mod explain;
mod history;
mod init;
mod report;
mod run;
mod stats;
mod store;
mod team;

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::error::hinted;

pub fn dispatch(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Run(args) => run::run(&args),
        Command::Init(args) => init::init(&args),
        Command::Stats(args) => stats::stats(&args),
        Command::Explain(args) => explain::run(&args),
        Command::History(args) => history::run(&args),
        Command::Report(args) => report::run(&args),
        Command::Deps(crate::cli::DepsCommand::Diff(args)) => deps::diff(&args),
        Command::Doctor(args) => doctor::run(&args),
        Command::Ci(command) => ci::dispatch(&command),
        Command::Gc(args) => store::gc(&args),
        Command::Upload { items } => {
            if let Ok(cfg) = kiln_config::Config::from_env() {
                kiln_remote::tier::upload_detached(&cfg, &items);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Clean => store::clean(),
    }
}

/// The configuration, or an error naming the bad variable and its fix.
pub fn config() -> Result<kiln_config::Config> {
    kiln_config::Config::from_env().map_err(|e| hinted(e.to_string(), e.hint))
}

/// The remote store settings, or an error naming why there are none (a bad
/// setting, or nothing configured).
pub fn remote_config(cfg: &kiln_config::Config) -> Result<&kiln_config::RemoteConfig> {
    if let Some(e) = &cfg.remote_problem {
        return Err(hinted(e.to_string(), e.hint.clone()));
    }
    cfg.remote.as_ref().ok_or_else(|| {
        hinted(
            "no remote store is configured",
            "set `KILN_REMOTE` (e.g. `s3://bucket/prefix`) or `[remote] url` in kiln.toml",
        )
    })
}
