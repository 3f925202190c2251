//! Cross-crate integration tests of glue-rs and the `fixture` binary used by tests and by
//! outside checks. See `src/bin/fixture.rs` for the kinds it runs.
