//! How every wait in the bench ends: Ctrl-C, SIGTERM, or a child that died.
//!
//! The handlers only store to an atomic, and are installed without
//! `SA_RESTART`, so a signal makes the blocking call in progress fail with
//! `EINTR`; the loop around the call then looks at the flags.
//!
//! Some waits can only be ended by the peer: `msgrcv`, a futex, `sigwaitinfo`,
//! a spin on shared memory. If the child dies there, nothing would ever wake
//! the parent. `SIGCHLD` interrupts such a wait, and a watchdog timer
//! (`SIGALRM` every 100 ms) interrupts it again in case the `SIGCHLD` came
//! just before the call started to sleep; the wait then ends with
//! [`PeerGone`]. Waits on a pipe or a socket need none of this: the dead
//! child's end is closed, so `read` returns end-of-file.
//!
//! The timer costs one signal per 100 ms in the parent: a handful of
//! round trips in a run of 100,000 are a few microseconds slower, far below
//! what p99 can see.

use std::fmt;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use common::{Interruptible, Perror};
use libc::c_int;
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};

/// The signal (SIGINT or SIGTERM) that asked the run to stop; 0 if none.
static STOP: AtomicI32 = AtomicI32::new(0);

/// Whether the child of the measurement in progress has ended.
static CHILD_ENDED: AtomicBool = AtomicBool::new(false);

/// The run was asked to stop by a signal: the program exits 128 + its number.
#[derive(Debug)]
pub struct Stopped(pub Signal);

impl fmt::Display for Stopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "interrupted by {}", self.0)
    }
}

impl std::error::Error for Stopped {}

/// A wait that only the other process could end, after that process ended.
#[derive(Debug)]
pub struct PeerGone;

impl fmt::Display for PeerGone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the child process ended while the parent was waiting for it")
    }
}

impl std::error::Error for PeerGone {}

extern "C" fn on_stop(signal: c_int) {
    STOP.store(signal, Ordering::SeqCst);
}

extern "C" fn on_child(_: c_int) {
    CHILD_ENDED.store(true, Ordering::SeqCst);
}

extern "C" fn on_tick(_: c_int) {
    // Nothing: being called is the point, as it makes a blocking call fail
    // with EINTR, so that the loop around it looks at the flags.
}

/// Installs the handlers and starts the watchdog timer.
pub fn install() -> anyhow::Result<()> {
    let handlers: [(Signal, extern "C" fn(c_int)); 4] = [
        (Signal::SIGINT, on_stop),
        (Signal::SIGTERM, on_stop),
        (Signal::SIGCHLD, on_child),
        (Signal::SIGALRM, on_tick),
    ];
    for (signal, handler) in handlers {
        // No SA_RESTART: an interrupted call returns EINTR instead of going on.
        let action = SigAction::new(
            SigHandler::Handler(handler),
            SaFlags::SA_NOCLDSTOP,
            SigSet::empty(),
        );
        // SAFETY: each handler only stores to an atomic (or does nothing),
        // which is async-signal-safe.
        unsafe { sigaction(signal, &action) }.perror("sigaction")?;
    }

    let every_100_ms = libc::timeval {
        tv_sec: 0,
        tv_usec: 100_000,
    };
    let timer = libc::itimerval {
        it_interval: every_100_ms,
        it_value: every_100_ms,
    };
    // SAFETY: `timer` is a valid itimerval for the duration of the call, and
    // a null old-value pointer is allowed.
    let set = unsafe { libc::setitimer(libc::ITIMER_REAL, &timer, ptr::null_mut()) };
    nix::errno::Errno::result(set).perror("setitimer")?;
    Ok(())
}

/// Called just before each fork: the new child has not ended yet.
pub fn new_child() {
    CHILD_ENDED.store(false, Ordering::SeqCst);
}

/// Whether the current child has ended (always false in the child itself).
pub fn child_ended() -> bool {
    CHILD_ENDED.load(Ordering::SeqCst)
}

/// `Err(Stopped)` once Ctrl-C or SIGTERM arrived.
pub fn check() -> Result<(), Stopped> {
    match Signal::try_from(STOP.load(Ordering::SeqCst)) {
        Ok(signal) => Err(Stopped(signal)),
        Err(_) => Ok(()),
    }
}

/// What a wait that only the peer can end does when it wakes up without
/// its condition: `ended_before` is [`child_ended`] as read before the
/// wait began (read before, so that a child that did its part and then
/// ended is not mistaken for one that ended first).
pub fn keep_waiting(ended_before: bool) -> anyhow::Result<()> {
    check()?;
    if ended_before {
        return Err(PeerGone.into());
    }
    Ok(())
}

/// Runs a blocking call that only the peer can complete (`msgrcv`,
/// `sigwaitinfo`), again after each `EINTR`, until it completes, the run is
/// stopped, or the child has ended.
pub fn wait_on_peer<T, E>(call: &str, mut f: impl FnMut() -> Result<T, E>) -> anyhow::Result<T>
where
    E: Interruptible,
    Result<T, E>: Perror<T>,
{
    loop {
        let ended_before = child_ended();
        match f() {
            Err(error) if error.interrupted() => keep_waiting(ended_before)?,
            result => return Ok(result.perror(call)?),
        }
    }
}

/// Runs a blocking call on a file descriptor (pipe, FIFO, socket), again
/// after each `EINTR`, until it completes or the run is stopped. A dead peer
/// needs no watching here: its end of the descriptor is closed.
pub fn restart<T, E>(call: &str, mut f: impl FnMut() -> Result<T, E>) -> anyhow::Result<T>
where
    E: Interruptible,
    Result<T, E>: Perror<T>,
{
    loop {
        match f() {
            Err(error) if error.interrupted() => check()?,
            result => return Ok(result.perror(call)?),
        }
    }
}
