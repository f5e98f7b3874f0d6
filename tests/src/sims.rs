//! The two simulations (`shm-sim`, `msg-sim`) driven live, for a test that
//! acts on a session between two commands: stdin held open, stdout read
//! line by line with a deadline, the run in a process group of its own with
//! a watchdog. A test that gives up says what it saw: the lines printed,
//! and where each process of the run was.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::faults::{Ended, children, kill, state, syscall};
use crate::{FullPipe, TIMEOUT};

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

/// A sim run on a script, as `sim < script`: the script is written into a
/// pipe before the run starts, so the controller never waits for stdin.
#[derive(Debug, Clone)]
pub struct Script {
    pub bin: PathBuf,
    pub text: String,
    /// Run in an IPC namespace of its own, whose System V objects are
    /// listed into this file when the sim has exited (see
    /// [`Script::in_own_ipc_namespace`]).
    pub listing: Option<PathBuf>,
}

impl Script {
    pub fn new(bin: &Path, text: &str) -> Self {
        Self {
            bin: bin.to_owned(),
            text: text.to_owned(),
            listing: None,
        }
    }

    /// The same script run in an IPC namespace of its own (`unshare
    /// --ipc`), by a shell that, once the sim has exited, lists the System
    /// V objects left in that namespace into `listing`: exactly what this
    /// run left behind, whatever other tests do meanwhile. `None`, after
    /// saying why, where this machine does not permit it.
    pub fn in_own_ipc_namespace(mut self, listing: &Path) -> Option<Self> {
        let permitted = unshare()
            .arg("true")
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if !permitted {
            eprintln!("skipped: this machine does not permit an IPC namespace (unshare --ipc)");
            return None;
        }
        self.listing = Some(listing.to_owned());
        Some(self)
    }

    /// The System V objects the run left in its namespace, one line each
    /// as `/proc/sysvipc` lists them (nothing: an empty string).
    pub fn left_behind(&self) -> String {
        std::fs::read_to_string(self.listing.as_ref().unwrap()).unwrap()
    }

    /// The command, with stdin the script; stdout and stderr not set.
    pub fn command(&self) -> Command {
        let mut command = match &self.listing {
            None => Command::new(&self.bin),
            Some(listing) => {
                let mut command = unshare();
                command
                    .args(["sh", "-c", LIST_WHAT_IS_LEFT])
                    .arg(&self.bin)
                    .arg(listing);
                command
            }
        };
        command.stdin(self.stdin());
        command
    }

    /// A pipe holding the whole script, already at its end.
    pub fn stdin(&self) -> Stdio {
        let (reader, mut writer) = std::io::pipe().unwrap();
        writer.write_all(self.text.as_bytes()).unwrap();
        reader.into()
    }

    /// A normal run: it must succeed; returns its transcript.
    pub fn transcript(&self) -> Vec<String> {
        let output = self
            .command()
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success() && stderr.is_empty(),
            "{}: {stderr}",
            output.status
        );
        crate::lines(&output.stdout)
    }

    /// The byte offsets after each line of `transcript` (and 0, before the
    /// first): where [`Script::start_held`] can stop a run.
    pub fn points(transcript: &[String]) -> Vec<usize> {
        let mut points = vec![0];
        for line in transcript {
            points.push(points.last().unwrap() + line.len() + 1);
        }
        points
    }

    /// Starts the script's run in a process group of its own, with room for
    /// `room` bytes of stdout, and waits until the controller blocks
    /// writing past them (or the run has ended): the run stands still
    /// there, A and B waiting for the controller's next command or asleep
    /// in a call, for as long as the test likes.
    pub fn start_held(&self, room: usize) -> HeldSim {
        let mut stdout = FullPipe::with_room(room);
        let mut program = self
            .command()
            .stdout(stdout.stdout())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap();
        let group = i32::try_from(program.id()).unwrap();
        let finished = watchdog(group);
        let stderr = program.stderr.take().unwrap();
        // In a namespace, the sim is the shell's child.
        let mut pid = group;
        if self.listing.is_some() {
            poll_until("the shell starts the sim, or ends", group, || {
                pid = children(group).first().copied().unwrap_or(group);
                pid != group || program.try_wait().unwrap().is_some()
            });
        }
        let mut held = HeldSim {
            program,
            group,
            pid,
            stdout: Some(stdout),
            stderr: Some(stderr),
            _finished: finished,
        };
        let program = &mut held.program;
        poll_until(
            "the controller blocks writing stdout, or the run ends",
            group,
            || {
                (syscall(pid) == Some(libc::SYS_write) && state(pid) == Some('S'))
                    || state(pid).is_none_or(|s| s == 'Z')
                    || program.try_wait().unwrap().is_some()
            },
        );
        held
    }
}

/// A run held at its stdout (see [`Script::start_held`]).
#[derive(Debug)]
pub struct HeldSim {
    program: Child,
    /// The process group of the run: the sim's controller, or the shell
    /// that runs it in a namespace.
    group: i32,
    /// The controller.
    pid: i32,
    stdout: Option<FullPipe>,
    stderr: Option<std::process::ChildStderr>,
    _finished: mpsc::Sender<()>,
}

impl HeldSim {
    /// The controller's pid.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Process A's and B's pids, those still running: the controller's
    /// children, A forked first.
    pub fn workers(&self) -> Vec<i32> {
        let mut workers: Vec<i32> = children(self.pid)
            .into_iter()
            .filter(|&p| state(p).is_some_and(|s| s != 'Z'))
            .collect();
        workers.sort_unstable();
        workers
    }

    /// Lets the run go on: its stdout is read to the end from now on, in a
    /// thread, while the test goes on acting on it.
    pub fn release(mut self) -> Released {
        let stdout = self.stdout.take().unwrap();
        let reader = thread::spawn(move || stdout.finish());
        Released {
            held: self,
            reader: Some(reader),
        }
    }

    /// Closes the read end of stdout (as `| head` does when it exits):
    /// the controller's write fails with `EPIPE`. Returns how it ended.
    pub fn close_stdout(mut self) -> Ended {
        drop(self.stdout.take());
        self.end(Vec::new())
    }

    fn end(&mut self, lines: Vec<String>) -> Ended {
        let mut stderr = String::new();
        if let Some(mut pipe) = self.stderr.take() {
            pipe.read_to_string(&mut stderr).unwrap();
        }
        let status = self.program.wait().unwrap();
        Ended {
            code: status.code(),
            lines,
            stderr,
            pid: self.group,
        }
    }
}

impl Drop for HeldSim {
    fn drop(&mut self) {
        if let Ok(None) = self.program.try_wait() {
            stop_group(self.group);
            let _ = self.program.wait();
        }
    }
}

/// Runs the sim (`$0`), then lists the System V objects left in the
/// namespace into the file `$1`, and exits with the sim's status.
const LIST_WHAT_IS_LEFT: &str = r#""$0"; status=$?
for kind in msg shm sem; do tail -n +2 "/proc/sysvipc/$kind"; done > "$1"
exit $status"#;

/// `unshare --ipc`, as another user than root with `--map-root-user`.
fn unshare() -> Command {
    let mut command = Command::new("unshare");
    command.arg("--ipc");
    if crate::uid() != 0 {
        command.arg("--map-root-user");
    }
    command
}

/// A held run let go on (see [`HeldSim::release`]).
#[derive(Debug)]
pub struct Released {
    held: HeldSim,
    reader: Option<thread::JoinHandle<Vec<u8>>>,
}

impl Released {
    pub fn pid(&self) -> i32 {
        self.held.pid
    }

    /// Waits until the controller is asleep waiting for A or B (in `ppoll`
    /// for a report, or in `wait4` at the end), or the run has ended;
    /// fails the test, saying where the processes were, after a while.
    pub fn wait_controller_waiting(&mut self) {
        let pid = self.held.pid;
        let program = &mut self.held.program;
        poll_until("the controller waits for A or B", self.held.group, || {
            let waiting = matches!(syscall(pid), Some(libc::SYS_ppoll | libc::SYS_wait4));
            (waiting && state(pid) == Some('S')) || program.try_wait().unwrap().is_some()
        });
    }

    /// Reads the rest of the output and waits for the run to end.
    pub fn finish(mut self) -> Ended {
        let printed = self.reader.take().unwrap().join().unwrap();
        let lines = crate::lines(&printed);
        self.held.end(lines)
    }
}

/// Stops process `pid` (SIGSTOP) and waits until it is stopped (state T);
/// false if it is gone, or a zombie, so there is nothing to stop.
pub fn stop(pid: i32) -> bool {
    if state(pid).is_none_or(|s| s == 'Z') || !kill(pid, libc::SIGSTOP) {
        return false;
    }
    poll_until(
        "the process is stopped",
        pid,
        || !matches!(state(pid), Some(s) if s != 'T' && s != 't' && s != 'Z'),
    );
    true
}

/// Waits until `condition` holds, every 2 ms; fails the test after
/// [`PATIENCE`], saying what it waited for and where process `pid` and
/// its children were.
fn poll_until(what: &str, pid: i32, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !condition() {
        if Instant::now() > deadline {
            let mut processes = vec![pid];
            processes.extend(children(pid));
            let states: Vec<String> = processes
                .iter()
                .map(|&p| format!("pid {p}: state {:?}, in syscall {:?}", state(p), syscall(p)))
                .collect();
            panic!("timed out after {PATIENCE:?} waiting until {what}; saw {states:#?}");
        }
        thread::sleep(Duration::from_millis(2));
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

/// Which process of a sim's run to act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    Controller,
    A,
    B,
}

impl Who {
    pub const ALL: [Who; 3] = [Who::Controller, Who::A, Who::B];
}

/// Job control in the middle of a run (Ctrl-Z, then `fg`; or SIGSTOP and
/// SIGCONT from another terminal): holds `script`'s run after `room` bytes
/// of output, stops `who` there, lets the run go on until the controller
/// waits for the stopped process (at once, if that is the controller),
/// then continues it, and returns how the run ended. Nothing is stopped
/// where `who` is not running (not forked yet, or already gone).
pub fn stop_and_continue(script: &Script, room: usize, who: Who) -> Ended {
    let held = script.start_held(room);
    let target = match who {
        Who::Controller => Some(held.pid()),
        Who::A => held.workers().first().copied(),
        Who::B => held.workers().get(1).copied(),
    };
    let stopped = target.filter(|&target| stop(target));
    let mut released = held.release();
    if let Some(target) = stopped {
        if who != Who::Controller {
            released.wait_controller_waiting();
        }
        kill(target, libc::SIGCONT);
    }
    released.finish()
}

/// A line of a transcript with what varies from run to run (numbers: pids,
/// ids, times, counts; addresses) written `N` and `ADDR`.
pub fn normalized(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        if let Some(hex) = rest.strip_prefix("0x") {
            let digits = hex.len()
                - hex
                    .trim_start_matches(|c: char| c.is_ascii_hexdigit())
                    .len();
            if digits > 0 {
                out.push_str("ADDR");
                rest = &hex[digits..];
                continue;
            }
        }
        if c.is_ascii_digit() {
            out.push('N');
            rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Checks that every sample session shipped in `dir` (one command a line,
/// run as `cargo run -p PROGRAM < dir/NAME.txt`) stays valid: `program`
/// (the binary `bin`) echoes each command after its prompt, in the file's
/// order, gives none of them a hint instead of running it, prints nothing
/// on stderr, exits 0, and ends by removing its `object` ("queue",
/// "segment").
pub fn assert_sample_sessions_run(
    bin: &std::path::Path,
    dir: &std::path::Path,
    program: &str,
    object: &str,
) {
    let mut sessions: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    sessions.sort();
    assert!(!sessions.is_empty(), "no session in {}", dir.display());
    for session in sessions {
        let commands = std::fs::read_to_string(&session).unwrap();
        let name = session.display();
        let output = output_within(
            std::process::Command::new(bin).stdin(std::fs::File::open(&session).unwrap()),
            crate::TIMEOUT,
        );
        assert_eq!(output.status.code(), Some(0), "{name}: {output:?}");
        assert_eq!(String::from_utf8_lossy(&output.stderr), "", "{name}");
        let transcript = crate::lines(&output.stdout);
        // Each command is echoed after the prompt, in the file's order.
        let prompt = format!("{program}> ");
        let echoed: Vec<&str> = transcript
            .iter()
            .filter_map(|line| line.strip_prefix(prompt.as_str()))
            .collect();
        let commands: Vec<&str> = commands.lines().collect();
        assert_eq!(
            echoed, commands,
            "{name}: the commands, as {program} echoed them"
        );
        // None of them got a hint instead of running.
        for line in &transcript {
            assert!(
                !line.contains("type help"),
                "{name}: a command was not accepted: {line:?}\n{transcript:#?}"
            );
        }
        let last = transcript.last().unwrap();
        assert!(
            last.starts_with(&format!("{object} ")) && last.contains(" removed ("),
            "{name}: the run should end by removing its {object}: {transcript:#?}"
        );
    }
}

/// Runs `command` to its end and returns its output; kills it and fails the
/// test, saying so, if it has not ended within `limit`.
fn output_within(command: &mut std::process::Command, limit: Duration) -> std::process::Output {
    use std::process::Stdio;
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || sender.send(child.wait_with_output()));
    match receiver.recv_timeout(limit) {
        Ok(output) => output.unwrap(),
        Err(_) => {
            crate::faults::kill(pid as i32, libc::SIGKILL);
            panic!("{command:?} had not ended after {limit:?}: killed");
        }
    }
}

/// What a simulation's first lines name: the id of its object, on the
/// second line (`queue 622593 created: ...`, where `object` is "queue"), and
/// the pids of A and B (`A (pid 19371) is ready ...`).
pub fn started(lines: &[String], object: &str) -> (i32, i32, i32) {
    let id = lines
        .get(1)
        .and_then(|line| line.strip_prefix(&format!("{object} ")))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("the second line names the {object}: {lines:#?}"));
    let pid = |name: &str| {
        lines
            .iter()
            .find_map(|line| {
                line.strip_prefix(&format!("{name} (pid "))
                    .and_then(|rest| rest.split(')').next())
                    .and_then(|pid| pid.parse().ok())
            })
            .unwrap_or_else(|| panic!("{name} says its pid: {lines:#?}"))
    };
    (id, pid("A"), pid("B"))
}
