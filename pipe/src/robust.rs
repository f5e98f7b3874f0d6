//! What `c/pipe.c` leaves to luck, kept out of the listing.
//!
//! Not much: a pipe has no name to collide on and nothing to remove, as the
//! kernel frees it with its last descriptor. What can still go wrong is a
//! signal arriving while the child sleeps in `read`, and that is handled
//! here. The rest is what every example shares, in `common`: the parent's
//! `Child` handle kills and reaps a child that it leaves behind early, and
//! watches it so that a dead child is reported; `run_child` ends the child
//! without returning into `main`; Ctrl-C and SIGTERM stop both processes.
//!
//! What another program can do (issue 14): write into the pipe, which it
//! reaches through `/proc/PID/fd/N` ([`from_the_parent`]); send SIGUSR1 or
//! SIGHUP ([`stop_on_other_signals`]).

use std::io::{self, PipeReader, Read};

use anyhow::bail;
use common::{Child, Perror, SysError, blocking};
use nix::errno::Errno;

/// `read(2)` on the pipe, again when a signal interrupted it before any
/// data came (`EINTR`), but not after Ctrl-C or SIGTERM: then the error
/// stops the child. The C's `read` would return -1 and print
/// `read: Interrupted system call`.
pub fn read(reader: &mut PipeReader, buffer: &mut [u8]) -> io::Result<usize> {
    blocking(|| reader.read(buffer))
}

/// A pipe has no name, but another program of the same user can still
/// open it, through `/proc/PID/fd/N`, and write into it. The child knows
/// what its parent sends (the C's child has `message` in scope too):
/// anything else it read is another program's, and it says so rather than
/// print it as the parent's.
pub fn from_the_parent(read: &[u8], message: &str) -> anyhow::Result<()> {
    if read != message.as_bytes() {
        bail!(
            "read: the pipe held {:?}, not the parent's message: another program wrote into it",
            String::from_utf8_lossy(read)
        );
    }
    Ok(())
}

/// The parent's `write` into the pipe. If it fails because nobody reads
/// the pipe any more (`EPIPE`), the child has ended before it read: how it
/// ended is the thing to say (it has said why itself if it failed), not
/// `write: Broken pipe`. Returns the handle on the child still running.
pub fn child_still_reading(written: io::Result<()>, child: Child) -> anyhow::Result<Child> {
    match written {
        Ok(()) => Ok(child),
        Err(error) if error.raw_os_error() == Some(Errno::EPIPE as i32) => {
            child.wait()?;
            bail!("write: the child ended without reading the message")
        }
        Err(error) => Err(error).perror("write")?,
    }
}

/// SIGHUP, SIGUSR1 and SIGUSR2 (`kill -USR1` from another program) would
/// end the parent without a word: they stop it as SIGTERM does (see
/// `common::other_signals`). The child dies of them, and the parent says so.
pub fn stop_on_other_signals() -> Result<(), SysError> {
    common::other_signals::install()
}
