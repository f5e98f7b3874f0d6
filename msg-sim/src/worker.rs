//! What Process A and Process B do, each in its own forked process: carry
//! out the commands the controller forwards with `msgsnd` and `msgrcv` on
//! the queue, and say which system call they made and what the kernel
//! copied.
//!
//! A send or receive is first tried with `IPC_NOWAIT`, so that the process
//! can tell the controller it is about to sleep before it calls again
//! without it and sleeps in the kernel.
//!
//! For `compare`, B receives and A sends the same text twice: once through
//! a queue of the comparison's own (`msgrcv`, `msgsnd`), once through its
//! shared memory segment (`shmat`, loads and stores, a futex word, `shmdt`).

use std::sync::atomic::Ordering;

use anyhow::bail;
use common::{Perror, SysError, blocking, futex};
use libc::{IPC_NOWAIT, c_int, c_long};
use nix::errno::Errno;

use crate::queue::{
    self, MAX_TEXT, Message, TYPE_BYTES, bytes, copied, describe_type, failure, msgrcv, msgsnd,
    quoted,
};
use crate::segment::Attached;
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
            ["compare-mq-recv", id] => mq_receive(&mut link, id.parse()?)?,
            ["compare-mq-send", id, text] => mq_send(&mut link, id.parse()?, text)?,
            ["compare-shm-recv", id] => shm_receive(&mut link, id.parse()?)?,
            ["compare-shm-send", id, text] => shm_send(&mut link, id.parse()?, text)?,
            _ => bail!("unknown command {command:?}"),
        }
        link.done()?;
    }
    link.say(format!("{} exits", link.tag()))
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
            // The kernel lets a sender on only once its message fits under
            // the limit (msg_fits_inqueue): one larger than the limit never
            // does, and no receive makes room for it.
            let limit = match queue::stat(queue) {
                Ok(ds) => ds.msg_qbytes,
                Err(error) => return failed(link, &format!("{tag}: {error}"), error.errno()),
            };
            if u64::try_from(len)? > limit {
                let name = tag.chars().next().unwrap_or('?');
                return link.say(format!(
                    "{tag}: {} are more than the queue's limit, msg_qbytes {limit} (msgctl IPC_STAT): \
                     the message can never fit, and msgsnd without IPC_NOWAIT would sleep forever, \
                     so {name} does not call it (limit {len} or more first)",
                    bytes(len)
                ));
            }
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
                    let line = format!("{tag} woke: msgsnd failed with {}", failure(errno));
                    return failed(link, &line, Some(errno));
                }
            }
        }
        Err(errno) => {
            let line = format!("{tag}: {call} failed with {}", failure(errno));
            return failed(link, &line, Some(errno));
        }
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
                    let line = format!("{tag} woke: msgrcv failed with {}", failure(errno));
                    return failed(link, &line, Some(errno));
                }
            }
        }
        Err(errno) => {
            let line = format!("{tag}: {call} failed with {}", failure(errno));
            return failed(link, &line, Some(errno));
        }
    };
    link.fact("received", u64::try_from(len)?)
}

/// Says how a call failed, and tells the controller its `errno`, for it to
/// find out whether the queue is gone.
fn failed(link: &mut Worker, line: &str, errno: Option<Errno>) -> anyhow::Result<()> {
    link.say(line)?;
    let errno = errno.map_or(0, |errno| errno as i32);
    link.fact("errno", u64::try_from(errno)?)
}

// compare: what B and A do for each of its two hand-overs.

/// B's side through the queue: sleep in `msgrcv` until A's message comes.
fn mq_receive(link: &mut Worker, queue: c_int) -> anyhow::Result<()> {
    let tag = link.tag();
    link.say(format!(
        "{tag}: msgrcv(queue {queue}, type 1): the queue is empty, so B sleeps in the kernel"
    ))?;
    link.blocked()?;
    let mut message = Message::empty();
    let len = blocking(|| msgrcv(queue, &mut message, 1, 0)).perror("msgrcv")?;
    link.say(format!(
        "{tag} woke: msgrcv returned {}; the kernel copied {} out of the kernel into B's buffer",
        quoted(&message.mtext[..len]),
        copied(len)
    ))?;
    link.fact("calls", 1)?;
    link.fact("copied", u64::try_from(TYPE_BYTES + len)?)
}

/// A's side through the queue: one `msgsnd`.
fn mq_send(link: &mut Worker, queue: c_int, text: &str) -> anyhow::Result<()> {
    let message = Message::new(1, text.as_bytes());
    blocking(|| msgsnd(queue, &message, text.len(), 0)).perror("msgsnd")?;
    link.say(format!(
        "{}: msgsnd(queue {queue}, type 1, {}): the kernel copied {} from A's buffer into the kernel",
        link.tag(),
        quoted(text.as_bytes()),
        copied(text.len())
    ))?;
    link.fact("calls", 1)?;
    link.fact("copied", u64::try_from(TYPE_BYTES + text.len())?)
}

/// B's side through shared memory: attach, sleep on the ready word until A
/// sets it, load the text where A stored it, detach.
fn shm_receive(link: &mut Worker, segment: c_int) -> anyhow::Result<()> {
    let tag = link.tag();
    let attached = Attached::attach(segment)?;
    let handoff = attached.handoff();
    link.say(format!(
        "{tag}: shmat(segment {segment}); futex(FUTEX_WAIT) on the ready word: B sleeps in the kernel until A sets it"
    ))?;
    link.blocked()?;
    let mut waits = 0;
    while handoff.ready.load(Ordering::Acquire) == 0 {
        waits += 1;
        match futex::wait(&handoff.ready, 0) {
            Ok(()) | Err(Errno::EINTR) => {}
            Err(errno) => return Err(SysError::new("futex(FUTEX_WAIT)", errno).into()),
        }
    }
    let len = usize::try_from(handoff.len.load(Ordering::Relaxed))?.min(MAX_TEXT);
    let text: Vec<u8> = handoff.text[..len]
        .iter()
        .map(|b| b.load(Ordering::Relaxed))
        .collect();
    attached.detach()?;
    link.say(format!(
        "{tag} woke: loaded {} from the segment (plain loads: no system call, nothing copied by the kernel); shmdt",
        quoted(&text)
    ))?;
    link.fact("calls", 2 + waits)?;
    link.fact("waits", waits)?;
    link.fact("copied", 0)
}

/// A's side through shared memory: attach, store the text and its length,
/// set the ready word and wake B, detach.
fn shm_send(link: &mut Worker, segment: c_int, text: &str) -> anyhow::Result<()> {
    let attached = Attached::attach(segment)?;
    let handoff = attached.handoff();
    let len = text.len().min(MAX_TEXT);
    for (byte, &value) in handoff.text.iter().zip(&text.as_bytes()[..len]) {
        byte.store(value, Ordering::Relaxed);
    }
    handoff.len.store(u32::try_from(len)?, Ordering::Relaxed);
    // Release: B, seeing ready == 1, also sees the text stored before it.
    handoff.ready.store(1, Ordering::Release);
    futex::wake_all(&handoff.ready).perror("futex(FUTEX_WAKE)")?;
    attached.detach()?;
    link.say(format!(
        "{}: shmat(segment {segment}); stored {} into it (plain stores: no system call); futex(FUTEX_WAKE) for B; shmdt",
        link.tag(),
        quoted(text.as_bytes())
    ))?;
    link.fact("calls", 3)?;
    link.fact("copied", 0)
}
