//! One run of the checked program, as a user starts it: no argument, in a
//! process group of its own, with its stdout on a terminal (a pseudo
//! terminal, as the listing's transcript was taken), into a pipe, or into a
//! pipe already closed; stopped if it takes longer than a bound.

use std::ffi::CStr;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::closed_pipe;

/// Where the run's stdout goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stdout {
    Terminal,
    Pipe,
    Closed,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Exited(i32),
    Killed(i32),
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Status::Exited(code) => write!(f, "exit status {code}"),
            Status::Killed(signal) => write!(f, "killed by {}", signal_name(*signal)),
        }
    }
}

/// "SIGPIPE" for `libc::SIGPIPE`, for the signals a run may die of.
pub fn signal_name(signal: libc::c_int) -> String {
    let name = match signal {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGKILL => "SIGKILL",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGALRM => "SIGALRM",
        libc::SIGHUP => "SIGHUP",
        libc::SIGQUIT => "SIGQUIT",
        _ => return format!("signal {signal}"),
    };
    name.to_owned()
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: Status,
    pub lines: Vec<String>,
    pub stderr: String,
    pub elapsed: Duration,
    /// It was still running at the bound, and was killed.
    pub timed_out: bool,
    /// Processes of its group still running after it ended (then killed).
    pub stragglers: bool,
}

/// Runs `program` in `dir` with its stdout as `stdout`, and `env` in its
/// environment if given; kills its group if it is still running after
/// `bound`.
pub fn run(
    program: &Path,
    dir: &Path,
    stdout: Stdout,
    bound: Duration,
    env: Option<(&str, &str)>,
) -> io::Result<Outcome> {
    let mut command = Command::new(program);
    command.envs(env);
    command
        .current_dir(dir)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut reader: Option<Box<dyn Read + Send>> = None;
    match stdout {
        Stdout::Terminal => {
            let (master, slave) = pseudo_terminal()?;
            command.stdout(slave);
            reader = Some(Box::new(File::from(master)));
        }
        Stdout::Pipe => {
            command.stdout(Stdio::piped());
        }
        Stdout::Closed => {
            command.stdout(closed_pipe());
        }
    }
    let start = Instant::now();
    let mut child = command.spawn()?;
    // Drop our copy of the terminal's slave end with the command, so that
    // reading the master ends when the run's processes have closed it.
    drop(command);
    if let Some(pipe) = child.stdout.take() {
        reader = Some(Box::new(pipe));
    }
    let stderr = child.stderr.take().map(|pipe| read_all(Box::new(pipe)));
    let printed = reader.map(read_all);
    let group = i32::try_from(child.id()).map_err(io::Error::other)?;

    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if start.elapsed() > bound {
            timed_out = true;
            kill_group(group, libc::SIGKILL);
            break child.wait()?;
        }
        thread::sleep(Duration::from_millis(5));
    };
    let elapsed = start.elapsed();
    let stragglers = !group_gone_within(group, Duration::from_secs(2));
    if stragglers {
        kill_group(group, libc::SIGKILL);
    }
    let status = match (status.code(), status.signal()) {
        (Some(code), _) => Status::Exited(code),
        (None, Some(signal)) => Status::Killed(signal),
        (None, None) => Status::Killed(0),
    };
    let stdout = printed
        .map(|t| t.join().unwrap_or_default())
        .unwrap_or_default();
    let stderr = stderr
        .map(|t| t.join().unwrap_or_default())
        .unwrap_or_default();
    Ok(Outcome {
        status,
        lines: String::from_utf8_lossy(&stdout)
            .lines()
            .map(|line| line.trim_end_matches('\r').to_owned())
            .collect(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        elapsed,
        timed_out,
        stragglers,
    })
}

/// Whether a process group has no process left (waiting up to `patience`).
pub fn group_gone_within(group: i32, patience: Duration) -> bool {
    let deadline = Instant::now() + patience;
    loop {
        // SAFETY: kill with signal 0 only checks; it takes no pointers.
        if unsafe { libc::kill(-group, 0) } != 0 {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// Sends `signal` to a process group the checker started.
pub fn kill_group(group: i32, signal: libc::c_int) {
    // SAFETY: kill takes no pointers; the group may be gone already.
    unsafe { libc::kill(-group, signal) };
}

/// Reads a stream to its end in a thread of its own. A terminal's master
/// ends with EIO once every slave end is closed: that is its end too.
fn read_all(mut stream: Box<dyn Read + Send>) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut all = Vec::new();
        let mut buffer = [0; 4096];
        loop {
            match stream.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => all.extend_from_slice(&buffer[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        all
    })
}

/// A new pseudo terminal: its master end, and its slave end for a run's
/// stdout (where C's stdio buffers by line, as on a user's terminal).
fn pseudo_terminal() -> io::Result<(OwnedFd, File)> {
    // SAFETY: posix_openpt takes flags only.
    let master = unsafe { libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC) };
    if master < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: posix_openpt returned a new descriptor that nothing else owns.
    let master = unsafe { OwnedFd::from_raw_fd(master) };
    let fd = std::os::fd::AsRawFd::as_raw_fd(&master);
    // SAFETY: grantpt takes the master's descriptor, no pointers.
    if unsafe { libc::grantpt(fd) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: unlockpt takes the master's descriptor, no pointers.
    if unsafe { libc::unlockpt(fd) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let mut name = [0 as libc::c_char; 128];
    // SAFETY: ptsname_r writes at most `name.len()` bytes into `name`.
    let failed = unsafe { libc::ptsname_r(fd, name.as_mut_ptr(), name.len()) };
    if failed != 0 {
        return Err(io::Error::from_raw_os_error(failed));
    }
    // SAFETY: ptsname_r succeeded, so `name` holds a NUL-terminated string.
    let name = unsafe { CStr::from_ptr(name.as_ptr()) };
    let slave = File::options()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open(name.to_string_lossy().as_ref())?;
    Ok((master, slave))
}

use std::os::unix::fs::OpenOptionsExt;
