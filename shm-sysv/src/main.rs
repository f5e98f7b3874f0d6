//! # shm-sysv: System V shared memory
//!
//! The tutorial's "Shared Memory Example" (`c/shm-sysv.c`), line for line: the
//! parent creates and attaches a segment, forks, and copies a string into it;
//! the child prints it. No call carries the data: both see the same memory.
//!
//! ```text
//! cargo run -p shm-sysv [FTOK_PATH]     # the key is ftok(FTOK_PATH, 'a'); default .
//! ```
//!
//! prints (the id and address vary; the parent's and child's lines interleave):
//!
//! ```text
//! Shared memory segment created: 4
//! Shared memory attached at address: 0x7fdcaa50f000
//! Parent wrote to shared memory
//! Child process waiting for data...
//! Child process reading: Hello from the parent process!
//! Shared memory removed
//! ```
//!
//! | C | Rust |
//! |---|---|
//! | `ftok(".", 'a')` | [`common::ftok`]; the path is the optional argument |
//! | `shmget(key, SHM_SIZE, IPC_CREAT \| 0666)` | `shmget(.., IPC_CREAT \| IPC_EXCL \| 0o600)` |
//! | `char *shm_ptr` | `&Shared`: the string, and a flag in the last 4 bytes |
//! | `shmat(shmid, NULL, 0)` | `shmat(shmid)`, adopted by `Attachment` |
//! | `strcpy(shm_ptr, ...)` | `Shared::strcpy`, then `publish` sets the flag |
//! | `sleep(2)`, `printf("%s", shm_ptr)` | [`common::sleep`], then `wait_for_text` |
//! | `shmdt(shm_ptr)` | `shmdt(attachment.into_raw())` |
//! | `wait(NULL)` | [`common::Child::wait`]: a child that failed fails the parent |
//! | `shmctl(shmid, IPC_RMID, NULL)` | `segment.remove(\|shmid\| shmctl(shmid, IPC_RMID))` |
//!
//! **Beyond the listing** (`robust.rs`; [`common::sysv`] for all System V
//! examples): the C child sleeps and hopes the string is there; here it waits
//! for a flag the parent sets (`futex`). One run per key; a segment at the key
//! is reclaimed only if a crashed run provably left it; guards detach and
//! remove on every path (an error, a panic, Ctrl-C or SIGTERM: exit 130/143).
//! `ipcrm`, or another program writing into it (the C listing at the same
//! key gets this segment), ends the run with one line saying so, exit 1.

mod robust;
use std::cell::UnsafeCell;
use std::ffi::OsString;
use std::process::ExitCode;
use std::sync::atomic::AtomicU32;
use std::time::Duration;

use common::sysv::{self, Kind, Owned, shmctl, shmget};
use common::{Child, Perror, ftok, run_child, say, sleep};
use libc::{IPC_CREAT, IPC_EXCL, IPC_RMID};
use nix::unistd::{ForkResult, fork};
use robust::{Attachment, shmat, shmdt};

const HELP: &str = "\
Usage: shm-sysv [FTOK_PATH]
A parent writes a string into a System V shared memory segment; its forked child reads it.
The segment's key is ftok(FTOK_PATH, 'a'); FTOK_PATH must exist (default: .).
";

const SHM_SIZE: usize = 1024; // Size of shared memory segment

/// The segment: the listing's `char` array, and a flag in its last four bytes.
#[repr(C)]
struct Shared {
    text: UnsafeCell<[u8; SHM_SIZE - 4]>, // the string, NUL-terminated
    written: AtomicU32,                   // 1 once the string is complete
}

fn main() -> ExitCode {
    common::main(HELP, ".", run)
}

fn run(ftok_path: OsString) -> anyhow::Result<()> {
    // Generate a unique key for shared memory
    let key = ftok(&ftok_path, b'a')?;

    // One run per key at a time (common::sysv)
    let _claim = sysv::claim("shm-sysv", Kind::Shm, key)?;

    // Create the shared memory segment
    // (a crashed run's segment at the key is reclaimed first: robust.rs)
    let shmid = robust::create(key, || shmget(key, SHM_SIZE, IPC_CREAT | IPC_EXCL | 0o600))?;
    let segment = Owned::adopt(Kind::Shm, key, shmid); // removes it on every path

    say!("Shared memory segment created: {shmid}")?;

    // Attach the shared memory segment
    let shm_ptr = shmat(shmid).perror("shmat")?;
    let attachment = Attachment::adopt(shm_ptr); // detaches on every path

    say!("Shared memory attached at address: {shm_ptr:p}")?;

    // Fork a child process
    // SAFETY: single-threaded here, so the child inherits no held lock; every
    // line so far is written out (`say!`), so the child cannot print it again.
    let child = match unsafe { fork() }.perror("fork")? {
        ForkResult::Child => run_child(|| child(attachment)),
        ForkResult::Parent { child } => Child::watch(child)?,
    };

    // Parent process: write to shared memory
    // SAFETY: the child reads the text only once `publish` below says it is
    // complete, and nothing writes it after that.
    unsafe { attachment.shared().strcpy("Hello from the parent process!") };
    say!("Parent wrote to shared memory")?;

    // Tell the child the string is complete (the C relies on its sleep)
    attachment.shared().publish()?;

    // Wait for child to finish
    child.wait()?;
    // Nobody else wrote to the segment meanwhile (robust.rs)
    attachment.shared().unchanged()?;

    // Detach from shared memory
    // SAFETY: the address came from shmat, and `into_raw` consumed the
    // attachment, so no reference into the segment is left.
    unsafe { shmdt(attachment.into_raw()) }.perror("shmdt")?;

    // Remove the shared memory segment
    segment
        .remove(|shmid| shmctl(shmid, IPC_RMID))
        .perror("shmctl")?;

    say!("Shared memory removed")?;
    Ok(())
}

fn child(attachment: Attachment) -> anyhow::Result<()> {
    // Child process: read from shared memory
    say!("Child process waiting for data...")?;
    sleep(Duration::from_secs(2))?; // Wait for parent to write data

    // The sleep only paces the demo: the flag says when the string is there.
    let text = attachment.shared().wait_for_text()?;
    say!("Child process reading: {text}")?;

    // Detach from shared memory
    // SAFETY: as in the parent; the child's copy of the attachment is its own.
    unsafe { shmdt(attachment.into_raw()) }.perror("shmdt")?;

    Ok(())
}

#[cfg(test)]
mod bad_input {
    #[test]
    fn a_path_with_a_nul_byte_is_one_clear_error() {
        // A command line cannot hold one; this is what any other caller gets.
        tests::sysv::assert_nul_in_path_is_one_error(super::run, 'a');
    }
}
