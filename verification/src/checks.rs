//! How the verification runs a suite: its checker, and the builds other than cargo's default.
//! The suites themselves are declared next to their tests and models (see `suites`).

/// How a suite checks its property.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Checker {
    /// loom models; each writes a record (executions, bound) through `model-check`.
    Loom,
    /// shuttle's randomized schedulers (random and PCT) over scenarios too large for loom, in
    /// their own build (`--cfg shuttle`).
    Shuttle,
    /// proptest properties (state machines against a reference model, or stress properties).
    Proptest,
    /// Real processes or threads, with fixed scenarios.
    Scenario,
    /// Real processes killed at the algorithm's crash points, in the build with the
    /// fault-injection hook (`--cfg queue_faults`).
    Faults,
}

impl Checker {
    /// Every checker, in the order their suites run.
    const ALL: [Self; 5] = [
        Self::Loom,
        Self::Shuttle,
        Self::Proptest,
        Self::Scenario,
        Self::Faults,
    ];

    /// The checker a suite's `Checker:` line names.
    pub(crate) fn named(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|checker| checker.name() == name)
    }

    /// Where its suites run among the others.
    pub(crate) fn rank(self) -> usize {
        Self::ALL
            .iter()
            .position(|&checker| checker == self)
            .unwrap_or(usize::MAX)
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Loom => "loom",
            Self::Shuttle => "shuttle",
            Self::Proptest => "proptest",
            Self::Scenario => "scenario",
            Self::Faults => "fault injection",
        }
    }
}

/// A build other than cargo's default: its `RUSTFLAGS`, the variable its crate's build script
/// reads (if any), and its target directory. A build whose `RUSTFLAGS` differ rebuilds every
/// dependency, so it keeps a directory to itself; one that differs only by a build script's
/// variable rebuilds that crate alone, and shares the release build's.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Build {
    pub(crate) rustflags: &'static str,
    pub(crate) variable: Option<(&'static str, &'static str)>,
    pub(crate) target_dir: &'static str,
}

/// The loom build: every model, in release.
pub(crate) const LOOM_BUILD: Build = Build {
    rustflags: "--cfg loom",
    variable: None,
    target_dir: "target/loom",
};

/// The shuttle build: the randomized schedules, in release.
pub(crate) const SHUTTLE_BUILD: Build = Build {
    rustflags: "--cfg shuttle",
    variable: None,
    target_dir: "target/shuttle",
};

/// The build with the fault-injection hook (queue-core's build script sets `queue_faults`).
pub(crate) const FAULTS_BUILD: Build = Build {
    rustflags: "",
    variable: Some(("QUEUE_CORE_FAULTS", "1")),
    target_dir: "target",
};

/// The release build of the mutants that ordinary tests catch: the release build itself,
/// with the mutant's variable set.
pub(crate) const MUTANT_BUILD: Build = Build {
    rustflags: "",
    variable: None,
    target_dir: "target",
};

impl Build {
    /// Sets `command`'s `RUSTFLAGS`, variable and target directory (under `root`) to this
    /// build's.
    pub(crate) fn apply(self, command: &mut std::process::Command, root: &std::path::Path) {
        command
            .env("RUSTFLAGS", self.rustflags)
            .env("CARGO_TARGET_DIR", root.join(self.target_dir));
        if let Some((name, value)) = self.variable {
            command.env(name, value);
        }
    }

    /// The same, as a reader types it before a command.
    pub(crate) fn shown(self) -> String {
        let mut shown = match self.rustflags {
            "" => String::new(),
            flags => format!("RUSTFLAGS=\"{flags}\" "),
        };
        if let Some((name, value)) = self.variable {
            shown.push_str(&format!("{name}={value} "));
        }
        if self.target_dir != "target" {
            shown.push_str(&format!("CARGO_TARGET_DIR={} ", self.target_dir));
        }
        shown.trim_end().to_owned()
    }
}
