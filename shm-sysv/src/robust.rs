//! What `shm-sysv` adds to its listing, beside it: what the C leaves to luck.
//!
//! - One run per key, and a crashed run's segment reclaimed instead of
//!   shared: [`common::sysv`] (the same for the three System V examples).
//! - The flag that orders the parent's write before the child's read: the C
//!   child sleeps two seconds and hopes the string is there by then.
//! - The attachment as a guard, detached on every path.

use std::ptr::{self, NonNull};
use std::sync::atomic::Ordering;

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
    }

    /// Sets the flag and wakes the child if it is already waiting. The
    /// `Release` store makes the string visible to whoever sees the flag.
    pub fn publish(&self) -> Result<(), SysError> {
        self.written.store(1, Ordering::Release);
        futex::wake_all(&self.written).perror("futex")
    }

    /// Waits until the flag is set, then returns the string as
    /// `printf("%s", shm_ptr)` prints it.
    pub fn wait_for_text(&self) -> Result<String, SysError> {
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
