//! End-to-end tests of the built `scry` binary and of real clients live in `tests/`;
//! what they share is in `scry-test-support`.
