//! The checker: runs any program as one of the examples and checks what the
//! example must do, at two levels: `listing` (what the tutorial's listing
//! promises) and `robust` (what the ports add). Each check is one line of a
//! checklist, passed or failed, with what was expected and what was seen.
//!
//! `spec` (the examples' data files), `transcript` (checks on the lines
//! printed), `run` (one run, on a terminal or into a pipe), `objects` (what
//! a run creates, locks on machine-wide names), `listing` and `robust` (the
//! checks of each level), `report` (the checklist as text or JSON). The
//! command is `cargo run -p tests -- NAME PROGRAM`; see `docs/checker.md`.

mod listing;
mod objects;
pub mod report;
mod robust;
mod run;
pub mod spec;
mod transcript;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use report::{CheckResult, Report};
pub use robust::quiet_guarded_panics;
pub use spec::Spec;

/// Which checks to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// What the tutorial's listing promises.
    Listing,
    /// The listing's checks, and what the ports add.
    Robust,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Listing => "listing",
            Level::Robust => "robust",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "listing" => Some(Level::Listing),
            "robust" => Some(Level::Robust),
            _ => None,
        }
    }
}

/// Checks `program` as the example `spec` describes, at `level`; `waiting`
/// is told when another check holds a machine-wide name the example uses.
pub fn check(spec: &Spec, program: &Path, level: Level, waiting: &mut dyn FnMut(&Path)) -> Report {
    check_in(spec, program, level, waiting, None)
}

/// [`check`], with `env` in the environment of every run of the listing
/// level (the robust level's drivers choose their own pace).
fn check_in(
    spec: &Spec,
    program: &Path,
    level: Level,
    waiting: &mut dyn FnMut(&Path),
    env: Option<(&'static str, &'static str)>,
) -> Report {
    let program = absolute(program);
    let mut report = Report::new(&spec.example, &program, level);
    let bound = Duration::from_secs(spec.within_seconds);

    // One check at a time per machine-wide name, for as long as it runs.
    let probe = objects::fresh_dir();
    let places = objects::Place::all(&spec.objects, probe.path());
    let mut locks = Vec::new();
    for name in places.iter().filter_map(objects::Place::fixed_name) {
        match objects::NameLock::take(name, || waiting(name)) {
            Ok(lock) => locks.push(lock),
            Err(e) => report.note(format!("could not lock {}: {e}", name.display())),
        }
    }
    drop(probe);

    let mut session = listing::Session::new(spec, &program, bound);
    session.env = env;
    let taken = listing::names_free(&places, &mut report);
    if let Some(taken) = taken {
        listing::not_run(spec, level, &taken, &mut report);
        return report;
    }
    let pipe_lines = session.check(&mut report);
    if level == Level::Robust {
        match pipe_lines {
            Ok(lines) => robust::check(&session, &lines, &mut report),
            Err(e) => {
                for (number, name) in robust::names(spec) {
                    report.push(number, Level::Robust, name, Err(e.clone()));
                }
            }
        }
    }
    report
}

/// Checks `program` as the built-in example `name` (one of
/// [`spec::names`]); panics if there is no such example. For tests: the
/// program runs at the tests' pace (`IPC_PACE=0`, which only the ports
/// read, unless the tests' own environment sets `IPC_PACE`:
/// [`crate::faults::test_pace`]).
pub fn check_example(name: &str, program: &Path, level: Level) -> Report {
    let spec = match spec::find(name) {
        Some(Ok(spec)) => spec,
        Some(Err(e)) => panic!("{e}"),
        None => panic!("no example {name}"),
    };
    check_in(
        &spec,
        program,
        level,
        &mut |_| {},
        crate::faults::test_pace(),
    )
}

fn absolute(program: &Path) -> PathBuf {
    // A bare name that is not a file here is looked up in PATH when run.
    if program.components().count() > 1 || program.is_absolute() || program.is_file() {
        std::path::absolute(program).unwrap_or_else(|_| program.to_owned())
    } else {
        program.to_owned()
    }
}
