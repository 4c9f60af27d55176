//! Understanding one rustc call.
//!
//! - [`args`]: the argument model: which flag is which, what the call reads
//!   and writes, and whether kiln can cache it ([`plan`]); `flags`: the
//!   table of rustc's flags it applies.
//! - [`depinfo`]: reading and rewriting rustc's `.d` files.
//! - [`compiler`]: the identity of the compiler (and clippy-driver), cached so
//!   it is not recomputed per call; [`sysroot`]: its standard library and
//!   libraries by content.
//!
//! This crate knows nothing about keys or stores: it describes the call.

pub mod args;
pub mod compiler;
pub mod depinfo;
mod error;
mod flags;
pub mod sysroot;

pub use args::{Emit, Extern, Invocation, Plan, plan};
