//! The build agent: `kiln run` starts it before cargo and stops it after.
//!
//! Every rustc call of the build is a new process; opening a TLS connection
//! and a client per call is what makes per-call remote caches slow. The agent
//! keeps one client with a connection pool for the whole build and serves the
//! wrapper processes over a Unix socket (path in `KILN_AGENT`):
//!
//! ```text
//! FETCH <kind> <key>   → FOUND <bytes> | ABSENT | OFF | FAILED <cause>
//! STORE <kind> <key>   → QUEUED <bytes> | OFF | FAILED <cause>
//! ```
//! `FETCH` writes the object into the local store before answering, so the
//! wrapper continues as on a local hit. `STORE` reads the object from the
//! local store and uploads it in the background; the build goes on.
//! Concurrent fetches of one object (a wrapper and the prefetch) share one
//! request.

pub mod client;
mod fetch;
mod prefetch;
mod protocol;
pub mod server;
mod state;
mod upload;

pub use client::AgentClient;
pub use server::{Agent, AgentOptions, AgentReport};

#[cfg(test)]
mod tests;
