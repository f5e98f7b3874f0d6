//! What `c/signals.c` leaves to luck, kept out of the listing.
//!
//! - The C parent sleeps one second and hopes that the child has sent its
//!   three SIGUSR1 by then. Here the child says so with one more signal,
//!   SIGUSR2 ([`tell_all_sent`]), which the parent waits for with SIGUSR1 still
//!   blocked ([`wait_all_sent`]): the three are surely pending, and arrive
//!   as one, on a loaded machine too. SIGCHLD tells the parent if the child
//!   died first; then it says how the child ended instead of waiting forever.
//! - The C child takes any SIGTERM for its parent's. Here its handler asks
//!   who sent it ([`sent_by_parent`]); a SIGTERM from elsewhere (`kill`, a
//!   terminal's job control) stops it as it stops every example, exit 143.
//! - The C parent keeps SIGTERM blocked, so that `kill` cannot stop it. Here
//!   it unblocks it after `fork` ([`unblock_sigterm`]).
//! - Ctrl-C ends every wait ([`sigsuspend`], [`waitpid`]), and a child that
//!   did not exit 0 makes the parent fail ([`exited_cleanly`]), saying what
//!   stopped it.
//! - A child stopped and continued (Ctrl-Z, `fg`) is not taken for one that
//!   ended: SIGCHLD comes with `SA_NOCLDSTOP` ([`install_handlers`]).

use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::bail;
use common::{Child, Perror, SysError};
use libc::{c_int, siginfo_t};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, SigmaskHow, Signal};
use nix::sys::signal::{kill, sigaction, sigprocmask};
use nix::sys::wait::WaitStatus;
use nix::unistd::{Pid, getppid};

/// Set by the parent's SIGUSR2 handler: the child has sent all three SIGUSR1.
static ALL_SENT: AtomicBool = AtomicBool::new(false);
/// Set by the parent's SIGCHLD handler: the child has ended.
static CHILD_EXITED: AtomicBool = AtomicBool::new(false);

extern "C" fn handle_usr2(_: c_int) {
    ALL_SENT.store(true, Ordering::SeqCst);
}

extern "C" fn handle_chld(_: c_int) {
    CHILD_EXITED.store(true, Ordering::SeqCst);
}

/// Adds to the listing's blocked set the two signals that the parent waits
/// for beyond the listing: SIGUSR2 ("all three sent") and SIGCHLD (the child
/// is gone). Like SIGUSR1, they are unblocked only inside `sigsuspend`.
pub fn also_block(blocked: &mut SigSet) {
    blocked.add(Signal::SIGUSR2);
    blocked.add(Signal::SIGCHLD);
}

/// `sigaction` for SIGUSR2 and SIGCHLD, as for SIGUSR1: no `SA_RESTART`,
/// and the signal blocked while its handler runs. SIGCHLD with
/// `SA_NOCLDSTOP`: a child stopped (Ctrl-Z, `kill -STOP`) or continued
/// sends SIGCHLD too, and must not be taken for a child that has ended
/// (the parent would wait for it while it waits for the parent).
pub fn install_handlers() -> Result<(), SysError> {
    for (signal, handler, flags) in [
        (
            Signal::SIGUSR2,
            handle_usr2 as extern "C" fn(c_int),
            SaFlags::empty(),
        ),
        (Signal::SIGCHLD, handle_chld, SaFlags::SA_NOCLDSTOP),
    ] {
        let action = SigAction::new(SigHandler::Handler(handler), flags, SigSet::empty());
        // SAFETY: both handlers only do one atomic store, which is
        // async-signal-safe.
        unsafe { sigaction(signal, &action) }.perror("sigaction")?;
    }
    Ok(())
}

/// The parent's SIGTERM was blocked only for the child to inherit: the
/// parent itself takes it as every example does (stop, clean up, exit 143).
pub fn unblock_sigterm() -> Result<(), SysError> {
    let sigterm = SigSet::from(Signal::SIGTERM);
    sigprocmask(SigmaskHow::SIG_UNBLOCK, Some(&sigterm), None).perror("sigprocmask")
}

/// The child's "all three sent": `kill(parent, SIGUSR2)`.
pub fn tell_all_sent(parent: Pid) -> Result<(), SysError> {
    kill(parent, Signal::SIGUSR2).perror("kill")
}

/// After the listing's `sleep(1)`: waits for the child's SIGUSR2 with
/// SIGUSR1 still blocked, so that the three SIGUSR1 stay pending as one.
/// If the child ends first, says how it ended and fails: SIGCHLD is
/// unblocked only inside `sigsuspend`, so its handler has run by the time
/// the flag is checked again.
pub fn wait_all_sent(child: Child, original: &SigSet) -> anyhow::Result<Child> {
    let mut usr1_blocked = *original;
    usr1_blocked.add(Signal::SIGUSR1);
    while !ALL_SENT.load(Ordering::SeqCst) {
        if CHILD_EXITED.load(Ordering::SeqCst) {
            child.wait()?;
            bail!("the child exited before it signalled");
        }
        sigsuspend(&usr1_blocked)?;
    }
    Ok(child)
}

/// For the child's SIGTERM handler: whether its parent sent this SIGTERM.
/// One from anyone else (`kill`, a terminal's job control) is recorded as a
/// stop signal, as `common::interrupt` records it in every example, and
/// stops the child at its next wait. Async-signal-safe: it reads `info`,
/// calls `getppid`, and stores to atomics.
pub fn sent_by_parent(signal: c_int, info: &siginfo_t) -> bool {
    // SAFETY: si_pid is set for a signal sent by kill(2), the only way a
    // SIGTERM comes.
    let sender = unsafe { info.si_pid() };
    if sender == getppid().as_raw() {
        true
    } else {
        common::interrupt::record_stop(signal);
        false
    }
}

/// `sigsuspend(mask)`: sleeps with `mask` as the signal mask until a handler
/// has run, then puts the blocked set back. Ctrl-C or a SIGTERM from
/// outside ends the wait with an error (`sigsuspend: interrupted by
/// SIGINT`), where the C would go back to sleep, or die.
pub fn sigsuspend(mask: &SigSet) -> Result<(), SysError> {
    mask.suspend().perror("sigsuspend")?;
    common::interrupt::check("sigsuspend")
}

/// `waitpid(pid, &status, 0)`, by the parent's handle on the child: again
/// after `EINTR`, and if Ctrl-C stops the parent meanwhile, the child gets
/// the same signal (see `common::Child::wait_status`).
pub fn waitpid(child: Child) -> Result<WaitStatus, SysError> {
    child.wait_status()
}

/// The C returns 0 however the child ended; here the parent fails, after
/// its line, unless the child exited with status 0.
pub fn exited_cleanly(status: WaitStatus) -> anyhow::Result<()> {
    match status {
        WaitStatus::Exited(_, 0) => Ok(()),
        WaitStatus::Signaled(_, signal, _) => bail!("child was killed by {signal}"),
        // A SIGINT or SIGTERM sent to the child alone stopped it: 128 + its number.
        WaitStatus::Exited(_, code) if code > 128 => match Signal::try_from(code - 128) {
            Ok(signal) => bail!("the child was stopped by {signal}, sent to it alone"),
            Err(_) => bail!("the child did not exit cleanly"),
        },
        _ => bail!("the child did not exit cleanly"),
    }
}
