//! The shared memory segment of `compare`: its layout ([`Handoff`]), the
//! controller's guard that creates and removes it ([`Segment`]), and A's
//! and B's attachment to it ([`Attached`]).

use std::mem::{ManuallyDrop, size_of};
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicU8, AtomicU32};

use common::{Perror, SysError};
use libc::{IPC_CREAT, IPC_PRIVATE, IPC_RMID, c_int};
use nix::errno::Errno;

use crate::queue::MAX_TEXT;

/// The compare segment: a ready word (0 until A has stored the text, a
/// futex word B sleeps on), the text's length, the text.
#[repr(C)]
#[derive(Debug)]
pub struct Handoff {
    pub ready: AtomicU32,
    pub len: AtomicU32,
    pub text: [AtomicU8; MAX_TEXT],
}

/// The comparison's segment, removed right after it (or on the way out).
#[derive(Debug)]
pub struct Segment {
    pub id: c_int,
}

impl Segment {
    /// `shmget(IPC_PRIVATE, size_of::<Handoff>(), IPC_CREAT | 0600)`.
    pub fn create() -> Result<Self, SysError> {
        // SAFETY: shmget takes no pointers.
        let id = unsafe { libc::shmget(IPC_PRIVATE, size_of::<Handoff>(), IPC_CREAT | 0o600) };
        let id = Errno::result(id).perror("shmget")?;
        Ok(Self { id })
    }

    pub fn remove(self) -> Result<(), SysError> {
        shmctl_rmid(ManuallyDrop::new(self).id).perror("shmctl(IPC_RMID)")
    }
}

impl Drop for Segment {
    fn drop(&mut self) {
        if let Err(errno) = shmctl_rmid(self.id) {
            let id = self.id;
            common::note!(
                "shmctl(IPC_RMID): {}; remove segment {id} with `ipcrm -m {id}`",
                errno.desc()
            );
        }
    }
}

fn shmctl_rmid(id: c_int) -> Result<(), Errno> {
    // SAFETY: IPC_RMID ignores the buffer argument, so null is allowed.
    let removed = unsafe { libc::shmctl(id, IPC_RMID, ptr::null_mut()) };
    Errno::result(removed).map(drop)
}

/// The segment attached in A or B, detached when done.
#[derive(Debug)]
pub struct Attached {
    addr: NonNull<Handoff>,
}

impl Attached {
    pub fn attach(id: c_int) -> Result<Self, SysError> {
        // SAFETY: with a null address the kernel chooses where to map the
        // segment, so no mapping of ours is replaced.
        let addr = unsafe { libc::shmat(id, ptr::null(), 0) };
        if addr == libc::MAP_FAILED {
            return Err(SysError::new("shmat", Errno::last()));
        }
        let addr =
            NonNull::new(addr.cast()).ok_or_else(|| SysError::new("shmat", Errno::EFAULT))?;
        Ok(Self { addr })
    }

    pub fn handoff(&self) -> &Handoff {
        // SAFETY: the segment is size_of::<Handoff>() bytes, page-aligned,
        // and mapped while `self` is borrowed; Handoff is all atomics, valid
        // for any bytes (shmget zero-fills) and shareable between processes.
        unsafe { self.addr.as_ref() }
    }

    pub fn detach(self) -> Result<(), SysError> {
        let addr = ManuallyDrop::new(self).addr;
        shmdt(addr).perror("shmdt")
    }
}

impl Drop for Attached {
    fn drop(&mut self) {
        // Leaving early: the kernel detaches at exit anyway.
        let _ = shmdt(self.addr);
    }
}

fn shmdt(addr: NonNull<Handoff>) -> Result<(), Errno> {
    // SAFETY: `addr` is what shmat returned, and no reference into the
    // mapping outlives the `Attached` that is being given up.
    let done = unsafe { libc::shmdt(addr.as_ptr().cast()) };
    Errno::result(done).map(drop)
}
