//! The session's state machine: the controller reads a command, forwards it
//! to A or B, and knows the kernel's rules for who wakes whom: a message
//! that `msgrcv`'s type selects wakes a receiver asleep for it, and room in
//! the queue (`msg_fits_inqueue`) wakes a sender asleep in `msgsnd`. After
//! a command that wakes a sleeper it waits for the sleeper's report, so the
//! transcript prints each event where it must happen.

use std::fmt;

use common::SysError;
use libc::{c_int, c_long};
use nix::errno::Errno;
use sim::console::{Console, Input};
use sim::link::Link;

use crate::command::{COMMANDS, Command, parse};
use crate::compare::compare;
use crate::peers::{Outcome, Peers, State, other};
use crate::queue::{self, Queue, bytes, describe_type, selects};
use crate::view::show;

/// The controller's session. Fields drop in order: A and B are killed and
/// reaped before the queue is removed.
#[derive(Debug)]
pub struct Sim {
    pub peers: Peers,
    id: c_int,
    pub queue: Option<Queue>,
}

impl Sim {
    pub fn new(console: Console, a: Link, b: Link, queue: Queue) -> Self {
        Self {
            peers: Peers::new(console, a, b),
            id: queue.id(),
            queue: Some(queue),
        }
    }

    pub fn session(&mut self) -> anyhow::Result<()> {
        // Each process reports once it is ready.
        self.peers.settle('A', "")?;
        self.peers.settle('B', "")?;
        self.peers.console.say("Type help for the commands.")?;

        loop {
            // While it waits for a command, the controller also watches A
            // and B: one asleep may be woken by someone else, and one that
            // ends ends the session.
            let watch = [
                self.peers.a.link.reports_fd(),
                self.peers.b.link.reports_fd(),
            ];
            let line = match self.peers.console.read_command(&watch)? {
                Input::Command(line) => line,
                Input::End => return Ok(()),
                Input::Event(n) => {
                    let who = if n == 0 { 'A' } else { 'B' };
                    self.settle_woken(who)?;
                    continue;
                }
            };
            match parse(&line) {
                Ok(None) => {}
                Ok(Some(Command::Quit)) => return Ok(()),
                Ok(Some(command)) => {
                    if let Err(error) = self.run(command) {
                        return Err(self.explain(error));
                    }
                }
                Err(hint) => self.peers.console.say(hint)?,
            }
        }
    }

    fn run(&mut self, command: Command) -> anyhow::Result<()> {
        match command {
            Command::Send { who, mtype, text } => self.send(who, mtype, &text),
            Command::Receive { who, mtype } => self.receive(who, mtype),
            Command::Show => show(&mut self.peers, self.id),
            Command::Limit(limit) => self.limit(limit),
            Command::Compare(text) => compare(&mut self.peers, &text),
            Command::Help => self.peers.console.say(COMMANDS),
            Command::Quit => Ok(()),
        }
    }

    fn send(&mut self, who: char, mtype: c_long, text: &str) -> anyhow::Result<()> {
        if let Some(hint) = self.peers.busy(who) {
            return self.peers.console.say(hint);
        }
        let outcome = self.peers.order(who, &format!("send {mtype} {text}"), "")?;
        self.check_failure(&outcome, |errno| {
            format!("{who}'s msgsnd failed with {errno:?}")
        })?;
        if outcome.blocked {
            self.peers.process(who).state = State::Sending(mtype, text.len());
            self.peers
                .report_asleep(who, libc::SYS_msgsnd, "msgsnd", "")?;
            return self.both_asleep();
        }
        if outcome.fact("sent") > 0 {
            self.sent(who, mtype)?;
        }
        Ok(())
    }

    /// After `who` sent a message of `mtype`: the other process, asleep in
    /// msgrcv, wakes if this is a message it takes, for the kernel hands
    /// the message straight to it.
    fn sent(&mut self, who: char, mtype: c_long) -> anyhow::Result<()> {
        let other = other(who);
        if let State::Receiving(wanted) = self.peers.process(other).state
            && selects(wanted, mtype)
        {
            let tag = self.peers.process(other).link.tag();
            self.peers.console.say(format_args!(
                "{tag} waits for {}: the kernel hands it {who}'s message and wakes it",
                describe_type(wanted)
            ))?;
            self.settle_woken(other)?;
        }
        Ok(())
    }

    fn receive(&mut self, who: char, mtype: c_long) -> anyhow::Result<()> {
        if let Some(hint) = self.peers.busy(who) {
            return self.peers.console.say(hint);
        }
        let before = queue::stat(self.id)?;
        let outcome = self.peers.order(who, &format!("recv {mtype}"), "")?;
        self.check_failure(&outcome, |errno| {
            format!("{who}'s msgrcv failed with {errno:?}")
        })?;
        if outcome.blocked {
            self.peers.process(who).state = State::Receiving(mtype);
            self.peers
                .report_asleep(who, libc::SYS_msgrcv, "msgrcv", "")?;
            return self.both_asleep();
        }
        // The other process, asleep in msgsnd, wakes if its message fits
        // now: the kernel checks the same sums.
        let other = other(who);
        if let State::Sending(_, len) = self.peers.process(other).state
            && outcome.facts.iter().any(|(name, _)| name == "received")
        {
            let queued = before.__msg_cbytes.saturating_sub(outcome.fact("received"));
            let count = before.msg_qnum.saturating_sub(1);
            if fits(queued, count, len, before.msg_qbytes) {
                self.wake_sender(other)?;
            }
        }
        Ok(())
    }

    /// `msgctl(IPC_SET)`: a new limit, which may wake a sleeping sender.
    fn limit(&mut self, limit: u64) -> anyhow::Result<()> {
        if let (State::Sending(..), State::Sending(..)) = (self.peers.a.state, self.peers.b.state) {
            return self.peers.console.say(
                "A and B are both asleep in msgsnd: a new limit would wake both in a race; quit ends them",
            );
        }
        let old = queue::stat(self.id)?.msg_qbytes;
        if let Err(error) = queue::set_limit(self.id, limit) {
            if error.errno() != Some(Errno::EPERM) {
                return Err(error.into());
            }
            // Above kernel.msgmnb, only a privileged process may go.
            return self.peers.console.say(format_args!(
                "limit {limit}: msgctl(IPC_SET) fails with EPERM: only a privileged process \
                 (CAP_SYS_RESOURCE) may set a limit above kernel.msgmnb, {} here; the limit stays {old}",
                queue::msgmnb()
            ));
        }
        self.peers.console.say(format_args!(
            "msgctl(queue {}, IPC_SET): msg_qbytes {old} -> {limit}: the queue now holds at most {limit} bytes of text",
            self.id
        ))?;
        let now = queue::stat(self.id)?;
        for who in ['A', 'B'] {
            if let State::Sending(_, len) = self.peers.process(who).state
                && fits(now.__msg_cbytes, now.msg_qnum, len, now.msg_qbytes)
            {
                self.wake_sender(who)?;
            }
        }
        Ok(())
    }

    /// `who`, asleep in msgsnd, has room now: the kernel wakes it, and its
    /// message may in turn wake the other process.
    fn wake_sender(&mut self, who: char) -> anyhow::Result<()> {
        let State::Sending(mtype, len) = self.peers.process(who).state else {
            return Ok(());
        };
        let tag = self.peers.process(who).link.tag();
        self.peers.console.say(format_args!(
            "the queue has room now for the {} that {tag} sends: the kernel wakes it",
            bytes(len)
        ))?;
        let outcome = self.settle_woken(who)?;
        if outcome.fact("sent") > 0 {
            self.sent(who, mtype)?;
        }
        Ok(())
    }

    /// Prints the report of `who`, which was asleep in the queue and woke;
    /// if it woke because the queue is gone, that ends the session.
    fn settle_woken(&mut self, who: char) -> anyhow::Result<Outcome> {
        let call = self.peers.process(who).state.call().unwrap_or("its call");
        let outcome = self.peers.settle(who, "")?;
        self.peers.process(who).state = State::Idle;
        let tag = self.peers.process(who).link.tag();
        self.check_failure(&outcome, |errno| {
            format!("{tag} woke from {call} with {errno:?}")
        })?;
        Ok(outcome)
    }

    /// After a process reported that its call failed (with the `errno`
    /// fact): if the queue is gone, the session ends with
    /// [`QueueRemoved`], whose reason `how(errno)` says.
    fn check_failure(
        &mut self,
        outcome: &Outcome,
        how: impl FnOnce(Errno) -> String,
    ) -> anyhow::Result<()> {
        match i32::try_from(outcome.fact("errno")).map(Errno::from_raw) {
            Ok(Errno::UnknownErrno) | Err(_) => Ok(()),
            Ok(errno) => self.check_queue(how(errno)),
        }
    }

    /// Whether the queue is still there (`msgctl(IPC_STAT)`); if it is
    /// not, someone else removed it, which ends the session: `how` says
    /// how the controller found out.
    fn check_queue(&mut self, how: String) -> anyhow::Result<()> {
        match queue::stat(self.id).map_err(|error| error.errno()) {
            Err(Some(Errno::EINVAL | Errno::EIDRM)) => {
                // Nothing left to remove: the guard goes without a word.
                if let Some(queue) = self.queue.take() {
                    queue.forget();
                }
                Err(QueueRemoved { id: self.id, how }.into())
            }
            _ => Ok(()),
        }
    }

    /// A command's error: a call on the queue that failed because the queue
    /// is gone becomes [`QueueRemoved`]; any other error is kept.
    fn explain(&mut self, error: anyhow::Error) -> anyhow::Error {
        let failed = error
            .downcast_ref::<SysError>()
            .and_then(|sys| Some((sys.call().to_owned(), sys.errno()?)));
        match failed {
            Some((call, errno @ (Errno::EINVAL | Errno::EIDRM))) => {
                match self.check_queue(format!("{call} failed with {errno:?}")) {
                    Err(removed) => removed,
                    Ok(()) => error,
                }
            }
            _ => error,
        }
    }

    /// Says so when neither process can take a command.
    fn both_asleep(&mut self) -> anyhow::Result<()> {
        let states = [self.peers.a.state, self.peers.b.state];
        if states.iter().all(|&state| state != State::Idle) {
            // A larger limit wakes a sender; with both asleep in msgsnd, it
            // would wake both in a race, which `limit` refuses.
            let senders = states
                .iter()
                .filter(|state| matches!(state, State::Sending(..)))
                .count();
            let way_out = if senders == 1 {
                "a larger limit, or quit"
            } else {
                "only quit"
            };
            self.peers.console.say(format_args!(
                "A and B are both asleep: neither can make the call that would wake the other \
                 (a deadlock; {way_out} ends it)"
            ))?;
        }
        Ok(())
    }

    /// Quit: wake whoever sleeps on the queue by removing it, then let A
    /// and B exit, then remove the queue if it is still there.
    pub fn quit(mut self) -> anyhow::Result<()> {
        let asleep: Vec<char> = ['A', 'B']
            .into_iter()
            .filter(|&who| self.peers.process(who).state != State::Idle)
            .collect();
        if !asleep.is_empty() {
            // A process asleep on the queue never reads its command pipe
            // again; removing the queue is what wakes it (EIDRM). The
            // kernel removes the queue at once, whoever waits on it.
            for &who in &asleep {
                let tag = self.peers.process(who).link.tag();
                self.peers.console.say(format_args!(
                    "{tag} is asleep on the queue: removing the queue wakes it"
                ))?;
            }
            if let Some(queue) = self.queue.take() {
                queue.remove().map_err(|error| removed(self.id, error))?;
                self.peers
                    .console
                    .say(format_args!("queue {} removed (msgctl IPC_RMID)", self.id))?;
            }
            for who in asleep {
                self.peers.settle(who, "")?;
            }
        }
        let Sim { peers, id, queue } = self;
        let Peers { console, a, b } = peers;
        for process in [a, b] {
            for line in process.link.finish()? {
                console.say(line)?;
            }
        }
        if let Some(queue) = queue {
            queue.remove().map_err(|error| removed(id, error))?;
            console.say(format_args!("queue {id} removed (msgctl IPC_RMID)"))?;
        }
        Ok(())
    }
}

/// The queue was removed from outside the session (`ipcrm -q`, or another
/// program's `msgctl(IPC_RMID)`): A and B can do nothing more with it, so
/// the session ends, with this one line. `how` says how the controller
/// found out.
#[derive(Debug)]
pub struct QueueRemoved {
    id: c_int,
    how: String,
}

impl fmt::Display for QueueRemoved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let QueueRemoved { id, how } = self;
        write!(
            f,
            "queue {id} was removed from outside the session (ipcrm -q {id}, or msgctl IPC_RMID \
             in another program): {how}; A and B ended"
        )
    }
}

impl std::error::Error for QueueRemoved {}

/// `msgctl(IPC_RMID)` at quit failed: with `EINVAL` or `EIDRM`, the queue
/// was already gone, removed from outside.
fn removed(id: c_int, error: SysError) -> anyhow::Error {
    match error.errno() {
        Some(errno @ (Errno::EINVAL | Errno::EIDRM)) => QueueRemoved {
            id,
            how: format!("{} failed with {errno:?}", error.call()),
        }
        .into(),
        _ => error.into(),
    }
}

/// Whether a message of `len` bytes fits a queue holding `queued` bytes in
/// `count` messages, under limit `limit`: the kernel's own test
/// (`msg_fits_inqueue` in ipc/msg.c) for letting a sender go on.
fn fits(queued: u64, count: u64, len: usize, limit: u64) -> bool {
    let len = u64::try_from(len).unwrap_or(u64::MAX);
    queued.saturating_add(len) <= limit && count.saturating_add(1) <= limit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sender_goes_on_when_the_kernel_says_it_fits() {
        assert!(fits(10, 2, 6, 16));
        assert!(!fits(10, 2, 7, 16));
        // Linux also counts messages against the limit.
        assert!(!fits(0, 3, 0, 3));
    }
}
