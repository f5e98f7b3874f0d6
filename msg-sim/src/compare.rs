//! `compare`: the same hand-over, A gives B one short text, done twice by
//! the real processes: through a message queue (the kernel carries the
//! text) and through a shared memory segment (A stores it, B loads it, and
//! a futex word tells B when it is there). The controller creates a queue
//! and a segment for the comparison alone, and removes both right after,
//! so the session's queue is left as it was.
//!
//! In both, B is asleep before A starts (the controller waits until the
//! kernel shows it asleep), so every run makes the same calls.

use std::mem::{ManuallyDrop, size_of};
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicU8, AtomicU32, Ordering};

use common::{Perror, SysError, blocking, futex};
use libc::{IPC_CREAT, IPC_PRIVATE, IPC_RMID, c_int};
use nix::errno::Errno;

use crate::queue::{MAX_TEXT, Message, Queue, TYPE_BYTES, bytes, copied, msgrcv, msgsnd};
use crate::worker::quoted;
use crate::{Sim, State};
use sim::link::Worker;

/// The compare segment: a ready word (0 until A has stored the text, a
/// futex word B sleeps on), the text's length, the text.
#[repr(C)]
#[derive(Debug)]
struct Handoff {
    ready: AtomicU32,
    len: AtomicU32,
    text: [AtomicU8; MAX_TEXT],
}

impl Sim {
    /// Runs the comparison for `text` and prints the two side by side.
    pub(crate) fn compare(&mut self, text: &str) -> anyhow::Result<()> {
        if let Some(hint) = self.both_idle("compare") {
            return self.console.say(hint);
        }
        let len = text.len();
        self.console.say(format_args!(
            "compare: A hands B {} ({}), first through a message queue, then through shared memory",
            quoted(text.as_bytes()),
            bytes(len)
        ))?;

        // 1. Through a message queue of its own.
        let queue = Queue::create()?;
        self.console.say(format_args!(
            "message queue {} (msgget by the controller):",
            queue.id()
        ))?;
        self.order('B', &format!("compare-mq-recv {}", queue.id()), "  ")?;
        self.report_asleep('B', libc::SYS_msgrcv, "msgrcv", "  ")?;
        let mq_a = self.order('A', &format!("compare-mq-send {} {text}", queue.id()), "  ")?;
        let mq_b = self.settle('B', "  ")?;
        self.b.state = State::Idle;

        // 2. Through a shared memory segment of its own.
        let segment = Segment::create()?;
        self.console.say(format_args!(
            "shared memory segment {} ({} bytes, shmget by the controller):",
            segment.id,
            size_of::<Handoff>()
        ))?;
        self.order('B', &format!("compare-shm-recv {}", segment.id), "  ")?;
        self.report_asleep('B', libc::SYS_futex, "futex", "  ")?;
        let shm_a = self.order(
            'A',
            &format!("compare-shm-send {} {text}", segment.id),
            "  ",
        )?;
        let shm_b = self.settle('B', "  ")?;
        self.b.state = State::Idle;

        // Side by side, from what A and B reported.
        let row = |what: &str, mq: String, shm: String| {
            self.console.say(format_args!("  {what:<26}{mq:<30}{shm}"))
        };
        self.console.say("side by side:")?;
        row("", "message queue".into(), "shared memory".into())?;
        row(
            "system calls by A",
            format!("{} (msgsnd)", mq_a.fact("calls")),
            format!("{} (shmat, futex wake, shmdt)", shm_a.fact("calls")),
        )?;
        let waits = shm_b.fact("waits");
        row(
            "system calls by B",
            format!("{} (msgrcv)", mq_b.fact("calls")),
            format!(
                "{} (shmat, {waits} futex wait{}, shmdt)",
                shm_b.fact("calls"),
                if waits == 1 { "" } else { "s" }
            ),
        )?;
        row(
            "bytes the kernel copied",
            format!(
                "{} ({} in, {} out)",
                mq_a.fact("copied") + mq_b.fact("copied"),
                mq_a.fact("copied"),
                mq_b.fact("copied")
            ),
            format!("{}", shm_a.fact("copied") + shm_b.fact("copied")),
        )?;
        row(
            "who moves the text",
            "the kernel: A -> kernel -> B".into(),
            "A's stores; B loads it in place".into(),
        )?;
        self.console.say(
            "after the setup (msgget; shmget and shmat), each further message costs the queue 2 system \
             calls and 2 copies by the kernel; shared memory costs loads and stores, and futex calls \
             only when B has to sleep",
        )?;

        let (queue_id, segment_id) = (queue.id(), segment.id);
        queue.remove()?;
        segment.remove()?;
        self.console.say(format_args!(
            "compare's queue {queue_id} and segment {segment_id} removed (msgctl and shmctl IPC_RMID)"
        ))
    }
}

// What B and A do, in their own processes.

/// B's side through the queue: sleep in `msgrcv` until A's message comes.
pub fn mq_receive(link: &mut Worker, queue: c_int) -> anyhow::Result<()> {
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
pub fn mq_send(link: &mut Worker, queue: c_int, text: &str) -> anyhow::Result<()> {
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
pub fn shm_receive(link: &mut Worker, segment: c_int) -> anyhow::Result<()> {
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
pub fn shm_send(link: &mut Worker, segment: c_int, text: &str) -> anyhow::Result<()> {
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

/// The comparison's segment, removed right after it (or on the way out).
#[derive(Debug)]
struct Segment {
    id: c_int,
}

impl Segment {
    /// `shmget(IPC_PRIVATE, size_of::<Handoff>(), IPC_CREAT | 0600)`.
    fn create() -> Result<Self, SysError> {
        // SAFETY: shmget takes no pointers.
        let id = unsafe { libc::shmget(IPC_PRIVATE, size_of::<Handoff>(), IPC_CREAT | 0o600) };
        let id = Errno::result(id).perror("shmget")?;
        Ok(Self { id })
    }

    fn remove(self) -> Result<(), SysError> {
        shmctl_rmid(ManuallyDrop::new(self).id).perror("shmctl(IPC_RMID)")
    }
}

impl Drop for Segment {
    fn drop(&mut self) {
        if let Err(errno) = shmctl_rmid(self.id) {
            let id = self.id;
            common::note!(
                "shmctl(IPC_RMID): {}; remove segment {id} with `ipcrm -m {id}`",
                errno.desc()
            );
        }
    }
}

fn shmctl_rmid(id: c_int) -> Result<(), Errno> {
    // SAFETY: IPC_RMID ignores the buffer argument, so null is allowed.
    let removed = unsafe { libc::shmctl(id, IPC_RMID, ptr::null_mut()) };
    Errno::result(removed).map(drop)
}

/// The segment attached in A or B, detached when done.
#[derive(Debug)]
struct Attached {
    addr: NonNull<Handoff>,
}

impl Attached {
    fn attach(id: c_int) -> Result<Self, SysError> {
        // SAFETY: with a null address the kernel chooses where to map the
        // segment, so no mapping of ours is replaced.
        let addr = unsafe { libc::shmat(id, ptr::null(), 0) };
        if addr == libc::MAP_FAILED {
            return Err(SysError::new("shmat", Errno::last()));
        }
        let addr =
            NonNull::new(addr.cast()).ok_or_else(|| SysError::new("shmat", Errno::EFAULT))?;
        Ok(Self { addr })
    }

    fn handoff(&self) -> &Handoff {
        // SAFETY: the segment is size_of::<Handoff>() bytes, page-aligned,
        // and mapped while `self` is borrowed; Handoff is all atomics, valid
        // for any bytes (shmget zero-fills) and shareable between processes.
        unsafe { self.addr.as_ref() }
    }

    fn detach(self) -> Result<(), SysError> {
        let addr = ManuallyDrop::new(self).addr;
        shmdt(addr).perror("shmdt")
    }
}

impl Drop for Attached {
    fn drop(&mut self) {
        // Leaving early: the kernel detaches at exit anyway.
        let _ = shmdt(self.addr);
    }
}

fn shmdt(addr: NonNull<Handoff>) -> Result<(), Errno> {
    // SAFETY: `addr` is what shmat returned, and no reference into the
    // mapping outlives the `Attached` that is being given up.
    let done = unsafe { libc::shmdt(addr.as_ptr().cast()) };
    Errno::result(done).map(drop)
}
