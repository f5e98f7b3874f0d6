//! The pace an example runs at in a test. The examples pause where the
//! tutorial's C programs sleep, to make the demo watchable; no output and
//! no guarantee of an example depends on those pauses, so most tests skip
//! them (`IPC_PACE=0`, which `common::sleep` reads), and the suite answers
//! in seconds. A test that needs a process in its pacing sleep, or that
//! checks the pace every user sees, keeps the tutorial's.
//!
//! `IPC_PACE=1 cargo test` runs every example at the tutorial's pace (any
//! `IPC_PACE` in the tests' own environment wins over the tests' choice,
//! except for [`Pace::Real`]).

use std::process::Command;

/// The environment variable that scales the examples' pacing sleeps
/// (`common::interrupt::PACE_VAR`): `IPC_PACE=0` skips them.
pub const PACE_VAR: &str = "IPC_PACE";

/// The pace of most tests, as an environment for a command:
/// `IPC_PACE=0`, no pauses; nothing if the tests' own environment sets
/// `IPC_PACE`, which the example then inherits.
/// `command.envs(test_pace())`.
pub fn test_pace() -> Option<(&'static str, &'static str)> {
    scaled("0")
}

/// `IPC_PACE=factor`, unless the tests' own environment sets `IPC_PACE`.
fn scaled(factor: &'static str) -> Option<(&'static str, &'static str)> {
    std::env::var_os(PACE_VAR)
        .is_none()
        .then_some((PACE_VAR, factor))
}

/// How fast a test runs an example.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// [`test_pace`]: no pauses.
    Test,
    /// The pauses scaled by a factor ("0.1"): the tutorial's rhythm, faster.
    Scaled(&'static str),
    /// The tutorial's: no `IPC_PACE` at all, whatever the tests' own
    /// environment says.
    Real,
}

impl Pace {
    /// Sets this pace in `command`'s environment.
    pub fn apply(self, command: &mut Command) {
        match self {
            Pace::Test => command.envs(test_pace()),
            Pace::Scaled(factor) => command.envs(scaled(factor)),
            Pace::Real => command.env_remove(PACE_VAR),
        };
    }
}
