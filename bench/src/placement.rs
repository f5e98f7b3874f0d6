//! Where the two ends run: pinned to one CPU, to two, or left to the
//! scheduler (`sched_setaffinity(2)`).
//!
//! Placement decides more than the mechanism does. On one CPU, a blocking
//! hand-off is a switch between two processes on the same core, with warm
//! caches and no wake-up of another CPU; across two CPUs, the waker has to
//! interrupt the other CPU, which may be asleep. A spin wait needs two CPUs:
//! on one, the spinning end burns its whole time slice before the other end
//! can run and write what it waits for.

use anyhow::bail;
use common::Perror;
use nix::sched::{CpuSet, sched_getaffinity, sched_getcpu, sched_setaffinity};
use nix::unistd::Pid;

/// What `--placement` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Both ends pinned to the same CPU.
    Same,
    /// Parent and child pinned to two different CPUs.
    Split,
    /// Not pinned: the scheduler decides, and may move them.
    Any,
}

impl Placement {
    pub fn parse(word: &str) -> Option<Self> {
        match word {
            "same" => Some(Self::Same),
            "split" => Some(Self::Split),
            "any" => Some(Self::Any),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Same => "same",
            Self::Split => "split",
            Self::Any => "any",
        }
    }
}

/// The CPUs chosen for the run.
#[derive(Debug, Clone)]
pub struct Plan {
    pub placement: Placement,
    /// The CPUs this process may run on, as it started.
    pub allowed: Vec<usize>,
    /// The parent's CPU, or `None` when not pinned.
    pub parent: Option<usize>,
    /// The child's CPU, or `None` when not pinned.
    pub child: Option<usize>,
}

impl Plan {
    /// Chooses the CPUs for `placement` among those this process may use;
    /// without one, two CPUs if there are two, else one.
    pub fn new(placement: Option<Placement>) -> anyhow::Result<Self> {
        let set = sched_getaffinity(Pid::from_raw(0)).perror("sched_getaffinity")?;
        let allowed: Vec<usize> = (0..CpuSet::count())
            .filter(|&cpu| set.is_set(cpu).unwrap_or(false))
            .collect();
        let placement = placement.unwrap_or(if allowed.len() >= 2 {
            Placement::Split
        } else {
            Placement::Same
        });
        let (parent, child) = match (placement, allowed.as_slice()) {
            (_, []) => bail!("sched_getaffinity: this process may run on no CPU"),
            (Placement::Same, [first, ..]) => (Some(*first), Some(*first)),
            (Placement::Split, [first, second, ..]) => (Some(*first), Some(*second)),
            (Placement::Split, [only]) => bail!(
                "--placement split needs two CPUs, and this process may only run on CPU {only}; \
                 try --placement same"
            ),
            (Placement::Any, _) => (None, None),
        };
        Ok(Self {
            placement,
            allowed,
            parent,
            child,
        })
    }

    /// Why the spin-wait mechanisms cannot run here, if they cannot: a
    /// spinning end that shares its CPU with the end it waits for only
    /// measures the scheduler's time slice.
    pub fn why_no_spin(&self) -> Option<String> {
        match (self.parent, self.child) {
            (Some(parent), Some(child)) if parent == child => Some(format!(
                "skipped: both ends share CPU {parent}, where a spinning end would only \
                 wait out its time slice"
            )),
            _ if self.allowed.len() < 2 => {
                Some("skipped: this process may use only one CPU".to_owned())
            }
            _ => None,
        }
    }

    /// The two CPUs between which the cache-line round trip (the floor) is
    /// measured: the first two allowed, whatever the placement.
    pub fn floor_cpus(&self) -> Option<(usize, usize)> {
        match self.allowed.as_slice() {
            [first, second, ..] => Some((*first, *second)),
            _ => None,
        }
    }

    /// Pins the calling process to `cpu`, or lets it run on every allowed
    /// CPU for `None`.
    pub fn pin(&self, cpu: Option<usize>) -> anyhow::Result<()> {
        let mut set = CpuSet::new();
        let cpus = match cpu {
            Some(cpu) => vec![cpu],
            None => self.allowed.clone(),
        };
        for cpu in cpus {
            set.set(cpu).perror("CpuSet::set")?;
        }
        // Pid 0 is the calling thread, which is the whole (single-threaded) process.
        sched_setaffinity(Pid::from_raw(0), &set).perror("sched_setaffinity")?;
        Ok(())
    }
}

/// The CPU the calling process is running on now (`sched_getcpu(3)`).
pub fn current_cpu() -> anyhow::Result<usize> {
    Ok(sched_getcpu().perror("sched_getcpu")?)
}

/// Where one end ran, and whether it was pinned there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ran {
    pub cpu: usize,
    pub pinned: bool,
}
