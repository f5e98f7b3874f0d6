//! What `c/pipe.c` leaves to luck, kept out of the listing.
//!
//! Not much: a pipe has no name to collide on and nothing to remove, as the
//! kernel frees it with its last descriptor. What can still go wrong is a
//! signal arriving while the child sleeps in `read`, and that is handled
//! here. The rest is what every example shares, in `common`: the parent's
//! `Child` handle kills and reaps a child that it leaves behind early, and
//! watches it so that a dead child is reported; `run_child` ends the child
//! without returning into `main`; Ctrl-C and SIGTERM stop both processes.

use std::io::{self, PipeReader, Read};

use common::blocking;

/// `read(2)` on the pipe, again when a signal interrupted it before any
/// data came (`EINTR`), but not after Ctrl-C or SIGTERM: then the error
/// stops the child. The C's `read` would return -1 and print
/// `read: Interrupted system call`.
pub fn read(reader: &mut PipeReader, buffer: &mut [u8]) -> io::Result<usize> {
    blocking(|| reader.read(buffer))
}
