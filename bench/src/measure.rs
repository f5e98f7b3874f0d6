//! The three measurements, each between the parent and a freshly forked
//! child: the cache-line round trip (the floor), the round-trip latency of
//! one mechanism, and its one-way throughput.

use std::path::Path;
use std::time::Duration;

use anyhow::bail;
use nix::unistd::getppid;

use crate::floor::{Lines, Way};
use crate::mechanisms::ring::Mapping;
use crate::mechanisms::{Ctx, Mechanism, Shape, Side};
use crate::message::{self, Expected, MAX_SEQ, Tag};
use crate::pair::{Note, Pair};
use crate::placement::{Plan, Ran, current_cpu};
use crate::progress::Progress;
use crate::stats::{Summary, now_ns};

/// A latency row whose time ran out before its first timed round trip:
/// the warm-up alone took longer than the deadline.
#[derive(Debug)]
pub struct TimeUp(pub Duration);

impl std::fmt::Display for TimeUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "stopped after {:.1} s, still warming up: the two ends probably shared a CPU, \
             where a spin wait only waits out time slices",
            self.0.as_secs_f64()
        )
    }
}

impl std::error::Error for TimeUp {}

/// How much each measurement does.
#[derive(Debug, Clone, Copy)]
pub struct Counts {
    /// Round trips timed per latency row, after `warmup_round_trips`.
    pub round_trips: u64,
    pub warmup_round_trips: u64,
    /// What a throughput row sends, after its warm-up.
    pub stream: Stream,
    /// A latency row that takes longer than this stops early, and says so:
    /// a spin wait whose two ends were put on one CPU by a busy machine
    /// could otherwise take minutes.
    pub deadline: Duration,
    /// The whole run's time, if it has a limit (`--quick`): each latency
    /// row then also stops at its share of what is left.
    pub budget: Option<Duration>,
}

/// How much a throughput row sends.
#[derive(Debug, Clone, Copy)]
pub enum Stream {
    /// This many bytes, after this many bytes of warm-up.
    Bytes { timed: u64, warmup: u64 },
    /// This many messages, after this many (for `--iterations`).
    Messages { timed: u64, warmup: u64 },
}

impl Stream {
    /// (warm-up, timed) messages of `size` bytes.
    pub fn messages(self, size: usize) -> (u64, u64) {
        match self {
            Stream::Bytes { timed, warmup } => {
                let size = size as u64;
                ((warmup / size).max(1), (timed / size).max(1))
            }
            Stream::Messages { timed, warmup } => (warmup, timed),
        }
    }
}

/// A round-trip measurement.
#[derive(Debug, Clone, Copy)]
pub struct Latency {
    pub summary: Summary,
    /// Round trips asked for; `summary.count` is fewer if it stopped early.
    pub asked: u64,
    /// Messages checked, both ways, warm-up included.
    pub checked: u64,
    pub parent: Ran,
    pub child: Ran,
}

impl Latency {
    pub fn stopped_early(&self) -> bool {
        (self.summary.count as u64) < self.asked
    }
}

/// A one-way throughput measurement.
#[derive(Debug, Clone, Copy)]
pub struct Throughput {
    pub bytes_per_second: f64,
    pub bytes: u64,
    pub messages: u64,
    /// Messages checked by the reader, warm-up included.
    pub checked: u64,
    pub parent: Ran,
    pub child: Ran,
}

/// Runs measurements with one plan, in one private directory.
#[derive(Debug)]
pub struct Bench<'a> {
    pub plan: &'a Plan,
    pub counts: Counts,
    pub dir: &'a Path,
    pub progress: &'a mut Progress,
    serial: u64,
    /// When the run started (for `Counts::budget`).
    started: u64,
}

impl<'a> Bench<'a> {
    pub fn new(plan: &'a Plan, counts: Counts, dir: &'a Path, progress: &'a mut Progress) -> Self {
        Self {
            plan,
            counts,
            dir,
            progress,
            serial: 0,
            started: now_ns(),
        }
    }

    fn ctx(&mut self) -> Ctx<'a> {
        self.serial += 1;
        Ctx {
            dir: self.dir,
            serial: self.serial,
        }
    }

    fn ran(&self, parent_cpu: usize, child_cpu: u64) -> (Ran, Ran) {
        let parent = Ran {
            cpu: parent_cpu,
            pinned: self.plan.parent.is_some(),
        };
        let child = Ran {
            cpu: usize::try_from(child_cpu).unwrap_or(usize::MAX),
            pinned: self.plan.child.is_some(),
        };
        (parent, child)
    }

    /// The physical floor measured one `way` ([`floor`]): a counter
    /// passed back and forth between two CPUs, with no message and no
    /// system call. A sample is the time between two of the parent's
    /// answers: one round trip, with one clock read in it.
    pub fn floor(&mut self, way: Way) -> anyhow::Result<Option<Latency>> {
        let Some((parent_cpu, child_cpu)) = self.plan.floor_cpus() else {
            return Ok(None);
        };
        let (warmup, total) = self.round_trip_counts()?;
        let total = u32::try_from(total)?;
        // Anonymous shared memory: no name, nothing to remove.
        let mapping = Mapping::anonymous(4096)?;
        // SAFETY: a fresh, zeroed, page-aligned shared mapping of 4096 bytes,
        // which lives until the end of this function, after the child is gone.
        let lines = unsafe { Lines::at(mapping.base()) };
        let mut pair = Pair::fork(self.plan, Some(child_cpu), Some(parent_cpu), |control| {
            control.send(Note::Ready, current_cpu()? as u64, 0)?;
            for i in 0..total {
                lines.child_turn(way, i)?;
            }
            control.send(Note::Done, current_cpu()? as u64, u64::from(total))
        })?;
        let (child_cpu, _) = pair.receive(Note::Ready)?;
        let mut samples = Vec::with_capacity(self.counts.round_trips as usize);
        let deadline = self.deadline();
        lines.parent_turn(way, 0)?;
        let mut last = now_ns();
        for i in 1..=total {
            lines.parent_turn(way, i)?;
            let now = now_ns();
            if u64::from(i) > warmup {
                samples.push(now - last);
            }
            last = now;
            if self.tick(u64::from(i), u64::from(total), deadline) {
                break;
            }
        }
        let total = u64::from(total);
        self.finish_latency(pair, samples, total, 2 * total, child_cpu)
            .map(|mut latency| {
                // This one is always pinned, whatever the placement.
                latency.parent.pinned = true;
                latency.child.pinned = true;
                Some(latency)
            })
    }

    /// Round-trip latency of `mechanism` with `size`-byte messages: the
    /// parent sends a request, the child checks it and sends it back as the
    /// reply; the parent times each round trip alone, from just before the
    /// send to just after the whole reply is in.
    pub fn latency(&mut self, mechanism: &Mechanism, size: usize) -> anyhow::Result<Latency> {
        // A few slots each way, so that a spinning writer seldom has to
        // look at what the reader consumed (see `ring`), but few enough
        // that the slots in use stay in the CPU's first-level cache.
        let shape = Shape {
            message: size,
            in_flight: (8 * 1024 / size.max(1)).clamp(2, 8),
            pipe_bytes: 0,
            round_trip: true,
        };
        let ctx = self.ctx();
        let mut channel = (mechanism.open)(&ctx, shape)?;
        let (warmup, total) = self.round_trip_counts()?;
        let mut pair = Pair::fork(self.plan, self.plan.child, self.plan.parent, |control| {
            let mut end = channel.end(Side::Child { parent: getppid() })?;
            control.send(Note::Ready, current_cpu()? as u64, 0)?;
            let expected = Expected::new(size);
            let mut buf = vec![0; size];
            for seq in 0..total {
                end.recv(&mut buf)?;
                // The request's stamps here (lost, repeated, torn); its
                // body goes back unchanged in the reply, whose every byte
                // the parent checks: a damaged request makes a damaged
                // reply. So on one CPU, where the child's work is on the
                // round trip's path, it is two words, not a whole message.
                expected.check_stamps(&buf, seq, Tag::Request)?;
                message::stamp(&mut buf, seq, Tag::Reply);
                end.send(&buf)?;
            }
            control.send(Note::Done, current_cpu()? as u64, total)
        })?;
        let (child_cpu, _) = pair.receive(Note::Ready)?;
        let mut end = channel.end(Side::Parent {
            child: pair.child_pid(),
        })?;
        let expected = Expected::new(size);
        // One buffer: a checked reply is the next request, once restamped.
        let mut buf = vec![0; size];
        message::fill(&mut buf, 0, Tag::Request);
        let mut samples = Vec::with_capacity(self.counts.round_trips as usize);
        let deadline = self.deadline();
        for seq in 0..total {
            message::stamp(&mut buf, seq, Tag::Request);
            let start = now_ns();
            end.send(&buf)?;
            end.recv(&mut buf)?;
            let took = now_ns() - start;
            expected.check(&buf, seq, Tag::Reply)?;
            if seq >= warmup {
                samples.push(took);
            }
            if self.tick(seq, total, deadline) {
                break;
            }
        }
        drop(end);
        self.finish_latency(pair, samples, total, 2 * total, child_cpu)
    }

    /// One-way throughput of `mechanism` with `size`-byte messages: the
    /// parent writes, the child reads and checks. The parent starts the
    /// clock before the first timed message; the child stops it when it
    /// has checked the last byte, and sends its reading back.
    pub fn throughput(&mut self, mechanism: &Mechanism, size: usize) -> anyhow::Result<Throughput> {
        let (warmup, timed) = self.counts.stream.messages(size);
        let total = warmup + timed;
        if total >= MAX_SEQ {
            bail!("too many messages: {total}");
        }
        // Shared-memory rings get about 256 KiB of slots, like a socket
        // buffer; pipes as much as they may hold (1 MiB), so that a writer
        // does not stop for the reader at every 64 KiB.
        let shape = Shape {
            message: size,
            in_flight: (256 * 1024 / size).clamp(2, 64),
            pipe_bytes: 1 << 20,
            round_trip: false,
        };
        let ctx = self.ctx();
        let mut channel = (mechanism.open)(&ctx, shape)?;
        let mut pair = Pair::fork(self.plan, self.plan.child, self.plan.parent, |control| {
            let mut end = channel.end(Side::Child { parent: getppid() })?;
            control.send(Note::Ready, current_cpu()? as u64, 0)?;
            let expected = Expected::new(size);
            let mut buf = vec![0; size];
            for seq in 0..warmup {
                end.recv(&mut buf)?;
                expected.check(&buf, seq, Tag::Data)?;
            }
            control.send(Note::Warm, 0, 0)?;
            for seq in warmup..total {
                end.recv(&mut buf)?;
                expected.check(&buf, seq, Tag::Data)?;
            }
            // The last byte is in and checked: stop the clock.
            let stopped = now_ns();
            control.send(Note::Done, stopped, current_cpu()? as u64)
        })?;
        pair.receive(Note::Ready)?;
        let mut end = channel.end(Side::Parent {
            child: pair.child_pid(),
        })?;
        // The whole message once; then each next one only gets new stamps.
        let mut buf = vec![0; size];
        message::fill(&mut buf, 0, Tag::Data);
        for seq in 0..warmup {
            message::stamp(&mut buf, seq, Tag::Data);
            end.send(&buf)?;
        }
        // Start from an empty channel, with the reader waiting.
        pair.receive(Note::Warm)?;
        let started = now_ns();
        for seq in warmup..total {
            message::stamp(&mut buf, seq, Tag::Data);
            end.send(&buf)?;
            if seq % 64 == 0 {
                self.progress.fraction((seq - warmup) as f64 / timed as f64);
            }
        }
        let (stopped, child_cpu) = pair.receive(Note::Done)?;
        let parent_cpu = current_cpu()?;
        drop(end);
        pair.finish()?;
        let bytes = timed * size as u64;
        let seconds = stopped.saturating_sub(started).max(1) as f64 / 1e9;
        let (parent, child) = self.ran(parent_cpu, child_cpu);
        Ok(Throughput {
            bytes_per_second: bytes as f64 / seconds,
            bytes,
            messages: timed,
            checked: total,
            parent,
            child,
        })
    }

    fn round_trip_counts(&self) -> anyhow::Result<(u64, u64)> {
        let warmup = self.counts.warmup_round_trips;
        let total = warmup + self.counts.round_trips;
        // The floor counts in u32, two per round trip.
        if total >= u64::from(u32::MAX / 4) {
            bail!("too many round trips: {total}");
        }
        Ok((warmup, total))
    }

    /// When the current row stops: after `Counts::deadline`, or sooner, at
    /// its share of what is left of the run's budget.
    fn deadline(&self) -> u64 {
        let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let now = now_ns();
        let row = now.saturating_add(nanos(self.counts.deadline));
        let Some(budget) = self.counts.budget else {
            return row;
        };
        let left = (self.started + nanos(budget)).saturating_sub(now);
        // Every row gets at least 20 ms, so that it has a number.
        let share = (left / self.progress.remaining().max(1) as u64).max(20_000_000);
        row.min(now + share)
    }

    /// Shows progress now and then; true when the row's time is up.
    fn tick(&mut self, seq: u64, total: u64, deadline: u64) -> bool {
        if seq % 256 != 255 {
            return false;
        }
        self.progress.fraction(seq as f64 / total as f64);
        now_ns() > deadline
    }

    /// Collects the child's report (unless the row stopped early, when the
    /// child is simply killed) and sums up the samples.
    fn finish_latency(
        &self,
        mut pair: Pair,
        samples: Vec<u64>,
        total: u64,
        checked: u64,
        ready_cpu: u64,
    ) -> anyhow::Result<Latency> {
        let parent_cpu = current_cpu()?;
        let stopped_early = (samples.len() as u64) < self.counts.round_trips;
        let (child_cpu, checked) = if stopped_early {
            // Dropping the pair kills the child; every reply that was timed
            // was checked by the parent.
            drop(pair);
            (ready_cpu, 2 * samples.len() as u64)
        } else {
            let (child_cpu, child_checked) = pair.receive(Note::Done)?;
            pair.finish()?;
            if child_checked != total {
                bail!("the child checked {child_checked} requests of {total}");
            }
            (child_cpu, checked)
        };
        let (parent, child) = self.ran(parent_cpu, child_cpu);
        let Some(summary) = Summary::of(samples) else {
            return Err(TimeUp(self.counts.deadline).into());
        };
        Ok(Latency {
            summary,
            asked: self.counts.round_trips,
            checked,
            parent,
            child,
        })
    }
}
