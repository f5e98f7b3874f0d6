//! # semaphore: a System V semaphore as a lock
//!
//! The tutorial describes semaphores ("Common IPC Mechanisms: Semaphores")
//! without a listing; this is a port of `shared/reference/c/semaphore.c`,
//! written in the tutorial's style. The parent creates a set of one
//! semaphore, initialised to 1 (the resource is free), and forks. Each
//! process then enters a critical section three times: `semop` with -1 waits
//! until the value is positive and takes it (P, lock), `semop` with +1 gives
//! it back (V, unlock). With `SEM_UNDO`, the kernel gives it back if a
//! process dies while holding it. While one process is inside, the other
//! waits: an "entered" line is always followed by the same process's
//! "leaving" line.
//!
//! ```text
//! cargo run -p semaphore [FTOK_PATH]     # the key is ftok(FTOK_PATH, 'c'); default .
//! ```
//!
//! prints (the id varies, and which process enters first each time is up to
//! the scheduler):
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
//! | C | Rust | what changes |
//! |---|---|---|
//! | `ftok(".", 'c')` | [`common::ftok`] | the path is the optional argument |
//! | `semget(key, 1, IPC_CREAT \| 0666)` | `libc::semget(key, 1, IPC_CREAT \| IPC_EXCL \| 0o600)` in `SemaphoreSet::create` | owner-only; a set already at the key is never silently shared |
//! | `wait(NULL)` after the loop | the parent does not watch the child | `SEM_UNDO` frees the semaphore of a child that dies holding it, so the parent goes on and learns how the child ended from `wait` |
//! | `union semun`, `semctl(semid, 0, SETVAL, arg)` | the same `#[repr(C)] union Semun`, `libc::semctl` | |
//! | `sem_lock`, `sem_unlock`: `semop` with `SEM_UNDO` | `sem_lock` returns a `Held` guard, `Held::unlock`; `semop` inside [`common::blocking`] | retried when a signal interrupts it (`semop` fails with `EINTR` after any handler, whatever `SA_RESTART` says) |
//! | `usleep(300000)`, `usleep(100000)` | [`common::sleep`] | Ctrl-C ends it at once, and the set is removed |
//! | (none) | `leftover::claim`, then `reclaim_leftover` on `EEXIST` | one run per key; a set that a crashed run left is removed, with a notice; anything else is left alone |
//! | `fork()` | `nix::unistd::fork`; the child's part is `child`, ended by [`common::run_child`] | the child never returns into `main` |
//! | `wait(NULL)` | [`common::Child::wait`] | a child that failed makes the parent fail |
//! | `semctl(semid, 0, IPC_RMID)` | `SemaphoreSet::remove`; `Drop` on every other path | the set is removed even after an error, a panic, Ctrl-C or SIGTERM (exit 130 or 143, with a one-line notice) |

use std::ffi::OsString;
use std::mem::{ManuallyDrop, MaybeUninit};
use std::process::ExitCode;
use std::ptr;
use std::time::Duration;

use common::leftover::{self, Found};
use common::{
    Child, Perror, SysError, blocking, ftok, key_taken_hint, note, run_child, say, sleep,
};
use libc::{IPC_CREAT, IPC_EXCL, IPC_RMID, SEM_UNDO, SETVAL, c_int, c_short, c_ushort, key_t};
use nix::errno::Errno;
use nix::unistd::{ForkResult, fork};

/// What to do about a set at our key that is not ours to remove.
const ADVICE: &str = "choose another FTOK_PATH";

const HELP: &str = "\
Usage: semaphore [FTOK_PATH]
A parent and its forked child take turns in a critical section, guarded by a System V semaphore.
The semaphore set's key is ftok(FTOK_PATH, 'c'); FTOK_PATH must exist (default: .).
";

const ITERATIONS: usize = 3;

// Callers must define union semun for semctl (see semctl(2))
#[repr(C)]
#[allow(dead_code)] // The kernel reads the other fields for other commands.
union Semun {
    val: c_int,
    buf: *mut libc::semid_ds,
    array: *mut c_ushort,
}

fn main() -> ExitCode {
    common::main(HELP, ".", run)
}

fn run(ftok_path: OsString) -> anyhow::Result<()> {
    // Generate a unique key for the semaphore set
    let key = ftok(&ftok_path, b'c')?;

    // Create a set holding one semaphore
    // (One run at a time per key: a second run stops here, and an old set
    // at the key can only be a crashed run's; see common::leftover.)
    let _claim = leftover::claim(
        &format!("semaphore {key:#010x}"),
        &format_args!("semaphore key {key:#010x}"),
        ADVICE,
    )?;

    let set = SemaphoreSet::create(key)?;

    // Initialize it to 1: the resource is free (a binary semaphore)
    set.set_value(1).perror("semctl SETVAL")?;

    say!("Semaphore set created: {}", set.id)?;

    // SAFETY: the process is single-threaded, so the child's copy of it holds
    // no lock that another thread was holding. Each line printed so far is
    // already written out (see `say!`), so the child cannot print it again.
    let child = match unsafe { fork() }.perror("fork")? {
        ForkResult::Child => run_child(|| critical_sections("Child", set.id)),
        // Not watched: if the child dies, even holding the semaphore,
        // SEM_UNDO gives it back, so the parent never waits for a dead child
        // in semop; it learns how the child ended from `wait`.
        ForkResult::Parent { child } => Child::new(child),
    };

    critical_sections("Parent", set.id)?;

    // Parent: wait for child, then remove the semaphore set
    child.wait()?;

    set.remove().perror("semctl IPC_RMID")?;

    say!("Semaphore set removed")?;
    Ok(())
}

/// The loop both processes run, as `who`.
fn critical_sections(who: &str, semid: c_int) -> anyhow::Result<()> {
    for _ in 0..ITERATIONS {
        let held = sem_lock(semid)?;

        // Critical section: only one process at a time gets here
        say!("{who}: entered critical section")?;
        sleep(Duration::from_millis(300))?; // Hold the semaphore so the other process must wait
        say!("{who}: leaving critical section")?;

        held.unlock()?;
        sleep(Duration::from_millis(100))?; // Give the other process a chance to get in
    }
    Ok(())
}

/// P operation: wait until the semaphore is positive, then decrement it.
/// SEM_UNDO makes the kernel release it if the process dies while holding it.
fn sem_lock(semid: c_int) -> Result<Held, SysError> {
    semop(semid, -1).perror("semop lock")?;
    Ok(Held { semid })
}

/// The semaphore, taken by this process. `unlock` gives it back; so does
/// dropping it, if the critical section ends early with an error.
struct Held {
    semid: c_int,
}

impl Held {
    /// V operation: increment the semaphore, waking one waiter
    fn unlock(self) -> Result<(), SysError> {
        semop(ManuallyDrop::new(self).semid, 1).perror("semop unlock")
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        // Leaving early: SEM_UNDO would give it back at exit anyway.
        let _ = semop(self.semid, 1);
    }
}

/// `semop(semid, {0, op, SEM_UNDO}, 1)`, again if a signal interrupts it.
fn semop(semid: c_int, op: c_short) -> Result<(), Errno> {
    let mut sop = libc::sembuf {
        sem_num: 0,
        sem_op: op,
        sem_flg: SEM_UNDO as c_short,
    };
    blocking(|| {
        // SAFETY: `sop` is one valid sembuf, and the count says one.
        let done = unsafe { libc::semop(semid, &mut sop, 1) };
        Errno::result(done).map(drop)
    })
}

/// The semaphore set this process created: `remove` is the listing's
/// `semctl(semid, 0, IPC_RMID)`. If the parent leaves before that (an error
/// or a panic), dropping the set removes it. Only the parent owns a
/// `SemaphoreSet`; the child gets the id alone.
struct SemaphoreSet {
    id: c_int,
    key: key_t,
}

impl SemaphoreSet {
    /// `semget(key, 1, IPC_CREAT | IPC_EXCL | 0600)`: a new set of one
    /// semaphore that only its owner can use. With `IPC_EXCL`, a set already
    /// at the key is never shared: if a crashed run left it, it is removed
    /// and the set made again; anything else is an error, and the set is
    /// left alone.
    fn create(key: key_t) -> anyhow::Result<Self> {
        let mut created = semget_new(key);
        if created == Err(Errno::EEXIST) {
            reclaim_leftover(key)?;
            created = semget_new(key);
        }
        let id = created.perror("semget").map_err(|e| {
            e.hint_for(Errno::EEXIST, || key_taken_hint("semaphore set", 's', key))
                .hint_for(Errno::ENOSPC, || {
                    "the system's limit on semaphore sets (kernel.sem, its fourth field) \
                     is reached; `ipcs -s` lists them"
                        .to_owned()
                })
        })?;
        Ok(Self { id, key })
    }

    /// `semctl(semid, 0, SETVAL, arg)` with `arg.val = value`.
    fn set_value(&self, value: c_int) -> Result<(), Errno> {
        // All eight bytes zero first (strace shows them), then the value.
        let mut arg = Semun {
            array: ptr::null_mut(),
        };
        arg.val = value;
        // SAFETY: SETVAL reads the `val` field of the union passed by value,
        // which is the one initialized.
        let set = unsafe { libc::semctl(self.id, 0, SETVAL, arg) };
        Errno::result(set).map(drop)
    }

    /// Removes the set, once: the guard is not dropped afterwards.
    fn remove(self) -> Result<(), Errno> {
        let this = ManuallyDrop::new(self);
        semctl_rmid(this.id, this.key)
    }
}

impl Drop for SemaphoreSet {
    fn drop(&mut self) {
        if let Err(errno) = semctl_rmid(self.id, self.key) {
            let id = self.id;
            note!(
                "semctl IPC_RMID: {}; remove set {id} with `ipcrm -s {id}`",
                errno.desc()
            );
        }
    }
}

fn semget_new(key: key_t) -> Result<c_int, Errno> {
    // SAFETY: semget takes no pointers.
    Errno::result(unsafe { libc::semget(key, 1, IPC_CREAT | IPC_EXCL | 0o600) })
}

/// The set at `key` when this run holds the key's claim: `semctl IPC_STAT`
/// says whose it is and how many semaphores it has, `GETNCNT` and
/// `GETZCNT` who waits on it, `GETPID` who used it last; a crashed run's
/// is removed, with a notice.
fn reclaim_leftover(key: key_t) -> anyhow::Result<()> {
    // SAFETY: semget takes no pointers; 0 semaphores and flags 0 look it up.
    let id = Errno::result(unsafe { libc::semget(key, 0, 0) }).perror("semget")?;
    let object = format!("semaphore set {key:#010x} (id {id})");
    let mut stat = MaybeUninit::<libc::semid_ds>::zeroed();
    let arg = Semun {
        buf: stat.as_mut_ptr(),
    };
    // SAFETY: IPC_STAT writes one semid_ds where the union's `buf` points,
    // which has room for it.
    let done = unsafe { libc::semctl(id, 0, libc::IPC_STAT, arg) };
    match Errno::result(done) {
        Err(Errno::EACCES) => return Err(leftover::unreadable(&object, ADVICE)),
        result => result.perror("semctl IPC_STAT")?,
    };
    // SAFETY: semctl succeeded, so it filled the struct (and it was zeroed).
    let stat = unsafe { stat.assume_init() };
    let semctl_get = |command| {
        // SAFETY: GETNCNT, GETZCNT and GETPID take no fourth argument.
        Errno::result(unsafe { libc::semctl(id, 0, command) }).perror("semctl")
    };
    let waiting = semctl_get(libc::GETNCNT)? + semctl_get(libc::GETZCNT)?;
    leftover::judge(&Found {
        object: object.clone(),
        owner: stat.sem_perm.uid,
        mode: stat.sem_perm.mode.into(),
        size: Some((stat.sem_nsems, 1, "semaphores")),
        users: waiting.try_into().unwrap_or(0),
        pids: vec![semctl_get(libc::GETPID)?],
        advice: ADVICE,
    })?;
    semctl_rmid(id, key).perror("semctl IPC_RMID")?;
    leftover::reclaimed(&object);
    Ok(())
}

fn semctl_rmid(semid: c_int, key: key_t) -> Result<(), Errno> {
    // SAFETY: IPC_RMID takes no fourth argument.
    let removed = unsafe { libc::semctl(semid, 0, IPC_RMID) };
    Errno::result(removed)?;
    common::removed(format!("semaphore set {key:#010x} (id {semid})"));
    Ok(())
}

#[cfg(test)]
mod bad_input {
    use std::os::unix::ffi::OsStringExt;

    use super::*;

    #[test]
    fn a_path_with_a_nul_byte_is_one_clear_error() {
        // A command line cannot hold one; this is what any other caller gets.
        let error = run(OsString::from_vec(b"a\0b".to_vec())).unwrap_err();
        assert_eq!(
            format!("{error:#}"),
            "ftok(\"a\\0b\", 'c'): Invalid argument"
        );
    }
}
