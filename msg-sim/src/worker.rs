//! What Process A and Process B do, each in its own forked process: carry
//! out the commands the controller forwards with `msgsnd` and `msgrcv` on
//! the queue, and say which system call they made and what the kernel
//! copied.
//!
//! A send or receive is first tried with `IPC_NOWAIT`, so that the process
//! can tell the controller it is about to sleep before it calls again
//! without it and sleeps in the kernel.

use anyhow::bail;
use common::blocking;
use libc::{IPC_NOWAIT, c_int, c_long};
use nix::errno::Errno;

use crate::compare;
use crate::queue::{Message, copied, describe_type, msgrcv, msgsnd};
use sim::link::Worker;

/// The worker's loop: one command at a time, until the controller closes
/// the command pipe.
pub fn work(mut link: Worker, queue: c_int) -> anyhow::Result<()> {
    link.say(format!(
        "{} is ready; it knows the queue by its id, {queue}",
        link.tag()
    ))?;
    link.done()?;

    while let Some(command) = link.next_command()? {
        let words: Vec<&str> = command.splitn(3, ' ').collect();
        match words[..] {
            ["send", mtype, text] => send(&mut link, queue, mtype.parse()?, text)?,
            ["recv", mtype] => receive(&mut link, queue, mtype.parse()?)?,
            ["compare-mq-recv", id] => compare::mq_receive(&mut link, id.parse()?)?,
            ["compare-mq-send", id, text] => compare::mq_send(&mut link, id.parse()?, text)?,
            ["compare-shm-recv", id] => compare::shm_receive(&mut link, id.parse()?)?,
            ["compare-shm-send", id, text] => compare::shm_send(&mut link, id.parse()?, text)?,
            _ => bail!("unknown command {command:?}"),
        }
        link.done()?;
    }
    link.say(format!("{} exits", link.tag()))
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

/// Sends `text` as a message of `mtype`; sleeps in `msgsnd` while the
/// queue has no room for it.
fn send(link: &mut Worker, queue: c_int, mtype: c_long, text: &str) -> anyhow::Result<()> {
    let tag = link.tag();
    let len = text.len();
    let message = Message::new(mtype, text.as_bytes());
    let call = format!(
        "msgsnd(queue {queue}, type {mtype}, {})",
        quoted(text.as_bytes())
    );
    match msgsnd(queue, &message, len, IPC_NOWAIT) {
        Ok(()) => link.say(format!(
            "{tag}: {call}: 1 system call; the kernel copied {} into the kernel",
            copied(len)
        ))?,
        Err(Errno::EAGAIN) => {
            link.say(format!(
                "{tag}: {call} with IPC_NOWAIT fails with EAGAIN: the queue has no room for {len} more bytes"
            ))?;
            link.say(format!(
                "{tag} calls msgsnd again without IPC_NOWAIT, and sleeps in the kernel until there is room"
            ))?;
            link.blocked()?;
            match blocking(|| msgsnd(queue, &message, len, 0)) {
                Ok(()) => link.say(format!(
                    "{tag} woke: msgsnd returned; the kernel copied {} into the kernel",
                    copied(len)
                ))?,
                Err(errno) => {
                    return link.say(format!("{tag} woke: msgsnd failed with {}", failure(errno)));
                }
            }
        }
        Err(errno) => return link.say(format!("{tag}: {call} failed with {}", failure(errno))),
    }
    link.fact("sent", u64::try_from(len)?)
}

/// Receives the first message that `mtype` selects; sleeps in `msgrcv`
/// while there is none.
fn receive(link: &mut Worker, queue: c_int, mtype: c_long) -> anyhow::Result<()> {
    let tag = link.tag();
    let mut message = Message::empty();
    let call = format!("msgrcv(queue {queue}, {})", describe_type(mtype));
    let len = match msgrcv(queue, &mut message, mtype, IPC_NOWAIT) {
        Ok(len) => {
            link.say(format!(
                "{tag}: {call}: 1 system call; got type {}, {}; the kernel copied {} out of the kernel",
                message.mtype,
                quoted(&message.mtext[..len]),
                copied(len)
            ))?;
            len
        }
        Err(Errno::ENOMSG) => {
            link.say(format!(
                "{tag}: {call} with IPC_NOWAIT fails with ENOMSG: no such message is queued"
            ))?;
            link.say(format!(
                "{tag} calls msgrcv again without IPC_NOWAIT, and sleeps in the kernel until one arrives"
            ))?;
            link.blocked()?;
            match blocking(|| msgrcv(queue, &mut message, mtype, 0)) {
                Ok(len) => {
                    link.say(format!(
                        "{tag} woke: msgrcv returned type {}, {}; the kernel copied {} out of the kernel",
                        message.mtype,
                        quoted(&message.mtext[..len]),
                        copied(len)
                    ))?;
                    len
                }
                Err(errno) => {
                    return link.say(format!("{tag} woke: msgrcv failed with {}", failure(errno)));
                }
            }
        }
        Err(errno) => return link.say(format!("{tag}: {call} failed with {}", failure(errno))),
    };
    link.fact("received", u64::try_from(len)?)
}
