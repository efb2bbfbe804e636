//! Cross-crate tests of hyok. The library itself only carries the README's
//! Rust examples, compiled and run as doctests so that the README and the
//! code cannot drift apart.

/// The README, whose Rust examples run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
