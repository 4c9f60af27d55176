//! Dependency review: what two `Cargo.lock` files differ in, and what the
//! new crates cost to compile.
//!
//! - [`lockfile`]: the lockfile as a package graph.
//! - [`diff`]: added, removed and upgraded packages; new direct
//!   dependencies and what they pull in.
//! - [`estimate`]: compile cost, measured by kiln or estimated (`~est`).
//! - [`source`]: lockfiles from paths or git refs.
//! - [`render`]: text, Markdown and JSON.
//! - [`error`]: the one error of finding, reading and parsing lockfiles.
//!
//! It does not read kiln's records itself: the CLI passes measured costs.

pub mod diff;
pub mod error;
pub mod estimate;
pub mod lockfile;
pub mod render;
pub mod source;

pub use diff::{DIFF_VERSION, DepsDiff, diff};
pub use error::{Cause, Error};
pub use estimate::{Cost, CostModel};
pub use lockfile::Lockfile;
