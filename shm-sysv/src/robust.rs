//! What `shm-sysv` adds to its listing, beside it: what the C leaves to luck.
//!
//! - One run per key, and a crashed run's segment reclaimed instead of
//!   shared: [`common::sysv`] (the same for the three System V examples).
//! - The flag that orders the parent's write before the child's read: the C
//!   child sleeps two seconds and hopes the string is there by then.
//! - The attachment as a guard, detached on every path.
//! - Another program at the segment noticed, not suffered (the C listing,
//!   run at the same key, gets this segment and writes its string into it):
//!   a string or flag changed under the run, or a child whose wait for the
//!   flag only another program can have made endless. One line says so,
//!   exit 1.

use std::ptr::{self, NonNull};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use common::sysv::{self, Kind};
use common::{Perror, SysError, blocking, futex};
use libc::{c_int, key_t};
use nix::errno::Errno;

use crate::{SHM_SIZE, Shared};

// The struct covers the segment exactly.
const _: () = assert!(size_of::<Shared>() == SHM_SIZE);

/// Runs `shmget`, the listing's call with `IPC_CREAT | IPC_EXCL`: a segment
/// already at the key is never shared. A crashed run's is removed (with a
/// notice) and `shmget` runs again; anything else is left alone (exit 1).
pub fn create(key: key_t, shmget: impl FnMut() -> Result<c_int, Errno>) -> anyhow::Result<c_int> {
    sysv::create_reclaiming(Kind::Shm, key, Some(SHM_SIZE as u64), shmget)
}

/// `shmat(shmid, NULL, 0)`: maps the segment where the kernel chooses.
pub fn shmat(shmid: c_int) -> Result<NonNull<Shared>, Errno> {
    // SAFETY: with a null address the kernel picks a free range for the
    // mapping, so nothing this process uses is mapped over.
    let address = unsafe { libc::shmat(shmid, ptr::null(), 0) };
    let address = Errno::result(address)?;
    NonNull::new(address.cast()).ok_or(Errno::EFAULT)
}

/// `shmdt(shm_ptr)`.
///
/// # Safety
///
/// `shm_ptr` came from [`shmat`], and no reference into the segment is left.
pub unsafe fn shmdt(shm_ptr: NonNull<Shared>) -> Result<(), Errno> {
    // SAFETY: the caller guarantees the address is an attachment with no
    // reference into it left.
    let detached = unsafe { libc::shmdt(shm_ptr.as_ptr().cast()) };
    Errno::result(detached).map(drop)
}

/// The segment, attached to this process: dropping it detaches on every
/// path that does not reach the listing's `shmdt`. The child inherits it
/// across `fork`, as in C.
#[derive(Debug)]
pub struct Attachment {
    shm_ptr: NonNull<Shared>,
}

impl Attachment {
    /// Takes charge of the address that [`shmat`] returned.
    pub fn adopt(shm_ptr: NonNull<Shared>) -> Self {
        Self { shm_ptr }
    }

    /// The segment's contents.
    pub fn shared(&self) -> &Shared {
        // SAFETY: the mapping is SHM_SIZE bytes, page-aligned, and stays
        // attached while `self` lives; the kernel zero-fills a new segment,
        // which is a valid `Shared` (an empty string, the flag 0). Its text is
        // only accessed through `Shared`'s methods, which follow the flag.
        unsafe { self.shm_ptr.as_ref() }
    }

    /// The address, for the listing's `shmdt`: the guard no longer detaches.
    pub fn into_raw(self) -> NonNull<Shared> {
        std::mem::ManuallyDrop::new(self).shm_ptr
    }
}

impl Drop for Attachment {
    fn drop(&mut self) {
        // Leaving early: the mapping goes away with the process anyway.
        // SAFETY: the address came from shmat, and no reference into the
        // segment outlives the attachment that lent it.
        let _ = unsafe { shmdt(self.shm_ptr) };
    }
}

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
    pub unsafe fn strcpy(&self, text: &str) {
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
        let _ = WRITTEN.set(text.to_owned());
    }

    /// Sets the flag and wakes the child if it is already waiting. The
    /// `Release` store makes the string visible to whoever sees the flag.
    pub fn publish(&self) -> Result<(), SysError> {
        self.written.store(1, Ordering::Release);
        futex::wake_all(&self.written).perror("futex")
    }

    /// Waits until the flag is set, then returns the string as
    /// `printf("%s", shm_ptr)` prints it. A wait is looked at every
    /// [`PATIENCE`]: if another program has the segment attached, or was
    /// the last to attach or detach it, it may have cleared the flag, and
    /// the wait ends with the one line of [`sysv::interfered`].
    pub fn wait_for_text(&self) -> anyhow::Result<String> {
        while self.written.load(Ordering::Acquire) == 0 {
            match blocking(|| futex_wait(&self.written, 0, PATIENCE)) {
                Err(Errno::ETIMEDOUT) => {
                    if let Some(what) = sysv::others_using() {
                        return Err(sysv::interfered(what));
                    }
                }
                result => result.perror("futex")?,
            }
        }
        Ok(self.text())
    }

    /// The text as `printf("%s", shm_ptr)` prints it, once the flag is set.
    fn text(&self) -> String {
        // SAFETY: the flag is set, as seen by an `Acquire` load after the
        // parent's `Release` store, so the parent's `strcpy` happened before
        // this read, and nothing of the run writes the text any more.
        let text = unsafe { &*self.text.get() };
        let len = text.iter().position(|&b| b == 0).unwrap_or(text.len());
        String::from_utf8_lossy(&text[..len]).into_owned()
    }

    /// At the end (the child done): the flag and the string are still what
    /// the parent wrote. Anything else was written by another program, and
    /// the child may have printed that instead.
    pub fn unchanged(&self) -> anyhow::Result<()> {
        let written = WRITTEN.get().map(String::as_str);
        if self.written.load(Ordering::Acquire) == 0 {
            return Err(sysv::interfered(
                "its flag was cleared under the run: another program wrote to it",
            ));
        }
        let text = self.text();
        if written != Some(text.as_str()) {
            return Err(sysv::interfered(format!(
                "its string changed under the run, to {text:?}: another program wrote to it"
            )));
        }
        Ok(())
    }
}

/// What the parent's `strcpy` wrote, for [`Shared::unchanged`].
static WRITTEN: OnceLock<String> = OnceLock::new();

/// How long the child waits for the flag before it looks at who uses the
/// segment. The parent may be slow or stopped (Ctrl-Z) for as long as it
/// likes: that is not interference.
const PATIENCE: Duration = Duration::from_secs(1);

/// [`futex::wait`] for at most `timeout`: `ETIMEDOUT` when it is up.
fn futex_wait(word: &AtomicU32, expected: u32, timeout: Duration) -> Result<(), Errno> {
    let timeout = libc::timespec {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_nsec: timeout.subsec_nanos().into(),
    };
    // SAFETY: FUTEX_WAIT reads the aligned u32 behind `word`, which the
    // reference keeps valid for the whole call, and the timespec, which
    // lives until it returns.
    let result = unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            &raw const timeout,
        )
    };
    match Errno::result(result) {
        Ok(_) | Err(Errno::EAGAIN) => Ok(()),
        Err(errno) => Err(errno),
    }
}

#[cfg(test)]
mod shared {
    use std::cell::UnsafeCell;
    use std::sync::atomic::AtomicU32;
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
