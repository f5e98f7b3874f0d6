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
//!   the guards removed, for the one-line notice; [`other_signals`]: SIGHUP,
//!   SIGUSR1 and SIGUSR2 stop an example that asks for it the same way.
//! - [`leftover`]: one run per key, name or path ([`leftover::claim`]), and
//!   the one rule for an object found there ([`leftover::judge`]).
//! - [`sysv`]: what the three System V examples add to their listings,
//!   written once: [`ftok`], one run per key, a crashed run's object
//!   reclaimed from `IPC_STAT`, the guard that removes the object
//!   ([`sysv::Owned`]), and the hints ([`key_taken_hint`]).
//! - [`futex`]: sleep until a word in shared memory changes.
//! - [`state`]: what the process knows about itself (the stop signal, how
//!   the child ended, what was removed), in one leaf module that every other
//!   module reads, so that none of them imports another in a circle.
//!
//! The IPC calls themselves stay in the examples.

mod blocking;
mod child;
mod entry;
mod error;
pub mod futex;
pub mod interrupt;
pub mod leftover;
pub mod other_signals;
mod print;
pub mod state;
pub mod sysv;

pub use blocking::{Interruptible, blocking};
pub use child::{Child, ChildFailed, run_child};
pub use entry::{main, main_no_args, shown};
pub use error::{Perror, SysError, UsageError, message, report, write_error_line};
pub use interrupt::sleep;
pub use print::write_line;
pub use state::removed;
pub use sysv::{ftok, key_taken_hint};

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
