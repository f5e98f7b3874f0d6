//! Message passing over shared memory: two rings (one each way) in one
//! region that both processes map, and the two ways to wait for the other
//! side: sleep in the kernel (futex) or busy-wait on the word (spin).
//!
//! Each ring is a `consumed` counter in a cache line of its own, then
//! `in_flight` slots; each slot is a `state` word in a cache line of its
//! own, followed by one message:
//!
//! ```text
//! | consumed ...... | state message ...... | state message ...... | ...
//! ```
//!
//! The writer of message `n` uses slot `n % in_flight`: it copies the
//! message in, then stores `state = n + 1`; the reader waits until the
//! slot's state is `n + 1`, copies the message out, and stores
//! `consumed = n + 1`. A release store and an acquire load make the copied
//! bytes visible before the word that announces them. The writer waits for
//! a free slot (`n - consumed < in_flight`) only when the last value of
//! `consumed` it read says the ring may be full, so it rarely has to fetch
//! that cache line from the other CPU. The reader waits on the slot itself,
//! so the word it waits for arrives with the message.
//!
//! A channel made for round trips (`Shape::round_trip`) lays the two rings
//! over the same slots: reply `n` goes in the slot request `n` came in,
//! its state word beside the request's, in the same line:
//!
//! ```text
//! | consumed (parent's) | consumed (child's) | state state message ...... | ...
//! ```
//!
//! A process that writes the lines it has just read owns them already, so
//! each line crosses between the CPUs once each way, not twice (once to be
//! read, once more to be written over): a 4 KiB round trip takes about a
//! third less. `send` refuses a message sent out of turn, which would
//! overwrite one not yet read.
//!
//! The futex wait sleeps in `futex(FUTEX_WAIT)` on the word it waits for;
//! before sleeping it sets the word's `sleepers` flag, and the other side
//! calls `FUTEX_WAKE` after a store only when the flag is set, as a mutex
//! does. With both words accessed in sequentially consistent order, either
//! the sleeper sees the new value or the waker sees the sleeper.

use std::marker::PhantomData;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::bail;
use common::{Perror, SysError};
use nix::errno::Errno;
use nix::sys::mman;

use super::{Endpoint, Shape, Side};
use crate::stop;

/// How a process waits for the other one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// Busy-wait: load the word again and again until it changes.
    Spin,
    /// Sleep in the kernel until the other side wakes us (`futex(2)`).
    Futex,
}

/// A word one side waits on and the other stores to.
#[repr(C)]
pub struct Word {
    value: AtomicU32,
    /// 1 while the other side may be asleep in FUTEX_WAIT on `value`.
    sleepers: AtomicU32,
}

/// The bytes before a slot's message: its `state` word, alone in a cache
/// line, so that the message starts on a line of its own (aligned copies
/// are faster, and a 64-byte message is exactly one line).
const SLOT_HEADER: usize = 64;
/// A ring starts with `consumed`, alone in its cache line.
const RING_HEADER: usize = 64;

/// The bytes of one slot: the state line and the message, rounded up to
/// whole cache lines, so that no two slots share a line.
fn slot_bytes(message: usize) -> usize {
    (SLOT_HEADER + message).next_multiple_of(64)
}

/// The bytes one ring needs for `in_flight` slots of `message` bytes.
fn ring_bytes(message: usize, in_flight: usize) -> usize {
    RING_HEADER + slot_bytes(message) * in_flight
}

/// The size of a region holding the two rings of a channel of `shape`.
pub fn region_bytes(shape: Shape) -> usize {
    if shape.round_trip {
        // The two `consumed` lines, then slots that both rings share.
        2 * RING_HEADER + slot_bytes(shape.message) * shape.in_flight
    } else {
        2 * ring_bytes(shape.message, shape.in_flight)
    }
}

/// One ring inside a mapped region.
#[derive(Debug)]
struct Ring {
    /// The ring's `consumed` word, alone in its line.
    consumed: NonNull<u8>,
    /// Slot 0.
    slots: NonNull<u8>,
    /// Where this ring's state word is in a slot: 0, or in a round-trip
    /// channel, 0 for the first ring and 8 for the second (the same line).
    state_at: usize,
    message: usize,
    in_flight: u32,
}

impl Ring {
    fn consumed(&self) -> &Word {
        // SAFETY: `consumed` is the ring's `consumed` word, inside the region,
        // which stays mapped while the endpoint that owns this ring exists
        // (its lifetime is tied to the region's); it is 64-byte aligned (the
        // region is page-aligned and rings and slots are whole cache lines),
        // and atomics may start out as the zero bytes of fresh shared memory.
        // It is only used through atomics, shared with the other process.
        unsafe { self.consumed.cast::<Word>().as_ref() }
    }

    fn slot(&self, n: u32) -> NonNull<u8> {
        let index = (n % self.in_flight) as usize;
        // SAFETY: `index < in_flight`, so the slot lies inside the ring's
        // `in_flight` slots, inside the region.
        unsafe { self.slots.add(index * slot_bytes(self.message)) }
    }

    fn state(&self, n: u32) -> &Word {
        // SAFETY: `state_at` (0 or 8) is inside the slot's first line.
        let word = unsafe { self.slot(n).add(self.state_at) };
        // SAFETY: as for `consumed`: the state word is 8-byte aligned, in
        // the slot's first line, and only used through atomics.
        unsafe { word.cast::<Word>().as_ref() }
    }

    fn message(&self, n: u32) -> *mut u8 {
        // SAFETY: the message follows the state line inside the same slot.
        unsafe { self.slot(n).add(SLOT_HEADER).as_ptr() }
    }
}

/// A process's end of a shared-memory channel: it writes one ring and reads
/// the other. `'region` ties it to the mapping it points into.
#[derive(Debug)]
pub struct RingEnd<'region> {
    tx: Ring,
    rx: Ring,
    sent: u32,
    received: u32,
    /// The last value of `tx.consumed` this end read.
    seen_consumed: u32,
    /// In a round-trip channel, which turn this end takes.
    turn: Option<Turn>,
    wake: Wake,
    region: PhantomData<&'region [u8]>,
}

impl<'region> RingEnd<'region> {
    /// The end of `side` in the region at `base`, of `region_bytes(shape)`
    /// bytes. The parent writes the first ring, the child the second.
    ///
    /// # Safety
    ///
    /// `base` must point to a page-aligned shared mapping of at least that
    /// many bytes, zeroed before either side used it, that stays mapped for
    /// `'region`, and the peer's end must be made with the same shape.
    pub unsafe fn new(base: NonNull<u8>, shape: Shape, side: Side, wake: Wake) -> Self {
        let at = |offset: usize| {
            // SAFETY: every offset below is inside the region of
            // `region_bytes(shape)` bytes.
            unsafe { base.add(offset) }
        };
        let ring = |consumed: usize, slots: usize, state_at: usize| Ring {
            consumed: at(consumed),
            slots: at(slots),
            state_at,
            message: shape.message,
            in_flight: u32::try_from(shape.in_flight).unwrap_or(u32::MAX).max(1),
        };
        let (first, second) = if shape.round_trip {
            let slots = 2 * RING_HEADER;
            (ring(0, slots, 0), ring(RING_HEADER, slots, 8))
        } else {
            let second = ring_bytes(shape.message, shape.in_flight);
            (
                ring(0, RING_HEADER, 0),
                ring(second, second + RING_HEADER, 0),
            )
        };
        let (tx, rx, turn) = match side {
            Side::Parent { .. } => (first, second, Turn::First),
            Side::Child { .. } => (second, first, Turn::Second),
        };
        Self {
            tx,
            rx,
            sent: 0,
            received: 0,
            seen_consumed: 0,
            turn: shape.round_trip.then_some(turn),
            wake,
            region: PhantomData,
        }
    }
}

/// The two ends of a round-trip channel, where request `n` and reply `n`
/// use the same slot: the parent's request goes first, the child's reply
/// second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Turn {
    First,
    Second,
}

impl Endpoint for RingEnd<'_> {
    fn send(&mut self, message: &[u8]) -> anyhow::Result<()> {
        if message.len() != self.tx.message {
            bail!(
                "a {}-byte message for {}-byte slots",
                message.len(),
                self.tx.message
            );
        }
        let n = self.sent;
        let in_flight = self.tx.in_flight;
        // A round-trip channel's slot holds request n, then reply n: the
        // parent writes request n once it has reply n - in_flight, the
        // child reply n once it has request n. Anything else is a bug of
        // the caller, which would overwrite a message not yet read.
        let in_turn = match self.turn {
            None => true,
            Some(Turn::First) => n.wrapping_sub(self.received) < in_flight,
            Some(Turn::Second) => n < self.received,
        };
        if !in_turn {
            bail!(
                "round-trip channel: message {n} sent out of turn ({} received)",
                self.received
            );
        }
        // Wait for slot n to be free (fewer than `in_flight` messages
        // unread), unless what we saw of `consumed` already says it is.
        if n.wrapping_sub(self.seen_consumed) >= in_flight {
            self.seen_consumed = wait(self.tx.consumed(), self.wake, |consumed| {
                n.wrapping_sub(consumed) < in_flight
            })?;
        }
        // SAFETY: the slot's message bytes are inside the region and hold
        // `message.len()` bytes; the reader does not touch them until it sees
        // the state stored below; `message` is our own memory.
        unsafe { ptr::copy_nonoverlapping(message.as_ptr(), self.tx.message(n), message.len()) };
        publish(self.tx.state(n), n.wrapping_add(1), self.wake)?;
        self.sent = n.wrapping_add(1);
        Ok(())
    }

    fn recv(&mut self, buf: &mut [u8]) -> anyhow::Result<()> {
        if buf.len() != self.rx.message {
            bail!(
                "a {}-byte buffer for {}-byte slots",
                buf.len(),
                self.rx.message
            );
        }
        let n = self.received;
        let full = n.wrapping_add(1);
        // While spinning, also fetch a small message's cache line, so that
        // it arrives with the state instead of after it. (A large message
        // is left alone while the writer is still writing it.)
        let small = if buf.len() <= 64 {
            self.rx.message(n).cast_const()
        } else {
            ptr::null()
        };
        wait_fetching(self.rx.state(n), self.wake, |state| state == full, small)?;
        // SAFETY: the slot's message bytes are inside the region and hold
        // `buf.len()` bytes, which the writer finished before storing the
        // state (acquire in `wait`) and does not touch again until we store
        // `consumed` below.
        unsafe { ptr::copy_nonoverlapping(self.rx.message(n), buf.as_mut_ptr(), buf.len()) };
        publish(self.rx.consumed(), full, self.wake)?;
        self.received = full;
        Ok(())
    }
}

/// How many spins between two looks at the stop flags.
const SPINS_PER_CHECK: u32 = 1 << 12;

/// Waits until `ready(word)` holds, by spinning or by sleeping, and returns
/// the value that made it hold.
pub fn wait(word: &Word, wake: Wake, ready: impl Fn(u32) -> bool) -> anyhow::Result<u32> {
    wait_fetching(word, wake, ready, ptr::null())
}

/// [`wait`], asking the CPU on each spin to fetch the cache line at `also`
/// (a prefetch: a hint, not a read, so it races with nothing).
fn wait_fetching(
    word: &Word,
    wake: Wake,
    ready: impl Fn(u32) -> bool,
    also: *const u8,
) -> anyhow::Result<u32> {
    match wake {
        Wake::Spin => {
            let mut spins = 0u32;
            loop {
                let value = word.value.load(Ordering::Acquire);
                if ready(value) {
                    return Ok(value);
                }
                prefetch(also);
                spins = spins.wrapping_add(1);
                if spins.is_multiple_of(SPINS_PER_CHECK) {
                    let ended_before = stop::child_ended();
                    let value = word.value.load(Ordering::Acquire);
                    if ready(value) {
                        return Ok(value);
                    }
                    stop::keep_waiting(ended_before)?;
                }
                // No `std::hint::spin_loop()` (the PAUSE instruction) here:
                // on recent Intel CPUs it stalls for ~140 cycles, which would
                // be added to every hand-off we are trying to measure. A
                // program that may spin for long should use it, to save
                // power and leave the core to its hyper-thread sibling.
            }
        }
        Wake::Futex => loop {
            let ended_before = stop::child_ended();
            word.sleepers.store(1, Ordering::SeqCst);
            let seen = word.value.load(Ordering::SeqCst);
            if ready(seen) {
                word.sleepers.store(0, Ordering::Relaxed);
                return Ok(seen);
            }
            // Sleeps only if the word still holds `seen`.
            match common::futex::wait(&word.value, seen) {
                Ok(()) => {}
                Err(Errno::EINTR) => stop::keep_waiting(ended_before)?,
                Err(errno) => return Err(SysError::new("futex(FUTEX_WAIT)", errno).into()),
            }
        },
    }
}

/// Asks the CPU to bring the cache line at `line` closer (x86-64 only).
#[cfg(target_arch = "x86_64")]
fn prefetch(line: *const u8) {
    use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
    if !line.is_null() {
        // SAFETY: a prefetch never faults and changes no memory; SSE, which
        // provides it, is part of every x86-64 CPU.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(line.cast()) };
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn prefetch(_: *const u8) {}

/// Stores `value` in the word and, with a futex, wakes the other side if
/// it may be asleep.
pub fn publish(word: &Word, value: u32, wake: Wake) -> anyhow::Result<()> {
    match wake {
        Wake::Spin => word.value.store(value, Ordering::Release),
        Wake::Futex => {
            word.value.store(value, Ordering::SeqCst);
            if word.sleepers.load(Ordering::SeqCst) != 0 {
                common::futex::wake_all(&word.value).perror("futex(FUTEX_WAKE)")?;
            }
        }
    }
    Ok(())
}

/// A shared mapping (`mmap` with `MAP_SHARED`), unmapped when dropped.
#[derive(Debug)]
pub struct Mapping {
    base: NonNull<u8>,
    len: usize,
}

impl Mapping {
    /// Maps `len` bytes of `fd` (a POSIX shm object or a file), shared.
    pub fn of_fd(fd: impl std::os::fd::AsFd, len: usize) -> anyhow::Result<Self> {
        let length =
            std::num::NonZeroUsize::new(len).ok_or_else(|| anyhow::anyhow!("mmap of 0 bytes"))?;
        // SAFETY: a fresh mapping at an address the kernel picks overlaps no
        // memory of ours; the file is only ever accessed through raw pointers
        // and atomics.
        let base = unsafe { mman::mmap(None, length, prot(), mman::MapFlags::MAP_SHARED, fd, 0) }
            .perror("mmap")?;
        Ok(Self {
            base: base.cast(),
            len,
        })
    }

    /// Maps `len` bytes of anonymous memory, shared with the children forked
    /// after this call (and with no name, so nothing to remove).
    pub fn anonymous(len: usize) -> anyhow::Result<Self> {
        let length =
            std::num::NonZeroUsize::new(len).ok_or_else(|| anyhow::anyhow!("mmap of 0 bytes"))?;
        // SAFETY: as above; anonymous memory starts zeroed.
        let base =
            unsafe { mman::mmap_anonymous(None, length, prot(), mman::MapFlags::MAP_SHARED) }
                .perror("mmap")?;
        Ok(Self {
            base: base.cast(),
            len,
        })
    }

    pub fn base(&self) -> NonNull<u8> {
        self.base
    }
}

fn prot() -> mman::ProtFlags {
    mman::ProtFlags::PROT_READ | mman::ProtFlags::PROT_WRITE
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `base` and `len` are exactly what mmap returned and mapped,
        // and no reference into the region outlives the mapping (the
        // endpoints borrow it).
        let _ = unsafe { mman::munmap(self.base.cast(), self.len) };
    }
}
