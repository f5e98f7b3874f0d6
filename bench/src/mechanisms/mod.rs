//! The mechanisms, one module each, behind two small traits: a [`Channel`]
//! is what the parent creates before the fork (the pipe, the queue, the
//! segment) and removes when the pair is done; an [`Endpoint`] is one
//! process's end of it, made after the fork, which sends and receives
//! whole messages.

use std::io::{Read, Write};
use std::path::Path;

use anyhow::bail;
use common::Perror;
use nix::errno::Errno;
use nix::fcntl::{FcntlArg, fcntl};
use nix::unistd::Pid;

use crate::stop;

mod fifo;
mod mmap_file;
mod msg_queue;
mod pipe;
mod posix_shm;
pub mod ring;
mod signal;
mod sysv_shm;
mod tcp;
mod unix_socket;

pub use ring::Wake;

/// Which end of the channel a process asks for, and who its peer is.
#[derive(Debug, Clone, Copy)]
pub enum Side {
    Parent { child: Pid },
    Child { parent: Pid },
}

/// One process's end: sends and receives whole messages, in order.
pub trait Endpoint {
    /// Sends all of `message`.
    fn send(&mut self, message: &[u8]) -> anyhow::Result<()>;
    /// Receives one whole message, exactly `buf.len()` bytes.
    fn recv(&mut self, buf: &mut [u8]) -> anyhow::Result<()>;
}

/// The IPC object(s) of one measurement, made by the parent before the fork;
/// dropping it (in the parent, after the child is reaped) removes them.
pub trait Channel {
    /// This process's end. The child asks first, then tells the parent it
    /// is ready; the parent asks only after that, so nothing here waits for
    /// a peer that is not there yet.
    fn end(&mut self, side: Side) -> anyhow::Result<Box<dyn Endpoint + '_>>;
}

/// What a channel is made for.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// The size of every message.
    pub message: usize,
    /// How many messages may be in flight one way (for shared-memory rings).
    pub in_flight: usize,
    /// How many bytes a pipe should hold: more than its default 64 KiB lets
    /// a writer of large messages run ahead of the reader (0: the default).
    pub pipe_bytes: usize,
    /// Used for round trips only: a shared-memory channel then puts reply
    /// `n` in the slot of request `n` (see `ring`).
    pub round_trip: bool,
}

/// Makes the pipe of `fd` hold `bytes` (`fcntl(F_SETPIPE_SZ)`), or as much
/// as an unprivileged process may (`/proc/sys/fs/pipe-max-size`, 1 MiB
/// unless changed); leaves it alone for 0 or less than it holds.
pub fn size_pipe(fd: impl std::os::fd::AsFd, bytes: usize) -> anyhow::Result<()> {
    const DEFAULT: usize = 64 * 1024;
    let max = std::fs::read_to_string("/proc/sys/fs/pipe-max-size")
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(1 << 20);
    let bytes = bytes.min(max);
    if bytes <= DEFAULT {
        return Ok(());
    }
    let size = i32::try_from(bytes).unwrap_or(i32::MAX);
    match fcntl(&fd, FcntlArg::F_SETPIPE_SZ(size)) {
        // Over this user's quota of pipe pages: the default size it is.
        Err(Errno::EPERM) => Ok(()),
        result => Ok(result.map(drop).perror("fcntl(F_SETPIPE_SZ)")?),
    }
}

/// Where and how a channel is made.
#[derive(Debug)]
pub struct Ctx<'a> {
    /// A private directory (mode 0700) for FIFOs, socket files, mapped files.
    pub dir: &'a Path,
    /// A number no other channel of this run has, for unique names.
    pub serial: u64,
}

/// The tutorial's words for a mechanism: its comparison table
/// ("IPC Mechanism | Speed | Complexity | Persistence | Network Support")
/// and its description of the mechanism. Our copy of the table has empty
/// Persistence and Network cells, so those come from the descriptions:
/// message queues: "Persistence of messages"; memory-mapped files:
/// "Persistence"; sockets "work across different machines" or "within a
/// single system (Unix domain sockets)". "-" is what the tutorial does not
/// say.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Tutorial {
    /// The table row this mechanism belongs to.
    pub row: &'static str,
    pub speed: &'static str,
    pub complexity: &'static str,
    pub persistence: &'static str,
    pub network: &'static str,
}

const SHARED_MEMORY: Tutorial = Tutorial {
    row: "Shared Memory",
    speed: "Very Fast",
    complexity: "Medium",
    persistence: "-",
    network: "-",
};
const PIPES: Tutorial = Tutorial {
    row: "Pipes",
    speed: "Fast",
    complexity: "Low",
    persistence: "-",
    network: "-",
};

/// One row of the bench.
#[derive(Debug, Clone, Copy)]
pub struct Mechanism {
    /// Short name for `--only`, JSON and CSV.
    pub id: &'static str,
    /// Name in the table.
    pub name: &'static str,
    pub tutorial: Tutorial,
    /// Whether one end busy-waits (needs two CPUs).
    pub spins: bool,
    /// Whether it carries data (signals only notify: no payload, no throughput).
    pub carries_data: bool,
    /// Makes the channel, in the parent, before the fork.
    pub open: fn(&Ctx<'_>, Shape) -> anyhow::Result<Box<dyn Channel>>,
}

/// Every mechanism, in the order the tutorial presents them.
pub const ALL: &[Mechanism] = &[
    Mechanism {
        id: "sysv-shm-spin",
        name: "System V shm + spin",
        tutorial: SHARED_MEMORY,
        spins: true,
        carries_data: true,
        open: |ctx, shape| sysv_shm::open(ctx, shape, Wake::Spin),
    },
    Mechanism {
        id: "sysv-shm-futex",
        name: "System V shm + futex",
        tutorial: SHARED_MEMORY,
        spins: false,
        carries_data: true,
        open: |ctx, shape| sysv_shm::open(ctx, shape, Wake::Futex),
    },
    Mechanism {
        id: "posix-shm-spin",
        name: "POSIX shm + spin",
        tutorial: SHARED_MEMORY,
        spins: true,
        carries_data: true,
        open: |ctx, shape| posix_shm::open(ctx, shape, Wake::Spin),
    },
    Mechanism {
        id: "posix-shm-futex",
        name: "POSIX shm + futex",
        tutorial: SHARED_MEMORY,
        spins: false,
        carries_data: true,
        open: |ctx, shape| posix_shm::open(ctx, shape, Wake::Futex),
    },
    Mechanism {
        id: "pipe",
        name: "pipe",
        tutorial: PIPES,
        spins: false,
        carries_data: true,
        open: pipe::open,
    },
    Mechanism {
        id: "fifo",
        name: "FIFO (named pipe)",
        tutorial: PIPES,
        spins: false,
        carries_data: true,
        open: fifo::open,
    },
    Mechanism {
        id: "msgqueue",
        name: "System V message queue",
        tutorial: Tutorial {
            row: "Message Queues",
            speed: "Medium",
            complexity: "Medium",
            persistence: "yes",
            network: "-",
        },
        spins: false,
        carries_data: true,
        open: msg_queue::open,
    },
    Mechanism {
        id: "unix-socket",
        name: "Unix domain socket",
        tutorial: Tutorial {
            row: "Sockets",
            speed: "Medium",
            complexity: "High",
            persistence: "-",
            network: "no",
        },
        spins: false,
        carries_data: true,
        open: unix_socket::open,
    },
    Mechanism {
        id: "tcp",
        name: "TCP over loopback",
        tutorial: Tutorial {
            row: "Sockets",
            speed: "Medium",
            complexity: "High",
            persistence: "-",
            network: "yes",
        },
        spins: false,
        carries_data: true,
        open: tcp::open,
    },
    Mechanism {
        id: "mmap-file",
        name: "memory-mapped file + futex",
        tutorial: Tutorial {
            row: "Memory-Mapped Files",
            speed: "Fast",
            complexity: "Medium",
            persistence: "yes",
            network: "-",
        },
        spins: false,
        carries_data: true,
        open: mmap_file::open,
    },
    Mechanism {
        id: "signal",
        name: "signals (notification only)",
        // Not a row of the table; the description says "Lightweight".
        tutorial: Tutorial {
            row: "Signals",
            speed: "-",
            complexity: "-",
            persistence: "-",
            network: "-",
        },
        spins: false,
        carries_data: false,
        open: signal::open,
    },
];

/// An endpoint over a byte stream (pipe, FIFO, socket): `rx` and `tx` may be
/// two descriptors (two pipes) or two handles on one socket.
#[derive(Debug)]
pub struct StreamEnd<R, W> {
    pub rx: R,
    pub tx: W,
    /// The calls, as an error names them: "read" and "write", or "recv"
    /// and "send".
    pub read_call: &'static str,
    pub write_call: &'static str,
}

impl<R: Read, W: Write> Endpoint for StreamEnd<R, W> {
    fn send(&mut self, message: &[u8]) -> anyhow::Result<()> {
        let mut sent = 0;
        while sent < message.len() {
            // One write(2); it may take only part of a large message.
            sent += stop::restart(self.write_call, || self.tx.write(&message[sent..]))?;
        }
        Ok(())
    }

    fn recv(&mut self, buf: &mut [u8]) -> anyhow::Result<()> {
        let mut got = 0;
        while got < buf.len() {
            // A stream has no message boundaries: read until the message is whole.
            let n = stop::restart(self.read_call, || self.rx.read(&mut buf[got..]))?;
            if n == 0 {
                bail!(
                    "{}: the other end was closed after {got} of {} bytes",
                    self.read_call,
                    buf.len()
                );
            }
            got += n;
        }
        Ok(())
    }
}
