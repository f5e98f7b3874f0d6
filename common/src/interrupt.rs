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
//!
//! The pacing sleeps are there to make the demo watchable: the processes
//! synchronise with waits, handshakes, semaphores and retries, not with
//! them, so a run without them prints the same lines, in an order that the
//! protocol allows. A test suite may therefore shorten them: the
//! environment variable `IPC_PACE` ([`PACE_VAR`]), read once, scales every
//! [`sleep`] by a factor. `IPC_PACE=0` skips the pauses (the checks for
//! Ctrl-C and for a failed child still happen), `IPC_PACE=0.1` makes them
//! ten times shorter, and unset (or not a number from 0 to 1000) keeps the
//! tutorial's pace. The integration tests run most examples with
//! `IPC_PACE=0`; nothing else sets it.

use std::sync::OnceLock;
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

/// The environment variable that scales the pacing sleeps (see the module's
/// documentation): `IPC_PACE=0` skips them.
pub const PACE_VAR: &str = "IPC_PACE";

/// The largest factor that [`PACE_VAR`] may give.
const MAX_PACE: f64 = 1000.0;

/// The signals that stop an example: a terminal's Ctrl-C, and `kill`'s default.
pub const STOP_SIGNALS: [Signal; 2] = [Signal::SIGINT, Signal::SIGTERM];

/// Installs the handlers: SIGINT and SIGTERM record the signal, SIGALRM only
/// interrupts. None has `SA_RESTART`, so a blocking call returns `EINTR`.
/// [`crate::main`] calls it before the example starts; a forked child
/// inherits the handlers.
pub fn install() -> Result<(), SysError> {
    // Read the pace now, before any fork: each process then reads it once.
    pace();
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
///
/// `IPC_PACE` ([`PACE_VAR`]) scales `duration`: with `IPC_PACE=0`, it only
/// checks for a stop signal and a failed child, and returns.
pub fn sleep(duration: Duration) -> Result<(), SysError> {
    let duration = paced(duration);
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

/// `duration` scaled by the pace that [`PACE_VAR`] sets.
fn paced(duration: Duration) -> Duration {
    match pace() {
        Some(factor) => {
            Duration::try_from_secs_f64(duration.as_secs_f64() * factor).unwrap_or(duration)
        }
        None => duration,
    }
}

/// The factor that `IPC_PACE` gives, read once; `None` when it is unset, or
/// not a number from 0 to [`MAX_PACE`]: the tutorial's pace.
fn pace() -> Option<f64> {
    static PACE: OnceLock<Option<f64>> = OnceLock::new();
    *PACE.get_or_init(|| parse_pace(&std::env::var(PACE_VAR).ok()?))
}

/// `"0.1"` is `Some(0.1)`; a negative number, one above [`MAX_PACE`], NaN
/// or text is `None`.
fn parse_pace(text: &str) -> Option<f64> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|factor| (0.0..=MAX_PACE).contains(factor))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pace_is_a_factor_from_0_to_1000() {
        assert_eq!(parse_pace("0"), Some(0.0));
        assert_eq!(parse_pace(" 0.1 "), Some(0.1));
        assert_eq!(parse_pace("1000"), Some(1000.0));
        for refused in ["", "fast", "-1", "1001", "NaN", "inf"] {
            assert_eq!(parse_pace(refused), None, "{refused:?}");
        }
    }
}
