//! What `msgqueue` adds to its listing, beside it: what the C leaves to luck,
//! and the safe wrappers of the listing's calls.
//!
//! - One run per key, and a crashed run's queue reclaimed instead of shared:
//!   [`common::sysv`] (the same for the three System V examples).
//! - `msgsnd` and `msgrcv` with the struct's layout checked by the compiler.
//! - Another program on the queue noticed, not suffered (the C listing, run
//!   at the same key, gets this queue): a message that is not the one the
//!   other process of the run sends, a message left over or taken by
//!   someone else, and a wait that only another process can have made
//!   endless. One line says so, exit 1.

use std::ptr;
use std::time::Duration;

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
/// text with its NUL. A send that waits (the queue is full) is [watched](watched).
pub fn msgsnd(msgid: c_int, msg: &Message) -> Result<(), Errno> {
    let size = msg.text_bytes().len() + 1;
    watched(|flags| {
        // SAFETY: `msg` points to a `#[repr(C)]` struct that starts with the
        // `long` type msgsnd reads, followed by `size` <= 100 bytes of text.
        let sent = unsafe { libc::msgsnd(msgid, ptr::from_ref(msg).cast(), size, flags) };
        Errno::result(sent).map(drop)
    })
}

/// `msgrcv(msgid, msg, sizeof(msg.msg_text), msg_type, 0)`: waits for the
/// first message of `msg_type` and moves it into `msg`; the wait is
/// [watched](watched).
pub fn msgrcv(msgid: c_int, msg: &mut Message, msg_type: c_long) -> Result<(), Errno> {
    let size = msg.msg_text.len();
    watched(|flags| {
        let buffer = ptr::from_mut(&mut *msg).cast();
        // SAFETY: msgrcv writes the `long` type and at most `size` bytes of
        // text, which is exactly what the `#[repr(C)]` struct behind `msg` holds.
        let received = unsafe { libc::msgrcv(msgid, buffer, size, msg_type, flags) };
        Errno::result(received).map(drop)
    })
}

/// How long a wait in `msgsnd` or `msgrcv` goes before it looks whether
/// another program took the message waited for (or filled the queue).
const PATIENCE: Duration = Duration::from_secs(1);

/// Runs `call(0)`, a `msgsnd` or `msgrcv` that may wait, with a one-shot
/// timer (`setitimer`, whose SIGALRM interrupts it): each time it fires, the
/// queue is looked at, and if another process has sent to it or taken from
/// it, the wait ends (`EDEADLK`, and the one line of
/// [`sysv::interfered`]); else `EINTR` lets [`common::blocking`] go on
/// waiting. The run's own processes can be slow or stopped (Ctrl-Z) for
/// as long as they like: that is not interference.
///
/// An interrupted call is tried once more at once (`call(IPC_NOWAIT)`):
/// the message it waited for may have come while the process was stopped,
/// from a child that has ended since, and `blocking` stops waiting once the
/// child is gone.
fn watched(mut call: impl FnMut(c_int) -> Result<(), Errno>) -> Result<(), Errno> {
    // After Ctrl-C the timer is `common::interrupt`'s: leave it alone.
    let own_timer = common::interrupt::received().is_none();
    if own_timer {
        set_timer(PATIENCE);
    }
    let result = call(0);
    if own_timer && common::interrupt::received().is_none() {
        set_timer(Duration::ZERO);
    }
    if result != Err(Errno::EINTR) {
        return result;
    }
    if let Some(what) = sysv::others_using() {
        let _ = sysv::interfered(what);
        return Err(Errno::EDEADLK);
    }
    match call(libc::IPC_NOWAIT) {
        Err(Errno::ENOMSG | Errno::EAGAIN) => Err(Errno::EINTR),
        done => done,
    }
}

/// `setitimer(ITIMER_REAL)`: one SIGALRM after `after` (zero: none).
fn set_timer(after: Duration) {
    let after = libc::timeval {
        tv_sec: after.as_secs() as libc::time_t,
        tv_usec: after.subsec_micros() as libc::suseconds_t,
    };
    let once = libc::itimerval {
        it_interval: libc::timeval {
            tv_sec: 0,
            tv_usec: 0,
        },
        it_value: after,
    };
    // SAFETY: `once` is a valid itimerval, and the old value is not asked
    // for (null). `common::main` installed the SIGALRM handler, which only
    // interrupts.
    unsafe { libc::setitimer(libc::ITIMER_REAL, &once, ptr::null_mut()) };
}

/// The message the run's other process sends with each type: the parent's
/// type 1, the child's type 2 (the texts of `main.rs`).
fn expected(msg_type: c_long) -> Option<&'static str> {
    match msg_type {
        1 => Some("Hello from the parent process!"),
        2 => Some("Hello from the child process!"),
        _ => None,
    }
}

/// Checks that `msg`, just received, is the one the run's other process
/// sends: a message with another text came from another program.
pub fn sent_by_the_other(msg: &Message) -> anyhow::Result<()> {
    if expected(msg.msg_type) == Some(msg.text().as_str()) {
        return Ok(());
    }
    Err(sysv::interfered(format!(
        "a message the run did not send came out of it, {:?} (type {}): \
         another program is using it",
        msg.text(),
        msg.msg_type
    )))
}

/// At the end of the exchange (the reply received, the queue not yet
/// removed): the queue is empty, and nobody but the run's two processes
/// sent to it or took from it last. Else another program used it, and
/// the transcript may not be the run's own.
pub fn used_by_this_run_only(msgid: c_int) -> anyhow::Result<()> {
    if let Ok(stat) = sysv::queue_stat(msgid)
        && stat.msg_qnum > 0
    {
        return Err(sysv::interfered(format!(
            "{} message(s) left in it at the end: another program is using it",
            stat.msg_qnum
        )));
    }
    match sysv::others_using() {
        Some(what) => Err(sysv::interfered(what)),
        None => Ok(()),
    }
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
