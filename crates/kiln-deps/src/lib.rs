//! Dependency review.
