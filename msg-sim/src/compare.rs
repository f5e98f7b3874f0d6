//! `compare`, the controller's side: the same hand-over, A gives B one
//! short text, done twice by the real processes: through a message queue
//! (the kernel carries the text) and through a shared memory segment (A
//! stores it, B loads it, and a futex word tells B when it is there). The
//! controller creates a queue and a segment for the comparison alone, and
//! removes both right after, so the session's queue is left as it was.
//! What A and B do for it is in [`crate::worker`].
//!
//! In both, B is asleep before A starts (the controller waits until the
//! kernel shows it asleep), so every run makes the same calls.

use std::mem::size_of;

use crate::peers::{Peers, State};
use crate::queue::{Queue, bytes, quoted};
use crate::segment::{Handoff, Segment};

/// The queue and the segment made for one comparison.
#[derive(Debug, Default)]
struct Made {
    queue: Option<Queue>,
    segment: Option<Segment>,
}

/// Runs the comparison for `text` and prints the two side by side.
pub fn compare(peers: &mut Peers, text: &str) -> anyhow::Result<()> {
    if let Some(hint) = peers.both_idle("compare") {
        return peers.console.say(hint);
    }
    let mut made = Made::default();
    let result = hand_overs(peers, text, &mut made);
    if result.is_err() {
        // Leaving early (stdout failed, Ctrl-C): A and B go first, so that
        // B does not wake to find the queue or segment removed under it
        // and say so, before `made` removes them.
        peers.a.link.end();
        peers.b.link.end();
    }
    result
}

/// The comparison itself; what it creates goes into `made`, and is
/// removed at its end.
fn hand_overs(peers: &mut Peers, text: &str, made: &mut Made) -> anyhow::Result<()> {
    let len = text.len();
    peers.console.say(format_args!(
        "compare: A hands B {} ({}), first through a message queue, then through shared memory",
        quoted(text.as_bytes()),
        bytes(len)
    ))?;

    // 1. Through a message queue of its own.
    let queue = made.queue.insert(Queue::create()?);
    peers.console.say(format_args!(
        "message queue {} (msgget by the controller):",
        queue.id()
    ))?;
    peers.order('B', &format!("compare-mq-recv {}", queue.id()), "  ")?;
    peers.report_asleep('B', libc::SYS_msgrcv, "msgrcv", "  ")?;
    let mq_a = peers.order('A', &format!("compare-mq-send {} {text}", queue.id()), "  ")?;
    let mq_b = peers.settle('B', "  ")?;
    peers.b.state = State::Idle;

    // 2. Through a shared memory segment of its own.
    let segment = made.segment.insert(Segment::create()?);
    peers.console.say(format_args!(
        "shared memory segment {} ({} bytes, shmget by the controller):",
        segment.id,
        size_of::<Handoff>()
    ))?;
    peers.order('B', &format!("compare-shm-recv {}", segment.id), "  ")?;
    peers.report_asleep('B', libc::SYS_futex, "futex", "  ")?;
    let shm_a = peers.order(
        'A',
        &format!("compare-shm-send {} {text}", segment.id),
        "  ",
    )?;
    let shm_b = peers.settle('B', "  ")?;
    peers.b.state = State::Idle;

    // Side by side, from what A and B reported.
    let row = |what: &str, mq: String, shm: String| {
        peers.console.say(format_args!("  {what:<26}{mq:<30}{shm}"))
    };
    peers.console.say("side by side:")?;
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
    peers.console.say(
        "after the setup (msgget; shmget and shmat), each further message costs the queue 2 system \
         calls and 2 copies by the kernel; shared memory costs loads and stores, and futex calls \
         only when B has to sleep",
    )?;

    let (queue_id, segment_id) = (queue.id(), segment.id);
    if let Some(queue) = made.queue.take() {
        queue.remove()?;
    }
    if let Some(segment) = made.segment.take() {
        segment.remove()?;
    }
    peers.console.say(format_args!(
        "compare's queue {queue_id} and segment {segment_id} removed (msgctl and shmctl IPC_RMID)"
    ))
}
