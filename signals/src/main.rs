//! # signals: notification by signal
//!
//! The tutorial describes signals ("Common IPC Mechanisms: Signals") without
//! a listing; this is a port of `shared/reference/c/signals.c`, written in
//! the tutorial's style. A signal carries no data, only the fact that it
//! happened: a handler that records it in an atomic flag is all a process
//! should do when it arrives.
//!
//! Both processes block SIGUSR1 and SIGTERM until they are ready to wait for
//! them, so that a signal sent early stays pending instead of being lost,
//! and wait with `sigsuspend`, which unblocks and sleeps in one step. The
//! child sends SIGUSR1 three times while the parent has it blocked: standard
//! signals are not queued, so the parent's handler runs once ("can be lost if
//! not handled promptly", as the tutorial says). Then the parent ends the
//! child with SIGTERM, which the child handles to exit cleanly, and reports
//! how it ended.
//!
//! The C parent sleeps one second and hopes the child has sent all three
//! signals by then. Here the child says so with one more signal, SIGUSR2,
//! which the parent waits for with SIGUSR1 still blocked: the demonstration
//! holds on a loaded machine too.
//!
//! ```text
//! cargo run -p signals
//! ```
//!
//! prints, always in this order:
//!
//! ```text
//! Parent installed SIGUSR1 handler
//! Child sending SIGUSR1 to parent 3 times
//! Parent received SIGUSR1 1 time(s)
//! Parent sending SIGTERM to child
//! Child received SIGTERM, exiting cleanly
//! Child exited with status 0
//! ```
//!
//! | C | Rust | what changes |
//! |---|---|---|
//! | `volatile sig_atomic_t` flags | `static` atomics | the handlers only store to them |
//! | `sigprocmask(SIG_BLOCK, {SIGUSR1, SIGTERM}, &original)` | `nix::sys::signal::sigprocmask` | SIGUSR2 and SIGCHLD are blocked too |
//! | `sigaction(SIGUSR1, handle_usr1)` | `nix::sys::signal::sigaction` in `install` | handlers for SIGUSR2 and SIGCHLD too |
//! | `fork()` | `nix::unistd::fork`; the child's part is `child`, ended by [`common::run_child`] | the child never returns into `main` |
//! | `kill(getppid(), SIGUSR1)` three times | the same | then `kill(getppid(), SIGUSR2)`: "all three sent" |
//! | `sleep(1)` | [`common::sleep`], then wait for SIGUSR2 with SIGUSR1 still blocked | the three signals are surely pending; Ctrl-C ends the sleep |
//! | `handle_term` sets the flag | `handle_term` (`SA_SIGINFO`) sets it only for the parent's SIGTERM | a SIGTERM from elsewhere stops the child like any example (exit 143), it does not "exit cleanly" |
//! | the parent keeps SIGTERM blocked | the parent unblocks it after `fork` | blocked only for the child to inherit; a SIGTERM to the parent stops it, exit 143 |
//! | `while (!flag) sigsuspend(&original)` | `wait_for`, with the same mask | the parent stops waiting if the child has exited, and says how it ended; Ctrl-C stops either process |
//! | `waitpid`, `WIFEXITED` / `WIFSIGNALED` | [`common::Child::wait_status`], a `WaitStatus` | a child that failed makes the parent fail after its line |

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::Duration;

use anyhow::bail;
use common::{Child, Perror, SysError, run_child, say, sleep};
use nix::sys::signal::{
    SaFlags, SigAction, SigHandler, SigSet, SigmaskHow, Signal, kill, sigaction, sigprocmask,
};
use nix::sys::wait::WaitStatus;
use nix::unistd::{ForkResult, fork, getppid};

const HELP: &str = "\
Usage: signals
A parent and its forked child notify each other with signals: SIGUSR1 sent three times
while blocked arrives once; SIGTERM ends the child cleanly.
";

// Flags set by the handlers; an atomic store is safe in a handler
static USR1_COUNT: AtomicI32 = AtomicI32::new(0);
static TERM_RECEIVED: AtomicBool = AtomicBool::new(false);
static ALL_SENT: AtomicBool = AtomicBool::new(false);
static CHILD_EXITED: AtomicBool = AtomicBool::new(false);

extern "C" fn handle_usr1(_: libc::c_int) {
    USR1_COUNT.fetch_add(1, Ordering::SeqCst);
}

/// The child's SIGTERM handler. The SIGTERM it waits for is its parent's;
/// one from anyone else (`kill`, a terminal's job control) stops the child
/// as it stops every example (see `common::interrupt`).
extern "C" fn handle_term(signal: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    // SAFETY: with SA_SIGINFO the kernel passes a valid siginfo_t, which
    // lives until the handler returns.
    let info = unsafe { &*info };
    // SAFETY: si_pid is set for a signal sent by kill(2), the only way a
    // SIGTERM comes.
    let sender = unsafe { info.si_pid() };
    // getppid is async-signal-safe.
    if sender == getppid().as_raw() {
        TERM_RECEIVED.store(true, Ordering::SeqCst);
    } else {
        common::interrupt::record_stop(signal);
    }
}

extern "C" fn handle_usr2(_: libc::c_int) {
    ALL_SENT.store(true, Ordering::SeqCst);
}

extern "C" fn handle_chld(_: libc::c_int) {
    CHILD_EXITED.store(true, Ordering::SeqCst);
}

fn main() -> ExitCode {
    common::main_no_args(HELP, run)
}

fn run() -> anyhow::Result<()> {
    // Block SIGUSR1 and SIGTERM until each process is ready to wait for them,
    // so that a signal sent early stays pending instead of being lost; and
    // SIGUSR2 (the child's "all three sent") and SIGCHLD (the child is gone),
    // which the parent waits for in the same way
    let mut blocked = SigSet::empty();
    for signal in [
        Signal::SIGUSR1,
        Signal::SIGTERM,
        Signal::SIGUSR2,
        Signal::SIGCHLD,
    ] {
        blocked.add(signal);
    }
    let mut original = SigSet::empty();
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&blocked), Some(&mut original))
        .perror("sigprocmask")?;

    // Install the SIGUSR1 handler in the parent
    install(Signal::SIGUSR1, handle_usr1)?;
    install(Signal::SIGUSR2, handle_usr2)?;
    install(Signal::SIGCHLD, handle_chld)?;

    say!("Parent installed SIGUSR1 handler")?;

    // SAFETY: the process is single-threaded, so the child's copy of it holds
    // no lock that another thread was holding. Each line printed so far is
    // already written out (see `say!`), so the child cannot print it again.
    let child = match unsafe { fork() }.perror("fork")? {
        ForkResult::Child => run_child(|| child(original)),
        ForkResult::Parent { child } => Child::new(child),
    };

    // (SIGTERM was blocked for the child to inherit; the parent itself
    // takes it as any example does: stop, clean up, exit 143.)
    sigprocmask(
        SigmaskHow::SIG_UNBLOCK,
        Some(&SigSet::from(Signal::SIGTERM)),
        None,
    )
    .perror("sigprocmask")?;

    // Parent process: give the child time to send all three signals
    sleep(Duration::from_secs(1))?;

    // ...and be sure it has: wait for its SIGUSR2, with SIGUSR1 still blocked
    let mut usr1_blocked = original;
    usr1_blocked.add(Signal::SIGUSR1);
    if !wait_for(&ALL_SENT, &usr1_blocked)? {
        // The child is gone: say how it ended.
        child.wait()?;
        bail!("the child exited before it signalled");
    }

    // Unblock SIGUSR1 and wait for it
    while USR1_COUNT.load(Ordering::SeqCst) == 0 {
        suspend(&original)?;
    }

    say!(
        "Parent received SIGUSR1 {} time(s)",
        USR1_COUNT.load(Ordering::SeqCst)
    )?;

    // Ask the child to terminate
    say!("Parent sending SIGTERM to child")?;
    kill(child.pid(), Signal::SIGTERM).perror("kill")?;

    let status = child.wait_status()?;

    say!("{}", how_it_ended(status))?;
    match status {
        WaitStatus::Exited(_, 0) => Ok(()),
        WaitStatus::Signaled(_, signal, _) => bail!("child was killed by {signal}"),
        _ => bail!("the child did not exit cleanly"),
    }
}

/// The listing's `WIFEXITED` / `WIFSIGNALED` report on the child.
fn how_it_ended(status: WaitStatus) -> String {
    match status {
        WaitStatus::Exited(_, code) => format!("Child exited with status {code}"),
        WaitStatus::Signaled(_, signal, _) => format!("Child killed by signal {}", signal as i32),
        // waitpid without WUNTRACED or WCONTINUED reports only these two.
        other => format!("Child ended: {other:?}"),
    }
}

/// The child's part: notify the parent, then wait for its SIGTERM.
fn child(original: SigSet) -> anyhow::Result<()> {
    // Child process: install a SIGTERM handler, then notify the parent
    let from_parent = SigAction::new(
        SigHandler::SigAction(handle_term),
        SaFlags::SA_SIGINFO,
        SigSet::empty(),
    );
    // SAFETY: the handler makes one atomic store, or calls record_stop,
    // which is async-signal-safe.
    unsafe { sigaction(Signal::SIGTERM, &from_parent) }.perror("sigaction")?;

    // Standard signals are not queued: three sends while the parent
    // has SIGUSR1 blocked are delivered as one
    say!("Child sending SIGUSR1 to parent 3 times")?;
    let parent = getppid();
    for _ in 0..3 {
        kill(parent, Signal::SIGUSR1).perror("kill")?;
    }
    // All three are pending now: tell the parent
    kill(parent, Signal::SIGUSR2).perror("kill")?;

    // Wait for the parent's SIGTERM
    while !TERM_RECEIVED.load(Ordering::SeqCst) {
        suspend(&original)?;
    }

    say!("Child received SIGTERM, exiting cleanly")?;
    Ok(())
}

/// `sigaction(signal, handler)`, with no flags: no `SA_RESTART`, and the
/// signal blocked while its handler runs.
fn install(signal: Signal, handler: extern "C" fn(libc::c_int)) -> Result<(), SysError> {
    let action = SigAction::new(
        SigHandler::Handler(handler),
        SaFlags::empty(),
        SigSet::empty(),
    );
    // SAFETY: every handler in this program only does one atomic store or
    // add, which is async-signal-safe.
    unsafe { sigaction(signal, &action) }.perror("sigaction")?;
    Ok(())
}

/// `sigsuspend(mask)`: sleeps with `mask` as the signal mask until a handler
/// has run, then puts the blocked set back.
/// Ctrl-C or a SIGTERM from outside ends the wait with an error.
fn suspend(mask: &SigSet) -> Result<(), SysError> {
    mask.suspend().perror("sigsuspend")?;
    common::interrupt::check("sigsuspend")
}

/// The parent's `while (!flag) sigsuspend(mask)`, which also stops, with
/// `false`, when the child has exited: SIGCHLD is unblocked only inside
/// `sigsuspend`, so its handler has run by the time the flag is checked
/// again.
fn wait_for(flag: &AtomicBool, mask: &SigSet) -> Result<bool, SysError> {
    while !flag.load(Ordering::SeqCst) {
        if CHILD_EXITED.load(Ordering::SeqCst) {
            return Ok(false);
        }
        suspend(mask)?;
    }
    Ok(true)
}

#[cfg(test)]
mod report {
    use nix::unistd::Pid;

    use super::*;

    #[test]
    fn says_how_the_child_ended_as_the_listing_does() {
        let pid = Pid::from_raw(42);
        assert_eq!(
            how_it_ended(WaitStatus::Exited(pid, 0)),
            "Child exited with status 0"
        );
        assert_eq!(
            how_it_ended(WaitStatus::Exited(pid, 3)),
            "Child exited with status 3"
        );
        assert_eq!(
            how_it_ended(WaitStatus::Signaled(pid, Signal::SIGKILL, false)),
            "Child killed by signal 9"
        );
    }
}
