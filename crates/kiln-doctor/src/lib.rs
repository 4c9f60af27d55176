//! kiln-doctor
