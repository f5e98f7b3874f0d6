//! Running an example and hurting it on purpose: a signal to its process
//! group after a given line (what Ctrl-C does), SIGKILL to its child or to
//! itself, a process asleep in a given system call. Every run has a
//! watchdog, so an example that hangs fails its test instead of hanging it.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Lines, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::thread;

use crate::{FullPipe, TIMEOUT, wait_until};

/// SIGINT and SIGTERM, with the exit status an example must end with.
pub const STOP_SIGNALS: [(libc::c_int, i32); 2] = [(libc::SIGINT, 130), (libc::SIGTERM, 143)];

/// How to start one example: its binary, where it runs, its arguments.
#[derive(Debug, Clone)]
pub struct Example {
    pub bin: PathBuf,
    pub dir: PathBuf,
    pub args: Vec<OsString>,
}

impl Example {
    pub fn new(bin: &Path, dir: &Path) -> Self {
        Self {
            bin: bin.to_owned(),
            dir: dir.to_owned(),
            args: Vec::new(),
        }
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// The command, without stdio set.
    pub fn command(&self) -> Command {
        let mut command = Command::new(&self.bin);
        command.current_dir(&self.dir).args(&self.args);
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
        let (finished, watchdog) = mpsc::channel::<()>();
        thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = watchdog.recv_timeout(TIMEOUT) {
                // SAFETY: kill takes no pointers.
                unsafe { libc::kill(-pid, libc::SIGKILL) };
            }
        });
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

impl Drop for Running {
    fn drop(&mut self) {
        stop_unfinished(&mut self.program, self.pid);
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        stop_unfinished(&mut self.program, self.pid);
    }
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

/// The child that process `pid` forks, once it has forked it.
pub fn forked_child(pid: i32) -> i32 {
    let mut found = None;
    wait_until("the example has forked", || {
        found = children(pid).first().copied();
        found.is_some()
    });
    found.unwrap()
}

/// The pids of `pid`'s children.
pub fn children(pid: i32) -> Vec<i32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|pid| pid.parse().ok())
        .collect()
}

/// The number of the system call that process `pid` is asleep in, if it is
/// asleep in one (`/proc/PID/syscall`).
pub fn syscall(pid: i32) -> Option<i64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/syscall")).ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// Waits until process `pid` is asleep in system call `number`
/// (`libc::SYS_msgrcv`).
pub fn wait_asleep_in(pid: i32, number: libc::c_long, name: &str) {
    wait_until(&format!("process {pid} is asleep in {name}"), || {
        syscall(pid) == Some(number) && state(pid) == Some('S')
    });
}

/// Waits until process `pid` or one of its children is asleep in system
/// call `number`, and returns which.
pub fn wait_one_asleep_in(pid: i32, number: libc::c_long, name: &str) -> i32 {
    let mut found = 0;
    wait_until(
        &format!("process {pid} or its child is asleep in {name}"),
        || {
            let mut processes = children(pid);
            processes.push(pid);
            match processes
                .into_iter()
                .find(|&p| syscall(p) == Some(number) && state(p) == Some('S'))
            {
                Some(p) => {
                    found = p;
                    true
                }
                None => false,
            }
        },
    );
    found
}

/// The state letter of process `pid`: R, S, Z...
pub fn state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.trim_start().chars().next()
}

/// Sends `signal` to process `pid`; false if it is already gone.
pub fn kill(pid: i32, signal: libc::c_int) -> bool {
    // SAFETY: kill takes no pointers.
    unsafe { libc::kill(pid, signal) == 0 }
}

/// Makes the test process the reaper of orphans it causes (`kill -9` of an
/// example leaves its child to be reaped by someone), so that no zombie of
/// a test outlives it.
pub fn become_subreaper() {
    // SAFETY: PR_SET_CHILD_SUBREAPER takes an integer flag.
    let set = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1) };
    assert_eq!(set, 0, "prctl PR_SET_CHILD_SUBREAPER");
}

/// Waits for, and reaps, the orphan `pid` that the test adopted as its
/// subreaper.
pub fn reap(pid: i32) {
    let mut status = 0;
    // SAFETY: `status` is a valid int for waitpid to write.
    unsafe { libc::waitpid(pid, &mut status, 0) };
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

impl Example {
    /// Starts the example with room for `room` bytes of stdout, and waits
    /// until a process of the run blocks writing past them, or the run ends.
    pub fn start_held(&self, room: usize) -> Held {
        let mut held = self.spawn_held(room);
        let pid = held.pid;
        wait_until("the run is held at its stdout, or has ended", || {
            let mut processes = children(pid);
            processes.push(pid);
            processes
                .iter()
                .any(|&p| syscall(p) == Some(libc::SYS_write) && state(p) == Some('S'))
                || held.program.try_wait().unwrap().is_some()
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
        let (finished, watchdog) = mpsc::channel::<()>();
        thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = watchdog.recv_timeout(TIMEOUT) {
                // SAFETY: kill takes no pointers.
                unsafe { libc::kill(-pid, libc::SIGKILL) };
            }
        });
        Held {
            program,
            stdout: Some(stdout),
            pid,
            _finished: finished,
        }
    }
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

/// The lines of a normal run of `example`, and the byte offsets after each
/// one: where [`Example::start_held`] can stop a run.
pub fn stopping_points(example: &Example) -> Vec<usize> {
    let ended = example.run();
    assert_eq!(ended.code, Some(0), "a normal run: {ended:#?}");
    let mut points = vec![0];
    let mut offset = 0;
    for line in &ended.lines {
        offset += line.len() + 1;
        points.push(offset);
    }
    points
}

/// Stops `example` after each of its lines in turn (and before the first),
/// sends each stop signal to its group there, and checks the end with
/// `check(signal, status, &ended)`. Returns how many runs the signal
/// stopped; the others had printed everything and ended before it came.
pub fn stop_at_each_line(example: &Example, check: impl Fn(libc::c_int, i32, &Ended)) -> usize {
    let points = stopping_points(example);
    let total = points.len() - 1;
    let mut stopped = 0;
    for (signal, status) in STOP_SIGNALS {
        for &room in &points {
            let held = example.start_held(room);
            held.signal_group(signal);
            let ended = held.finish();
            if ended.code == Some(0) && ended.lines.len() == total {
                continue;
            }
            stopped += 1;
            check(signal, status, &ended);
        }
    }
    stopped
}

/// Stops `example` after each of its lines in turn, kills its child there
/// with SIGKILL if it has one still running, and checks with
/// `check(&ended)` how the parent ended. Returns how many runs it checked:
/// those where the child was killed before the run could end normally.
pub fn kill_child_at_each_line(example: &Example, check: impl Fn(&Ended)) -> usize {
    let points = stopping_points(example);
    let total = points.len() - 1;
    let mut checked = 0;
    for &room in &points {
        let held = example.start_held(room);
        let child = children(held.pid()).first().copied();
        let Some(child) = child.filter(|&c| state(c).is_some_and(|s| s != 'Z')) else {
            held.finish();
            continue;
        };
        kill(child, libc::SIGKILL);
        let ended = held.finish();
        if ended.code == Some(0) && ended.lines.len() == total {
            // The child had just finished its part when SIGKILL came.
            continue;
        }
        checked += 1;
        check(&ended);
    }
    checked
}

/// The command for `example` in an IPC namespace of its own, where the
/// System V limit `/proc/sys/kernel/{sysctl}` is `value` ("msgmni", "0"):
/// a limit reached without touching the machine's own. `None`, after
/// saying why, where this machine does not permit namespaces.
pub fn in_ipc_namespace(example: &Example, sysctl: &str, value: &str) -> Option<Command> {
    let unshare = |probe: bool| {
        let mut command = Command::new("unshare");
        command.arg("--ipc");
        if crate::uid() != 0 {
            command.arg("--map-root-user");
        }
        if probe {
            command.arg("true");
        }
        command
    };
    let permitted = unshare(true)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !permitted {
        eprintln!("skipped: this machine does not permit an IPC namespace (unshare --ipc)");
        return None;
    }
    let mut command = unshare(false);
    command
        .current_dir(&example.dir)
        .args([
            "sh",
            "-c",
            r#"echo "$1" > "/proc/sys/kernel/$0" && shift && exec "$@""#,
        ])
        .arg(sysctl)
        .arg(value)
        .arg(&example.bin)
        .args(&example.args);
    Some(command)
}

/// Runs `call` in a forked process as user `nobody` (65534) and returns
/// the errno it returns (0 for success). `None`, after saying why, when the
/// tests do not run as root and so cannot become another user.
///
/// `call` runs between `fork` and `_exit` in a copy of a test process that
/// has other threads: it must only make system calls (libc functions that
/// are async-signal-safe), no allocation, no locks.
pub fn as_nobody(call: impl FnOnce() -> i32) -> Option<i32> {
    if crate::uid() != 0 {
        eprintln!("skipped: the tests do not run as root, so they cannot act as another user");
        return None;
    }
    // SAFETY: the child makes only system calls before _exit (see above).
    match unsafe { libc::fork() } {
        -1 => panic!("fork failed"),
        0 => {
            // SAFETY: raw system calls: they take integers, and change only
            // this process (glibc's setuid would signal other threads, which
            // a forked child does not have).
            let dropped = unsafe {
                libc::syscall(libc::SYS_setgroups, 0, std::ptr::null::<libc::gid_t>()) == 0
            };
            // SAFETY: as above.
            let dropped =
                dropped && unsafe { libc::syscall(libc::SYS_setresgid, 65534, 65534, 65534) == 0 };
            // SAFETY: as above.
            let dropped =
                dropped && unsafe { libc::syscall(libc::SYS_setresuid, 65534, 65534, 65534) == 0 };
            let errno = if dropped { call() } else { 255 };
            // SAFETY: _exit ends this copy at once, running nothing of the test's.
            unsafe { libc::_exit(errno) }
        }
        pid => {
            let mut status = 0;
            // SAFETY: `status` is a valid int for waitpid to write.
            assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
            assert!(libc::WIFEXITED(status), "the probe as nobody ended");
            let errno = libc::WEXITSTATUS(status);
            assert_ne!(errno, 255, "could not become nobody");
            Some(errno)
        }
    }
}

/// The errno of the last failed libc call, in a process forked by
/// [`as_nobody`]: 0 if `result` is not -1.
pub fn errno_of(result: libc::c_long) -> i32 {
    if result == -1 {
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(254)
    } else {
        0
    }
}

/// Makes `command` start with at most `limit` file descriptors
/// (`ulimit -n`): with 3, stdin, stdout and stderr, and nothing more.
pub fn limit_descriptors(command: &mut Command, limit: libc::rlim_t) {
    let set_limit = move || {
        let limit = libc::rlimit {
            rlim_cur: limit,
            rlim_max: limit,
        };
        // SAFETY: `limit` is a valid rlimit for the call to read.
        match unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } {
            0 => Ok(()),
            _ => Err(std::io::Error::last_os_error()),
        }
    };
    // SAFETY: the closure makes one system call, safe between fork and exec.
    unsafe { command.pre_exec(set_limit) };
}

/// Runs `example` into `head -1`, which reads one line and exits: the
/// example either printed everything before the pipe closed (exit 0), or
/// stops with exactly one line, `write stdout: Broken pipe`, and exit 1,
/// whichever of its processes hit the closed pipe first.
pub fn assert_head_1_is_one_clean_line(example: &Example) {
    let mut program = example
        .command()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let head = Command::new("head")
        .arg("-1")
        .stdin(program.stdout.take().unwrap())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    assert_eq!(
        crate::lines(&head.wait_with_output().unwrap().stdout).len(),
        1
    );
    let output = program.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    match output.status.code() {
        Some(0) => assert_eq!(stderr, ""),
        code => {
            assert_eq!(code, Some(1), "{stderr}");
            assert_eq!(stderr, "write stdout: Broken pipe\n");
        }
    }
}

/// For an example that creates no IPC object (`pipe`, `signals`): SIGINT
/// and SIGTERM to its group after each line stop it with `status` and the
/// one line `{program}: interrupted by SIGINT; nothing to remove`, and
/// leave no process of the run.
pub fn assert_stops_with_nothing_to_remove(example: &Example, program: &str) {
    let stopped = stop_at_each_line(example, |signal, status, ended| {
        let notice = format!(
            "interrupted by {}; nothing to remove",
            crate::signal_name(signal)
        );
        ended.assert_stopped(program, status, &notice);
    });
    assert!(stopped > 0, "some runs were stopped");
}

/// SIGKILL of the child after each line: the parent says exactly how the
/// child ended, in one line, exits 1, and leaves no process of the run.
pub fn assert_reports_its_killed_child(example: &Example) {
    let checked = kill_child_at_each_line(example, |ended| {
        assert_eq!(ended.code, Some(1), "{ended:#?}");
        assert_eq!(ended.stderr, "child was killed by SIGKILL\n", "{ended:#?}");
        ended.assert_group_gone();
    });
    assert!(checked > 0, "some children were killed");
}

/// Twenty runs of `example` at once: each succeeds, prints nothing on
/// stderr and its `lines` lines.
pub fn assert_twenty_runs_at_once_succeed(example: &Example, lines: usize) {
    let runs: Vec<_> = (0..20)
        .map(|_| {
            let example = example.clone();
            thread::spawn(move || example.run())
        })
        .collect();
    for run in runs {
        let ended = run.join().unwrap();
        assert_eq!(ended.code, Some(0), "{ended:#?}");
        assert_eq!(ended.stderr, "", "{ended:#?}");
        assert_eq!(ended.lines.len(), lines, "{ended:#?}");
    }
}

/// `| head -1` without its race: runs `example` with room for `room` bytes
/// of stdout, waits until the parent blocks writing past them, then closes
/// the pipe's read end. Asserts that the run ends with exit 1, the one line
/// `write stdout: Broken pipe`, and no process of the run left behind.
pub fn assert_stdout_closed_after(example: &Example, room: usize) {
    let mut stdout = FullPipe::with_room(room);
    let program = example
        .command()
        .stdout(stdout.stdout())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = i32::try_from(program.id()).unwrap();
    wait_until("the parent blocks writing past the room", || {
        syscall(pid) == Some(libc::SYS_write) && state(pid) == Some('S')
    });
    drop(stdout);
    let output = program.wait_with_output().unwrap();

    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "write stdout: Broken pipe\n"
    );
    assert!(children(pid).is_empty());
}
