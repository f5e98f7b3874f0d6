//! # msgqueue: a System V message queue
//!
//! The tutorial's "Message Queue Example", ported line for line from
//! `shared/reference/c/msgqueue.c`. The parent creates a queue and forks;
//! it sends a message of type 1, which the child receives and answers with a
//! message of type 2. Message types let two conversations share one queue:
//! each process asks `msgrcv` for the type meant for it. The kernel keeps
//! each message until it is received, so the order in which the two
//! processes get to the queue does not matter.
//!
//! ```text
//! cargo run -p msgqueue [FTOK_PATH]     # the key is ftok(FTOK_PATH, 'b'); default .
//! ```
//!
//! prints (the queue id varies, and the child's first line may come before
//! or after "Parent sent message"):
//!
//! ```text
//! Message queue created: 2
//! Parent sent message
//! Child waiting for message...
//! Child received: Hello from the parent process!
//! Parent received: Hello from the child process!
//! Message queue removed
//! ```
//!
//! | C | Rust | what changes |
//! |---|---|---|
//! | `ftok(".", 'b')` | [`common::ftok`] | the path is the optional argument |
//! | (none) | `leftover::claim` | one run per key at a time: a second run exits 1 and leaves the first alone |
//! | `msgget(key, IPC_CREAT \| 0666)` | `libc::msgget(key, IPC_CREAT \| IPC_EXCL \| 0o600)` in `Queue::create` | owner-only; a queue already at the key is never silently shared: `reclaim_leftover` removes a crashed run's (with a notice) and leaves anything else alone (exit 1) |
//! | `struct message` | `#[repr(C)] struct Message` | the same layout |
//! | `msgsnd`, `msgrcv` | `libc::msgsnd`, `libc::msgrcv` inside [`common::blocking`] | retried when a signal interrupts them; not after Ctrl-C, nor once the child is gone |
//! | `fork()` | `nix::unistd::fork`; the child's part is `child`, ended by [`common::run_child`] | the child never returns into `main` |
//! | `wait(NULL)` | [`common::Child::wait`] | a child that failed makes the parent fail |
//! | `msgctl(msgid, IPC_RMID, NULL)` | `Queue::remove`; `Drop` on every other path | the queue is removed even after an error, a panic, Ctrl-C or SIGTERM (exit 130 or 143, with a one-line notice) |
//! | `perror("msgsnd"); exit(1);` | `.perror("msgsnd")?` | printed by [`common::main`], exit status 1 |

use std::ffi::OsString;
use std::mem::ManuallyDrop;
use std::process::ExitCode;
use std::ptr;

use std::mem::MaybeUninit;

use common::leftover::{self, Found};
use common::{Child, Perror, blocking, ftok, key_taken_hint, note, run_child, say};
use libc::{IPC_CREAT, IPC_EXCL, IPC_RMID, c_int, c_long, key_t};
use nix::errno::Errno;
use nix::unistd::{ForkResult, fork};

/// What to do about a queue at our key that is not ours to remove.
const ADVICE: &str = "choose another FTOK_PATH";

const HELP: &str = "\
Usage: msgqueue [FTOK_PATH]
A parent and a forked child exchange messages through a System V message queue.
The queue's key is ftok(FTOK_PATH, 'b'); FTOK_PATH must exist (default: .).
";

// Define message structure
#[repr(C)]
struct Message {
    msg_type: c_long,
    msg_text: [u8; 100],
}

fn main() -> ExitCode {
    common::main(HELP, ".", run)
}

fn run(ftok_path: OsString) -> anyhow::Result<()> {
    // Generate a unique key for message queue
    let key = ftok(&ftok_path, b'b')?;

    // (One run at a time per key: a second run stops here, and an old
    // queue at the key can only be a crashed run's; see common::leftover.)
    let _claim = leftover::claim(
        &format!("msgqueue {key:#010x}"),
        &format_args!("message queue key {key:#010x}"),
        ADVICE,
    )?;

    // Create the message queue
    let queue = Queue::create(key)?;

    say!("Message queue created: {}", queue.id)?;

    // SAFETY: the process is single-threaded, so the child's copy of it holds
    // no lock that another thread was holding. Each line printed so far is
    // already written out (see `say!`), so the child cannot print it again.
    let child = match unsafe { fork() }.perror("fork")? {
        ForkResult::Child => run_child(|| child(queue.id)),
        ForkResult::Parent { child } => Child::watch(child)?,
    };

    // Parent process: send message
    let msg = Message::new(1, "Hello from the parent process!"); // Message type for child

    // Send the message
    blocking(|| msgsnd(queue.id, &msg)).perror("msgsnd")?;

    say!("Parent sent message")?;

    // Receive response from child
    let mut msg = Message::empty();
    blocking(|| msgrcv(queue.id, &mut msg, 2)).perror("msgrcv")?;

    say!("Parent received: {}", msg.text())?;

    // Wait for child to finish
    child.wait()?;

    // Remove the message queue
    queue.remove().perror("msgctl")?;

    say!("Message queue removed")?;
    Ok(())
}

/// The child's part: receive the parent's message, answer it.
fn child(msgid: c_int) -> anyhow::Result<()> {
    // Child process: receive message
    say!("Child waiting for message...")?;

    // Receive message
    let mut msg = Message::empty();
    blocking(|| msgrcv(msgid, &mut msg, 1)).perror("msgrcv")?;

    say!("Child received: {}", msg.text())?;

    // Send a response back to parent
    let msg = Message::new(2, "Hello from the child process!"); // Different message type for parent
    blocking(|| msgsnd(msgid, &msg)).perror("msgsnd")?;

    Ok(())
}

impl Message {
    /// A message of `msg_type` holding `text` and its terminating NUL, as
    /// `strcpy(msg.msg_text, text)` leaves it.
    fn new(msg_type: c_long, text: &str) -> Self {
        let mut msg = Self::empty();
        assert!(text.len() < msg.msg_text.len(), "message text too long");
        msg.msg_type = msg_type;
        msg.msg_text[..text.len()].copy_from_slice(text.as_bytes());
        msg
    }

    /// A buffer for `msgrcv` to fill.
    fn empty() -> Self {
        Self {
            msg_type: 0,
            msg_text: [0; 100],
        }
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
    fn text(&self) -> String {
        String::from_utf8_lossy(self.text_bytes()).into_owned()
    }
}

/// `msgsnd(msgid, msg, strlen(msg.msg_text) + 1, 0)`: sends the type and the
/// text with its NUL.
fn msgsnd(msgid: c_int, msg: &Message) -> Result<(), Errno> {
    let size = msg.text_bytes().len() + 1;
    // SAFETY: `msg` points to a `#[repr(C)]` struct that starts with the
    // `long` type msgsnd reads, followed by `size` <= 100 bytes of text.
    let sent = unsafe { libc::msgsnd(msgid, ptr::from_ref(msg).cast(), size, 0) };
    Errno::result(sent).map(drop)
}

/// `msgrcv(msgid, msg, sizeof(msg.msg_text), msg_type, 0)`: waits for the
/// first message of `msg_type` and moves it into `msg`.
fn msgrcv(msgid: c_int, msg: &mut Message, msg_type: c_long) -> Result<(), Errno> {
    let size = msg.msg_text.len();
    // SAFETY: msgrcv writes the `long` type and at most `size` bytes of text,
    // which is exactly what the `#[repr(C)]` struct behind `msg` holds.
    let received = unsafe { libc::msgrcv(msgid, ptr::from_mut(msg).cast(), size, msg_type, 0) };
    Errno::result(received).map(drop)
}

/// The message queue this process created: `remove` is the listing's
/// `msgctl(msgid, IPC_RMID, NULL)`. If the parent leaves before that (an
/// error or a panic), dropping the queue removes it. Only the parent owns a
/// `Queue`; the child gets the id alone, so it can never remove the queue.
struct Queue {
    id: c_int,
    key: key_t,
}

impl Queue {
    /// `msgget(key, IPC_CREAT | IPC_EXCL | 0600)`: a new queue that only its
    /// owner can use. With `IPC_EXCL`, a queue already at the key is never
    /// shared: if a crashed run left it, it is removed and the queue made
    /// again; anything else is an error, and the queue is left alone.
    fn create(key: key_t) -> anyhow::Result<Self> {
        let mut created = msgget_new(key);
        if created == Err(Errno::EEXIST) {
            reclaim_leftover(key)?;
            created = msgget_new(key);
        }
        let id = created.perror("msgget").map_err(|e| {
            e.hint_for(Errno::EEXIST, || key_taken_hint("message queue", 'q', key))
                .hint_for(Errno::ENOSPC, || {
                    "the system's limit on message queues (kernel.msgmni) is reached; \
                     `ipcs -q` lists them"
                        .to_owned()
                })
        })?;
        Ok(Self { id, key })
    }

    /// Removes the queue, once: the guard is not dropped afterwards.
    fn remove(self) -> Result<(), Errno> {
        let this = ManuallyDrop::new(self);
        msgctl_rmid(this.id, this.key)
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        if let Err(errno) = msgctl_rmid(self.id, self.key) {
            let id = self.id;
            note!(
                "msgctl: {}; remove queue {id} with `ipcrm -q {id}`",
                errno.desc()
            );
        }
    }
}

fn msgget_new(key: key_t) -> Result<c_int, Errno> {
    // SAFETY: msgget takes no pointers.
    Errno::result(unsafe { libc::msgget(key, IPC_CREAT | IPC_EXCL | 0o600) })
}

/// The queue at `key` when this run holds the key's claim: `msgctl
/// IPC_STAT` says whose it is; a crashed run's is removed, with a notice.
fn reclaim_leftover(key: key_t) -> anyhow::Result<()> {
    // SAFETY: msgget takes no pointers; flags 0 look the queue up.
    let id = Errno::result(unsafe { libc::msgget(key, 0) }).perror("msgget")?;
    let object = format!("message queue {key:#010x} (id {id})");
    let mut stat = MaybeUninit::<libc::msqid_ds>::zeroed();
    // SAFETY: IPC_STAT writes one msqid_ds into `stat`, which has room for it.
    let done = unsafe { libc::msgctl(id, libc::IPC_STAT, stat.as_mut_ptr()) };
    match Errno::result(done) {
        Err(Errno::EACCES) => return Err(leftover::unreadable(&object, ADVICE)),
        result => result.perror("msgctl IPC_STAT")?,
    };
    // SAFETY: msgctl succeeded, so it filled the struct (and it was zeroed).
    let stat = unsafe { stat.assume_init() };
    leftover::judge(&Found {
        object: object.clone(),
        owner: stat.msg_perm.uid,
        mode: stat.msg_perm.mode.into(),
        size: None,
        users: 0,
        pids: vec![stat.msg_lspid, stat.msg_lrpid],
        advice: ADVICE,
    })?;
    msgctl_rmid(id, key).perror("msgctl IPC_RMID")?;
    leftover::reclaimed(&object);
    Ok(())
}

fn msgctl_rmid(msgid: c_int, key: key_t) -> Result<(), Errno> {
    // SAFETY: IPC_RMID ignores the buffer argument, so null is allowed.
    let removed = unsafe { libc::msgctl(msgid, IPC_RMID, ptr::null_mut()) };
    Errno::result(removed)?;
    common::removed(format!("message queue {key:#010x} (id {msgid})"));
    Ok(())
}

#[cfg(test)]
mod guard {
    use super::*;
    use tests::TestDir;
    use tests::sysv::{Kind, find};

    #[test]
    fn remove_removes_the_queue() {
        let dir = TestDir::new();
        let key = dir.ftok_key(b'b');
        let queue = Queue::create(key).unwrap();
        assert!(find(Kind::Msg, key).is_some());
        queue.remove().unwrap();
        assert!(find(Kind::Msg, key).is_none());
    }

    #[test]
    fn a_panic_removes_the_queue_on_its_way_out() {
        let dir = TestDir::new();
        let key = dir.ftok_key(b'b');
        let unwound = std::panic::catch_unwind(|| {
            let _queue = Queue::create(key).unwrap();
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

#[cfg(test)]
mod bad_input {
    use std::os::unix::ffi::OsStringExt;

    use super::*;

    #[test]
    fn a_path_with_a_nul_byte_is_one_clear_error() {
        // A command line cannot hold one; this is what any other caller gets.
        let error = run(OsString::from_vec(b"a\0b".to_vec())).unwrap_err();
        assert_eq!(
            format!("{error:#}"),
            "ftok(\"a\\0b\", 'b'): Invalid argument"
        );
    }
}
