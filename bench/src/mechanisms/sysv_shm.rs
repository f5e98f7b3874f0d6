//! System V shared memory: `shmget(IPC_PRIVATE, ...)` makes a new segment
//! that no key can reach (so no other run can collide with it), mode 0600;
//! `shmat` attaches it, and the child inherits the attachment across
//! `fork`. Dropping the channel detaches it and removes it (`IPC_RMID`).

use std::io::{self, Write};
use std::ptr::{self, NonNull};

use anyhow::anyhow;
use common::{Perror, SysError};
use libc::{IPC_CREAT, IPC_EXCL, IPC_PRIVATE, IPC_RMID, c_int};
use nix::errno::Errno;

use super::ring::{RingEnd, Wake, region_bytes};
use super::{Channel, Ctx, Endpoint, Shape, Side};

#[derive(Debug)]
struct Segment {
    id: c_int,
    /// Where it is attached, once it is.
    base: Option<NonNull<u8>>,
    shape: Shape,
    wake: Wake,
}

pub fn open(_: &Ctx<'_>, shape: Shape, wake: Wake) -> anyhow::Result<Box<dyn Channel>> {
    let len = region_bytes(shape);
    // SAFETY: shmget takes no pointers.
    let id = unsafe { libc::shmget(IPC_PRIVATE, len, IPC_CREAT | IPC_EXCL | 0o600) };
    let id = Errno::result(id).perror("shmget")?;
    // From here on, dropping the guard removes the segment.
    let mut segment = Segment {
        id,
        base: None,
        shape,
        wake,
    };
    // SAFETY: a null address lets the kernel choose where to attach; the
    // segment is only ever accessed through raw pointers and atomics.
    let base = unsafe { libc::shmat(id, ptr::null(), 0) };
    if base as isize == -1 {
        return Err(SysError::new("shmat", Errno::last()).into());
    }
    segment.base = Some(NonNull::new(base.cast()).ok_or_else(|| anyhow!("shmat returned null"))?);
    Ok(Box::new(segment))
}

impl Channel for Segment {
    fn end(&mut self, side: Side) -> anyhow::Result<Box<dyn Endpoint + '_>> {
        let base = self
            .base
            .ok_or_else(|| anyhow!("the segment is not attached"))?;
        // SAFETY: the segment is attached (shared, page-aligned), zeroed by
        // shmget, `region_bytes` long, and stays attached while the endpoint,
        // which borrows `self`, exists.
        let end = unsafe { RingEnd::new(base, self.shape, side, self.wake) };
        Ok(Box::new(end))
    }
}

impl Drop for Segment {
    fn drop(&mut self) {
        if let Some(base) = self.base {
            // SAFETY: `base` is where shmat attached the segment, and no
            // endpoint borrowing it is left.
            let _ = unsafe { libc::shmdt(base.as_ptr().cast()) };
        }
        // SAFETY: IPC_RMID ignores the buffer argument, so null is allowed.
        let removed = unsafe { libc::shmctl(self.id, IPC_RMID, ptr::null_mut()) };
        if removed == -1 {
            let _ = writeln!(
                io::stderr(),
                "shmctl: {}; remove segment {} with `ipcrm -m {}`",
                Errno::last().desc(),
                self.id,
                self.id
            );
        }
    }
}
