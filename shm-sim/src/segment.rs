//! The System V shared memory segment: the controller creates and removes
//! it (`Segment`); every process that uses it attaches it (`Mapping`).
//!
//! Layout (`SEGMENT_LEN` bytes):
//!
//! | offset | what |
//! |---|---|
//! | 0-127 | the data region that `a write`, `b read` and `show` work on |
//! | 128 | the race counter, a `u64` |
//! | 136 | the race lock, a futex word: 0 free, 1 taken, 2 taken with sleepers |
//! | 140 | the race's start line: how many of A and B are ready |
//!
//! Every access to the shared bytes goes through an atomic type: another
//! process may touch the same bytes at the same time, which Rust's memory
//! model only allows for atomics. A `Relaxed` load or store of an `AtomicU8`
//! is the same single `mov` instruction as a plain one.

use std::mem::{ManuallyDrop, size_of};
use std::ptr::{self, NonNull};
use std::slice;
use std::sync::atomic::{AtomicU8, AtomicU32, AtomicU64};

use common::{Perror, SysError};
use libc::{IPC_CREAT, IPC_PRIVATE, IPC_RMID, IPC_STAT, c_int};
use nix::errno::Errno;

/// The bytes a person reads and writes.
pub const DATA_LEN: usize = 128;

/// Where the race's shared words start.
pub const RACE_OFFSET: usize = DATA_LEN;

/// The words that `race` uses, after the data region.
#[repr(C)]
#[derive(Debug)]
pub struct RaceArea {
    pub counter: AtomicU64,
    pub lock: AtomicU32,
    pub ready: AtomicU32,
}

/// The size of the segment.
pub const SEGMENT_LEN: usize = RACE_OFFSET + size_of::<RaceArea>();

/// The segment this run created. `remove` is `shmctl(IPC_RMID)`; if the
/// controller leaves early (an error or a panic), dropping it removes it.
#[derive(Debug)]
pub struct Segment {
    id: c_int,
}

impl Segment {
    /// `shmget(IPC_PRIVATE, SEGMENT_LEN, IPC_CREAT | 0600)`: a new segment
    /// that no other program can find by key, and only its owner can attach.
    pub fn create() -> Result<Self, SysError> {
        // SAFETY: shmget takes no pointers.
        let id = unsafe { libc::shmget(IPC_PRIVATE, SEGMENT_LEN, IPC_CREAT | 0o600) };
        let id = Errno::result(id).perror("shmget")?;
        Ok(Self { id })
    }

    pub fn id(&self) -> c_int {
        self.id
    }

    /// Removes the segment, once: the guard is not dropped afterwards.
    /// `Ok(false)` if it was gone already: marked for removal from outside
    /// (`ipcrm -m`), the kernel removed it when the last process detached.
    pub fn remove(self) -> Result<bool, SysError> {
        match shmctl_rmid(ManuallyDrop::new(self).id) {
            Ok(()) => Ok(true),
            Err(Errno::EINVAL | Errno::EIDRM) => Ok(false),
            Err(errno) => Err(SysError::new("shmctl(IPC_RMID)", errno)),
        }
    }
}

impl Drop for Segment {
    fn drop(&mut self) {
        // Already gone (removed from outside): nothing is left.
        if let Err(errno) = shmctl_rmid(self.id)
            && !matches!(errno, Errno::EINVAL | Errno::EIDRM)
        {
            let id = self.id;
            common::note!(
                "shmctl(IPC_RMID): {}; remove segment {id} with `ipcrm -m {id}`",
                errno.desc()
            );
        }
    }
}

/// `shmctl(IPC_STAT)`: what the kernel knows about segment `id`.
pub fn stat(id: c_int) -> Result<libc::shmid_ds, SysError> {
    // SAFETY: shmid_ds is plain data, for which all zeroes is valid.
    let mut ds: libc::shmid_ds = unsafe { std::mem::zeroed() };
    // SAFETY: IPC_STAT writes one shmid_ds into `ds`, which is one.
    let done = unsafe { libc::shmctl(id, IPC_STAT, &raw mut ds) };
    Errno::result(done).perror("shmctl(IPC_STAT)")?;
    Ok(ds)
}

/// Linux's `SHM_DEST` in `shm_perm.mode`: someone called
/// `shmctl(IPC_RMID)`, and the kernel removes the segment once the last
/// process detaches it (`<linux/shm.h>`; the libc crate lacks it).
const SHM_DEST: u32 = 0o1000;

/// Whether the segment `stat` describes is marked for removal.
pub fn marked_for_removal(stat: &libc::shmid_ds) -> bool {
    u32::from(stat.shm_perm.mode) & SHM_DEST != 0
}

fn shmctl_rmid(id: c_int) -> Result<(), Errno> {
    // SAFETY: IPC_RMID ignores the buffer argument, so null is allowed.
    let removed = unsafe { libc::shmctl(id, IPC_RMID, ptr::null_mut()) };
    Errno::result(removed).map(drop)
}

/// The segment attached in this process (`shmat`), detached (`shmdt`) when
/// dropped. After `shmat`, the segment is ordinary memory: reading and
/// writing it are loads and stores, with no system call.
#[derive(Debug)]
pub struct Mapping {
    addr: NonNull<u8>,
}

impl Mapping {
    /// `shmat(id, NULL, 0)`: the kernel picks the address.
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

    /// Where the segment is in this process.
    pub fn addr(&self) -> *const u8 {
        self.addr.as_ptr()
    }

    /// The data region, bytes 0-127.
    pub fn data(&self) -> &[AtomicU8] {
        // SAFETY: the segment is SEGMENT_LEN >= DATA_LEN bytes, mapped for as
        // long as `self` is borrowed; AtomicU8 has the layout of u8, is valid
        // for every value, and may be shared with other processes.
        unsafe { slice::from_raw_parts(self.addr.as_ptr().cast::<AtomicU8>(), DATA_LEN) }
    }

    /// The race's counter and lock, after the data region.
    pub fn race(&self) -> &RaceArea {
        let area = self
            .addr
            .as_ptr()
            .wrapping_add(RACE_OFFSET)
            .cast::<RaceArea>();
        // SAFETY: RACE_OFFSET + size_of::<RaceArea>() == SEGMENT_LEN, so the
        // area is inside the mapping, which lives while `self` is borrowed;
        // shmat returns a page-aligned address and RACE_OFFSET is a multiple
        // of 8, so the area is aligned; its atomics are valid for any bytes.
        unsafe { &*area }
    }

    /// `shmdt`: the segment is no longer mapped here.
    pub fn detach(self) -> Result<(), SysError> {
        let addr = ManuallyDrop::new(self).addr;
        shmdt(addr).perror("shmdt")
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // Leaving early: the kernel detaches at exit anyway.
        let _ = shmdt(self.addr);
    }
}

fn shmdt(addr: NonNull<u8>) -> Result<(), Errno> {
    // SAFETY: `addr` is what shmat returned, and no reference into the
    // mapping outlives the `Mapping` that is being given up.
    let done = unsafe { libc::shmdt(addr.as_ptr().cast()) };
    Errno::result(done).map(drop)
}
