//! proptest configurations whose case count and seed the report can name.

use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};

use proptest::test_runner::{Config, RngSeed};

use crate::record::{Entry, PropertyRecord};

/// The configuration of the proptest property `test`: `default_cases` cases (or
/// `PROPTEST_CASES`), and a fixed seed (`PROPTEST_RNG_SEED`, or one chosen here from the
/// clock), so that the same cases can be run again. Prints both, with the replay variable, and
/// records them with `property` (see [`RESULTS_VAR`](crate::RESULTS_VAR)), once per test and
/// process: proptest-state-machine evaluates the configuration again for every case.
///
/// # Panics
///
/// If `PROPTEST_CASES` or `PROPTEST_RNG_SEED` is set but is not a number.
pub fn property_config(test: &str, property: &str, default_cases: u32) -> Config {
    let cases = number("PROPTEST_CASES").map_or(default_cases, |n| {
        u32::try_from(n).expect("PROPTEST_CASES fits in a u32")
    });
    let seed = proptest_seed();
    if first_time(test) {
        println!("proptest {test}: {cases} cases, seed {seed} (replay: PROPTEST_RNG_SEED={seed})");
        Entry::Proptest(PropertyRecord {
            test: test.to_string(),
            property: property.to_string(),
            cases,
            seed,
        })
        .append();
    }
    Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        ..Config::default()
    }
}

/// Whether this process has not configured `test` before.
fn first_time(test: &str) -> bool {
    static CONFIGURED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    let mut configured = CONFIGURED.lock().unwrap_or_else(PoisonError::into_inner);
    configured.insert(test.to_string())
}

/// The proptest seed of this run: `PROPTEST_RNG_SEED`, or else one that differs from run to
/// run (the clock's nanoseconds).
///
/// # Panics
///
/// If `PROPTEST_RNG_SEED` is set but is not a number.
pub fn proptest_seed() -> u64 {
    number("PROPTEST_RNG_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos() as u64)
    })
}

/// The number in the environment variable `var`, if it is set.
fn number(var: &str) -> Option<u64> {
    std::env::var(var).ok().map(|value| {
        value
            .parse::<u64>()
            .unwrap_or_else(|_| panic!("{var}={value:?} is not a number"))
    })
}
