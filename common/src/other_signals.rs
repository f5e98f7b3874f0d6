//! SIGHUP, SIGUSR1 and SIGUSR2: signals that another program (or a closed
//! terminal) may send to a running example, and whose default action ends
//! a process at once, without its cleanup and without a word. An example
//! that [`install`]s this takes them in its main process as it takes
//! SIGTERM (see [`crate::interrupt`]): it stops at its next step, its guards
//! remove what it created, and it ends with one line, `interrupted by
//! SIGUSR1; removed ...`, and the status a shell shows for the signal
//! (138). A forked child keeps the default action: it dies of the signal,
//! and its parent says so (`child was killed by SIGUSR1`).

use std::sync::atomic::{AtomicI32, Ordering};

use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
use nix::unistd::getpid;

use crate::error::{Perror, SysError};
use crate::interrupt;

/// The signals this module takes.
pub const OTHER_SIGNALS: [Signal; 3] = [Signal::SIGHUP, Signal::SIGUSR1, Signal::SIGUSR2];

/// The process that installed the handler: the example's main process.
static MAIN: AtomicI32 = AtomicI32::new(0);

/// Installs the handler of [`OTHER_SIGNALS`] in this process (and, with
/// the default action restored on arrival, in the children it forks).
pub fn install() -> Result<(), SysError> {
    MAIN.store(getpid().as_raw(), Ordering::SeqCst);
    let stop = SigAction::new(
        SigHandler::Handler(handle),
        SaFlags::empty(),
        SigSet::empty(),
    );
    for signal in OTHER_SIGNALS {
        // SAFETY: the handler calls getpid, and either stores to atomics
        // and calls setitimer, or calls sigaction and raise: all of them
        // async-signal-safe.
        unsafe { sigaction(signal, &stop) }.perror("sigaction")?;
    }
    Ok(())
}

extern "C" fn handle(signal: libc::c_int) {
    if getpid().as_raw() == MAIN.load(Ordering::SeqCst) {
        interrupt::record_stop(signal);
        return;
    }
    // A forked child: die of the signal, as without a handler.
    let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    if let Ok(signal) = Signal::try_from(signal) {
        // SAFETY: restoring the default action installs no handler.
        let _ = unsafe { sigaction(signal, &default) };
        let _ = nix::sys::signal::raise(signal);
    }
}
