//! The two ends of a `fork`: how the child ends, and how the parent waits for it.

use std::panic::{self, AssertUnwindSafe};
use std::process;

use anyhow::bail;
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;

use crate::{Perror, SysError, blocking, report};

/// Runs the child's part of an example, then ends the child process: status 0
/// if it succeeded, 1 after printing its error, 101 after a panic (Rust's
/// status for one; the panic message is already on stderr).
///
/// It never returns, so the child never unwinds back into `main`: no value
/// the parent owns is dropped in the child, in particular no guard that
/// removes an IPC object. `std::process::exit` writes out stdout before the
/// process ends, as `exit(3)` does in C.
pub fn run_child(child: impl FnOnce() -> anyhow::Result<()>) -> ! {
    // A panic unwinds the child's own frames, and stops here.
    let status = match panic::catch_unwind(AssertUnwindSafe(child)) {
        Ok(Ok(())) => 0,
        Ok(Err(error)) => {
            report(&error);
            1
        }
        Err(_) => 101,
    };
    process::exit(status)
}

/// The parent's handle on the child it forked.
///
/// [`Child::wait`] waits for the child and says how it ended, like `wait(2)`
/// in the C listings. If the parent leaves before that (an error returned
/// with `?`, or a panic), dropping the handle kills the child and waits for
/// it, so the child never outlives the demo. An example declares the handle
/// after the guard of the IPC object it created, so the handle is dropped
/// first: the object is removed only once the peer is gone.
#[derive(Debug)]
pub struct Child {
    pid: Pid,
    waited: bool,
}

impl Child {
    /// The child that `fork` returned.
    pub fn new(pid: Pid) -> Self {
        Self { pid, waited: false }
    }

    /// The child's process id.
    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// Waits for the child to end (`waitpid(2)`) and returns how it ended.
    pub fn wait_status(mut self) -> Result<WaitStatus, SysError> {
        let status = blocking(|| waitpid(self.pid, None)).perror("waitpid")?;
        self.waited = true;
        Ok(status)
    }

    /// Waits for the child to end; an error unless it exited with status 0.
    pub fn wait(self) -> anyhow::Result<()> {
        match self.wait_status()? {
            WaitStatus::Exited(_, 0) => Ok(()),
            WaitStatus::Exited(_, status) => bail!("child exited with status {status}"),
            WaitStatus::Signaled(_, signal, _) => bail!("child killed by signal {signal}"),
            other => bail!("child ended unexpectedly: {other:?}"),
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if !self.waited {
            // The parent is leaving early: end the child rather than leave it
            // running. A child that has already ended cannot be killed, and is
            // reaped all the same, so neither result matters here.
            let _ = kill(self.pid, Signal::SIGKILL);
            let _ = blocking(|| waitpid(self.pid, None));
        }
    }
}
