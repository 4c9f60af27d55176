//! `kiln stats`: text, JSON or OpenMetrics.

use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::cli::{StatsArgs, StatsFormat};
use crate::render;

pub fn stats(args: &StatsArgs) -> Result<ExitCode> {
    let cfg = super::config()?;
    let stats = kiln_record::stats(&cfg.dir)
        .with_context(|| format!("cannot read records in `{}`", cfg.dir.display()))?;
    let format = if args.json {
        StatsFormat::Json
    } else {
        args.format
    };
    match format {
        StatsFormat::Json => println!("{}", serde_json::to_string_pretty(&stats)?),
        StatsFormat::Openmetrics => print!("{}", crate::metrics::openmetrics(&stats)),
        StatsFormat::Text => print!("{}", render::stats_text(&stats, &cfg.dir)),
    }
    if args.zero {
        kiln_record::zero_stats(&cfg.dir, kiln_record::now_ms())
            .with_context(|| format!("cannot reset stats in `{}`", cfg.dir.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}
