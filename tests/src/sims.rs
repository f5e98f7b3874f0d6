//! The two simulations (`shm-sim`, `msg-sim`) driven live, for a test that
//! acts on a session between two commands: stdin held open, stdout read
//! line by line with a deadline, the run in a process group of its own with
//! a watchdog. A test that gives up says what it saw: the lines printed,
//! and where each process of the run was.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::faults::{Ended, children, state, syscall};

/// How long a session may take to reach a line, or to end, after the
/// test's last step: far above what the step needs, so that a loaded
/// machine does not fail a correct run, and short enough that a hang
/// fails the test quickly.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A running session of a sim.
#[derive(Debug)]
pub struct SimSession {
    program: Child,
    pid: i32,
    stdin: Option<ChildStdin>,
    stdout: mpsc::Receiver<String>,
    stderr: Option<thread::JoinHandle<String>>,
    seen: Vec<String>,
}

impl SimSession {
    /// Starts `program` in a process group of its own, with its stdin held
    /// open, and reads its output up to the first prompt's line.
    pub fn start(program: &Path) -> Self {
        Self::start_command(Command::new(program))
    }

    /// As [`SimSession::start`], for a prepared command.
    pub fn start_command(mut command: Command) -> Self {
        let mut program = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap();
        let pid = i32::try_from(program.id()).unwrap();
        let (lines, stdout) = mpsc::channel();
        let reader = BufReader::new(program.stdout.take().unwrap());
        thread::spawn(move || {
            for line in reader.lines() {
                let Ok(line) = line else { return };
                if lines.send(line).is_err() {
                    return;
                }
            }
        });
        let mut pipe = program.stderr.take().unwrap();
        let stderr = thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        });
        let mut session = Self {
            stdin: program.stdin.take(),
            program,
            pid,
            stdout,
            stderr: Some(stderr),
            seen: Vec::new(),
        };
        session.read_until("Type help for the commands.");
        session
    }

    /// The controller's pid, which is also the process group's.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The lines printed so far.
    pub fn seen(&self) -> &[String] {
        &self.seen
    }

    /// Types `line` and a newline.
    pub fn type_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").unwrap();
    }

    /// Reads the output up to the line `wanted`.
    pub fn read_until(&mut self, wanted: &str) {
        self.read_until_match(&format!("the line {wanted:?}"), |line| line == wanted);
    }

    /// Reads the output up to a line for which `wanted` holds; fails the
    /// test, saying what the session printed and where its processes are,
    /// if none comes within [`PATIENCE`].
    pub fn read_until_match(&mut self, what: &str, wanted: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout.recv_timeout(left) {
                Ok(line) => {
                    let found = wanted(&line);
                    self.seen.push(line);
                    if found {
                        return;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!("no {what} within {PATIENCE:?}; {}", self.report());
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = self.program.wait().unwrap();
                    panic!(
                        "the session ended ({status}) before {what}; {}",
                        self.report()
                    );
                }
            }
        }
    }

    /// The run's processes and where each one is, and the lines printed:
    /// what a test that gives up says it saw.
    pub fn report(&self) -> String {
        let mut processes = vec![self.pid];
        processes.extend(children(self.pid));
        let states: Vec<String> = processes
            .iter()
            .map(|&p| format!("pid {p}: state {:?}, in syscall {:?}", state(p), syscall(p)))
            .collect();
        format!("processes: {states:#?}; printed: {:#?}", self.seen)
    }

    /// Closes stdin (the end of the input, as Ctrl-D) and waits for the end.
    pub fn end_input(mut self) -> Ended {
        drop(self.stdin.take());
        self.wait_end()
    }

    /// Waits for the session to end by itself, stdin still open; fails the
    /// test, saying what it saw, if it does not end within [`PATIENCE`].
    pub fn wait_end(mut self) -> Ended {
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(status) = self.program.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let report = self.report();
                stop_group(self.pid);
                panic!("the session did not end within {PATIENCE:?}; {report}");
            }
            thread::sleep(Duration::from_millis(10));
        };
        // The controller has exited; the rest of what the run printed is in
        // the pipe, which ends once no process of the run holds it.
        loop {
            let left = deadline.saturating_duration_since(Instant::now()) + PATIENCE;
            match self.stdout.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!(
                        "the controller exited ({status}), but a process of the run still holds its stdout; {}",
                        self.report()
                    );
                }
            }
        }
        let lines = std::mem::take(&mut self.seen);
        let stderr = self.stderr.take().unwrap().join().unwrap();
        drop(self.stdin.take());
        Ended {
            code: status.code(),
            lines,
            stderr,
            pid: self.pid,
        }
    }
}

impl Drop for SimSession {
    fn drop(&mut self) {
        // A test that failed half-way leaves no session behind.
        if let Ok(None) = self.program.try_wait() {
            stop_group(self.pid);
            let _ = self.program.wait();
        }
    }
}

/// Ends the group `pid`: SIGTERM, for the controller to clean up, then
/// SIGKILL for whatever is still there after a few seconds.
fn stop_group(pid: i32) {
    // SAFETY: kill takes no pointers.
    unsafe { libc::kill(-pid, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(5);
    // SAFETY: as above; signal 0 only checks.
    while unsafe { libc::kill(-pid, 0) } == 0 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    // SAFETY: as above.
    unsafe { libc::kill(-pid, libc::SIGKILL) };
}
