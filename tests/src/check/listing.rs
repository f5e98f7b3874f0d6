//! The listing level: what the tutorial's example promises. The program runs
//! as the listing runs, with no argument, in a fresh working directory:
//! once with its stdout on a terminal (as the transcript was taken) and once
//! with its stdout into a pipe.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::objects::{self, Place};
use super::report::Report;
use super::run::{self, Outcome, Status, Stdout};
use super::transcript;
use super::{Level, Spec};

/// What every check of one program shares.
#[derive(Debug)]
pub struct Session<'a> {
    pub spec: &'a Spec,
    pub program: PathBuf,
    pub bound: Duration,
    /// An environment variable for the program's runs: the tests' pace
    /// (`IPC_PACE=0`) when our own suite checks a port; none from the
    /// command line, where a program runs as its user would run it.
    pub env: Option<(&'static str, &'static str)>,
}

/// The listing level's checks: number and name.
pub fn names(spec: &Spec) -> Vec<(&'static str, String)> {
    let mut names = vec![
        ("L1", "exits with status 0".to_owned()),
        ("L2", format!("ends within {} s", spec.within_seconds)),
        (
            "L3",
            if spec.transcript.len() == distinct(spec) {
                "prints every line of the transcript, each once".to_owned()
            } else {
                "prints every line of the transcript, each as often as there".to_owned()
            },
        ),
    ];
    if !spec.order.is_empty() || !spec.pair.is_empty() || !spec.running_total.is_empty() {
        names.push(("L4", "keeps the orders the protocol guarantees".to_owned()));
    }
    names.push(("L5", "prints nothing on stderr".to_owned()));
    names.push((
        "L6",
        "prints each line once when stdout is a pipe".to_owned(),
    ));
    let kept: Vec<String> = spec
        .objects
        .iter()
        .filter(|o| !o.removed)
        .map(|o| match &o.kind {
            super::spec::Kind::File { path } => path.clone(),
            other => format!("{other:?}"),
        })
        .collect();
    names.push((
        "L7",
        if kept.is_empty() {
            "leaves no object or process behind".to_owned()
        } else {
            format!("keeps {} and leaves nothing else behind", kept.join(", "))
        },
    ));
    names
}

fn distinct(spec: &Spec) -> usize {
    let mut lines: Vec<&String> = spec.transcript.iter().collect();
    lines.sort();
    lines.dedup();
    lines.len()
}

/// The check that a machine-wide name is free before anything runs; returns
/// what holds it, if something does. The checker leaves it alone.
pub fn names_free(places: &[Place], report: &mut Report) -> Option<String> {
    let mut taken = None;
    for place in places {
        let Some(name) = place.fixed_name() else {
            continue;
        };
        let name = format!("its fixed name {} is free", name.display());
        match place.present() {
            None => report.push("L0", Level::Listing, name, Ok("free".to_owned())),
            Some(what) => {
                report.push(
                    "L0",
                    Level::Listing,
                    name,
                    Err(format!(
                        "expected nothing there before the run; seen {what}, which this check did not make: \
                         left alone, and no other check run (it may be another program's; if it is a \
                         leftover of yours, remove it and check again)"
                    )),
                );
                taken = Some(what);
            }
        }
    }
    taken
}

/// Every check of the level, failed as not run: a name the example needs is
/// taken.
pub fn not_run(spec: &Spec, level: Level, taken: &str, report: &mut Report) {
    let mut all: Vec<(&'static str, String, Level)> = names(spec)
        .into_iter()
        .map(|(n, name)| (n, name, Level::Listing))
        .collect();
    if level == Level::Robust {
        all.extend(
            super::robust::names(spec)
                .into_iter()
                .map(|(n, name)| (n, name, Level::Robust)),
        );
    }
    for (number, name, level) in all {
        report.push(
            number,
            level,
            name,
            Err(format!("not run: {taken} is already there")),
        );
    }
}

impl<'a> Session<'a> {
    pub fn new(spec: &'a Spec, program: &Path, bound: Duration) -> Self {
        Self {
            spec,
            program: program.to_owned(),
            bound,
            env: None,
        }
    }

    /// One run in a fresh directory; then what it left that it should
    /// have removed (removed by the checker: nothing was there before), and
    /// what it should have kept and did not.
    pub fn run(
        &self,
        stdout: Stdout,
        report: &mut Report,
    ) -> Result<(Outcome, Vec<String>), String> {
        let (outcome, left, notes) = self.run_quietly(stdout)?;
        for note in notes {
            report.note(note);
        }
        Ok((outcome, left))
    }

    /// [`Session::run`], with the checker's notes returned.
    #[allow(clippy::type_complexity)]
    fn run_quietly(&self, stdout: Stdout) -> Result<(Outcome, Vec<String>, Vec<String>), String> {
        let dir = objects::fresh_dir();
        let places = Place::all(&self.spec.objects, dir.path());
        let outcome = run::run(&self.program, dir.path(), stdout, self.bound, self.env)
            .map_err(|e| format!("could not run {}: {e}", self.program.display()))?;
        let mut left = objects::left_behind(&places);
        left.extend(
            objects::not_kept(&places)
                .into_iter()
                .map(|o| format!("{o} was not kept")),
        );
        if outcome.stragglers {
            left.push(
                "a process of the run was still running after it ended (killed by the checker)"
                    .to_owned(),
            );
        }
        Ok((outcome, left, objects::clean_up(&places)))
    }

    /// The listing's checks; returns the lines of the run into a pipe (where
    /// the robust level stops runs), or why the program could not be run.
    pub fn check(&self, report: &mut Report) -> Result<Vec<String>, String> {
        let spec = self.spec;
        let names = names(spec);
        let name = |number: &str| {
            names
                .iter()
                .find(|(n, _)| *n == number)
                .map(|(_, name)| name.clone())
                .unwrap_or_default()
        };
        // Both runs at once, each in its own directory, unless the example
        // uses a machine-wide name: then one after the other.
        let fixed = spec.objects.iter().any(|o| {
            matches!(
                o.kind,
                super::spec::Kind::PosixShm { .. } | super::spec::Kind::Socket { .. }
            )
        });
        let (terminal, pipe) = if fixed {
            (
                self.run_quietly(Stdout::Terminal),
                self.run_quietly(Stdout::Pipe),
            )
        } else {
            std::thread::scope(|scope| {
                let pipe = scope.spawn(|| self.run_quietly(Stdout::Pipe));
                let terminal = self.run_quietly(Stdout::Terminal);
                let pipe = pipe
                    .join()
                    .unwrap_or_else(|_| Err("the run into a pipe failed".to_owned()));
                (terminal, pipe)
            })
        };
        for (_, _, notes) in [&terminal, &pipe].into_iter().flatten() {
            for note in notes {
                report.note(note.clone());
            }
        }
        let (terminal, pipe) = match (
            terminal.map(|(outcome, left, _)| (outcome, left)),
            pipe.map(|(outcome, left, _)| (outcome, left)),
        ) {
            (Ok(terminal), Ok(pipe)) => (terminal, pipe),
            (Err(e), _) | (_, Err(e)) => {
                for (number, name) in names {
                    report.push(number, Level::Listing, name, Err(e.clone()));
                }
                return Err(e);
            }
        };
        let (run, left_on_terminal) = terminal;
        let stderr = || {
            if run.stderr.is_empty() {
                String::new()
            } else {
                format!("\nstderr:\n{}", indent(&run.stderr))
            }
        };

        report.push(
            "L1",
            Level::Listing,
            name("L1"),
            match run.status {
                Status::Exited(0) => Ok("exit status 0".to_owned()),
                status => Err(format!("expected exit status 0; seen {status}{}", stderr())),
            },
        );
        report.push(
            "L2",
            Level::Listing,
            name("L2"),
            if run.timed_out {
                Err(format!(
                    "expected it to end within {} s; it was still running then (killed by the checker)",
                    spec.within_seconds
                ))
            } else {
                Ok(format!("ended in {:.1} s", run.elapsed.as_secs_f64()))
            },
        );
        report.push(
            "L3",
            Level::Listing,
            name("L3"),
            transcript::same_lines(spec, &run.lines).map(|()| transcript::quote_lines(&run.lines)),
        );
        if names.iter().any(|(n, _)| *n == "L4") {
            report.push(
                "L4",
                Level::Listing,
                name("L4"),
                transcript::orders(spec, &run.lines).map(|()| "in order".to_owned()),
            );
        }
        report.push(
            "L5",
            Level::Listing,
            name("L5"),
            if run.stderr.is_empty() {
                Ok("nothing".to_owned())
            } else {
                Err(format!(
                    "expected nothing on stderr; seen:\n{}",
                    indent(&run.stderr)
                ))
            },
        );
        let (piped, left_in_pipe) = pipe;
        report.push(
            "L6",
            Level::Listing,
            name("L6"),
            transcript::repeated(spec, &piped.lines)
                .map(|()| transcript::quote_lines(&piped.lines)),
        );
        let mut left: Vec<String> = left_on_terminal
            .iter()
            .map(|o| format!("stdout on a terminal: {o}"))
            .collect();
        left.extend(
            left_in_pipe
                .iter()
                .map(|o| format!("stdout into a pipe: {o}")),
        );
        report.push(
            "L7",
            Level::Listing,
            name("L7"),
            if left.is_empty() {
                Ok("nothing left".to_owned())
            } else {
                Err(format!(
                    "expected nothing left after a run; seen:\n{}",
                    left.join("\n")
                ))
            },
        );
        Ok(piped.lines)
    }
}

/// Text indented by two spaces, line by line.
pub fn indent(text: &str) -> String {
    text.lines()
        .map(|line| format!("  {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}
