//! The physical floor: how fast a cache line can go from one CPU to the
//! other and back, measured the ways two spinning processes can pass it,
//! with no message and no system call. The lowest is the floor: nothing
//! between two processes answers faster.
//!
//! Each way passes a counter back and forth: the parent waits for an even
//! number and answers with the next odd one; the child waits for the odd
//! one and answers with the next even one. The parent reads the clock once
//! per answer, and a round trip is the time between two of its answers.

use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::stop;

/// A way to pass the counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Way {
    /// One line: each side spins loading it, then stores its answer (what
    /// the spin rings do). The load leaves a shared copy that the other
    /// side's store must invalidate, then the load misses again.
    StoreLoad,
    /// Two lines, one per writer: each side stores to its own line and
    /// spins loading the other's.
    TwoLines,
    /// One line: each side spins on compare-and-swap, which asks for the
    /// line to write it every time, so the line moves once per hand-off.
    CompareAndSwap,
}

impl Way {
    pub const ALL: [Way; 3] = [Way::CompareAndSwap, Way::StoreLoad, Way::TwoLines];

    /// For JSON and CSV.
    pub fn id(self) -> &'static str {
        match self {
            Way::StoreLoad => "store-load",
            Way::TwoLines => "store-load-two-lines",
            Way::CompareAndSwap => "compare-and-swap",
        }
    }

    /// For people.
    pub fn name(self) -> &'static str {
        match self {
            Way::StoreLoad => "store/load ping-pong, one line",
            Way::TwoLines => "store/load ping-pong, two lines",
            Way::CompareAndSwap => "compare-and-swap ping-pong, one line",
        }
    }
}

/// How many spins between two looks at the stop flags.
const SPINS_PER_CHECK: u32 = 1 << 12;

/// The two words a way uses, 128 bytes apart (two lines, and not a pair
/// that the CPU fetches together), in a shared mapping.
#[derive(Debug, Clone, Copy)]
pub struct Lines<'region> {
    parent: &'region AtomicU32,
    child: &'region AtomicU32,
}

impl<'region> Lines<'region> {
    /// The words at `base` and `base + 128`.
    ///
    /// # Safety
    ///
    /// `base` must point to a zeroed, page-aligned shared mapping of at least
    /// 256 bytes that outlives `'region` and is only used through atomics.
    pub unsafe fn at(base: NonNull<u8>) -> Self {
        // SAFETY: the caller promises 256 live bytes, so byte 128 is inside.
        let second = unsafe { base.add(128) };
        // SAFETY: aligned (page + 0), live for 'region, zero is a valid
        // AtomicU32, only used atomically by both processes.
        let parent = unsafe { base.cast::<AtomicU32>().as_ref() };
        // SAFETY: as above, at page + 128.
        let child = unsafe { second.cast::<AtomicU32>().as_ref() };
        Self { parent, child }
    }

    /// The parent's hand-off number `i`: waits for the child's `2i`, answers
    /// `2i + 1`.
    pub fn parent_turn(&self, way: Way, i: u32) -> anyhow::Result<()> {
        let (wait_on, write_to) = match way {
            Way::TwoLines => (self.child, self.parent),
            Way::StoreLoad | Way::CompareAndSwap => (self.parent, self.parent),
        };
        turn(way, wait_on, write_to, 2 * i, 2 * i + 1)
    }

    /// The child's hand-off number `i`: waits for `2i + 1`, answers `2i + 2`.
    pub fn child_turn(&self, way: Way, i: u32) -> anyhow::Result<()> {
        let (wait_on, write_to) = match way {
            Way::TwoLines => (self.parent, self.child),
            Way::StoreLoad | Way::CompareAndSwap => (self.parent, self.parent),
        };
        turn(way, wait_on, write_to, 2 * i + 1, 2 * i + 2)
    }
}

/// Waits until `wait_on` holds `seen`, then stores `answer` in `write_to`.
fn turn(
    way: Way,
    wait_on: &AtomicU32,
    write_to: &AtomicU32,
    seen: u32,
    answer: u32,
) -> anyhow::Result<()> {
    match way {
        Way::StoreLoad | Way::TwoLines => {
            spin(|| wait_on.load(Ordering::Acquire) == seen)?;
            write_to.store(answer, Ordering::Release);
        }
        Way::CompareAndSwap => spin(|| {
            write_to
                .compare_exchange(seen, answer, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        })?,
    }
    Ok(())
}

/// Spins until `done`, looking at the stop flags now and then.
fn spin(mut done: impl FnMut() -> bool) -> anyhow::Result<()> {
    let mut spins = 0u32;
    loop {
        if done() {
            return Ok(());
        }
        spins = spins.wrapping_add(1);
        if spins.is_multiple_of(SPINS_PER_CHECK) {
            let ended_before = stop::child_ended();
            if done() {
                return Ok(());
            }
            stop::keep_waiting(ended_before)?;
        }
    }
}
