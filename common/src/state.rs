//! What this process knows about itself, in one place: the stop signal it
//! received, how its watched child ended, whether it is inside a blocking
//! call, what its guards removed, and which process is the parent.
//!
//! Signal handlers, the child watcher and the guards write it; the rest of
//! `common` reads it. This module imports nothing from the crate, so every
//! other module can depend on it without a cycle.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Mutex, OnceLock};

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::unistd::Pid;

/// The number of the first SIGINT or SIGTERM received, 0 before one is.
static RECEIVED: AtomicI32 = AtomicI32::new(0);

/// Records `signal` as the stop signal, unless one came before.
/// Async-signal-safe: one atomic compare-and-swap.
pub(crate) fn record_signal(signal: libc::c_int) {
    let _ = RECEIVED.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
}

/// The stop signal this process received, if any.
pub fn received() -> Option<Signal> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        number => Signal::try_from(number).ok(),
    }
}

/// How the watched child ended, set once, all at once.
#[derive(Debug)]
pub(crate) struct Ended {
    /// "exited with status 1", "was killed by SIGKILL".
    pub(crate) how: String,
    /// Other than by exiting with status 0.
    pub(crate) failed: bool,
    /// It exited because its stdout was closed, or failed: how.
    pub(crate) stdout_failed: Option<Errno>,
}

/// How the first watched child ended, once it has.
static ENDED: OnceLock<Ended> = OnceLock::new();

/// Records how the watched child ended; only the first record counts.
pub(crate) fn child_ended(ended: Ended) {
    let _ = ENDED.set(ended);
}

/// How a watched child ended, once one has: "exited with status 1".
pub(crate) fn ended() -> Option<&'static str> {
    ENDED.get().map(|ended| ended.how.as_str())
}

/// Whether a watched child has ended because its stdout was closed, or
/// failed otherwise, and how: then the parent's stdout fails too, and that
/// is what to report.
pub(crate) fn left_with_stdout_failed() -> Option<Errno> {
    ENDED.get().and_then(|ended| ended.stdout_failed)
}

/// Whether a watched child has ended other than by exiting with status 0.
pub(crate) fn child_failed() -> bool {
    ENDED.get().is_some_and(|ended| ended.failed)
}

/// Whether the main thread is inside a blocking call now.
static IN_BLOCKING_CALL: AtomicBool = AtomicBool::new(false);

/// Whether the main thread is inside a blocking call now.
pub(crate) fn in_blocking_call() -> bool {
    IN_BLOCKING_CALL.load(Ordering::SeqCst)
}

/// Marks the main thread as inside a blocking call for as long as it lives.
pub(crate) struct InBlockingCall(());

impl InBlockingCall {
    pub(crate) fn enter() -> Self {
        IN_BLOCKING_CALL.store(true, Ordering::SeqCst);
        Self(())
    }
}

impl Drop for InBlockingCall {
    fn drop(&mut self) {
        IN_BLOCKING_CALL.store(false, Ordering::SeqCst);
    }
}

/// What the guards of this process removed, for the notice.
static REMOVED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Records that this process removed `what` ("message queue 0x62012345
/// (id 3)"), for the notice that an interrupted run prints. The examples'
/// guards call it each time they remove an object.
pub fn removed(what: impl Into<String>) {
    if let Ok(mut list) = REMOVED.lock() {
        list.push(what.into());
    }
}

/// Everything recorded by [`removed`], in order.
pub(crate) fn removed_list() -> Vec<String> {
    REMOVED.lock().map(|list| list.clone()).unwrap_or_default()
}

/// The process that [`crate::main`] runs in: the parent, once it forks.
static MAIN_PID: OnceLock<Pid> = OnceLock::new();

/// Records the process that runs the example, once.
pub(crate) fn set_main_pid(pid: Pid) {
    let _ = MAIN_PID.set(pid);
}

/// The process that [`crate::main`] runs in, if it has started.
pub(crate) fn main_pid() -> Option<Pid> {
    MAIN_PID.get().copied()
}
