//! A System V message queue, as in the tutorial: one queue, message type 1
//! for requests (parent to child) and type 2 for replies. The queue is
//! created with `IPC_PRIVATE` (a new queue that no key reaches, so no other
//! run collides with it), mode 0600, and removed (`IPC_RMID`) when the
//! channel is dropped.
//!
//! The kernel limits one message to `msgmax` bytes (8 KiB by default,
//! `/proc/sys/kernel/msgmax`) and a queue to `msgmnb` bytes (16 KiB): a
//! larger message is sent as several queue messages of at most `msgmax`
//! bytes, and a writer waits whenever the queue is full. Both are part of
//! what a message queue costs.

use std::io::{self, Write};
use std::ptr;

use anyhow::bail;
use common::Perror;
use libc::{IPC_CREAT, IPC_EXCL, IPC_PRIVATE, IPC_RMID, c_int, c_long};
use nix::errno::Errno;

use super::{Channel, Ctx, Endpoint, Shape, Side};
use crate::stop;

/// The largest queue message the bench sends; less if `msgmax` is smaller.
const CHUNK: usize = 8192;

/// A queue message: the `long` type, then the text, as `msgsnd` wants it.
#[repr(C)]
struct Message {
    mtype: c_long,
    text: [u8; CHUNK],
}

#[derive(Debug)]
struct Queue {
    id: c_int,
    /// The most bytes one queue message may hold here.
    chunk: usize,
}

pub fn open(_: &Ctx<'_>, _: Shape) -> anyhow::Result<Box<dyn Channel>> {
    let msgmax = std::fs::read_to_string("/proc/sys/kernel/msgmax")
        .ok()
        .and_then(|text| text.trim().parse::<usize>().ok())
        .unwrap_or(CHUNK);
    // SAFETY: msgget takes no pointers.
    let id = unsafe { libc::msgget(IPC_PRIVATE, IPC_CREAT | IPC_EXCL | 0o600) };
    let id = Errno::result(id).perror("msgget")?;
    Ok(Box::new(Queue {
        id,
        chunk: msgmax.min(CHUNK),
    }))
}

impl Drop for Queue {
    fn drop(&mut self) {
        // SAFETY: IPC_RMID ignores the buffer argument, so null is allowed.
        let removed = unsafe { libc::msgctl(self.id, IPC_RMID, ptr::null_mut()) };
        if removed == -1 {
            let _ = writeln!(
                io::stderr(),
                "msgctl: {}; remove queue {} with `ipcrm -q {}`",
                Errno::last().desc(),
                self.id,
                self.id
            );
        }
    }
}

#[derive(Debug)]
struct QueueEnd {
    id: c_int,
    chunk: usize,
    send_type: c_long,
    receive_type: c_long,
    buffer: Box<Message>,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Message {{ mtype: {} }}", self.mtype)
    }
}

impl Channel for Queue {
    fn end(&mut self, side: Side) -> anyhow::Result<Box<dyn Endpoint + '_>> {
        let (send_type, receive_type) = match side {
            Side::Parent { .. } => (1, 2),
            Side::Child { .. } => (2, 1),
        };
        Ok(Box::new(QueueEnd {
            id: self.id,
            chunk: self.chunk,
            send_type,
            receive_type,
            buffer: Box::new(Message {
                mtype: 0,
                text: [0; CHUNK],
            }),
        }))
    }
}

impl Endpoint for QueueEnd {
    fn send(&mut self, message: &[u8]) -> anyhow::Result<()> {
        for piece in message.chunks(self.chunk) {
            self.buffer.mtype = self.send_type;
            self.buffer.text[..piece.len()].copy_from_slice(piece);
            let buffer = &*self.buffer;
            // A full queue blocks until the reader takes something out.
            stop::wait_on_peer("msgsnd", || {
                // SAFETY: `buffer` is a #[repr(C)] long followed by CHUNK >=
                // piece.len() bytes of text, all that msgsnd reads.
                let sent =
                    unsafe { libc::msgsnd(self.id, ptr::from_ref(buffer).cast(), piece.len(), 0) };
                Errno::result(sent)
            })?;
        }
        Ok(())
    }

    fn recv(&mut self, buf: &mut [u8]) -> anyhow::Result<()> {
        for piece in buf.chunks_mut(self.chunk) {
            let buffer = &mut *self.buffer;
            let (id, size, mtype) = (self.id, piece.len(), self.receive_type);
            let got = stop::wait_on_peer("msgrcv", || {
                // SAFETY: msgrcv writes a long and at most `size` <= CHUNK
                // bytes of text, which the #[repr(C)] struct holds.
                let got = unsafe { libc::msgrcv(id, ptr::from_mut(buffer).cast(), size, mtype, 0) };
                Errno::result(got)
            })?;
            if got.unsigned_abs() != size {
                bail!("msgrcv: {got} bytes where {size} were sent");
            }
            piece.copy_from_slice(&buffer.text[..size]);
        }
        Ok(())
    }
}
