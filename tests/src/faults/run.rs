//! Running an example under the test's control: [`Example`] says how to
//! start it; [`Running`] reads its output line by line; [`Held`] stops it
//! at a chosen byte of its output; [`Ended`] is how it ended. Every run has
//! a watchdog, so an example that hangs fails its test instead of hanging it,
//! and a test that fails half-way leaves no run behind.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Lines, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::thread;

use super::pace::Pace;
use super::processes::{children, describe, forked_child, state, syscall};
use crate::wait::wait_for;
use crate::{FullPipe, TIMEOUT};

/// How to start one example: its binary, where it runs, its arguments, and
/// its pace ([`Pace::Test`] unless the test says otherwise).
#[derive(Debug, Clone)]
pub struct Example {
    pub bin: PathBuf,
    pub dir: PathBuf,
    pub args: Vec<OsString>,
    pub pace: Pace,
}

impl Example {
    pub fn new(bin: &Path, dir: &Path) -> Self {
        Self {
            bin: bin.to_owned(),
            dir: dir.to_owned(),
            args: Vec::new(),
            pace: Pace::Test,
        }
    }

    /// The example at the tutorial's pace (no `IPC_PACE`): for a test that
    /// needs a process in its pacing sleep, and so that the pace every user
    /// sees stays tested.
    pub fn at_real_pace(self) -> Self {
        self.at(Pace::Real)
    }

    /// The example at `pace`.
    pub fn at(mut self, pace: Pace) -> Self {
        self.pace = pace;
        self
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// The command, without stdio set, at its pace.
    pub fn command(&self) -> Command {
        let mut command = Command::new(&self.bin);
        command.current_dir(&self.dir).args(&self.args);
        self.pace.apply(&mut command);
        command
    }

    /// Starts the example in a process group of its own, as a shell starts a
    /// job, with stdout and stderr read by the test.
    pub fn start(&self) -> Running {
        let mut program = self
            .command()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap();
        let pid = i32::try_from(program.id()).unwrap();
        let stdout = BufReader::new(program.stdout.take().unwrap()).lines();
        let finished = watchdog(pid);
        Running {
            program,
            pid,
            stdout,
            seen: Vec::new(),
            _finished: finished,
        }
    }

    /// Runs the example to its end, untouched: its lines and stderr.
    pub fn run(&self) -> Ended {
        self.start().finish()
    }

    /// Starts the example with room for `room` bytes of stdout, and waits
    /// until a process of the run blocks writing past them, or the run ends.
    pub fn start_held(&self, room: usize) -> Held {
        let mut held = self.spawn_held(room);
        let pid = held.pid;
        wait_for("the run is held at its stdout, or has ended", || {
            let mut processes = children(pid);
            processes.push(pid);
            let held_or_ended = processes
                .iter()
                .any(|&p| syscall(p) == Some(libc::SYS_write) && state(p) == Some('S'))
                || held.program.try_wait().unwrap().is_some();
            if held_or_ended {
                Ok(())
            } else {
                Err(describe(&processes))
            }
        });
        held
    }

    /// Starts the example with room for `room` bytes of stdout, and returns
    /// at once.
    pub fn spawn_held(&self, room: usize) -> Held {
        let mut stdout = FullPipe::with_room(room);
        let program = self
            .command()
            .stdin(Stdio::null())
            .stdout(stdout.stdout())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap();
        let pid = i32::try_from(program.id()).unwrap();
        let finished = watchdog(pid);
        Held {
            program,
            stdout: Some(stdout),
            pid,
            _finished: finished,
        }
    }
}

/// A running example.
#[derive(Debug)]
pub struct Running {
    program: Child,
    pid: i32,
    stdout: Lines<BufReader<ChildStdout>>,
    seen: Vec<String>,
    /// Dropping it tells the watchdog the run is over.
    _finished: mpsc::Sender<()>,
}

impl Running {
    /// The example's pid, which is also its process group's id.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Reads stdout until `count` lines have been printed; false if the
    /// example ended first.
    pub fn read_lines(&mut self, count: usize) -> bool {
        while self.seen.len() < count {
            match self.stdout.next() {
                Some(line) => self.seen.push(line.unwrap()),
                None => return false,
            }
        }
        true
    }

    /// Reads stdout up to the line `wanted`.
    pub fn read_until(&mut self, wanted: &str) {
        if self.seen.iter().any(|line| line == wanted) {
            return;
        }
        for line in self.stdout.by_ref() {
            let line = line.unwrap();
            let found = line == wanted;
            self.seen.push(line);
            if found {
                return;
            }
        }
        panic!("no {wanted:?} in {:#?}", self.seen);
    }

    pub fn seen(&self) -> &[String] {
        &self.seen
    }

    /// The forked child of the example, once it has one.
    pub fn child(&self) -> i32 {
        forked_child(self.pid)
    }

    /// Sends `signal` to the example's process group: Ctrl-C in a terminal.
    pub fn signal_group(&self, signal: libc::c_int) {
        // SAFETY: kill takes no pointers.
        assert_eq!(unsafe { libc::kill(-self.pid, signal) }, 0, "kill group");
    }

    /// Reads the rest of stdout and waits for the example to end.
    pub fn finish(mut self) -> Ended {
        for line in self.stdout.by_ref() {
            self.seen.push(line.unwrap());
        }
        let mut stderr = String::new();
        if let Some(mut pipe) = self.program.stderr.take() {
            pipe.read_to_string(&mut stderr).unwrap();
        }
        let status = self.program.wait().unwrap();
        Ended {
            code: status.code(),
            lines: std::mem::take(&mut self.seen),
            stderr,
            pid: self.pid,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        stop_unfinished(&mut self.program, self.pid);
    }
}

/// A run of an example whose stdout has room for a given number of bytes
/// only: the process that prints past them blocks in `write`, and the run
/// stands still right after that many bytes of output, for as long as the
/// test likes (see [`FullPipe::with_room`]).
#[derive(Debug)]
pub struct Held {
    program: Child,
    stdout: Option<FullPipe>,
    pid: i32,
    _finished: mpsc::Sender<()>,
}

impl Held {
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Sends `signal` to the run's process group: Ctrl-C in a terminal.
    pub fn signal_group(&self, signal: libc::c_int) {
        // The run may be over already: then there is nobody to signal.
        // SAFETY: kill takes no pointers.
        unsafe { libc::kill(-self.pid, signal) };
    }

    /// Lets the run go on (reads its stdout) and waits for it to end.
    pub fn finish(mut self) -> Ended {
        let printed = crate::lines(&self.stdout.take().unwrap().finish());
        let mut stderr = String::new();
        if let Some(mut pipe) = self.program.stderr.take() {
            pipe.read_to_string(&mut stderr).unwrap();
        }
        let status = self.program.wait().unwrap();
        Ended {
            code: status.code(),
            lines: printed,
            stderr,
            pid: self.pid,
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        stop_unfinished(&mut self.program, self.pid);
    }
}

/// How a run ended.
#[derive(Debug)]
pub struct Ended {
    /// The exit status, `None` if a signal killed it.
    pub code: Option<i32>,
    pub lines: Vec<String>,
    pub stderr: String,
    /// The pid of the example, which was also its process group.
    pub pid: i32,
}

impl Ended {
    /// Asserts that the example and every process of its group are gone,
    /// reaped: nothing of the run is left running.
    pub fn assert_group_gone(&self) {
        // SAFETY: kill with signal 0 only checks; it takes no pointers.
        let alive = unsafe { libc::kill(-self.pid, 0) } == 0;
        assert!(!alive, "a process of the run is still there: {self:#?}");
    }

    /// Asserts the end of a run that `signal` stopped: the status a shell
    /// shows for it, one line on stderr, `notice`, which names what was
    /// removed, and nothing of the run still running.
    pub fn assert_stopped(&self, program: &str, status: i32, notice: &str) {
        assert_eq!(self.code, Some(status), "{self:#?}");
        let expected = format!("{program}: {notice}\n");
        assert_eq!(self.stderr, expected, "{self:#?}");
        self.assert_group_gone();
    }
}

/// Kills the run's process group (`pid`) if it is still there after
/// [`TIMEOUT`]; dropping the sender it returns says the run is over.
fn watchdog(pid: i32) -> mpsc::Sender<()> {
    let (finished, watchdog) = mpsc::channel::<()>();
    thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = watchdog.recv_timeout(TIMEOUT) {
            // SAFETY: kill takes no pointers.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
        }
    });
    finished
}

/// A test that fails half-way leaves no run behind: SIGTERM to the group
/// (so that the example still cleans up), then wait for it.
fn stop_unfinished(program: &mut Child, pid: i32) {
    if let Ok(None) = program.try_wait() {
        // SAFETY: kill takes no pointers.
        unsafe { libc::kill(-pid, libc::SIGTERM) };
        let _ = program.wait();
    }
}
