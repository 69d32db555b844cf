//! Types that must not cross processes do not compile: each file under `tests/refused` is
//! built, must fail, and must fail with the error saved beside it (so that it fails for the
//! reason it is there for, not for a typo).
//!
//! # Verification
//!
//! - Checker: scenario
//! - Primitive: Plain (values in shared memory)
//! - Proves: a struct with padding, a bool field or without zerocopy's derives cannot be Plain, and
//!   a shared queue of a String does not compile, each with the compiler's error for that reason.
//! - Cannot prove: the cases listed in queue-core/tests/refused; the rest is zerocopy's own checks.

#[test]
fn types_that_are_not_plain_data_are_refused_at_compile_time() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/refused/*.rs");
}
