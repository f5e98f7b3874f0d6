//! Ctrl-C and SIGTERM: stop at the next step, clean up, exit 130 or 143.
//!
//! A C program killed by Ctrl-C leaves its IPC objects behind, because the
//! default action of SIGINT ends the process without running any cleanup.
//! Here [`crate::main`] installs a handler for SIGINT and SIGTERM that only
//! records the signal. Each place where an example waits ([`crate::blocking`],
//! [`sleep`], [`crate::say!`]) then fails with "interrupted by SIGINT", the
//! error unwinds through `?` like any other, the guards remove what the
//! example created, and `main` prints one line saying what was removed and
//! exits 128 + the signal number, the status a shell shows for a process that
//! the signal killed.
//!
//! One race is left in "record, then check": the signal can arrive after a
//! loop checked the flag and before its call starts to sleep, and the call
//! would then sleep on. So the handler also starts a 10 ms interval timer,
//! whose `SIGALRM` (to a handler that does nothing, installed without
//! `SA_RESTART`) interrupts whatever call the process sleeps in, again and
//! again, until it reaches a check.

use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
use nix::sys::time::TimeSpec;
use nix::time::{ClockId, ClockNanosleepFlags, clock_nanosleep};

use crate::error::{Perror, SysError};
use crate::state;

pub use crate::state::{received, removed};

/// How often the process is interrupted once a stop signal has arrived.
const KICK_INTERVAL: Duration = Duration::from_millis(10);

/// The signals that stop an example: a terminal's Ctrl-C, and `kill`'s default.
pub const STOP_SIGNALS: [Signal; 2] = [Signal::SIGINT, Signal::SIGTERM];

/// Installs the handlers: SIGINT and SIGTERM record the signal, SIGALRM only
/// interrupts. None has `SA_RESTART`, so a blocking call returns `EINTR`.
/// [`crate::main`] calls it before the example starts; a forked child
/// inherits the handlers.
pub fn install() -> Result<(), SysError> {
    let stop = SigAction::new(
        SigHandler::Handler(record_stop_signal),
        SaFlags::empty(),
        SigSet::empty(),
    );
    for signal in STOP_SIGNALS {
        // SAFETY: the handler stores to an atomic and calls setitimer, a
        // system call: both are async-signal-safe.
        unsafe { sigaction(signal, &stop) }.perror("sigaction")?;
    }
    let kick = SigAction::new(
        SigHandler::Handler(interrupt_only),
        SaFlags::empty(),
        SigSet::empty(),
    );
    // SAFETY: the handler does nothing, so it is async-signal-safe.
    unsafe { sigaction(Signal::SIGALRM, &kick) }.perror("sigaction")?;
    Ok(())
}

/// An error if a stop signal has arrived: `<call>: interrupted by SIGINT`.
pub fn check(call: &str) -> Result<(), SysError> {
    match received() {
        Some(_) => Err(SysError::new(call, Errno::EINTR)),
        None => Ok(()),
    }
}

/// Sleeps for `duration`, like `sleep(3)` in the C listings, but stops early
/// with an error when SIGINT or SIGTERM arrives (`sleep: interrupted by
/// SIGINT`), or when the child that the parent
/// [watches](crate::Child::watch) has failed (`sleep: interrupted: the child
/// process was killed by SIGKILL`): the pacing has no point any more.
/// (`std::thread::sleep` goes back to sleep after a signal.)
pub fn sleep(duration: Duration) -> Result<(), SysError> {
    let deadline = Instant::now() + duration;
    let _in_call = state::InBlockingCall::enter();
    loop {
        check("sleep")?;
        if state::child_failed() {
            return Err(SysError::new("sleep", Errno::EINTR));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        match clock_nanosleep(
            ClockId::CLOCK_MONOTONIC,
            ClockNanosleepFlags::empty(),
            &TimeSpec::from_duration(left),
        ) {
            // Woken by a handler: the loop checks why.
            Ok(_) | Err(Errno::EINTR) => {}
            Err(errno) => return Err(SysError::new("clock_nanosleep", errno)),
        }
    }
}

/// The one line an interrupted run ends with: "interrupted by SIGINT;
/// removed message queue 0x62012345 (id 3)".
pub(crate) fn notice(signal: Signal) -> String {
    let removed = state::removed_list().join(", ");
    if removed.is_empty() {
        format!("interrupted by {signal}; nothing to remove")
    } else {
        format!("interrupted by {signal}; removed {removed}")
    }
}

/// The exit status of a process that a stop signal ended: 130, 143.
pub(crate) fn exit_status(signal: Signal) -> u8 {
    128 + signal as u8
}

/// Starts interrupting again if a stop signal has arrived: a forked child
/// inherits the flag, but not the timer, and must not sleep in a call.
pub(crate) fn keep_interrupting() {
    if received().is_some() {
        start_timer();
    }
}

extern "C" fn record_stop_signal(signal: libc::c_int) {
    record_stop(signal);
}

/// What the handler of [`install`] does, for an example that installs its
/// own handler for SIGTERM (`signals`, whose child waits for its parent's
/// SIGTERM) and finds that this one came from elsewhere: records `signal`
/// as a stop signal. Async-signal-safe: it stores to an atomic and calls
/// setitimer.
pub fn record_stop(signal: libc::c_int) {
    state::record_signal(signal);
    start_timer();
}

extern "C" fn interrupt_only(_: libc::c_int) {
    // Nothing: being called is the point, as it makes a blocking call
    // return EINTR.
}

/// `setitimer(ITIMER_REAL)`: SIGALRM every 10 ms from now on.
fn start_timer() {
    let every = libc::timeval {
        tv_sec: 0,
        tv_usec: KICK_INTERVAL.as_micros() as libc::suseconds_t,
    };
    let timer = libc::itimerval {
        it_interval: every,
        it_value: every,
    };
    // SAFETY: `timer` is a valid itimerval for the call, and the old value
    // is not asked for (null). setitimer is a plain system call, safe to
    // make in a signal handler.
    unsafe { libc::setitimer(libc::ITIMER_REAL, &timer, std::ptr::null_mut()) };
}
