//! The `kiln` binary: command-line parsing, exit codes and messages.
//!
//! Three ways in: as cargo's `RUSTC_WRAPPER` (the first argument is a
//! compiler path; handled by `kiln-cache`), as the runner of a build script
//! kiln compiled (`kiln __build-script <program>`, started by the launcher
//! kiln put in its place; also `kiln-cache`), or as a command (`kiln run`,
//! `kiln stats`, ...). Everything else lives in library crates.

mod cli;
mod cmd;
mod error;
mod metrics;
mod render;
mod style;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    // Inside an observed build-script run (compiling a probe or C code for
    // it), kiln's own reads are not the run's.
    kiln_cache::quiet_observer();
    if args
        .get(1)
        .is_some_and(|a| a == kiln_cache::BUILD_SCRIPT_COMMAND)
        && let Some(program) = args.get(2)
    {
        let code = kiln_cache::run_build_script(
            kiln_config::Config::from_env(),
            std::path::Path::new(program),
            &args[3..],
        );
        kiln_cache::end_like_the_compiler();
        return ExitCode::from(u8::try_from(code.clamp(0, 255)).unwrap_or(1));
    }
    if args
        .get(1)
        .is_some_and(|a| a == kiln_cache::C_COMPILE_COMMAND)
        && let (Some(program), Some(argv0)) = (args.get(2), args.get(3))
    {
        let code =
            kiln_cache::run_c_compile(kiln_config::Config::from_env(), program, argv0, &args[4..]);
        return ExitCode::from(u8::try_from(code.clamp(0, 255)).unwrap_or(1));
    }
    if let Some(call) = wrapper_call(&args) {
        let code = kiln_cache::run_wrapper(kiln_config::Config::from_env(), &call);
        kiln_cache::end_like_the_compiler();
        return ExitCode::from(u8::try_from(code.clamp(0, 255)).unwrap_or(1));
    }
    exit_quietly_on_closed_pipe();
    let cli = cli::Cli::parse();
    match cmd::dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            error::report(&e);
            ExitCode::from(2)
        }
    }
}

/// A command whose output goes to a pipe that closes (`kiln stats | head`)
/// ends there, as a shell tool does, instead of failing on every write.
/// Wrapper mode keeps Rust's default: it reports write errors itself.
fn exit_quietly_on_closed_pipe() {
    // SAFETY: called before any thread is started; SIG_DFL is a valid
    // disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Cargo calls a wrapper as `kiln <compiler> <args…>`: the first argument is
/// a path, or a program named like `rustc` or `clippy-driver`.
fn wrapper_call(args: &[OsString]) -> Option<kiln_cache::WrapperCall> {
    let first = args.get(1)?;
    let s = first.to_string_lossy();
    if s.starts_with('-') || cli::SUBCOMMANDS.contains(&s.as_ref()) {
        return None;
    }
    let name = std::path::Path::new(first)
        .file_name()?
        .to_string_lossy()
        .into_owned();
    let compiler_like = name.starts_with("rustc") || name.starts_with("clippy-driver");
    if !(compiler_like || s.contains('/')) {
        return None;
    }
    Some(kiln_cache::WrapperCall {
        program: first.clone(),
        args: args[2..].to_vec(),
    })
}
