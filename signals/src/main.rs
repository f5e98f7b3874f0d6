//! # signals: notification by signal
//!
//! The tutorial describes signals ("Common IPC Mechanisms: Signals") without
//! a listing; this ports `c/signals.c`, written in its style. A signal carries
//! only the fact that it happened; a handler records it in an atomic flag.
//! Both processes block SIGUSR1 and SIGTERM until they wait for them with
//! `sigsuspend`, which unblocks and sleeps in one step, so a signal sent early
//! stays pending. The child sends SIGUSR1 three times while the parent has it
//! blocked; standard signals are not queued, so the handler runs once ("can be
//! lost if not handled promptly"). Then the parent ends the child with SIGTERM.
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
//! | C | Rust |
//! |---|---|
//! | `volatile sig_atomic_t` flags | `static` atomics |
//! | `sigemptyset(&set)`, `sigaddset(&set, SIGUSR1)` | `SigSet::empty()`, `set.add(SIGUSR1)` |
//! | `sigprocmask(SIG_BLOCK, &blocked, &original)` | `sigprocmask` (nix), the same arguments |
//! | `sa.sa_handler = ...; sigaction(...)` | `SigAction::new(...)`, then `sigaction` (nix) |
//! | `fork()` | `fork()` (nix); the child runs `child`, ended by `run_child` |
//! | `kill(getppid(), SIGUSR1)` | `getppid()` once, then `kill` (nix) |
//! | `sleep(1)` | `sleep` (common), which Ctrl-C ends |
//! | `sigsuspend(&original)` | `robust::sigsuspend(&original)`: Ctrl-C ends it |
//! | `waitpid(pid, &status, 0)` | `robust::waitpid(child)`, by the `Child` handle |
//! | `WIFEXITED`, `WIFSIGNALED` | a `match` on the `WaitStatus`, in `how_it_ended` |
//!
//! ## Beyond the listing
//!
//! The C parent sleeps one second and hopes that the child has sent its
//! signals by then; `robust.rs` has the child say so with SIGUSR2, and tells
//! the parent if the child died instead. The child's handler checks who sent
//! the SIGTERM, and Ctrl-C ends every wait, in both processes.

mod robust;

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::Duration;

use common::{Child, Perror, run_child, say, sleep};
use libc::{c_int, c_void, siginfo_t};
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

// Flags set by the handlers; an atomic is safe to write from a handler
static USR1_COUNT: AtomicI32 = AtomicI32::new(0);
static TERM_RECEIVED: AtomicBool = AtomicBool::new(false);

extern "C" fn handle_usr1(_: c_int) {
    USR1_COUNT.fetch_add(1, Ordering::SeqCst);
}

extern "C" fn handle_term(signal: c_int, info: *mut siginfo_t, _: *mut c_void) {
    // Only the parent's SIGTERM counts (robust.rs)
    // SAFETY: with SA_SIGINFO the kernel passes a valid siginfo_t.
    if robust::sent_by_parent(signal, unsafe { &*info }) {
        TERM_RECEIVED.store(true, Ordering::SeqCst);
    }
}

fn main() -> ExitCode {
    common::main_no_args(HELP, run)
}

fn run() -> anyhow::Result<()> {
    // Block SIGUSR1 and SIGTERM until each process is ready to wait for them,
    // so that a signal sent early stays pending instead of being lost
    let mut blocked = SigSet::empty();
    blocked.add(Signal::SIGUSR1);
    blocked.add(Signal::SIGTERM);
    // ...and SIGUSR2 and SIGCHLD, which the parent waits for too (robust.rs)
    robust::also_block(&mut blocked);
    let mut original = SigSet::empty();
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&blocked), Some(&mut original))
        .perror("sigprocmask")?;

    // Install the SIGUSR1 handler in the parent
    let sa = SigAction::new(
        SigHandler::Handler(handle_usr1),
        SaFlags::empty(),
        SigSet::empty(),
    );
    // SAFETY: handle_usr1 only adds to an atomic, which is async-signal-safe.
    unsafe { sigaction(Signal::SIGUSR1, &sa) }.perror("sigaction")?;
    // ...and the handlers of SIGUSR2 and SIGCHLD (robust.rs)
    robust::install_handlers()?;

    say!("Parent installed SIGUSR1 handler")?;

    // SAFETY: the process is single-threaded, so the child's copy of it holds
    // no lock that another thread was holding. Each line printed so far is
    // already written out (see `say!`), so the child cannot print it again.
    let child = match unsafe { fork() }.perror("fork")? {
        ForkResult::Child => run_child(|| child(original)),
        ForkResult::Parent { child } => Child::new(child),
    };
    // SIGTERM was blocked for the child to inherit; the parent takes it as
    // every example does: stop, clean up, exit 143 (robust.rs)
    robust::unblock_sigterm()?;

    // Parent process: give the child time to send all three signals
    sleep(Duration::from_secs(1))?;
    // ...and be sure it has: wait for its SIGUSR2 (robust.rs)
    let child = robust::wait_all_sent(child, &original)?;

    // Unblock SIGUSR1 and wait for it
    while USR1_COUNT.load(Ordering::SeqCst) == 0 {
        robust::sigsuspend(&original)?;
    }

    let count = USR1_COUNT.load(Ordering::SeqCst);
    say!("Parent received SIGUSR1 {count} time(s)")?;

    // Ask the child to terminate
    say!("Parent sending SIGTERM to child")?;
    kill(child.pid(), Signal::SIGTERM).perror("kill")?;

    let status = robust::waitpid(child)?;

    say!("{}", how_it_ended(status))?;
    // A child that did not exit cleanly makes the parent fail too (robust.rs)
    robust::exited_cleanly(status)
}

/// The child process: notify the parent, then wait for its SIGTERM.
fn child(original: SigSet) -> anyhow::Result<()> {
    // Child process: install a SIGTERM handler, then notify the parent
    let sa = SigAction::new(
        SigHandler::SigAction(handle_term),
        SaFlags::SA_SIGINFO,
        SigSet::empty(),
    );
    // SAFETY: handle_term makes one atomic store, or calls
    // robust::sent_by_parent, which is async-signal-safe.
    unsafe { sigaction(Signal::SIGTERM, &sa) }.perror("sigaction")?;

    // Standard signals are not queued: three sends while the parent
    // has SIGUSR1 blocked are delivered as one
    say!("Child sending SIGUSR1 to parent 3 times")?;
    let parent = getppid();
    for _ in 0..3 {
        kill(parent, Signal::SIGUSR1).perror("kill")?;
    }
    // All three are pending now: tell the parent (robust.rs)
    robust::tell_all_sent(parent)?;

    // Wait for the parent's SIGTERM
    while !TERM_RECEIVED.load(Ordering::SeqCst) {
        robust::sigsuspend(&original)?;
    }

    say!("Child received SIGTERM, exiting cleanly")?;
    Ok(())
}

fn how_it_ended(status: WaitStatus) -> String {
    match status {
        WaitStatus::Exited(_, code) => format!("Child exited with status {code}"),
        WaitStatus::Signaled(_, signal, _) => format!("Child killed by signal {}", signal as i32),
        // waitpid without WUNTRACED or WCONTINUED reports only these two.
        other => format!("Child ended: {other:?}"),
    }
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
