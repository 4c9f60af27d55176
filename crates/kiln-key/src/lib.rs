//! Path normalization, content hashing and cache keys.
//!
//! - [`roots`]: the machine-specific directories (checkout, target dir,
//!   `CARGO_HOME`, sysroot) and their replacement by placeholders, for keys
//!   and for text kiln stores (dep-info, diagnostics).
//! - [`filehash`]: content hashes of files, remembered by file metadata so
//!   large unchanged files (rlibs, system libraries) are not rehashed per call.
//! - [`hasher`]: the labelled, length-prefixed key hasher.
//!
//! Invariant: no absolute path of the local machine enters a key in the
//! default path mode; everything that can change the compiler's output does.

pub mod filehash;
pub mod hasher;
pub mod roots;

pub use filehash::FileHasher;
pub use hasher::{Digest, KeyHasher};
pub use roots::Roots;
