//! The System V message queue and its messages: the controller creates and
//! removes the queue (`Queue`); A and B send and receive with `msgsnd` and
//! `msgrcv`; `show` reads the kernel's view with `msgctl(IPC_STAT)` and the
//! queued messages with `msgrcv(MSG_COPY)`. Also how the transcript writes
//! a message, its size and a failure (`quoted`, `bytes`, `copied`, `failure`).

use std::mem::{ManuallyDrop, size_of};
use std::ptr;

use common::{Perror, SysError};
use libc::{IPC_CREAT, IPC_NOWAIT, IPC_PRIVATE, IPC_RMID, IPC_SET, IPC_STAT, c_int, c_long};
use nix::errno::Errno;

/// The longest text a message carries here.
pub const MAX_TEXT: usize = 200;

/// What `msgsnd` copies in and `msgrcv` copies out besides the text: the
/// message's type, a C `long`.
pub const TYPE_BYTES: usize = size_of::<c_long>();

/// A message as `msgsnd` and `msgrcv` see it: the type, then the text.
#[repr(C)]
#[derive(Debug)]
pub struct Message {
    pub mtype: c_long,
    pub mtext: [u8; MAX_TEXT],
}

impl Message {
    /// A message of `mtype` holding `text` (at most `MAX_TEXT` bytes).
    pub fn new(mtype: c_long, text: &[u8]) -> Self {
        let mut message = Self::empty();
        let len = text.len().min(MAX_TEXT);
        message.mtype = mtype;
        message.mtext[..len].copy_from_slice(&text[..len]);
        message
    }

    /// A buffer for `msgrcv` to fill.
    pub fn empty() -> Self {
        Self {
            mtype: 0,
            mtext: [0; MAX_TEXT],
        }
    }
}

/// `msgsnd(id, message, len, flags)`: the kernel copies the type and `len`
/// bytes of text into a message of its own, and queues it.
pub fn msgsnd(id: c_int, message: &Message, len: usize, flags: c_int) -> Result<(), Errno> {
    let len = len.min(MAX_TEXT);
    // SAFETY: `message` is a `#[repr(C)]` struct that starts with the `long`
    // type msgsnd reads, followed by `len` <= MAX_TEXT bytes of text.
    let sent = unsafe { libc::msgsnd(id, ptr::from_ref(message).cast(), len, flags) };
    Errno::result(sent).map(drop)
}

/// `msgrcv(id, message, MAX_TEXT, mtype, flags)`: the first message that
/// `mtype` selects (0: any; n > 0: type n; n < 0: the lowest type up to
/// -n) is copied out into `message` and removed from the queue. Returns the
/// length of its text.
pub fn msgrcv(
    id: c_int,
    message: &mut Message,
    mtype: c_long,
    flags: c_int,
) -> Result<usize, Errno> {
    // SAFETY: msgrcv writes the `long` type and at most MAX_TEXT bytes of
    // text, which is exactly what the `#[repr(C)]` struct behind `message`
    // holds.
    let received =
        unsafe { libc::msgrcv(id, ptr::from_mut(message).cast(), MAX_TEXT, mtype, flags) };
    Errno::result(received).map(|n| n.unsigned_abs())
}

/// The message at `index` (0 is the oldest), copied without removing it:
/// Linux's `msgrcv(MSG_COPY | IPC_NOWAIT)`, where the type argument is the
/// index. `Ok(None)` past the last one; `ENOSYS` from a kernel built
/// without it (it needs `CONFIG_CHECKPOINT_RESTORE`).
pub fn peek(id: c_int, index: usize) -> Result<Option<(c_long, Vec<u8>)>, Errno> {
    let mut message = Message::empty();
    let index = c_long::try_from(index).map_err(|_| Errno::EINVAL)?;
    match msgrcv(id, &mut message, index, libc::MSG_COPY | IPC_NOWAIT) {
        Ok(len) => Ok(Some((message.mtype, message.mtext[..len].to_vec()))),
        Err(Errno::ENOMSG) => Ok(None),
        Err(errno) => Err(errno),
    }
}

/// A message queue this run created. `remove` is `msgctl(IPC_RMID)`; if the
/// controller leaves early (an error or a panic), dropping it removes it.
#[derive(Debug)]
pub struct Queue {
    id: c_int,
}

impl Queue {
    /// `msgget(IPC_PRIVATE, IPC_CREAT | 0600)`: a new queue that no other
    /// program can find by key, and only its owner can use.
    pub fn create() -> Result<Self, SysError> {
        // SAFETY: msgget takes no pointers.
        let id = unsafe { libc::msgget(IPC_PRIVATE, IPC_CREAT | 0o600) };
        let id = Errno::result(id).perror("msgget")?;
        Ok(Self { id })
    }

    pub fn id(&self) -> c_int {
        self.id
    }

    /// Gives the guard up without removing the queue: someone else did.
    pub fn forget(self) {
        std::mem::forget(self);
    }

    /// Removes the queue, once: the guard is not dropped afterwards.
    pub fn remove(self) -> Result<(), SysError> {
        msgctl_rmid(ManuallyDrop::new(self).id).perror("msgctl(IPC_RMID)")
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        if let Err(errno) = msgctl_rmid(self.id) {
            let id = self.id;
            common::note!(
                "msgctl(IPC_RMID): {}; remove queue {id} with `ipcrm -q {id}`",
                errno.desc()
            );
        }
    }
}

/// `msgctl(IPC_STAT)` of queue `id`.
pub fn stat(id: c_int) -> Result<libc::msqid_ds, SysError> {
    // SAFETY: msqid_ds is plain data, for which all zeroes is valid.
    let mut ds: libc::msqid_ds = unsafe { std::mem::zeroed() };
    // SAFETY: IPC_STAT writes one msqid_ds into `ds`, which is one.
    let done = unsafe { libc::msgctl(id, IPC_STAT, &raw mut ds) };
    Errno::result(done).perror("msgctl(IPC_STAT)")?;
    Ok(ds)
}

/// `msgctl(IPC_SET)` with a new `msg_qbytes`: how many bytes of text queue
/// `id` may hold before `msgsnd` has to wait.
pub fn set_limit(id: c_int, bytes: u64) -> Result<(), SysError> {
    let mut ds = stat(id)?;
    ds.msg_qbytes = bytes;
    // SAFETY: IPC_SET reads one msqid_ds from `ds`, which is one.
    let done = unsafe { libc::msgctl(id, IPC_SET, &raw mut ds) };
    Errno::result(done).perror("msgctl(IPC_SET)").map(drop)
}

/// `kernel.msgmnb`: the largest `msg_qbytes` that a process without
/// `CAP_SYS_RESOURCE` may set, and every new queue's limit.
pub fn msgmnb() -> String {
    std::fs::read_to_string("/proc/sys/kernel/msgmnb")
        .map_or_else(|_| "unknown".to_owned(), |text| text.trim().to_owned())
}

fn msgctl_rmid(id: c_int) -> Result<(), Errno> {
    // SAFETY: IPC_RMID ignores the buffer argument, so null is allowed.
    let removed = unsafe { libc::msgctl(id, IPC_RMID, ptr::null_mut()) };
    Errno::result(removed).map(drop)
}

/// Whether a message of type `sent` is one that `msgrcv(type = wanted)` takes.
pub fn selects(wanted: c_long, sent: c_long) -> bool {
    match wanted {
        0 => true,
        w if w > 0 => sent == w,
        w => sent <= w.saturating_neg(),
    }
}

/// How `msgrcv` reads a type argument: "type 3", "any type", "the lowest type up to 3".
pub fn describe_type(wanted: c_long) -> String {
    match wanted {
        0 => "any type".to_owned(),
        w if w > 0 => format!("type {w}"),
        w => format!("the lowest type up to {}", w.saturating_neg()),
    }
}

/// "1 byte", "5 bytes".
pub fn bytes(n: usize) -> String {
    match n {
        1 => "1 byte".to_owned(),
        n => format!("{n} bytes"),
    }
}

/// What the kernel copies for a message with `len` bytes of text: "13 bytes
/// (8-byte type + 5-byte text)".
pub fn copied(len: usize) -> String {
    format!(
        "{} ({TYPE_BYTES}-byte type + {len}-byte text)",
        bytes(TYPE_BYTES + len)
    )
}

/// `text` as the transcript shows it: in quotes, with any byte that is not
/// printable ASCII escaped.
pub fn quoted(text: &[u8]) -> String {
    format!("\"{}\"", text.escape_ascii())
}

/// `EIDRM (Identifier removed)`.
pub fn failure(errno: Errno) -> String {
    format!("{errno:?} ({})", errno.desc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msgrcv_types_select_as_the_manual_says() {
        assert!(selects(0, 7));
        assert!(selects(3, 3));
        assert!(!selects(3, 2));
        assert!(selects(-3, 1));
        assert!(selects(-3, 3));
        assert!(!selects(-3, 4));
    }
}
