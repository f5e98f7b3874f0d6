//! What every example in this workspace needs the same way, kept out of the
//! examples so that each one reads beside its C listing: this crate is to the
//! ports what `tlpi_hdr.h` and `error_functions.c` are to the programs of
//! *The Linux Programming Interface*.
//!
//! - [`Perror`]: a failed call becomes an error that prints as
//!   `<call>: <reason>`, the way `perror(3)` prints it; [`main`] prints it and
//!   exits 1, or prints the usage line and exits 2 for a bad command line
//!   ([`main_no_args`] for an example without a name to choose).
//! - [`say!`]: `printf` of one line, returning an error instead of panicking
//!   when stdout is gone; [`note!`]: one line on stderr, in one piece.
//! - [`run_child`] and [`Child`]: how the forked child ends, and how the parent
//!   waits for it (or, leaving early, makes sure it is gone).
//! - [`blocking`]: a blocking call, again when a signal interrupted it, but
//!   not after Ctrl-C or SIGTERM, nor once the child it waits for has ended.
//! - [`interrupt`]: Ctrl-C and SIGTERM stop an example at its next step, and
//!   [`sleep`] is the pacing sleep that they end; [`removed`] records what
//!   the guards removed, for the one-line notice.
//! - [`leftover`]: one run per key, name or path ([`leftover::claim`]), and
//!   the one rule for an object found there ([`leftover::judge`]).
//! - [`ftok`] and [`key_taken_hint`]: the System V key of a path, and what to
//!   do when an object already has it.
//! - [`futex`]: sleep until a word in shared memory changes.
//!
//! The IPC calls themselves stay in the examples.

mod child;
mod error;
pub mod futex;
pub mod interrupt;
pub mod leftover;

pub use child::{Child, ChildFailed, run_child};
pub use error::{Perror, SysError, UsageError, main, main_no_args, report};
pub use interrupt::{removed, sleep};

use std::ffi::{CString, OsStr};
use std::fmt;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;

use nix::errno::Errno;

/// Prints one line on stdout, like `println!`, and writes it out at once.
///
/// Each line reaches stdout in one `write(2)` before the program takes its
/// next step, so stdout never holds an unwritten line that a `fork` would
/// copy into the child (the reason the C programs print lines twice when
/// piped). Where `println!` would panic because stdout is closed
/// (`| head -1`), this returns the error.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::write_line(::std::format_args!($($arg)*))
    };
}

/// The function behind [`say!`].
pub fn write_line(line: fmt::Arguments<'_>) -> Result<(), SysError> {
    // After Ctrl-C, the example prints nothing more.
    interrupt::check("write stdout")?;
    let line = format!("{line}\n");
    let mut stdout = io::stdout().lock();
    // Whatever `print!` may have left in std's buffer goes first.
    stdout.flush().perror("write stdout")?;
    let mut rest = line.as_bytes();
    while !rest.is_empty() {
        // write(2) itself, not `write_all`, which would go back to a stdout
        // that blocks (a full pipe) after Ctrl-C.
        match nix::unistd::write(&stdout, rest) {
            Ok(written) => rest = &rest[written..],
            Err(Errno::EINTR) => interrupt::check("write stdout")?,
            Err(errno) => return Err(SysError::new("write stdout", errno)),
        }
    }
    Ok(())
}

/// Prints one line on stderr, like `eprintln!`, in a single `write(2)`.
///
/// stderr is not buffered, so `eprintln!` writes each piece of a formatted
/// line with a call of its own, and the lines of a parent and a child that
/// fail at the same moment come out interleaved: `write stdoutwrite stdout:
/// Broken pipe`. A failure to write is ignored: with stderr gone, there is
/// nobody left to tell.
#[macro_export]
macro_rules! note {
    ($($arg:tt)*) => {
        $crate::write_error_line(::std::format_args!($($arg)*))
    };
}

/// The function behind [`note!`].
pub fn write_error_line(line: fmt::Arguments<'_>) {
    let line = format!("{line}\n");
    let _ = io::stderr().write_all(line.as_bytes());
}

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
/// SIGTERM came (see [`interrupt`]; reported as `msgrcv: interrupted by
/// SIGINT`), or the child that the parent [watches](Child::watch) has
/// ended: then nothing will wake the call, and `EINTR` is returned, which
/// [`Perror`] reports as `msgrcv: interrupted: the child process exited
/// with status 1`.
///
/// `msgrcv`, `msgsnd`, `semop` and `futex` fail with `EINTR` whenever a signal
/// handler runs, whatever `SA_RESTART` says, and even after a stop and
/// continue (Ctrl-Z, then `fg`) with no handler at all; `read`, `accept`,
/// `recv` and `waitpid` do when a handler was installed without
/// `SA_RESTART`. Each blocking call of a port that waits for the other
/// process goes through here, so that each one handles the interruption on
/// purpose. (`signals` waits in `sigsuspend`, where being interrupted is the
/// point, and [`Child::wait`] retries `waitpid` itself.)
pub fn blocking<T, E: Interruptible>(mut call: impl FnMut() -> Result<T, E>) -> Result<T, E> {
    let _in_call = child::InBlockingCall::enter();
    loop {
        interrupt::keep_interrupting();
        match call() {
            Err(error)
                if error.interrupted()
                    && child::ended().is_none()
                    && interrupt::received().is_none() =>
            {
                continue;
            }
            result => return result,
        }
    }
}

/// `ftok(3)`: the System V key that every process naming the same existing
/// file and the same project byte computes.
pub fn ftok(path: &OsStr, proj: u8) -> Result<libc::key_t, SysError> {
    // `{:?}` quotes the path and escapes what a terminal would not show.
    let call = format!("ftok({path:?}, '{}')", char::from(proj));
    // A command-line argument never holds a NUL byte; any other caller
    // learns here that a C string cannot hold one.
    let c_path = CString::new(path.as_bytes()).map_err(|_| SysError::new(&call, Errno::EINVAL))?;
    // SAFETY: `c_path` is a NUL-terminated string that outlives the call.
    Errno::result(unsafe { libc::ftok(c_path.as_ptr(), proj.into()) }).perror(call)
}

/// The advice for a System V key that an object already has (`EEXIST` from
/// a `*get` call with `IPC_EXCL`): how to see the object, and how to remove
/// it if a crashed run left it. `what` is `shared memory segment`,
/// `message queue` or `semaphore set`; `ipcs` is `m`, `q` or `s`.
pub fn key_taken_hint(what: &str, ipcs: char, key: libc::key_t) -> String {
    let ipcrm = ipcs.to_ascii_uppercase();
    format!(
        "a {what} with key {key:#010x} already exists (`ipcs -{ipcs}` lists it); \
         if no run is using it, remove it with `ipcrm -{ipcrm} {key:#010x}`"
    )
}
