//! # semaphore: a System V semaphore as a lock
//!
//! The tutorial's "Semaphores" (no listing; `c/semaphore.c` is in its style).
//! The parent creates a set of one semaphore, set to 1 (free), and forks. Each
//! process enters a critical section three times: `semop` -1 waits until the
//! value is positive and takes it (P, lock), +1 gives it back (V, unlock). An
//! "entered" line is always followed by the same process's "leaving" line.
//!
//! ```text
//! cargo run -p semaphore [FTOK_PATH]     # the key is ftok(FTOK_PATH, 'c'); default .
//! ```
//!
//! prints (the id varies; which process enters first is up to the scheduler):
//!
//! ```text
//! Semaphore set created: 2
//! Parent: entered critical section
//! Parent: leaving critical section
//! Child: entered critical section
//! Child: leaving critical section
//! ... (three times each)
//! Semaphore set removed
//! ```
//!
//! | C | Rust |
//! |---|---|
//! | `ftok(".", 'c')` | [`common::ftok`]; the path is the optional argument |
//! | `semget(key, 1, IPC_CREAT \| 0666)` | `semget(key, 1, IPC_CREAT \| IPC_EXCL \| 0o600)` |
//! | `union semun`, `semctl(semid, 0, SETVAL, arg)` | `union Semun`, `semctl_setval` |
//! | `sem_lock`, `sem_unlock` (`semop`, `SEM_UNDO`) | the same; `sem_lock` returns a `Held` guard |
//! | `usleep(300000)`, `usleep(100000)` | [`common::sleep`]: Ctrl-C ends it at once |
//! | `wait(NULL)` | [`common::Child::wait`]: a child that failed fails the parent |
//! | `semctl(semid, 0, IPC_RMID)` | `set.remove(\|semid\| semctl(semid, 0, IPC_RMID))` |
//!
//! **Beyond the listing** (`robust.rs`; [`common::sysv`] for all System V
//! examples): one run per key; a set at the key is reclaimed only if a crashed
//! run provably left it; `semop` is retried when a signal interrupts it; a guard
//! removes the set on every path (error, panic, Ctrl-C, SIGTERM: exit 130/143).
//! `ipcrm`, or another program setting it (the C listing at the same key gets
//! this set and does `SETVAL 1`), ends the run with one line, exit 1.

mod robust;

use std::ffi::OsString;
use std::process::ExitCode;
use std::time::Duration;

use common::sysv::{self, Kind, Owned, semctl, semget};
use common::{Child, Perror, SysError, ftok, run_child, say, sleep};
use libc::{IPC_CREAT, IPC_EXCL, IPC_RMID, SEM_UNDO, c_int, c_ushort};
use nix::unistd::{ForkResult, fork};
use robust::{Held, semctl_setval, semop};

const HELP: &str = "\
Usage: semaphore [FTOK_PATH]
A parent and its forked child take turns in a critical section, guarded by a System V semaphore.
The semaphore set's key is ftok(FTOK_PATH, 'c'); FTOK_PATH must exist (default: .).
";

// Callers must define union semun for semctl (see semctl(2))
#[repr(C)]
#[allow(dead_code)] // The kernel reads the other fields for other commands.
union Semun {
    val: c_int,
    buf: *mut libc::semid_ds,
    array: *mut c_ushort,
}

// P operation: wait until the semaphore is positive, then decrement it.
// SEM_UNDO makes the kernel release it if the process dies while holding it.
fn sem_lock(semid: c_int) -> Result<Held, SysError> {
    semop(semid, -1, SEM_UNDO).perror("semop lock")?;
    Ok(Held::adopt(semid)) // gives it back if the section ends early
}

// V operation: increment the semaphore, waking one waiter
fn sem_unlock(held: Held) -> Result<(), SysError> {
    semop(held.into_raw(), 1, SEM_UNDO).perror("semop unlock")
}

fn main() -> ExitCode {
    common::main(HELP, ".", run)
}

fn run(ftok_path: OsString) -> anyhow::Result<()> {
    // All eight bytes zero first (strace shows them), then the value.
    let mut arg = Semun {
        array: std::ptr::null_mut(),
    };

    // Generate a unique key for the semaphore set
    let key = ftok(&ftok_path, b'c')?;

    // One run per key at a time (common::sysv)
    let _claim = sysv::claim("semaphore", Kind::Sem, key)?;

    // Create a set holding one semaphore
    // (a crashed run's set at the key is reclaimed first: robust.rs)
    let semid = robust::create(key, || semget(key, 1, IPC_CREAT | IPC_EXCL | 0o600))?;
    let set = Owned::adopt(Kind::Sem, key, semid); // removes it on every path

    // Initialize it to 1: the resource is free (a binary semaphore)
    arg.val = 1;
    semctl_setval(semid, 0, arg).perror("semctl SETVAL")?;

    say!("Semaphore set created: {semid}")?;

    // SAFETY: single-threaded here, so the child inherits no held lock; every
    // line so far is written out (`say!`), so the child cannot print it again.
    let child = match unsafe { fork() }.perror("fork")? {
        ForkResult::Child => run_child(|| critical_sections("Child", semid)),
        // Not watched: SEM_UNDO gives back the semaphore of a child that dies
        // holding it, so the parent never waits for a dead child in semop.
        ForkResult::Parent { child } => Child::new(child),
    };

    critical_sections("Parent", semid)?;

    // Parent: wait for child, then remove the semaphore set
    child.wait()?;
    // Free again: nobody else changed its value (robust.rs)
    robust::free_at_the_end(semid)?;

    set.remove(|semid| semctl(semid, 0, IPC_RMID))
        .perror("semctl IPC_RMID")?;

    say!("Semaphore set removed")?;
    Ok(())
}

/// The loop both processes run, as `who` ("Parent" or "Child").
fn critical_sections(who: &str, semid: c_int) -> anyhow::Result<()> {
    let iterations = 3;
    for _ in 0..iterations {
        let held = sem_lock(semid)?;

        // Critical section: only one process at a time gets here
        say!("{who}: entered critical section")?;
        sleep(Duration::from_millis(300))?; // Hold the semaphore so the other process must wait
        say!("{who}: leaving critical section")?;

        // Still 0: nobody else raised it meanwhile (robust.rs)
        robust::still_held(semid)?;
        sem_unlock(held)?;
        sleep(Duration::from_millis(100))?; // Give the other process a chance to get in
    }
    Ok(())
}

#[cfg(test)]
mod bad_input {
    #[test]
    fn a_path_with_a_nul_byte_is_one_clear_error() {
        // A command line cannot hold one; this is what any other caller gets.
        tests::sysv::assert_nul_in_path_is_one_error(super::run, 'c');
    }
}
