//! The compile cache engine: what happens to one rustc call.
//!
//! ```text
//! arguments ─▶ plan (kiln-rustc) ─▶ invocation key ─▶ manifest candidates
//!     ─▶ inputs still the same? ─▶ entry key ─▶ restore (hit)
//!     └▶ otherwise: lock key, compile under observation, collect outputs and
//!        inputs, store the entry, add the input list to the manifest (miss)
//! ```
//! A build-script run is the second kind of cached action (`script/`):
//! compiled build scripts are replaced by a launcher that brings their runs
//! back through kiln, keyed and restored the same way. The C and C++
//! compiles a run starts are the third (`cc/`): the observer starts them
//! through kiln.
//!
//! Every call leaves a record. Any internal failure becomes one
//! `warning: kiln: …` line and a plain compile: kiln never fails a build that
//! would succeed without it, and never stores the output of a failed compile.

mod action;
mod call;
mod cc;
mod compile;
mod components;
mod env_rules;
mod facts;
mod flight;
mod hit;
mod in_run;
mod inputs;
mod invocation;
mod log;
mod lookup;
mod miss;
mod observed;
mod paths;
mod probe;
mod refusal;
mod script;
mod searches;
mod symbols;
mod unit;
mod unreadable;
mod unseen;
mod upkeep;
mod wrapper;

pub use call::WrapperCall;
pub use cc::{COMMAND as C_COMPILE_COMMAND, LAUNCHER_VAR as C_COMPILE_LAUNCHER_VAR, run_c_compile};
pub use compile::end_like_the_compiler;
pub use kiln_trace::quiet_this_process as quiet_observer;
pub use script::{COMMAND as BUILD_SCRIPT_COMMAND, run_build_script};
pub use wrapper::run_wrapper;
