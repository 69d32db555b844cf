//! Test support shared by the workspace's crates (a dev-dependency, never published):
//!
//! - `explore` (under `--cfg loom`) runs a loom model, counts the executions it explored,
//!   and records them, so that the verification report reads the same record from every
//!   crate. Each model prints `loom model NAME: N executions, BOUND, T s`; when the
//!   environment variable [`RESULTS_VAR`] names a file, it also appends one JSON line to it:
//!   `{"model":"NAME","executions":N,"preemption_bound":B|null,"seconds":T}`.
//! - [`run_on_main_thread`] runs the tests of a `harness = false` test binary (one that forks,
//!   so it must stay single-threaded) and prints libtest's summary line.

/// Names the file that each explored model appends its JSON line to.
pub const RESULTS_VAR: &str = "MODEL_CHECK_RESULTS";

/// When set, every model runs to at most [`QUICK_BOUND`] preemptions (the verification's
/// `--quick` mode), and its record says so.
pub const QUICK_VAR: &str = "MODEL_CHECK_QUICK";

/// The preemption bound of quick mode.
pub const QUICK_BOUND: usize = 2;

/// `bound`, capped at [`QUICK_BOUND`] when [`QUICK_VAR`] is set.
pub fn quick_bound(bound: Bound) -> Bound {
    if std::env::var_os(QUICK_VAR).is_none() {
        return bound;
    }
    match bound {
        Bound::Preemptions(n) if n <= QUICK_BOUND => bound,
        _ => Bound::Preemptions(QUICK_BOUND),
    }
}

/// How a model is explored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    /// No preemption bound: loom explores every execution.
    Exhaustive,
    /// At most this many preemptions per execution: complete up to that bound.
    Preemptions(usize),
}

impl Bound {
    /// How the report words it.
    pub fn describe(self) -> String {
        match self {
            Self::Exhaustive => "exhaustive".to_string(),
            Self::Preemptions(n) => format!("preemption bound {n}"),
        }
    }
}

/// One explored model, as recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// The model's name.
    pub model: String,
    /// How many executions loom explored.
    pub executions: usize,
    /// The bound it ran under.
    pub bound: Bound,
    /// Wall time.
    pub seconds: f64,
}

impl Record {
    /// The record as one JSON line (without the newline).
    pub fn to_json(&self) -> String {
        let bound = match self.bound {
            Bound::Exhaustive => "null".to_string(),
            Bound::Preemptions(n) => n.to_string(),
        };
        format!(
            "{{\"model\":\"{}\",\"executions\":{},\"preemption_bound\":{bound},\"seconds\":{:.3}}}",
            self.model, self.executions, self.seconds
        )
    }
}

#[cfg(loom)]
pub use explore::explore;

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

#[cfg(loom)]
mod explore {
    use std::io::Write;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Instant;

    use super::{Bound, RESULTS_VAR, Record, quick_bound};

    /// Runs `body` as a loom model called `name` under `bound`, counts its executions, prints
    /// them, and appends the record to the file named by [`RESULTS_VAR`], if set.
    ///
    /// # Panics
    ///
    /// When loom finds a failing execution (the model's assertion, a deadlock, a data race),
    /// as `loom::model` does; or if the results file cannot be written.
    pub fn explore(name: &str, bound: Bound, body: impl Fn() + Sync + Send + 'static) {
        let executions = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&executions);
        let bound = quick_bound(bound);
        let mut builder = loom::model::Builder::new();
        if let Bound::Preemptions(n) = bound {
            builder.preemption_bound = Some(n);
        }
        let started = Instant::now();
        builder.check(move || {
            // A std atomic: loom runs every model thread on this OS thread and does not see it.
            counter.fetch_add(1, Ordering::Relaxed);
            body();
        });
        let record = Record {
            model: name.to_string(),
            executions: executions.load(Ordering::Relaxed),
            bound,
            seconds: started.elapsed().as_secs_f64(),
        };
        println!(
            "loom model {name}: {} executions, {}, {:.2} s",
            record.executions,
            bound.describe(),
            record.seconds
        );
        if let Ok(path) = std::env::var(RESULTS_VAR) {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .and_then(|mut file| writeln!(file, "{}", record.to_json()))
                .expect("MODEL_CHECK_RESULTS names a writable file");
        }
    }
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
