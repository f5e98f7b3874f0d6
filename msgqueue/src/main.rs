//! # msgqueue: a System V message queue
//!
//! The tutorial's "Message Queue Example" (`c/msgqueue.c`), line for line. The
//! parent creates a queue and forks; it sends a message of type 1, which the
//! child receives and answers with a message of type 2. Message types let two
//! conversations share one queue: each process asks `msgrcv` for its own type.
//! The kernel keeps each message until it is received.
//!
//! ```text
//! cargo run -p msgqueue [FTOK_PATH]     # the key is ftok(FTOK_PATH, 'b'); default .
//! ```
//!
//! prints (the id varies; the child's first line may come before the parent's):
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
//! | C | Rust |
//! |---|---|
//! | `ftok(".", 'b')` | [`common::ftok`]; the path is the optional argument |
//! | `msgget(key, IPC_CREAT \| 0666)` | `msgget(key, IPC_CREAT \| IPC_EXCL \| 0o600)` |
//! | `struct message` | `#[repr(C)] struct Message`, the same layout |
//! | `strcpy(msg.msg_text, ...)` | `msg.strcpy(...)` |
//! | `msgsnd(...)`, `msgrcv(...)` | the same calls, inside [`common::blocking`] |
//! | `wait(NULL)` | [`common::Child::wait`]: a child that failed fails the parent |
//! | `msgctl(msgid, IPC_RMID, NULL)` | `queue.remove(\|msgid\| msgctl(msgid, IPC_RMID))` |
//! | `perror("msgsnd"); exit(1);` | `.perror("msgsnd")?`, printed by [`common::main`] |
//!
//! **Beyond the listing** (`robust.rs`; [`common::sysv`] for all System V
//! examples): the queue is owner-only and never silently shared: one run per
//! key, and a queue at the key is reclaimed only if a crashed run provably
//! left it. `blocking` retries a call a signal interrupted, but not after
//! Ctrl-C, nor once the child is gone. A guard removes the queue on every path
//! (an error, a panic, Ctrl-C or SIGTERM: exit 130/143, with a notice).
//! `ipcrm`, or another program sending or taking messages on it (the C listing
//! at the same key gets this queue), ends the run with one line, exit 1.

mod robust;

use std::ffi::OsString;
use std::process::ExitCode;

use common::sysv::{self, Kind, Owned, msgctl, msgget};
use common::{Child, Perror, blocking, ftok, run_child, say};
use libc::{IPC_CREAT, IPC_EXCL, IPC_RMID, c_int, c_long};
use nix::unistd::{ForkResult, fork};
use robust::{msgrcv, msgsnd};

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
    let mut msg = Message::empty();

    // Generate a unique key for message queue
    let key = ftok(&ftok_path, b'b')?;

    // One run per key at a time (common::sysv)
    let _claim = sysv::claim("msgqueue", Kind::Msg, key)?;

    // Create the message queue
    // (a crashed run's queue at the key is reclaimed first: robust.rs)
    let msgid = robust::create(key, || msgget(key, IPC_CREAT | IPC_EXCL | 0o600))?;
    let queue = Owned::adopt(Kind::Msg, key, msgid); // removes it on every path

    say!("Message queue created: {msgid}")?;

    // SAFETY: single-threaded here, so the child inherits no held lock; every
    // line so far is written out (`say!`), so the child cannot print it again.
    let child = match unsafe { fork() }.perror("fork")? {
        ForkResult::Child => run_child(|| child(msgid, msg)),
        ForkResult::Parent { child } => Child::watch(child)?,
    };

    // Parent process: send message
    msg.msg_type = 1; // Message type for child
    msg.strcpy("Hello from the parent process!");

    // Send the message
    blocking(|| msgsnd(msgid, &msg)).perror("msgsnd")?;

    say!("Parent sent message")?;

    // Receive response from child
    blocking(|| msgrcv(msgid, &mut msg, 2)).perror("msgrcv")?;
    // It is the child's reply, not another program's (robust.rs)
    robust::sent_by_the_other(&msg)?;

    say!("Parent received: {}", msg.text())?;

    // Nobody else used the queue meanwhile (robust.rs)
    robust::used_by_this_run_only(msgid)?;

    // Wait for child to finish
    child.wait()?;

    // Remove the message queue
    queue
        .remove(|msgid| msgctl(msgid, IPC_RMID))
        .perror("msgctl")?;

    say!("Message queue removed")?;
    Ok(())
}

fn child(msgid: c_int, mut msg: Message) -> anyhow::Result<()> {
    // Child process: receive message
    say!("Child waiting for message...")?;

    // Receive message
    blocking(|| msgrcv(msgid, &mut msg, 1)).perror("msgrcv")?;
    // It is the parent's message, not another program's (robust.rs)
    robust::sent_by_the_other(&msg)?;

    say!("Child received: {}", msg.text())?;

    // Send a response back to parent
    msg.msg_type = 2; // Different message type for parent
    msg.strcpy("Hello from the child process!");

    blocking(|| msgsnd(msgid, &msg)).perror("msgsnd")?;

    Ok(())
}

#[cfg(test)]
mod bad_input {
    #[test]
    fn a_path_with_a_nul_byte_is_one_clear_error() {
        // A command line cannot hold one; this is what any other caller gets.
        tests::sysv::assert_nul_in_path_is_one_error(super::run, 'b');
    }
}
