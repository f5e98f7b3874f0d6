//! What `msgqueue` adds to its listing, beside it: what the C leaves to luck,
//! and the safe wrappers of the listing's calls.
//!
//! - One run per key, and a crashed run's queue reclaimed instead of shared:
//!   [`common::sysv`] (the same for the three System V examples).
//! - `msgsnd` and `msgrcv` with the struct's layout checked by the compiler.

use std::ptr;

use common::sysv::{self, Kind};
use libc::{c_int, c_long, key_t};
use nix::errno::Errno;

use crate::Message;

/// Runs `msgget`, the listing's call with `IPC_CREAT | IPC_EXCL`: a queue
/// already at the key is never shared. A crashed run's is removed (with a
/// notice) and `msgget` runs again; anything else is left alone (exit 1).
pub fn create(key: key_t, msgget: impl FnMut() -> Result<c_int, Errno>) -> anyhow::Result<c_int> {
    sysv::create_reclaiming(Kind::Msg, key, None, msgget)
}

impl Message {
    /// `struct message msg;`, zeroed: a buffer for `msgrcv` to fill.
    pub fn empty() -> Self {
        Self {
            msg_type: 0,
            msg_text: [0; 100],
        }
    }

    /// `strcpy(msg.msg_text, text)`: the text and its terminating NUL.
    pub fn strcpy(&mut self, text: &str) {
        assert!(text.len() < self.msg_text.len(), "message text too long");
        self.msg_text[..text.len()].copy_from_slice(text.as_bytes());
        self.msg_text[text.len()] = 0;
    }

    /// The text up to its NUL: what `strlen(msg.msg_text)` counts.
    fn text_bytes(&self) -> &[u8] {
        let len = self
            .msg_text
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(self.msg_text.len());
        &self.msg_text[..len]
    }

    /// The text as `printf("%s", msg.msg_text)` prints it.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(self.text_bytes()).into_owned()
    }
}

/// `msgsnd(msgid, msg, strlen(msg.msg_text) + 1, 0)`: sends the type and the
/// text with its NUL.
pub fn msgsnd(msgid: c_int, msg: &Message) -> Result<(), Errno> {
    let size = msg.text_bytes().len() + 1;
    // SAFETY: `msg` points to a `#[repr(C)]` struct that starts with the
    // `long` type msgsnd reads, followed by `size` <= 100 bytes of text.
    let sent = unsafe { libc::msgsnd(msgid, ptr::from_ref(msg).cast(), size, 0) };
    Errno::result(sent).map(drop)
}

/// `msgrcv(msgid, msg, sizeof(msg.msg_text), msg_type, 0)`: waits for the
/// first message of `msg_type` and moves it into `msg`.
pub fn msgrcv(msgid: c_int, msg: &mut Message, msg_type: c_long) -> Result<(), Errno> {
    let size = msg.msg_text.len();
    // SAFETY: msgrcv writes the `long` type and at most `size` bytes of text,
    // which is exactly what the `#[repr(C)]` struct behind `msg` holds.
    let received = unsafe { libc::msgrcv(msgid, ptr::from_mut(msg).cast(), size, msg_type, 0) };
    Errno::result(received).map(drop)
}

#[cfg(test)]
mod guard {
    use common::sysv::{Kind as Object, Owned, msgctl, msgget};
    use libc::{IPC_CREAT, IPC_EXCL, IPC_RMID};

    use super::*;
    use tests::TestDir;
    use tests::sysv::{Kind, find};

    /// The queue as `run` creates it, and its guard.
    fn new_queue(key: key_t) -> Owned {
        let msgid = create(key, || msgget(key, IPC_CREAT | IPC_EXCL | 0o600)).unwrap();
        Owned::adopt(Object::Msg, key, msgid)
    }

    #[test]
    fn remove_removes_the_queue() {
        let dir = TestDir::new();
        let key = dir.ftok_key(b'b');
        let queue = new_queue(key);
        assert!(find(Kind::Msg, key).is_some());
        queue.remove(|msgid| msgctl(msgid, IPC_RMID)).unwrap();
        assert!(find(Kind::Msg, key).is_none());
    }

    #[test]
    fn a_panic_removes_the_queue_on_its_way_out() {
        let dir = TestDir::new();
        let key = dir.ftok_key(b'b');
        let unwound = std::panic::catch_unwind(|| {
            let _queue = new_queue(key);
            let created = find(Kind::Msg, key).is_some();
            if created {
                panic!("a bug after msgget");
            }
        });
        assert!(
            unwound.is_err(),
            "the queue was created, then the panic unwound"
        );
        assert!(find(Kind::Msg, key).is_none());
    }
}
