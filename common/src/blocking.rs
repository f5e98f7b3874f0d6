//! A blocking call that waits for the other process, again after a signal.

use std::io;

use nix::errno::Errno;

use crate::{interrupt, state};

/// An error that a signal can cause in a blocking call: `EINTR`.
pub trait Interruptible {
    /// Whether the call was interrupted before it could complete.
    fn interrupted(&self) -> bool;
}

impl Interruptible for Errno {
    fn interrupted(&self) -> bool {
        *self == Errno::EINTR
    }
}

impl Interruptible for io::Error {
    fn interrupted(&self) -> bool {
        self.kind() == io::ErrorKind::Interrupted
    }
}

/// Runs a call that blocks until the other process does something, and runs
/// it again each time a signal interrupts it (`EINTR`), unless SIGINT or
/// SIGTERM came (see [`interrupt`](crate::interrupt); reported as `msgrcv: interrupted by
/// SIGINT`), or the child that the parent [watches](crate::Child::watch) has
/// ended: then nothing will wake the call, and `EINTR` is returned, which
/// [`Perror`](crate::Perror) reports as `msgrcv: interrupted: the child process exited
/// with status 1`.
///
/// `msgrcv`, `msgsnd`, `semop` and `futex` fail with `EINTR` whenever a signal
/// handler runs, whatever `SA_RESTART` says, and even after a stop and
/// continue (Ctrl-Z, then `fg`) with no handler at all; `read`, `accept`,
/// `recv` and `waitpid` do when a handler was installed without
/// `SA_RESTART`. Each blocking call of a port that waits for the other
/// process goes through here, so that each one handles the interruption on
/// purpose. (`signals` waits in `sigsuspend`, where being interrupted is the
/// point, and [`Child::wait`](crate::Child::wait) retries `waitpid` itself.)
pub fn blocking<T, E: Interruptible>(mut call: impl FnMut() -> Result<T, E>) -> Result<T, E> {
    let _in_call = state::InBlockingCall::enter();
    loop {
        interrupt::keep_interrupting();
        match call() {
            Err(error)
                if error.interrupted()
                    && state::ended().is_none()
                    && state::received().is_none() =>
            {
                continue;
            }
            result => return result,
        }
    }
}
