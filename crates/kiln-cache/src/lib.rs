//! The compile cache engine: what happens to one rustc call.
//!
//! ```text
//! arguments ─▶ plan (kiln-rustc) ─▶ invocation key ─▶ manifest candidates
//!     ─▶ inputs still the same? ─▶ entry key ─▶ restore (hit)
//!     └▶ otherwise: lock key, compile under observation, collect outputs and
//!        inputs, store the entry, add the input list to the manifest (miss)
//! ```
//! Every call leaves a record. Any internal failure becomes one
//! `warning: kiln: …` line and a plain compile: kiln never fails a build that
//! would succeed without it, and never stores the output of a failed compile.

mod compile;
mod env_rules;
mod hit;
mod inputs;
mod invocation;
mod miss;
mod wrapper;

pub use wrapper::{WrapperCall, run_wrapper};
