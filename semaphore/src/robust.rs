//! What `semaphore` adds to its listing, beside it: what the C leaves to luck,
//! and the safe wrappers of the listing's calls.
//!
//! - One run per key, and a crashed run's set reclaimed instead of shared:
//!   [`common::sysv`] (the same for the three System V examples).
//! - `semop` again when a signal interrupts it: it fails with `EINTR` after
//!   any handler, whatever `SA_RESTART` says, and after Ctrl-Z then `fg`.
//! - The held semaphore as a guard, given back if a section ends early.
//! - Another program at the set noticed, not suffered (the C listing, run at
//!   the same key, gets this set and does `SETVAL 1`): a value that says two
//!   processes are inside, a wait that no process of the run can end, a
//!   value other than 1 at the end. One line says so, exit 1.

use std::mem::ManuallyDrop;
use std::time::Duration;

use common::blocking;
use common::sysv::{self, Kind, semctl};
use libc::{GETNCNT, GETVAL, SETVAL, c_int, c_short, key_t};
use nix::errno::Errno;
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};

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
/// (but not after Ctrl-C or SIGTERM: see [`common::blocking`]). A wait is
/// looked at every [`PATIENCE`]: if no process of the run can ever end it
/// (see [`stuck`]), it ends with `EDEADLK` and the one line of
/// [`sysv::interfered`].
pub fn semop(semid: c_int, op: c_short, flags: c_int) -> Result<(), Errno> {
    let mut sop = libc::sembuf {
        sem_num: 0,
        sem_op: op,
        sem_flg: flags as c_short,
    };
    let patience = libc::timespec {
        tv_sec: PATIENCE.as_secs() as libc::time_t,
        tv_nsec: 0,
    };
    // Only taking it (-1) can wait; giving it back runs as glibc's semop.
    let timeout = if op < 0 {
        &raw const patience
    } else {
        std::ptr::null()
    };
    blocking(|| {
        loop {
            // SAFETY: semtimedop(2) (glibc's semop is this system call
            // without a timeout): `sop` is one valid sembuf, and the count
            // says one; `timeout` is null or points to `patience`, which
            // outlives the call.
            let done =
                unsafe { libc::syscall(libc::SYS_semtimedop, semid, &raw mut sop, 1, timeout) };
            match Errno::result(done) {
                // The time is up, and the semaphore still not ours.
                Err(Errno::EAGAIN) => {
                    if let Some(what) = stuck(semid) {
                        let _ = sysv::interfered(what);
                        return Err(Errno::EDEADLK);
                    }
                }
                result => return result.map(drop),
            }
        }
    })
}

/// How long a wait in `semop` goes before it looks at the semaphore. The
/// other process holds it for 300 ms at a time, or longer if it is slow or
/// stopped (Ctrl-Z), which is no reason to stop waiting.
const PATIENCE: Duration = Duration::from_secs(1);

/// What a wait that timed out shows of another program, if anything: the
/// value is 0 while another process waits as well (so neither process of
/// the run is inside, and nobody of the run can give it back: someone
/// else set it to 0 or holds it), or while the child has ended (it gave
/// back what it held, `SEM_UNDO` included), or another process changed it
/// last.
fn stuck(semid: c_int) -> Option<String> {
    let value = semctl(semid, 0, GETVAL).ok()?;
    let waiting = semctl(semid, 0, GETNCNT).ok()?;
    if value == 0 && waiting > 0 {
        return Some(format!(
            "it stays at 0 while {waiting} other process(es) wait for it as well: \
             another program set it to 0 or holds it"
        ));
    }
    if value == 0 && child_ended() {
        return Some(
            "it stays at 0 though the child has ended: another program set it to 0".to_owned(),
        );
    }
    sysv::others_using()
}

/// Whether this process has a child that has ended, not yet reaped
/// (`waitid` with `WNOWAIT` leaves it for `wait`). In the child: false.
fn child_ended() -> bool {
    let ended = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
    matches!(
        waitid(Id::All, ended),
        Ok(WaitStatus::Exited(..) | WaitStatus::Signaled(..))
    )
}

/// Before `sem_unlock`: the value is still 0, as it must be while this
/// process holds the semaphore. Anything else means another program raised
/// it (`SETVAL 1`), and two processes may have been inside at once.
pub fn still_held(semid: c_int) -> anyhow::Result<()> {
    match semctl(semid, 0, GETVAL) {
        Ok(0) | Err(_) => Ok(()),
        Ok(value) => Err(sysv::interfered(format!(
            "its value is {value} while this process holds it: another program \
             set it, and two processes may have been inside at once"
        ))),
    }
}

/// At the end, both processes done: the value is 1 again (free), as the
/// run set it. Anything else means another program changed it meanwhile.
pub fn free_at_the_end(semid: c_int) -> anyhow::Result<()> {
    match semctl(semid, 0, GETVAL) {
        Ok(1) | Err(_) => Ok(()),
        Ok(value) => Err(sysv::interfered(format!(
            "its value is {value} at the end, not 1: another program changed it"
        ))),
    }
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
