//! A and B as the controller sees them: the link to each, what each is
//! doing ([`State`]), and the console their reports are printed on.
//! [`Peers::order`] forwards one command and prints the report until the
//! process is done or asleep; [`Peers::report_asleep`] says it is asleep
//! once `/proc` shows it.

use libc::c_long;
use sim::console::Console;
use sim::link::{Link, Report};

use crate::probe::wait_asleep;
use crate::queue::{bytes, describe_type};

/// The console, and A and B. Fields drop in order: the console, then A and
/// B (killed and reaped).
#[derive(Debug)]
pub struct Peers {
    pub console: Console,
    pub a: Process,
    pub b: Process,
}

/// A or B, and what the controller knows it is doing.
#[derive(Debug)]
pub struct Process {
    pub link: Link,
    pub state: State,
}

impl Process {
    fn new(link: Link) -> Self {
        Self {
            link,
            state: State::Idle,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Waiting for the controller's next command.
    Idle,
    /// Asleep in `msgrcv`, for a message that this type selects.
    Receiving(c_long),
    /// Asleep in `msgsnd` with a message of this type and length, until
    /// the queue has room for it.
    Sending(c_long, usize),
}

impl State {
    /// The call a process in this state is asleep in.
    pub fn call(self) -> Option<&'static str> {
        match self {
            State::Idle => None,
            State::Receiving(_) => Some("msgrcv"),
            State::Sending(..) => Some("msgsnd"),
        }
    }
}

/// What a process reported for one command.
#[derive(Debug, Default)]
pub struct Outcome {
    pub blocked: bool,
    pub facts: Vec<(String, u64)>,
}

impl Outcome {
    pub fn fact(&self, name: &str) -> u64 {
        self.facts
            .iter()
            .find(|(n, _)| n == name)
            .map_or(0, |&(_, v)| v)
    }
}

/// 'B' for 'A', 'A' for 'B'.
pub fn other(who: char) -> char {
    if who == 'A' { 'B' } else { 'A' }
}

impl Peers {
    pub fn new(console: Console, a: Link, b: Link) -> Self {
        Self {
            console,
            a: Process::new(a),
            b: Process::new(b),
        }
    }

    pub fn process(&mut self, who: char) -> &mut Process {
        if who == 'A' { &mut self.a } else { &mut self.b }
    }

    /// Forwards `command` to `who`, and prints its report until it is done
    /// or asleep.
    pub fn order(&mut self, who: char, command: &str, indent: &str) -> anyhow::Result<Outcome> {
        self.process(who).link.send(command)?;
        self.settle(who, indent)
    }

    /// Prints what `who` reports (each line after `indent`) until it has
    /// finished its command or is about to sleep in a system call.
    pub fn settle(&mut self, who: char, indent: &str) -> anyhow::Result<Outcome> {
        let mut outcome = Outcome::default();
        loop {
            match self.process(who).link.next_report()? {
                Report::Say(line) => self.console.say(format_args!("{indent}{line}"))?,
                Report::Fact(name, value) => outcome.facts.push((name, value)),
                Report::Blocked => {
                    outcome.blocked = true;
                    return Ok(outcome);
                }
                Report::Done => return Ok(outcome),
            }
        }
    }

    /// Once `who` said it is going to sleep in `call`: waits until the
    /// kernel shows it asleep there, and says so.
    pub fn report_asleep(
        &mut self,
        who: char,
        syscall: c_long,
        call: &str,
        indent: &str,
    ) -> anyhow::Result<()> {
        let link = &self.process(who).link;
        let (tag, pid) = (link.tag(), link.pid());
        let line = if wait_asleep(link, syscall)? {
            format!("{tag} is asleep in {call} (state S, as /proc/{pid}/stat shows)")
        } else {
            format!("{tag} is blocked in {call}")
        };
        // At the prompt, the controller goes on taking commands.
        let tail = if indent.is_empty() {
            "; the controller takes commands meanwhile"
        } else {
            ""
        };
        self.console.say(format_args!("{indent}{line}{tail}"))
    }

    /// The hint for a command to a process that is asleep, if it is: what
    /// would wake it, which depends on what the other process is doing.
    pub fn busy(&mut self, who: char) -> Option<String> {
        let tag = self.process(who).link.tag();
        let other = other(who);
        let (state, other_state) = (self.process(who).state, self.process(other).state);
        let waiting = match state {
            State::Idle => return None,
            State::Receiving(mtype) => format!("msgrcv, waiting for {}", describe_type(mtype)),
            State::Sending(_, len) => format!("msgsnd, waiting for room for {}", bytes(len)),
        };
        let way_out = match (state, other_state) {
            (State::Receiving(_), State::Idle) => {
                format!("try: {} send <text>", other.to_ascii_lowercase())
            }
            (_, State::Idle) => {
                format!("try: {} recv, or limit <bytes>", other.to_ascii_lowercase())
            }
            // A deadlock: a larger limit wakes the one sender, whose
            // message may wake the other; with no sender or two (which
            // `limit` refuses to wake in a race), only quit ends it.
            (State::Sending(..), State::Receiving(_))
            | (State::Receiving(_), State::Sending(..)) => {
                format!("{other} is asleep too; try: limit <bytes>, or quit")
            }
            _ => format!("{other} is asleep too: a deadlock that only quit ends"),
        };
        Some(format!(
            "{tag} is asleep in {waiting}; it takes commands again once it wakes ({way_out})"
        ))
    }

    /// The hint for a command that needs A and B both awake.
    pub fn both_idle(&mut self, command: &str) -> Option<String> {
        let busy = self.busy('A').or_else(|| self.busy('B'))?;
        Some(format!("{command} needs A and B awake: {busy}"))
    }
}
