//! The two ends of a `fork`: how the child ends, and how the parent waits for
//! it without ever waiting for a child that is gone.

use std::panic::{self, AssertUnwindSafe};
use std::process;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::bail;
use nix::errno::Errno;
use nix::sys::pthread::{Pthread, pthread_kill, pthread_self};
use nix::sys::signal::{
    SaFlags, SigAction, SigHandler, SigSet, SigmaskHow, Signal, kill, pthread_sigmask, sigaction,
};
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid, waitpid};
use nix::unistd::Pid;

use nix::sys::prctl::set_pdeathsig;
use nix::unistd::getppid;

use crate::error::{Perror, SysError, report};
use crate::interrupt;
use crate::state::{self, Ended};

/// Runs the child's part of an example, then ends the child process: status 0
/// if it succeeded, 1 after printing its error, 101 after a panic (Rust's
/// status for one; the panic message is already on stderr).
///
/// It never returns, so the child never unwinds back into `main`: no value
/// the parent owns is dropped in the child, in particular no guard that
/// removes an IPC object. `std::process::exit` writes out stdout before the
/// process ends, as `exit(3)` does in C.
///
/// The child does not outlive its parent: if the parent is killed outright
/// (`kill -9`), the kernel kills the child too (`PR_SET_PDEATHSIG`), instead
/// of leaving it asleep in a call that only the parent could end. A child
/// that SIGINT or SIGTERM stopped exits quietly with 130 or 143; its parent
/// prints the notice. A child whose stdout is closed (`| head -1`) exits
/// quietly with 141, and its parent prints `write stdout: Broken pipe`, if
/// its own write has not failed first: one line, not one per process. So
/// does a child whose stdout fails otherwise (`/dev/full`), with 200 + the
/// errno. A child whose parent ended before it started exits 1 without a
/// word: the parent's end is the parent's (or the shell's) to tell.
/// A child that fails because another program removed or changed the System
/// V object ([`crate::sysv::told_interference`]) says so only if its parent
/// has not already: again one line.
pub fn run_child(child: impl FnOnce() -> anyhow::Result<()>) -> ! {
    // A panic unwinds the child's own frames, and stops here.
    let status = match prepare_child().map(|()| panic::catch_unwind(AssertUnwindSafe(child))) {
        Ok(Ok(Ok(()))) => 0,
        // Its stdout is closed (`| head -1`) or full (`/dev/full`): the
        // parent, which writes to the same stdout, says so, once.
        Ok(Ok(Err(error))) if stdout_failed(&error).is_some() => {
            stdout_failed(&error).map_or(1, |(status, _)| status)
        }
        // The parent is gone before the child could start: whatever ended
        // it has been said by it, or by the shell; a second line would be
        // the child's alone, about a run that is over.
        Err(error) if error.is::<ParentGone>() => 1,
        // Another process removed or changed the object: told once, by
        // whichever of the two processes gets there first.
        Ok(Ok(Err(_))) if state::received().is_none() && crate::sysv::told_interference() => 1,
        Ok(Ok(Err(error))) | Err(error) => {
            // After Ctrl-C the error only says "interrupted": not worth a line.
            if state::received().is_none() {
                report(&error);
            }
            1
        }
        Ok(Err(_)) => 101,
    };
    let status = state::received().map_or(status, interrupt::exit_status);
    process::exit(status.into())
}

/// The status of a child whose stdout was closed: 128 + SIGPIPE, what a
/// shell shows for a C child that SIGPIPE killed. The child prints nothing:
/// if it did, the parent, whose writes fail the same way, would print the
/// same line again.
const STDOUT_CLOSED: u8 = 141;

/// The status of a child whose stdout failed otherwise (`/dev/full`:
/// `ENOSPC`), quietly too: 200 + the errno, for an errno below 56, so that
/// the parent can say it.
const STDOUT_FAILED: u8 = 200;

/// If `error` is `write stdout: <reason>`, the child's quiet status and
/// the errno it stands for.
fn stdout_failed(error: &anyhow::Error) -> Option<(u8, Errno)> {
    let error = error.downcast_ref::<SysError>()?;
    let errno = error.errno().filter(|_| error.call() == "write stdout")?;
    match errno {
        Errno::EPIPE => Some((STDOUT_CLOSED, errno)),
        _ => {
            let status = u8::try_from(errno as i32)
                .ok()?
                .checked_add(STDOUT_FAILED)?;
            Some((status, errno))
        }
    }
}

/// The errno for which a child that exited with `code` left quietly
/// because its stdout failed, if it did.
fn stdout_errno(code: i32) -> Option<Errno> {
    match u8::try_from(code).ok()? {
        STDOUT_CLOSED => Some(Errno::EPIPE),
        status if status >= STDOUT_FAILED => Some(Errno::from_raw((status - STDOUT_FAILED).into())),
        _ => None,
    }
}

/// `prctl(PR_SET_PDEATHSIG, SIGKILL)`, then a check that the parent has not
/// already gone between `fork` and here ([`ParentGone`]).
fn prepare_child() -> anyhow::Result<()> {
    set_pdeathsig(Signal::SIGKILL).perror("prctl PR_SET_PDEATHSIG")?;
    match state::main_pid() {
        Some(parent) if getppid() != parent => Err(ParentGone.into()),
        _ => Ok(()),
    }
}

/// The parent process ended before the child started: the child exits 1
/// without a line of its own.
#[derive(Debug)]
struct ParentGone;

impl std::fmt::Display for ParentGone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the parent process ended before the child started")
    }
}

impl std::error::Error for ParentGone {}

/// The parent's handle on the child it forked.
///
/// [`Child::wait`] waits for the child and says how it ended, like `wait(2)`
/// in the C listings. If the parent leaves before that (an error returned
/// with `?`, or a panic), dropping the handle kills the child and waits for
/// it, so the child never outlives the demo. An example declares the handle
/// after the guard of the IPC object it created, so the handle is dropped
/// first: the object is removed only once the peer is gone.
///
/// A child made with [`Child::watch`] is also watched: if it ends while the
/// parent is blocked in a call that waits for it (a reply in `msgrcv`, a
/// connection in `accept`), that call fails instead of waiting forever; see
/// [`crate::blocking`].
#[derive(Debug)]
pub struct Child {
    pid: Pid,
    waited: bool,
    /// Tells the watcher thread, if there is one, that it can stop.
    reaped: Arc<AtomicBool>,
}

/// How long the watcher waits before it interrupts a blocking call again.
const KICK_INTERVAL: Duration = Duration::from_millis(10);

impl Child {
    /// The child that `fork` returned, not watched.
    pub fn new(pid: Pid) -> Self {
        Self {
            pid,
            waited: false,
            reaped: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The child that `fork` returned, watched by a thread of the parent.
    ///
    /// The thread sleeps in `waitid(P_PID, pid, WEXITED | WNOWAIT)` until the
    /// child ends, which leaves the child for [`Child::wait`] to reap. Then,
    /// for as long as the main thread is in a [`crate::blocking`] call, it
    /// sends the main thread `SIGCHLD` every 10 ms, to a handler that does
    /// nothing and is installed without `SA_RESTART`: the call fails with
    /// `EINTR`, and `blocking` sees that the child is gone. Sending it again
    /// covers a signal that arrives just before the call starts to sleep.
    ///
    /// Call it right after `fork`, while the parent has one thread.
    pub fn watch(pid: Pid) -> Result<Self, SysError> {
        // The handle comes first: if what follows fails, dropping it ends the child.
        let child = Self::new(pid);

        let interrupt = SigAction::new(
            SigHandler::Handler(interrupt_only),
            SaFlags::SA_NOCLDSTOP,
            SigSet::empty(),
        );
        // SAFETY: the handler does nothing at all, so it is async-signal-safe.
        unsafe { sigaction(Signal::SIGCHLD, &interrupt) }.perror("sigaction")?;

        let main_thread = pthread_self();
        let reaped = Arc::clone(&child.reaped);
        thread::Builder::new()
            .name("child watcher".to_owned())
            .spawn(move || watch_child(pid, main_thread, &reaped))
            .perror("pthread_create")?;
        Ok(child)
    }

    /// The child's process id.
    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// Waits for the child to end (`waitpid(2)`) and returns how it ended.
    ///
    /// If SIGINT or SIGTERM stops the parent meanwhile, the child gets the
    /// same signal (a terminal sends it to both, `kill` to one), so that both
    /// stop.
    pub fn wait_status(mut self) -> Result<WaitStatus, SysError> {
        let mut forwarded = false;
        let status = retry_interrupted(|| {
            if let Some(signal) = state::received()
                && !forwarded
            {
                forwarded = true;
                let _ = kill(self.pid, signal);
            }
            waitpid(self.pid, None)
        })
        .perror("waitpid")?;
        self.waited = true;
        self.reaped.store(true, Ordering::SeqCst);
        Ok(status)
    }

    /// Waits for the child to end; an error unless it exited with status 0.
    /// A child that exited with status 1 has printed its own error, so that
    /// error is [`ChildFailed`], which [`crate::main`] does not print again.
    pub fn wait(self) -> anyhow::Result<()> {
        match self.wait_status()? {
            WaitStatus::Exited(_, 0) => Ok(()),
            WaitStatus::Exited(_, 1) => Err(ChildFailed.into()),
            WaitStatus::Exited(_, code) if stdout_errno(code).is_some() => {
                let errno = stdout_errno(code).unwrap_or(Errno::EPIPE);
                Err(SysError::new("write stdout", errno).into())
            }
            status => bail!("child {}", describe(status)),
        }
    }
}

/// The child exited with status 1, after printing its error: the parent
/// fails too, without a second line.
#[derive(Debug)]
pub struct ChildFailed;

impl std::fmt::Display for ChildFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("child exited with status 1")
    }
}

impl std::error::Error for ChildFailed {}

impl Drop for Child {
    fn drop(&mut self) {
        if !self.waited {
            // The parent is leaving early: end the child rather than leave it
            // running. A child that has already ended cannot be killed, and is
            // reaped all the same, so neither result matters here. After
            // Ctrl-C, the child gets the same signal and a moment to stop by
            // itself, the way the terminal's signal would have stopped it.
            if let Some(signal) = state::received() {
                let _ = kill(self.pid, signal);
                if ended_within(self.pid, STOP_GRACE) {
                    self.reaped.store(true, Ordering::SeqCst);
                    return;
                }
            }
            let _ = kill(self.pid, Signal::SIGKILL);
            let _ = retry_interrupted(|| waitpid(self.pid, None));
            self.reaped.store(true, Ordering::SeqCst);
        }
    }
}

/// How long a child has to stop by itself after Ctrl-C.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// Whether the child ends, and is reaped, within `grace`.
fn ended_within(pid: Pid, grace: Duration) -> bool {
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(Errno::EINTR) => thread::sleep(KICK_INTERVAL),
            // Reaped now, or by somebody else before.
            Ok(_) | Err(_) => return true,
        }
    }
    false
}

extern "C" fn interrupt_only(_: libc::c_int) {
    // Nothing: being called is the point, as it makes a blocking call
    // return EINTR.
}

/// The watcher thread of [`Child::watch`].
fn watch_child(pid: Pid, main_thread: Pthread, reaped: &AtomicBool) {
    // The kernel's SIGCHLD, the terminal's SIGINT and SIGTERM, and the
    // interrupt timer's SIGALRM should interrupt the main thread, not this one.
    let mut for_main = SigSet::from(Signal::SIGCHLD);
    for signal in interrupt::STOP_SIGNALS.into_iter().chain([Signal::SIGALRM]) {
        for_main.add(signal);
    }
    let _ = pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&for_main), None);

    let ended = match retry_interrupted(|| {
        waitid(Id::Pid(pid), WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT)
    }) {
        Ok(status) => Ended {
            how: describe(status),
            failed: !matches!(status, WaitStatus::Exited(_, 0)),
            stdout_failed: match status {
                WaitStatus::Exited(_, code) => stdout_errno(code),
                _ => None,
            },
        },
        // ECHILD: the main thread reaped it first, so it is not waiting for it.
        Err(_) => Ended {
            how: "ended".to_owned(),
            failed: false,
            stdout_failed: None,
        },
    };
    state::child_ended(ended);

    while !reaped.load(Ordering::SeqCst) {
        if state::in_blocking_call() {
            let _ = pthread_kill(main_thread, Signal::SIGCHLD);
        }
        thread::sleep(KICK_INTERVAL);
    }
}

/// "exited with status 1", "was killed by SIGKILL".
fn describe(status: WaitStatus) -> String {
    match status {
        WaitStatus::Exited(_, code) => format!("exited with status {code}"),
        WaitStatus::Signaled(_, signal, _) => format!("was killed by {signal}"),
        other => format!("ended ({other:?})"),
    }
}

/// Runs `call` again while it fails with `EINTR`, whatever the child does.
fn retry_interrupted<T>(mut call: impl FnMut() -> Result<T, Errno>) -> Result<T, Errno> {
    loop {
        match call() {
            Err(Errno::EINTR) => continue,
            result => return result,
        }
    }
}
