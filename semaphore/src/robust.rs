//! What `semaphore` adds to its listing, beside it: what the C leaves to luck,
//! and the safe wrappers of the listing's calls.
//!
//! - One run per key, and a crashed run's set reclaimed instead of shared:
//!   [`common::sysv`] (the same for the three System V examples).
//! - `semop` again when a signal interrupts it: it fails with `EINTR` after
//!   any handler, whatever `SA_RESTART` says, and after Ctrl-Z then `fg`.
//! - The held semaphore as a guard, given back if a section ends early.

use std::mem::ManuallyDrop;

use common::blocking;
use common::sysv::{self, Kind};
use libc::{SETVAL, c_int, c_short, key_t};
use nix::errno::Errno;

use crate::Semun;

/// Runs `semget`, the listing's call with `IPC_CREAT | IPC_EXCL`: a set
/// already at the key is never shared. A crashed run's is removed (with a
/// notice) and `semget` runs again; anything else is left alone (exit 1).
pub fn create(key: key_t, semget: impl FnMut() -> Result<c_int, Errno>) -> anyhow::Result<c_int> {
    sysv::create_reclaiming(Kind::Sem, key, Some(1), semget)
}

/// `semctl(semid, semnum, SETVAL, arg)`.
pub fn semctl_setval(semid: c_int, semnum: c_int, arg: Semun) -> Result<(), Errno> {
    // SAFETY: SETVAL reads the `val` field of the union passed by value,
    // which the caller set.
    let set = unsafe { libc::semctl(semid, semnum, SETVAL, arg) };
    Errno::result(set).map(drop)
}

/// `semop(semid, {0, op, flags}, 1)`, again if a signal interrupts it
/// (but not after Ctrl-C or SIGTERM: see [`common::blocking`]).
pub fn semop(semid: c_int, op: c_short, flags: c_int) -> Result<(), Errno> {
    let mut sop = libc::sembuf {
        sem_num: 0,
        sem_op: op,
        sem_flg: flags as c_short,
    };
    blocking(|| {
        // SAFETY: `sop` is one valid sembuf, and the count says one.
        let done = unsafe { libc::semop(semid, &mut sop, 1) };
        Errno::result(done).map(drop)
    })
}

/// The semaphore, taken by this process. The listing's `sem_unlock` gives
/// it back; so does dropping it, if the critical section ends early with an
/// error.
#[derive(Debug)]
pub struct Held {
    semid: c_int,
}

impl Held {
    /// Takes charge of the semaphore that `sem_lock` just took.
    pub fn adopt(semid: c_int) -> Self {
        Self { semid }
    }

    /// The set's id, for `sem_unlock`: the guard no longer gives it back.
    pub fn into_raw(self) -> c_int {
        ManuallyDrop::new(self).semid
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        // Leaving early: SEM_UNDO would give it back at exit anyway.
        let _ = semop(self.semid, 1, libc::SEM_UNDO);
    }
}
