//! The one registry of mutants: every deliberately broken variant of the cores' algorithms,
//! the models that must catch it, and what a catch looks like. `cargo test-all`, the
//! verification report and the knobs' cfg values (checked by a test below) all read it.

use std::path::Path;
use std::process::Command;

use model_check::ModelRecord;

use crate::checks::{Build, FAULTS_BUILD, LOOM_BUILD, MUTANT_BUILD};

/// A deliberately broken variant of an algorithm.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Mutant {
    /// Its name: the value of its crate's mutant cfg.
    pub(crate) name: &'static str,
    /// The crate whose algorithm it breaks.
    pub(crate) krate: &'static str,
    /// The cfg whose value switches it on (`queue_mutant`, `spawn_mutant` or `pool_mutant`),
    /// which the crate's build script sets from [`env_var`](Self::env_var).
    pub(crate) cfg: &'static str,
    /// Whether loom models catch it (built with `--cfg loom`, judged by the models' records),
    /// or ordinary tests (judged by their failure messages).
    pub(crate) loom: bool,
    /// Whether it is built with the fault-injection hook (`--cfg queue_faults`), for the tests
    /// that kill real processes at the algorithm's crash points.
    pub(crate) faults: bool,
    /// What is broken, in one line.
    pub(crate) broken: &'static str,
    /// The `cargo test` target that holds the models or tests that kill it.
    pub(crate) target: &'static [&'static str],
    /// A name filter: the models or tests that kill it (the others would run to completion
    /// for nothing).
    pub(crate) filter: &'static str,
    /// A failed model's (or test's) message must contain one of these for the mutant to count
    /// as caught: a build error or an unrelated panic is not a kill.
    pub(crate) caught_by: &'static [&'static str],
}

/// Every mutant, in the order they run.
pub(crate) const MUTANTS: &[Mutant] = &[
    Mutant {
        name: "relaxed_publish",
        krate: "queue-core",
        cfg: "queue_mutant",
        loom: true,
        faults: false,
        broken: "the stamp store publishing a pushed value is Relaxed, not Release",
        target: &["--test", "loom_queue"],
        filter: "spsc_capacity_2_three_items",
        caught_by: &["Causality violation"],
    },
    Mutant {
        name: "full_off_by_one",
        krate: "queue-core",
        cfg: "queue_mutant",
        loom: true,
        faults: false,
        broken: "a slot still holding last lap's value is taken as free",
        target: &["--test", "loom_queue"],
        filter: "spsc_capacity_1",
        caught_by: &["not lock-free", "no sequential order", "exactly once"],
    },
    Mutant {
        name: "spsc_full_off_by_one",
        krate: "queue-core",
        cfg: "queue_mutant",
        loom: true,
        faults: false,
        broken: "an spsc producer counts the ring full one value too late, over the oldest value",
        target: &["--test", "loom_spsc"],
        filter: "spsc_channel_capacity_1_three_items",
        caught_by: &["exactly once", "no sequential order", "Causality violation"],
    },
    Mutant {
        name: "no_empty_fence",
        krate: "queue-core",
        cfg: "queue_mutant",
        loom: true,
        faults: false,
        broken: "no SeqCst fence before answering Full or Empty",
        target: &["--test", "loom_queue"],
        filter: "spsc_capacity_2_three_items",
        caught_by: &["no sequential order"],
    },
    Mutant {
        name: "check_then_sleep",
        krate: "queue-core",
        cfg: "queue_mutant",
        loom: true,
        faults: false,
        broken: "a blocking call reads the futex word after its last check",
        target: &["--test", "loom_blocking"],
        filter: "sleeping",
        caught_by: &["deadlock"],
    },
    Mutant {
        name: "waker_without_barrier",
        krate: "queue-core",
        cfg: "queue_mutant",
        loom: true,
        faults: false,
        broken: "a waker reads the sleeper count without its half of the barrier pair",
        target: &["--test", "loom_blocking"],
        filter: "sleeping",
        caught_by: &["deadlock"],
    },
    Mutant {
        name: "trusts_shared_memory",
        krate: "queue-core",
        cfg: "queue_mutant",
        loom: false,
        faults: false,
        broken: "a claim on a shared ring trusts it like the heap: a stale stamp whose cursor \
                 did not move is retried, with no bound on retries",
        target: &["--test", "hostile_peer"],
        filter: "a_damaged_stamp_is_corrupted",
        caught_by: &["did not return within"],
    },
    Mutant {
        name: "uses_fork_copies",
        krate: "queue-core",
        cfg: "queue_mutant",
        loom: false,
        faults: false,
        broken: "a heap queue copied into a forked child (a captured queue) works there as a \
                 second, silent queue instead of answering ForkedCopy",
        target: &["--test", "cross_process"],
        filter: "copied_into_a_forked_child_refuse",
        caught_by: &["a heap queue's copy answered"],
    },
    Mutant {
        name: "robs_live_claimers",
        krate: "queue-core",
        cfg: "queue_mutant",
        loom: true,
        faults: false,
        broken: "a recovery finishes a slot without asking whether its holders are dead: a slow \
                 live claimer is robbed",
        target: &["--lib"],
        filter: "loom_models::a_producer_dies_at_any_step_of_a_push",
        caught_by: &["deadlock", "delivered", "out of order", "torn"],
    },
    Mutant {
        name: "takes_unfinished_spans",
        krate: "queue-core",
        cfg: "queue_mutant",
        loom: true,
        faults: false,
        broken: "a pop claims a message of several slots once its first slot is published, \
                 without waiting for the others",
        target: &["--lib"],
        filter: "loom_models::spans::a_producer_dies_at_any_step_of_a_span_push",
        caught_by: &["torn", "delivered", "deadlock", "capacity lost"],
    },
    Mutant {
        name: "misses_the_dead",
        krate: "queue-core",
        cfg: "queue_mutant",
        loom: false,
        faults: true,
        broken: "the shared queue's liveness check never finds a participant dead: a killed \
                 process's claims are never recovered",
        target: &["--test", "crash_recovery"],
        filter: "a_producer_killed_at_any_point_of_a_push_loses",
        caught_by: &["did not come back", "the survivor drained the queue"],
    },
    Mutant {
        name: "sleeps_through_deaths",
        krate: "queue-core",
        cfg: "queue_mutant",
        loom: false,
        faults: true,
        broken: "a call asleep on a shared queue sleeps until woken: a participant that dies \
                 holding the slot it waits for leaves it asleep",
        target: &["--test", "crash_recovery"],
        filter: "asleep",
        caught_by: &[
            "the sleeper sleeps with room free",
            "the sleeping producer failed",
        ],
    },
    Mutant {
        name: "forgets_dead_sleepers",
        krate: "queue-core",
        cfg: "queue_mutant",
        loom: true,
        faults: false,
        broken: "a waker that woke nobody leaves a dead sleeper's registration in place: every \
                 later waker pays a futex wake for a process that died asleep",
        target: &["--lib"],
        filter: "a_consumer_dies_at_any_step_of_a_sleep",
        caught_by: &["a dead sleeper is still registered"],
    },
    Mutant {
        name: "disconnects_undrained",
        krate: "queue-core",
        cfg: "queue_mutant",
        loom: true,
        faults: false,
        broken: "a pop that finds every producer gone answers Disconnected without checking that \
                 the ring is drained: values a producer pushed just before it left are dropped",
        target: &["--lib"],
        filter: "a_consumer_is_told_disconnected_only_after_every_value",
        caught_by: &["a producer that left", "acknowledged value"],
    },
    Mutant {
        name: "disconnects_live_consumers",
        krate: "queue-core",
        cfg: "queue_mutant",
        loom: true,
        faults: false,
        broken: "a push that finds the ring full answers Disconnected without asking whether any \
                 consumer is left: a producer stops while its consumer still waits for a value",
        target: &["--lib"],
        filter: "a_producer_is_told_disconnected_only_once_every_consumer_is_gone",
        caught_by: &["deadlock"],
    },
    Mutant {
        name: "trusts_every_wake",
        krate: "queue-core",
        cfg: "queue_mutant",
        loom: false,
        faults: false,
        broken: "a blocking call takes every wake at its word: a peer that keeps bumping its \
                 futex word makes it go round at system-call speed, burning a core",
        target: &["--test", "hostile_peer"],
        filter: "a_peer_bumping_a_sleepers_futex_word",
        caught_by: &["of CPU in"],
    },
    Mutant {
        name: "counts_entries_not_handles",
        krate: "queue-core",
        cfg: "queue_mutant",
        loom: false,
        faults: false,
        broken: "a side is gone once no entry of it is left: a producer handle copied into a \
                 forked child is taken for gone until the child's first call",
        target: &["--test", "cross_process"],
        filter: "a_producer_handle_in_a_forked_child",
        caught_by: &["before the child's first call"],
    },
    Mutant {
        name: "claims_without_an_entry",
        krate: "queue-core",
        cfg: "queue_mutant",
        loom: false,
        faults: false,
        broken: "a forked child that found the table full claims without an entry, where \
                 nobody could recover its claims if it died",
        target: &["--test", "cross_process"],
        filter: "a_forked_child_that_finds_the_table_full",
        caught_by: &["failed: a push"],
    },
    Mutant {
        name: "knows_pids_by_start_time",
        krate: "queue-core",
        cfg: "queue_mutant",
        loom: false,
        faults: false,
        broken: "a participant is told from a later process with its pid by the start time \
                 alone: one that reused the pid within the dead one's clock tick is taken for it",
        target: &["--lib"],
        filter: "a_reused_pid_or_an_exited_process_is_dead",
        caught_by: &["judge(reused"],
    },
    Mutant {
        name: "reap_twice",
        krate: "spawn-core",
        cfg: "spawn_mutant",
        loom: true,
        faults: false,
        broken: "every joiner reaps the child, not only the one that won the right to",
        target: &["--lib"],
        filter: "two_joiners",
        caught_by: &["reaped twice"],
    },
    Mutant {
        name: "flag_before_status",
        krate: "spawn-core",
        cfg: "spawn_mutant",
        loom: true,
        faults: false,
        broken: "the published flag is set before the exit status is written",
        target: &["--lib"],
        filter: "two_joiners",
        caught_by: &["Causality violation"],
    },
    Mutant {
        name: "forgets_dead_workers_chunk",
        krate: "process-pool",
        cfg: "pool_mutant",
        loom: false,
        faults: false,
        broken: "the chunk a dead worker had started is forgotten: neither failed nor retried",
        target: &["--lib"],
        filter: "ledger::model",
        caught_by: &["has no outcome once every worker has settled"],
    },
];

impl Mutant {
    /// The environment variable that switches it on: its crate's build script reads it, so
    /// that a mutant rebuilds that crate alone (a change of `RUSTFLAGS` rebuilds every
    /// dependency).
    pub(crate) fn env_var(&self) -> &'static str {
        match self.cfg {
            "spawn_mutant" => "SPAWN_CORE_MUTANT",
            "pool_mutant" => "PROCESS_POOL_MUTANT",
            _ => "QUEUE_CORE_MUTANT",
        }
    }

    /// The build it is made in: that of the checks that catch it (loom's, or the
    /// fault-injection hook's), whose `RUSTFLAGS`, target directory and built dependencies
    /// it shares.
    pub(crate) fn build(&self) -> Build {
        match (self.loom, self.faults) {
            (true, _) => LOOM_BUILD,
            (false, true) => FAULTS_BUILD,
            (false, false) => MUTANT_BUILD,
        }
    }

    /// Its `cargo test` command, as a reader would type it.
    pub(crate) fn command_line(&self) -> String {
        let build = self.build().shown();
        let build = if build.is_empty() { build } else { build + " " };
        format!(
            "{}={} {build}cargo test --release -p {} {}",
            self.env_var(),
            self.name,
            self.krate,
            self.target.join(" ")
        )
    }

    /// Its `cargo test` command, run from `root`, with its models' records appended to
    /// `records`.
    pub(crate) fn command(&self, root: &Path, records: &Path) -> Command {
        let mut command = Command::new(env!("CARGO"));
        command
            .current_dir(root)
            .args(["test", "--release", "-p", self.krate])
            .args(self.target)
            .args(["--", self.filter, "--nocapture"])
            .env(self.env_var(), self.name)
            .env(model_check::RESULTS_VAR, records);
        self.build().apply(&mut command, root);
        command
    }

    /// How the mutant was caught, from its command's success and, for a loom mutant, its
    /// models' records (for another, the command's `output`): `None` if it survived (every
    /// model or test passed, or the command failed for another reason).
    pub(crate) fn verdict(
        &self,
        command_succeeded: bool,
        models: &[ModelRecord],
        output: &str,
    ) -> Option<String> {
        if command_succeeded {
            return None;
        }
        if !self.loom {
            let line = output.lines().find(|line| {
                self.caught_by
                    .iter()
                    .any(|expected| line.contains(expected))
            })?;
            return Some(format!(
                "{} {} (a test failed): {}",
                self.krate,
                self.target.join(" "),
                line.trim()
            ));
        }
        let failed: Vec<&ModelRecord> = models.iter().filter(|m| m.failure.is_some()).collect();
        let message = failed.iter().find_map(|model| {
            let message = &model.failure.as_ref()?.message;
            self.caught_by
                .iter()
                .any(|expected| message.contains(expected))
                .then(|| message.lines().find(|l| !l.trim().is_empty()).unwrap_or(""))
        })?;
        Some(format!(
            "{} {} ({} models failed): {}",
            self.krate,
            self.target.join(" "),
            failed.len(),
            message.trim()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model_check::Failure;

    fn record(failure: Option<&str>) -> ModelRecord {
        ModelRecord {
            model: "m".to_string(),
            test: "m_exhaustive".to_string(),
            property: "p".to_string(),
            scenario: "s".to_string(),
            executions: 3,
            preemption_bound: None,
            seconds: 0.1,
            failure: failure.map(|message| Failure {
                execution: 2,
                message: message.to_string(),
                checkpoint: None,
            }),
        }
    }

    #[test]
    fn a_mutant_is_caught_only_by_the_failure_it_names() {
        let mutant = MUTANTS[0];
        let caught = [record(Some("Causality violation: a race")), record(None)];
        let output = "Causality violation: a race";
        assert_eq!(
            mutant.verdict(false, &caught, "").as_deref(),
            Some("queue-core --test loom_queue (1 models failed): Causality violation: a race")
        );
        assert_eq!(mutant.verdict(true, &caught, ""), None, "the models passed");
        assert_eq!(
            mutant.verdict(false, &[record(Some("a build error"))], ""),
            None
        );
        assert_eq!(
            mutant.verdict(false, &[], output),
            None,
            "no record at all: the output of a loom mutant is not its verdict"
        );
    }

    #[test]
    fn a_test_mutant_is_caught_by_the_failure_its_tests_print() {
        let mutant = MUTANTS.iter().find(|m| !m.loom).unwrap();
        let output = format!("thread panicked:\n  {} after 2s\n", mutant.caught_by[0]);
        assert!(
            mutant
                .verdict(false, &[], &output)
                .unwrap()
                .contains("(a test failed)")
        );
        assert_eq!(mutant.verdict(true, &[], &output), None, "the tests passed");
        assert_eq!(
            mutant.verdict(false, &[], "error[E0308]"),
            None,
            "a build error"
        );
        assert!(!mutant.build().rustflags.contains("loom"));
    }

    /// Every registered mutant has a knob in its crate's `mutant.rs`, and every knob there is
    /// registered: the registry and the code cannot drift apart.
    #[test]
    fn the_registry_names_exactly_the_knobs_in_the_code() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for (krate, cfg) in [
            ("queue-core", "queue_mutant"),
            ("spawn-core", "spawn_mutant"),
            ("process-pool", "pool_mutant"),
        ] {
            let source = std::fs::read_to_string(root.join(krate).join("src/mutant.rs")).unwrap();
            let pattern = format!("cfg!({cfg} = \"");
            let mut in_code: Vec<&str> = source
                .match_indices(&pattern)
                .map(|(at, _)| {
                    let rest = &source[at + pattern.len()..];
                    &rest[..rest.find('"').unwrap()]
                })
                .collect();
            let mut registered: Vec<&str> = MUTANTS
                .iter()
                .filter(|m| m.krate == krate)
                .inspect(|m| assert_eq!(m.cfg, cfg))
                .map(|m| m.name)
                .collect();
            in_code.sort_unstable();
            registered.sort_unstable();
            assert_eq!(in_code, registered, "{krate}");
        }
    }
}
