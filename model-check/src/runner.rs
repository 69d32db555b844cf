//! The runner of `harness = false` test binaries.

/// The first argument that is neither a flag nor a flag's value: libtest's name filter.
fn name_filter(args: impl IntoIterator<Item = String>) -> Option<String> {
    /// libtest's flags that take a value as the next argument.
    const TAKE_A_VALUE: &[&str] = &[
        "--test-threads",
        "--skip",
        "--color",
        "--format",
        "--logfile",
        "-Z",
    ];
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if TAKE_A_VALUE.contains(&arg.as_str()) {
            args.next();
        } else if !arg.starts_with('-') {
            return Some(arg);
        }
    }
    None
}

/// Runs `tests` one after another on the calling (main) thread, as libtest would print them,
/// then exits: status 0 if every test passed, 1 otherwise. A test fails by panicking. The
/// first command-line argument that is not a flag filters tests by name, as with libtest.
///
/// For test binaries with `harness = false` that fork: a fork is only sound in a
/// single-threaded parent, and libtest runs tests on worker threads.
pub fn run_on_main_thread(tests: &[(&str, fn())]) -> ! {
    use std::time::Instant;

    let filter = name_filter(std::env::args().skip(1));
    let started = Instant::now();
    let (mut passed, mut failed, mut filtered) = (0, 0, 0);
    println!();
    for &(name, test) in tests {
        if filter
            .as_deref()
            .is_some_and(|filter| !name.contains(filter))
        {
            filtered += 1;
            continue;
        }
        let test_started = Instant::now();
        // A failing assertion panics on this thread; report it and go on with the next test.
        if std::panic::catch_unwind(test).is_ok() {
            passed += 1;
            let seconds = test_started.elapsed().as_secs_f64();
            println!("test {name} ... ok ({seconds:.2} s)");
        } else {
            failed += 1;
            println!("test {name} ... FAILED");
        }
    }
    let verdict = if failed == 0 { "ok" } else { "FAILED" };
    println!(
        "\ntest result: {verdict}. {passed} passed; {failed} failed; 0 ignored; 0 measured; \
         {filtered} filtered out; finished in {:.2}s\n",
        started.elapsed().as_secs_f64()
    );
    std::process::exit(i32::from(failed > 0));
}

#[cfg(test)]
mod tests {
    use super::name_filter;

    fn filter(args: &[&str]) -> Option<String> {
        name_filter(args.iter().map(|arg| arg.to_string()))
    }

    #[test]
    fn flags_and_their_values_are_not_filters() {
        assert_eq!(filter(&["--nocapture", "--test-threads", "2"]), None);
        assert_eq!(
            filter(&["--test-threads", "2", "wake"]),
            Some("wake".to_string())
        );
        assert_eq!(
            filter(&["--skip", "slow", "fast"]),
            Some("fast".to_string())
        );
        assert_eq!(filter(&["exact"]), Some("exact".to_string()));
        assert_eq!(filter(&[]), None);
    }
}
