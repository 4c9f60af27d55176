//! `kiln deps diff`.

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::DepsDiffArgs;

pub fn diff(_args: &DepsDiffArgs) -> Result<ExitCode> {
    Ok(ExitCode::SUCCESS)
}
