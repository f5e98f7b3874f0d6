//! The robust level: what the ports add to the listing. Runs are stopped at
//! each of their lines (on a pipe that is full but for the bytes before that
//! line, [`Example::start_held`]) and hurt there: Ctrl-C or SIGTERM to the
//! group, SIGKILL to the child, SIGKILL to the whole run; and a run whose
//! stdout is closed. A sweep stops at its first failure, which it names.

use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use super::listing::{Session, indent};
use super::objects::{self, Place};
use super::report::Report;
use super::run::signal_name;
use super::run::{self, Status, Stdout};
use super::transcript;
use super::{Level, Spec};
use crate::faults::STOP_SIGNALS as STOP;
use crate::faults::{self, Ended, Example};

/// The robust level's checks: number and name.
pub fn names(spec: &Spec) -> Vec<(&'static str, String)> {
    let mut names = vec![
        (
            "R1",
            "Ctrl-C (SIGINT) after each line: exit 130, nothing left behind".to_owned(),
        ),
        (
            "R2",
            "SIGTERM after each line: exit 143, nothing left behind".to_owned(),
        ),
        (
            "R3",
            "a killed child: the parent does not hang, exits non-zero, leaves nothing".to_owned(),
        ),
    ];
    if spec.objects.iter().any(|o| o.removed) {
        names.push((
            "R4",
            "a crashed run's leftover is reclaimed by the next run".to_owned(),
        ));
    }
    names.push((
        "R5",
        "a closed stdout: one line on stderr and a non-zero exit".to_owned(),
    ));
    names
}

/// Runs the robust checks; `pipe_lines` are the lines of a normal run into
/// a pipe, where the sweeps stop.
pub fn check(session: &Session<'_>, pipe_lines: &[String], report: &mut Report) {
    let spec = session.spec;
    let names = names(spec);
    let name = |number: &str| {
        names
            .iter()
            .find(|(n, _)| *n == number)
            .map(|(_, name)| name.clone())
            .unwrap_or_default()
    };
    let sweep = Sweep::new(session, pipe_lines);
    for (number, (signal, status)) in ["R1", "R2"].into_iter().zip(STOP) {
        let outcome = guarded(|| sweep.stop_each_line(signal, status, report));
        report.push(number, Level::Robust, name(number), outcome);
    }
    let outcome = guarded(|| sweep.kill_child_at_each_line(report));
    report.push("R3", Level::Robust, name("R3"), outcome);
    if names.iter().any(|(n, _)| *n == "R4") {
        let outcome = guarded(|| sweep.reclaim_after_a_crash(report));
        report.push("R4", Level::Robust, name("R4"), outcome);
    }
    let outcome = guarded(|| closed_stdout(session, report));
    report.push("R5", Level::Robust, name("R5"), outcome);
}

/// A check that panicked (a helper of the tests crate gave up waiting)
/// failed, with the helper's message.
fn guarded(check: impl FnOnce() -> Result<String, String>) -> Result<String, String> {
    GUARDED.set(true);
    let outcome = panic::catch_unwind(AssertUnwindSafe(check));
    GUARDED.set(false);
    outcome.unwrap_or_else(|payload| {
        let message = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default();
        Err(format!("the check could not go on: {message}"))
    })
}

thread_local! {
    /// Set while a check runs whose panic becomes its failure.
    static GUARDED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Installs a panic hook that keeps quiet about a panic that a check turns
/// into its failure (its message is in the checklist), and reports any
/// other as the checker's own error.
pub fn quiet_guarded_panics() {
    let default = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if !GUARDED.get() {
            default(info);
        }
    }));
}

/// Where the runs of a sweep stop: after each line of a normal run into a
/// pipe (and before the first).
struct Sweep<'a> {
    session: &'a Session<'a>,
    lines: Vec<String>,
    /// The byte offset after each line, 0 first.
    points: Vec<usize>,
}

impl<'a> Sweep<'a> {
    fn new(session: &'a Session<'a>, lines: &[String]) -> Self {
        let mut points = vec![0];
        let mut offset = 0;
        for line in lines {
            offset += line.len() + 1;
            points.push(offset);
        }
        Self {
            session,
            lines: lines.to_vec(),
            points,
        }
    }

    /// "before its first line", "after \"Parent sent message\"".
    fn at(&self, index: usize) -> String {
        match index {
            0 => "before its first line".to_owned(),
            i => format!("after line {i} {:?}", self.lines[i - 1]),
        }
    }

    fn complete(&self, ended: &Ended) -> bool {
        ended.code == Some(0) && ended.lines.len() == self.lines.len()
    }

    /// What a hurt run left: processes of its group, objects it should have
    /// removed (then removed by the checker: the directory is fresh and the
    /// fixed names were free).
    fn left(&self, ended: &Ended, places: &[Place], report: &mut Report) -> Vec<String> {
        let mut left = objects::left_behind(places);
        if !run::group_gone_within(ended.pid, Duration::from_secs(2)) {
            run::kill_group(ended.pid, libc::SIGKILL);
            left.push("a process of the run was still running (killed by the checker)".to_owned());
        }
        for note in objects::clean_up(places) {
            report.note(note);
        }
        left
    }

    fn example(&self, dir: &crate::TestDir) -> Example {
        Example::new(&self.session.program, dir.path())
    }

    /// Ctrl-C (SIGINT) or SIGTERM to the group at each stopping point.
    fn stop_each_line(
        &self,
        signal: libc::c_int,
        status: i32,
        report: &mut Report,
    ) -> Result<String, String> {
        let dir = objects::fresh_dir();
        let places = Place::all(&self.session.spec.objects, dir.path());
        let example = self.example(&dir);
        let mut stopped = 0;
        for (index, &room) in self.points.iter().enumerate() {
            let held = example.start_held(room);
            // A run held at the end of its output may have ended already.
            let running = faults::state(held.pid()).is_some_and(|state| state != 'Z');
            held.signal_group(signal);
            let watchdog = Watchdog::new(held.pid(), self.session.bound);
            let ended = held.finish();
            let hung = watchdog.fired();
            let left = self.left(&ended, &places, report);
            if !running && left.is_empty() {
                continue;
            }
            stopped += 1;
            let mut problems = Vec::new();
            if hung {
                problems.push(format!(
                    "it was still running {} s after {} (killed by the checker)",
                    self.session.bound.as_secs(),
                    signal_name(signal)
                ));
            } else if ended.code != Some(status) {
                let went_on = if self.complete(&ended) {
                    format!(
                        ": it went on to the end as if no {} had come",
                        signal_name(signal)
                    )
                } else {
                    String::new()
                };
                problems.push(format!(
                    "expected exit status {status}; seen {}{went_on}",
                    ended_status(&ended)
                ));
            }
            problems.extend(left.into_iter().map(|o| format!("left behind: {o}")));
            if !problems.is_empty() {
                return Err(format!(
                    "{} {}:\n{}{}",
                    signal_name(signal),
                    self.at(index),
                    problems.join("\n"),
                    stderr_of(&ended)
                ));
            }
        }
        if stopped == 0 {
            return Err(format!(
                "no run could be stopped: each had ended before {} came",
                signal_name(signal)
            ));
        }
        Ok(format!("{stopped} runs stopped, each cleanly"))
    }

    /// SIGKILL to the child at each stopping point where it is still running.
    fn kill_child_at_each_line(&self, report: &mut Report) -> Result<String, String> {
        let dir = objects::fresh_dir();
        let places = Place::all(&self.session.spec.objects, dir.path());
        let example = self.example(&dir);
        let mut killed = 0;
        for (index, &room) in self.points.iter().enumerate() {
            let held = example.start_held(room);
            let child = faults::children(held.pid())
                .first()
                .copied()
                .filter(|&c| faults::state(c).is_some_and(|s| s != 'Z'));
            let Some(child) = child else {
                let ended = held.finish();
                self.left(&ended, &places, report);
                continue;
            };
            faults::kill(child, libc::SIGKILL);
            // Dead before its stdout is read: a write it was asleep in
            // could otherwise still go through when the pipe gets room.
            wait_dead(&[child]);
            let watchdog = Watchdog::new(held.pid(), self.session.bound);
            let ended = held.finish();
            let hung = watchdog.fired();
            let left = self.left(&ended, &places, report);
            if !hung && self.complete(&ended) && left.is_empty() {
                // The child had just finished its part.
                continue;
            }
            killed += 1;
            let mut problems = Vec::new();
            if hung {
                problems.push(format!(
                    "the parent hung: still running {} s after its child was killed (killed by the checker)",
                    self.session.bound.as_secs()
                ));
            } else {
                match ended.code {
                    Some(0) => problems.push(format!(
                        "expected a non-zero exit status (its child did not finish); seen exit status 0 with {} of {} lines",
                        ended.lines.len(),
                        self.lines.len()
                    )),
                    Some(_) => {}
                    None => problems.push(format!("expected an exit status; seen {}", ended_status(&ended))),
                }
            }
            problems.extend(left.into_iter().map(|o| format!("left behind: {o}")));
            if !problems.is_empty() {
                return Err(format!(
                    "child killed {}:\n{}{}",
                    self.at(index),
                    problems.join("\n"),
                    stderr_of(&ended)
                ));
            }
        }
        if killed == 0 {
            return Err("no child could be killed before the run ended".to_owned());
        }
        Ok(format!(
            "{killed} children killed; each parent ended and said so"
        ))
    }

    /// SIGKILL to the whole run as soon as its object exists; then a normal
    /// run in the same place.
    fn reclaim_after_a_crash(&self, report: &mut Report) -> Result<String, String> {
        let dir = objects::fresh_dir();
        let places = Place::all(&self.session.spec.objects, dir.path());
        let example = self.example(&dir);
        let crash = match self.crash_held(&example, &places, report) {
            Some(crash) => crash,
            None => self.crash_running(&example, &places, report)?,
        };
        let next = run::run(
            &self.session.program,
            dir.path(),
            Stdout::Terminal,
            self.session.bound,
            self.session.env,
        )
        .map_err(|e| format!("could not run the program again: {e}"));
        let mut left = objects::left_behind(&places);
        if next.as_ref().is_ok_and(|n| n.stragglers) {
            left.push("a process of the run was still running (killed by the checker)".to_owned());
        }
        for note in objects::clean_up(&places) {
            report.note(note);
        }
        let next = next?;
        let mut problems = Vec::new();
        if next.timed_out {
            problems.push(format!(
                "the next run was still running after {} s (killed by the checker)",
                self.session.bound.as_secs()
            ));
        } else if next.status != Status::Exited(0) {
            problems.push(format!(
                "expected the next run to exit 0; seen {}",
                next.status
            ));
        }
        if let Err(e) = transcript::same_lines(self.session.spec, &next.lines) {
            problems.push(format!("the next run's lines: {e}"));
        }
        problems.extend(
            left.into_iter()
                .map(|o| format!("left behind by the next run: {o}")),
        );
        if problems.is_empty() {
            Ok(format!("{crash}; the next run succeeded and left nothing"))
        } else {
            let stderr = if next.stderr.is_empty() {
                String::new()
            } else {
                format!("\nthe next run's stderr:\n{}", indent(&next.stderr))
            };
            Err(format!("{crash}; then:\n{}{stderr}", problems.join("\n")))
        }
    }
}

impl Sweep<'_> {
    /// Stops a run at each point until its object exists there, and kills
    /// the whole run with SIGKILL; what happened, or `None` if the object
    /// was never there at a stopping point.
    fn crash_held(
        &self,
        example: &Example,
        places: &[Place],
        report: &mut Report,
    ) -> Option<String> {
        for (index, &room) in self.points.iter().enumerate() {
            let held = example.start_held(room);
            let present = removed_objects_present(places);
            if present.is_empty() {
                let ended = held.finish();
                self.left(&ended, places, report);
                continue;
            }
            let mut run = faults::children(held.pid());
            run.push(held.pid());
            held.signal_group(libc::SIGKILL);
            wait_dead(&run);
            held.finish();
            return Some(format!(
                "the run was killed with SIGKILL {}, leaving {}",
                self.at(index),
                present.join(", ")
            ));
        }
        None
    }

    /// Starts a run, and kills it with SIGKILL as soon as its object is
    /// there (for a program whose stdout is written only at its end, as C's
    /// stdio does into a pipe).
    fn crash_running(
        &self,
        example: &Example,
        places: &[Place],
        report: &mut Report,
    ) -> Result<String, String> {
        let running = example.start();
        let pid = running.pid();
        let mut present = Vec::new();
        let deadline = std::time::Instant::now() + self.session.bound;
        while faults::state(pid).is_some_and(|state| state != 'Z')
            && std::time::Instant::now() < deadline
        {
            present = removed_objects_present(places);
            if !present.is_empty() {
                break;
            }
            thread::sleep(Duration::from_millis(1));
        }
        if present.is_empty() {
            let ended = running.finish();
            self.left(&ended, places, report);
            return Err(
                "no object of the run was seen while it ran: nothing to crash with".to_owned(),
            );
        }
        let mut run = faults::children(pid);
        run.push(pid);
        running.signal_group(libc::SIGKILL);
        wait_dead(&run);
        let crashed = running.finish();
        Ok(format!(
            "the run was killed with SIGKILL after {} lines, leaving {}",
            crashed.lines.len(),
            present.join(", ")
        ))
    }
}

/// The objects a run removes that are there now.
fn removed_objects_present(places: &[Place]) -> Vec<String> {
    places
        .iter()
        .filter(|p| p.object.removed)
        .filter_map(Place::present)
        .collect()
}

/// A run whose stdout is a pipe already closed, as under `| head -0`.
fn closed_stdout(session: &Session<'_>, report: &mut Report) -> Result<String, String> {
    let (run, left) = session.run(Stdout::Closed, report)?;
    let mut problems = Vec::new();
    if run.timed_out {
        problems.push(format!(
            "it was still running after {} s (killed by the checker)",
            session.bound.as_secs()
        ));
    } else {
        match run.status {
            Status::Exited(0) => {
                problems.push("expected a non-zero exit status; seen exit status 0".to_owned())
            }
            Status::Exited(_) => {}
            status => problems.push(format!("expected a non-zero exit status; seen {status}")),
        }
    }
    let lines = run.stderr.lines().count();
    if lines != 1 {
        problems.push(format!(
            "expected one line on stderr; seen {lines}{}",
            if lines == 0 {
                String::new()
            } else {
                format!(":\n{}", indent(&run.stderr))
            }
        ));
    }
    problems.extend(left.into_iter().map(|o| format!("left behind: {o}")));
    if problems.is_empty() {
        Ok(format!("{}: {}", run.status, run.stderr.trim_end()))
    } else {
        Err(problems.join("\n"))
    }
}

/// Waits until each of `pids` is dead (a zombie or reaped).
fn wait_dead(pids: &[i32]) {
    crate::wait_until("the killed processes are dead", || {
        pids.iter()
            .all(|&pid| faults::state(pid).is_none_or(|state| state == 'Z'))
    });
}

fn ended_status(ended: &Ended) -> String {
    match ended.code {
        Some(code) => format!("exit status {code}"),
        None => "killed by a signal (no exit status)".to_owned(),
    }
}

fn stderr_of(ended: &Ended) -> String {
    if ended.stderr.is_empty() {
        String::new()
    } else {
        format!("\nstderr:\n{}", indent(&ended.stderr))
    }
}

/// Kills a run's group if it is still running after a bound; tells whether
/// it had to.
struct Watchdog {
    finished: mpsc::Sender<()>,
    fired: Arc<AtomicBool>,
}

impl Watchdog {
    fn new(group: i32, bound: Duration) -> Self {
        let (finished, wait) = mpsc::channel::<()>();
        let fired = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&fired);
        thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(bound) {
                flag.store(true, Ordering::SeqCst);
                run::kill_group(group, libc::SIGKILL);
            }
        });
        Self { finished, fired }
    }

    fn fired(self) -> bool {
        let _ = self.finished.send(());
        self.fired.load(Ordering::SeqCst)
    }
}
