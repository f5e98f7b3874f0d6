//! # shm-sysv: System V shared memory
//!
//! The tutorial's "Shared Memory Example", ported line for line from
//! `shared/reference/c/shm-sysv.c`. The parent creates a segment, attaches
//! it and forks; the child inherits the attachment. The parent copies a
//! string into the segment and the child prints it: no call carries the
//! data, both processes see the same memory.
//!
//! The C child sleeps two seconds and hopes the parent has written by then;
//! on a loaded machine it may print an empty string. This port keeps the
//! sleep for pacing, and adds what shared memory always needs, some
//! synchronization: a flag at the end of the segment, which the parent sets
//! once the string is complete and the child waits for (with `futex(2)`).
//!
//! ```text
//! cargo run -p shm-sysv [FTOK_PATH]     # the key is ftok(FTOK_PATH, 'a'); default .
//! ```
//!
//! prints (the id and address vary; the parent's line and the child's first
//! line may come in either order):
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
//! | C | Rust | what changes |
//! |---|---|---|
//! | `ftok(".", 'a')` | [`common::ftok`] | the path is the optional argument |
//! | (none) | `leftover::claim` | one run per key at a time: a second run exits 1 and leaves the first alone |
//! | `shmget(key, SHM_SIZE, IPC_CREAT \| 0666)` | `libc::shmget(key, SHM_SIZE, IPC_CREAT \| IPC_EXCL \| 0o600)` in `Segment::create` | owner-only; a segment already at the key is never silently shared: `reclaim_leftover` removes a crashed run's (with a notice) and leaves anything else alone (exit 1) |
//! | `char *shm_ptr` | `&Shared`, a `#[repr(C)]` struct of the string and a flag | the same string at the same place, plus the flag |
//! | `shmat(shmid, NULL, 0)` | `libc::shmat` in `Attachment::attach` | |
//! | `strcpy(shm_ptr, ...)` | `Shared::strcpy`, then `Shared::publish` | publishing the string is explicit |
//! | `sleep(2)`, then `printf("%s", shm_ptr)` | [`common::sleep`]`(2 s)`, then `Shared::wait_for_text` | the child waits for the flag, not for luck; Ctrl-C ends either wait |
//! | `shmdt(shm_ptr)` | `Attachment::detach`; `Drop` on every other path | |
//! | `wait(NULL)` | [`common::Child::wait`] | a child that failed makes the parent fail |
//! | `shmctl(shmid, IPC_RMID, NULL)` | `Segment::remove`; `Drop` on every other path | the segment is removed even after an error, a panic, Ctrl-C or SIGTERM (exit 130 or 143, with a one-line notice) |

use std::cell::UnsafeCell;
use std::ffi::OsString;
use std::mem::{ManuallyDrop, MaybeUninit};
use std::process::ExitCode;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use common::leftover::{self, Found};
use common::{
    Child, Perror, SysError, blocking, ftok, futex, key_taken_hint, note, run_child, say, sleep,
};
use libc::{IPC_CREAT, IPC_EXCL, IPC_RMID, c_int, key_t};
use nix::errno::Errno;
use nix::unistd::{ForkResult, fork};

/// What to do about a segment at our key that is not ours to remove.
const ADVICE: &str = "choose another FTOK_PATH";

const HELP: &str = "\
Usage: shm-sysv [FTOK_PATH]
A parent writes a string into a System V shared memory segment; its forked child reads it.
The segment's key is ftok(FTOK_PATH, 'a'); FTOK_PATH must exist (default: .).
";

const SHM_SIZE: usize = 1024; // Size of shared memory segment

fn main() -> ExitCode {
    common::main(HELP, ".", run)
}

fn run(ftok_path: OsString) -> anyhow::Result<()> {
    // Generate a unique key for shared memory
    let key = ftok(&ftok_path, b'a')?;

    // Create the shared memory segment
    // (One run at a time per key: a second run stops here, and an old
    // segment at the key can only be a crashed run's; see common::leftover.)
    let _claim = leftover::claim(
        &format!("shm-sysv {key:#010x}"),
        &format_args!("shared memory key {key:#010x}"),
        ADVICE,
    )?;

    let segment = Segment::create(key)?;

    say!("Shared memory segment created: {}", segment.id)?;

    // Attach the shared memory segment
    let attachment = Attachment::attach(segment.id)?;

    say!(
        "Shared memory attached at address: {:p}",
        attachment.address()
    )?;

    // Fork a child process
    // SAFETY: the process is single-threaded, so the child's copy of it holds
    // no lock that another thread was holding. Each line printed so far is
    // already written out (see `say!`), so the child cannot print it again.
    let child = match unsafe { fork() }.perror("fork")? {
        ForkResult::Child => run_child(|| child(attachment)),
        ForkResult::Parent { child } => Child::watch(child)?,
    };

    // Parent process: write to shared memory
    let shared = attachment.shared();
    // SAFETY: the child reads the text only once `publish` below says it is
    // complete, and nothing writes it after that.
    unsafe { shared.strcpy("Hello from the parent process!") };
    say!("Parent wrote to shared memory")?;

    // Tell the child the string is complete (the C listing relies on the
    // child's sleep instead)
    shared.publish().perror("futex")?;

    // Wait for child to finish
    child.wait()?;

    // Detach from shared memory
    attachment.detach().perror("shmdt")?;

    // Remove the shared memory segment
    segment.remove().perror("shmctl")?;

    say!("Shared memory removed")?;
    Ok(())
}

/// The child's part: wait for the parent's string and print it.
fn child(attachment: Attachment) -> anyhow::Result<()> {
    // Child process: read from shared memory
    say!("Child process waiting for data...")?;
    sleep(Duration::from_secs(2))?; // Wait for parent to write data

    // The sleep only paces the demo: the flag says when the string is there.
    let text = attachment.shared().wait_for_text()?;
    say!("Child process reading: {text}")?;

    // Detach from shared memory
    attachment.detach().perror("shmdt")?;

    Ok(())
}

/// The segment's contents. The C listing uses the segment as one `char`
/// array; here the string stays at its start, and the last four bytes hold
/// a flag that orders the parent's write before the child's read.
#[repr(C)]
struct Shared {
    /// The string, NUL-terminated: written once by the parent, then read.
    text: UnsafeCell<[u8; SHM_SIZE - 4]>,
    /// 0 until the string is complete, then 1.
    written: AtomicU32,
}

// The struct covers the segment exactly.
const _: () = assert!(size_of::<Shared>() == SHM_SIZE);

// SAFETY: `Shared` is made to be used by two processes (or threads) at
// once: the flag is atomic, and the text is written only by `strcpy`, whose
// caller guarantees nothing else touches it, and read only after the flag
// says the write is complete.
unsafe impl Sync for Shared {}

impl Shared {
    /// `strcpy(shm_ptr, text)`.
    ///
    /// # Safety
    ///
    /// No other process may read or write the text meanwhile: the parent
    /// calls it once, before [`Shared::publish`].
    unsafe fn strcpy(&self, text: &str) {
        // SAFETY: the caller guarantees that nothing else accesses the text
        // while this unique reference to it lives.
        let buffer = unsafe { &mut *self.text.get() };
        let len = text.len();
        assert!(
            len < buffer.len(),
            "the string and its NUL fit in the segment"
        );
        buffer[..len].copy_from_slice(text.as_bytes());
        buffer[len] = 0;
    }

    /// Sets the flag and wakes the child if it is already waiting. The
    /// `Release` store makes the string visible to whoever sees the flag.
    fn publish(&self) -> Result<(), Errno> {
        self.written.store(1, Ordering::Release);
        futex::wake_all(&self.written)
    }

    /// Waits until the flag is set, then returns the string as
    /// `printf("%s", shm_ptr)` prints it.
    fn wait_for_text(&self) -> Result<String, SysError> {
        while self.written.load(Ordering::Acquire) == 0 {
            blocking(|| futex::wait(&self.written, 0)).perror("futex")?;
        }
        // SAFETY: the flag is set, as seen by the `Acquire` load above after
        // the parent's `Release` store, so the parent's `strcpy` happened
        // before this read, and nothing writes the text any more.
        let text = unsafe { &*self.text.get() };
        let len = text.iter().position(|&b| b == 0).unwrap_or(text.len());
        Ok(String::from_utf8_lossy(&text[..len]).into_owned())
    }
}

/// The segment this process created: `remove` is the listing's
/// `shmctl(shmid, IPC_RMID, NULL)`. If the parent leaves before that (an
/// error or a panic), dropping the segment removes it. Only the parent owns
/// a `Segment`; the child gets the attachment alone.
struct Segment {
    id: c_int,
    key: key_t,
}

impl Segment {
    /// `shmget(key, SHM_SIZE, IPC_CREAT | IPC_EXCL | 0600)`: a new,
    /// zero-filled segment that only its owner can use. With `IPC_EXCL`, a
    /// segment already at the key is never shared: if a crashed run left it,
    /// it is removed and the segment made again; anything else is an error,
    /// and the segment is left alone.
    fn create(key: key_t) -> anyhow::Result<Self> {
        let mut created = shmget_new(key);
        if created == Err(Errno::EEXIST) {
            reclaim_leftover(key)?;
            created = shmget_new(key);
        }
        let id = created.perror("shmget").map_err(|e| {
            e.hint_for(Errno::EEXIST, || {
                key_taken_hint("shared memory segment", 'm', key)
            })
            .hint_for(Errno::ENOSPC, || {
                "the system's limit on shared memory segments (kernel.shmmni) is reached; \
                 `ipcs -m` lists them"
                    .to_owned()
            })
        })?;
        Ok(Self { id, key })
    }

    /// Marks the segment for removal, once: the guard is not dropped
    /// afterwards. The kernel frees it when the last process detaches.
    fn remove(self) -> Result<(), Errno> {
        let this = ManuallyDrop::new(self);
        shmctl_rmid(this.id, this.key)
    }
}

impl Drop for Segment {
    fn drop(&mut self) {
        if let Err(errno) = shmctl_rmid(self.id, self.key) {
            let id = self.id;
            note!(
                "shmctl: {}; remove segment {id} with `ipcrm -m {id}`",
                errno.desc()
            );
        }
    }
}

fn shmget_new(key: key_t) -> Result<c_int, Errno> {
    // SAFETY: shmget takes no pointers.
    Errno::result(unsafe { libc::shmget(key, SHM_SIZE, IPC_CREAT | IPC_EXCL | 0o600) })
}

/// The segment at `key` when this run holds the key's claim: `shmctl
/// IPC_STAT` says whose it is, how big, and who is attached; a crashed
/// run's is removed, with a notice.
fn reclaim_leftover(key: key_t) -> anyhow::Result<()> {
    // SAFETY: shmget takes no pointers; size 0 and flags 0 look it up.
    let id = Errno::result(unsafe { libc::shmget(key, 0, 0) }).perror("shmget")?;
    let object = format!("shared memory segment {key:#010x} (id {id})");
    let mut stat = MaybeUninit::<libc::shmid_ds>::zeroed();
    // SAFETY: IPC_STAT writes one shmid_ds into `stat`, which has room for it.
    let done = unsafe { libc::shmctl(id, libc::IPC_STAT, stat.as_mut_ptr()) };
    match Errno::result(done) {
        Err(Errno::EACCES) => return Err(leftover::unreadable(&object, ADVICE)),
        result => result.perror("shmctl IPC_STAT")?,
    };
    // SAFETY: shmctl succeeded, so it filled the struct (and it was zeroed).
    let stat = unsafe { stat.assume_init() };
    leftover::judge(&Found {
        object: object.clone(),
        owner: stat.shm_perm.uid,
        mode: stat.shm_perm.mode.into(),
        size: Some((stat.shm_segsz as u64, SHM_SIZE as u64, "bytes")),
        users: stat.shm_nattch,
        pids: vec![stat.shm_cpid, stat.shm_lpid],
        advice: ADVICE,
    })?;
    shmctl_rmid(id, key).perror("shmctl IPC_RMID")?;
    leftover::reclaimed(&object);
    Ok(())
}

fn shmctl_rmid(shmid: c_int, key: key_t) -> Result<(), Errno> {
    // SAFETY: IPC_RMID ignores the buffer argument, so null is allowed.
    let removed = unsafe { libc::shmctl(shmid, IPC_RMID, ptr::null_mut()) };
    Errno::result(removed)?;
    common::removed(format!("shared memory segment {key:#010x} (id {shmid})"));
    Ok(())
}

/// The segment, attached to this process: `detach` is the listing's
/// `shmdt(shm_ptr)`, and dropping it detaches on every other path. The
/// child inherits the attachment across `fork`, as in C.
struct Attachment {
    shared: NonNull<Shared>,
}

impl Attachment {
    /// `shmat(shmid, NULL, 0)`: maps the segment where the kernel chooses.
    fn attach(shmid: c_int) -> Result<Self, SysError> {
        // SAFETY: with a null address the kernel picks a free range for the
        // mapping, so nothing this process uses is mapped over.
        let address = unsafe { libc::shmat(shmid, ptr::null(), 0) };
        let address = Errno::result(address).perror("shmat")?;
        let shared = NonNull::new(address.cast()).ok_or(SysError::new("shmat", Errno::EFAULT))?;
        Ok(Self { shared })
    }

    /// Where the segment is mapped, as `printf("%p", shm_ptr)` prints it.
    fn address(&self) -> *const Shared {
        self.shared.as_ptr()
    }

    fn shared(&self) -> &Shared {
        // SAFETY: the mapping is SHM_SIZE bytes, page-aligned, and stays
        // attached while `self` lives; the kernel zero-fills a new segment,
        // which is a valid `Shared` (an empty string, the flag 0). Its text is
        // only accessed through `Shared`'s methods, which follow the flag.
        unsafe { self.shared.as_ref() }
    }

    /// Detaches, once: the guard is not dropped afterwards.
    fn detach(self) -> Result<(), Errno> {
        shmdt(ManuallyDrop::new(self).shared)
    }
}

impl Drop for Attachment {
    fn drop(&mut self) {
        // Leaving early: the mapping goes away with the process anyway.
        let _ = shmdt(self.shared);
    }
}

fn shmdt(shared: NonNull<Shared>) -> Result<(), Errno> {
    // SAFETY: the address came from shmat, and no reference into the segment
    // outlives the `Attachment` that is consumed or dropped with this call.
    let detached = unsafe { libc::shmdt(shared.as_ptr().cast()) };
    Errno::result(detached).map(drop)
}

#[cfg(test)]
mod shared {
    use std::sync::mpsc;
    use std::thread;

    use super::*;

    #[test]
    fn the_child_waits_for_a_parent_that_writes_late() {
        let shared: &'static Shared = Box::leak(Box::new(Shared {
            text: UnsafeCell::new([0; SHM_SIZE - 4]),
            written: AtomicU32::new(0),
        }));
        let (tid_sender, tid) = mpsc::channel();
        let reader = thread::spawn(move || {
            tid_sender.send(nix::unistd::gettid()).unwrap();
            shared.wait_for_text()
        });

        // The reader is asleep in futex before anything is written.
        let syscall = format!("/proc/self/task/{}/syscall", tid.recv().unwrap());
        let futex = format!("{} ", libc::SYS_futex);
        tests::wait_until("the reader sleeps in futex", || {
            std::fs::read_to_string(&syscall).is_ok_and(|s| s.starts_with(&futex))
        });
        // SAFETY: the reader reads the text only after `publish`.
        unsafe { shared.strcpy("written late") };
        shared.publish().unwrap();

        assert_eq!(reader.join().unwrap().unwrap(), "written late");
    }
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
            "ftok(\"a\\0b\", 'a'): Invalid argument"
        );
    }
}
