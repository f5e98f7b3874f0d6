//! # msg-sim: the tutorial's "Message Passing Simulation", with real processes
//!
//! The tutorial's interactive simulation "Message Passing Simulation": send
//! messages between processes, observe how the kernel manages the
//! communication, and compare with the shared memory approach. Here
//! Process A and Process B are two real processes, forked by this program,
//! and the messages go through a real System V message queue. You type
//! commands; the controller (the process you started) forwards each one to
//! A or B over a pipe, and the process makes the real system call and
//! reports back which call it made and how many bytes the kernel copied.
//!
//! The tutorial's learning tip is the point: message passing relies on the
//! kernel as an intermediary. `msgsnd` copies the message into the kernel,
//! `msgrcv` copies it out again; the kernel keeps it in between (`show`
//! asks it with `msgctl(IPC_STAT)` and lists what it holds), puts a
//! receiver to sleep while there is nothing for it (B really blocks in
//! `msgrcv`: the controller shows it asleep, keeps taking commands, and
//! shows it waking when A sends), and puts a sender to sleep while the
//! queue is full (`limit`). `compare` does one hand-over both ways, through
//! a queue and through shared memory, and counts the calls and copies.
//!
//! ```text
//! cargo run -p msg-sim              # interactive, on a terminal
//! cargo run -p msg-sim < script     # the same session as a transcript
//! ```
//!
//! Commands (`help` lists them):
//!
//! ```text
//! a send [type] <text>   A sends <text> as a message of <type> (default 1); b send too
//! b recv [type]          B receives the first message of <type> (default 0: any); a recv too
//! show                   the kernel's view (msgctl IPC_STAT) and the queued messages
//! limit <bytes>          set msg_qbytes (msgctl IPC_SET): a send that does not fit sleeps
//! compare [text]         one hand-over through a queue and through shared memory
//! help, quit             (end of input, Ctrl-C and SIGTERM also end the session)
//! ```
//!
//! A session (the pids and ids vary):
//!
//! ```text
//! msg-sim: Process A and Process B talk through one System V message queue.
//! queue 622593 created: private to this run (IPC_PRIVATE), owner only (0600)
//! A (pid 19371) is ready; it knows the queue by its id, 622593
//! B (pid 19372) is ready; it knows the queue by its id, 622593
//! Type help for the commands.
//! msg-sim> b recv
//! B (pid 19372): msgrcv(queue 622593, any type) with IPC_NOWAIT fails with ENOMSG: no such message is queued
//! B (pid 19372) calls msgrcv again without IPC_NOWAIT, and sleeps in the kernel until one arrives
//! B (pid 19372) is asleep in msgrcv (state S, as /proc/19372/stat shows); the controller takes commands meanwhile
//! msg-sim> a send hello
//! A (pid 19371): msgsnd(queue 622593, type 1, "hello"): 1 system call; the kernel copied 13 bytes (8-byte type + 5-byte text) into the kernel
//! B (pid 19372) waits for any type: the kernel hands it A's message and wakes it
//! B (pid 19372) woke: msgrcv returned type 1, "hello"; the kernel copied 13 bytes (8-byte type + 5-byte text) out of the kernel
//! msg-sim> quit
//! A (pid 19371) exits
//! B (pid 19372) exits
//! queue 622593 removed (msgctl IPC_RMID)
//! ```
//!
//! Driven by a script, the transcript is the same every time but for the
//! ids, pids and clock times: an event that happens in another process (B
//! waking) is printed at the point where it must happen, because the
//! controller, after a command that wakes a sleeper (it knows the kernel's
//! rules: `msgrcv`'s type selection, and `msg_fits_inqueue` for a full
//! queue), waits for the sleeper's report before it reads the next command.
//! And before it says a process is asleep, it waits until
//! `/proc/<pid>/syscall` and `/proc/<pid>/stat` show it asleep in that call.
//!
//! On a terminal the controller prompts, and the terminal's own line editing
//! (Backspace, Ctrl-W, Ctrl-U) edits the line; colour (the prompt) only if
//! stdout is a terminal and `NO_COLOR` is unset or empty. From a script it
//! prints each command after the prompt instead, and no escape codes.
//!
//! | step | system call | by |
//! |---|---|---|
//! | create the queue | `msgget(IPC_PRIVATE, IPC_CREAT \| 0600)` in `Queue::create` | the controller |
//! | fork A and B | `fork`, with two pipes each, in `link::Link::spawn` | the controller |
//! | `send` | `msgsnd(IPC_NOWAIT)`; if the queue is full, `msgsnd` again, which sleeps | A or B |
//! | `recv` | `msgrcv(IPC_NOWAIT)`; if nothing matches, `msgrcv` again, which sleeps | A or B |
//! | `show` | `msgctl(IPC_STAT)`, then `msgrcv(MSG_COPY \| IPC_NOWAIT)` for each message | the controller |
//! | `limit` | `msgctl(IPC_STAT)`, `msgctl(IPC_SET)` | the controller |
//! | `compare` | a second queue and a segment: `msgget`, `shmget`, `msgsnd`/`msgrcv`, `shmat`/`futex`/`shmdt`, then `IPC_RMID` for both | all three |
//! | quit | `msgctl(IPC_RMID)` in `Queue::remove` (first, if A or B sleeps on the queue: removing it wakes them with `EIDRM`) | the controller |
//!
//! The parts: [`queue`] (the queue and its messages), [`worker`] (what A
//! and B do), [`compare`], [`link`] (forking A and B, and the pipes to
//! them), [`console`] (the terminal or script, and Ctrl-C). The queue is
//! created `IPC_PRIVATE` with mode 0600, so no other program meets it by
//! key, and removed by the controller on every way out: `quit`, end of
//! input, an error, a panic (`Queue`'s `Drop`), and SIGINT or SIGTERM
//! (exit status 130 or 143; A and B ignore SIGINT, and the controller ends
//! them).

mod compare;
mod queue;
mod worker;

use std::fs;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use common::say;
use libc::{c_int, c_long};

use queue::{MAX_TEXT, Queue, bytes, describe_type, selects};
use sim::console::{self, Console, Input, Interrupted, catch_signals, wait_readable};
use sim::link::{Link, Report};

const HELP: &str = "\
Usage: msg-sim
Process A and Process B, two forked processes, pass messages through a System V
message queue; type commands for them (`help` lists them), or pipe a script in.
";

const COMMANDS: &str = "\
commands (either process can send or receive):
  a send [type] <text>   A sends <text> as a message of <type>, 1 or more (default 1)  (b send: B does)
  b recv [type]          B receives the first queued message of <type>               (a recv: A does)
                         0 or none: any type; n: type n; -n: the lowest type up to n;
                         with no such message queued, B sleeps in msgrcv until one arrives
  show                   the kernel's view of the queue (msgctl IPC_STAT) and the queued messages
  limit <bytes>          set the queue's limit msg_qbytes (msgctl IPC_SET); a send that does not fit sleeps
  compare [text]         A hands B <text> through a message queue, then through shared memory,
                         and the system calls and copies are shown side by side
  help                   this list
  quit                   end A and B and remove the queue (so do end of input and Ctrl-C)";

const PROMPT: &str = "msg-sim> ";

fn main() -> ExitCode {
    let status = common::main_no_args(HELP, run);
    // Interrupted: the queue is removed; exit as the signal would have.
    match console::caught() {
        Some(signal) => ExitCode::from(128 + signal as u8),
        None => status,
    }
}

fn run() -> anyhow::Result<()> {
    // From here on, Ctrl-C and SIGTERM end the session cleanly.
    catch_signals()?;

    // Create the queue: private to this run, for its owner only.
    let queue = Queue::create()?;
    let id = queue.id();
    say!("msg-sim: Process A and Process B talk through one System V message queue.")?;
    say!("queue {id} created: private to this run (IPC_PRIVATE), owner only (0600)")?;

    // Fork Process A and Process B; each uses the queue by its id.
    let mut links = Vec::new();
    let a = Link::spawn('A', &mut links, |link| worker::work(link, id))?;
    links.push(a);
    let b = Link::spawn('B', &mut links, |link| worker::work(link, id))?;
    links.push(b);
    let [a, b]: [Link; 2] = links
        .try_into()
        .map_err(|_| anyhow::anyhow!("two processes were forked"))?;

    let mut sim = Sim {
        console: Console::new(PROMPT)?,
        a: Process::new(a),
        b: Process::new(b),
        id,
        queue: Some(queue),
    };

    match sim.session() {
        Ok(()) => sim.quit(),
        Err(error) => {
            let Interrupted(signal) = error.downcast::<Interrupted>()?;
            let terminal = sim.console.interactive();
            let queue = sim.queue.take();
            // Dropping the links kills and reaps A and B, asleep or not.
            drop(sim);
            if let Some(queue) = queue {
                queue.remove()?;
            }
            if terminal {
                say!("")?; // after the ^C the terminal echoed
            }
            say!("interrupted by {signal}: A and B ended, queue {id} removed")?;
            Ok(())
        }
    }
}

/// The controller's session. Fields drop in order: A and B are killed and
/// reaped before the queue is removed.
#[derive(Debug)]
struct Sim {
    console: Console,
    a: Process,
    b: Process,
    id: c_int,
    queue: Option<Queue>,
}

/// A or B, and what the controller knows it is doing.
#[derive(Debug)]
struct Process {
    link: Link,
    state: State,
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
enum State {
    /// Waiting for the controller's next command.
    Idle,
    /// Asleep in `msgrcv`, for a message that this type selects.
    Receiving(c_long),
    /// Asleep in `msgsnd` with a message of this type and length, until
    /// the queue has room for it.
    Sending(c_long, usize),
}

/// What a process reported for one command.
#[derive(Debug, Default)]
struct Outcome {
    blocked: bool,
    facts: Vec<(String, u64)>,
}

impl Outcome {
    fn fact(&self, name: &str) -> u64 {
        self.facts
            .iter()
            .find(|(n, _)| n == name)
            .map_or(0, |&(_, v)| v)
    }
}

/// A command, checked before it is forwarded.
#[derive(Debug, PartialEq, Eq)]
enum Command {
    Send {
        who: char,
        mtype: c_long,
        text: String,
    },
    Receive {
        who: char,
        mtype: c_long,
    },
    Show,
    Limit(u64),
    Compare(String),
    Help,
    Quit,
}

impl Sim {
    fn session(&mut self) -> anyhow::Result<()> {
        // Each process reports once it is ready.
        self.settle('A', "")?;
        self.settle('B', "")?;
        self.console.say("Type help for the commands.")?;

        loop {
            // While it waits for a command, the controller also watches A
            // and B: one asleep may be woken by someone else, and one that
            // ends ends the session.
            let watch = [self.a.link.reports_fd(), self.b.link.reports_fd()];
            let line = match self.console.read_command(&watch)? {
                Input::Command(line) => line,
                Input::End => return Ok(()),
                Input::Event(n) => {
                    let who = if n == 0 { 'A' } else { 'B' };
                    self.settle(who, "")?;
                    self.process(who).state = State::Idle;
                    continue;
                }
            };
            match parse(&line) {
                Ok(None) => {}
                Ok(Some(Command::Quit)) => return Ok(()),
                Ok(Some(command)) => self.run(command)?,
                Err(hint) => self.console.say(hint)?,
            }
        }
    }

    fn process(&mut self, who: char) -> &mut Process {
        if who == 'A' { &mut self.a } else { &mut self.b }
    }

    fn other(who: char) -> char {
        if who == 'A' { 'B' } else { 'A' }
    }

    /// Forwards `command` to `who`, and prints its report until it is done
    /// or asleep.
    fn order(&mut self, who: char, command: &str, indent: &str) -> anyhow::Result<Outcome> {
        self.process(who).link.send(command)?;
        self.settle(who, indent)
    }

    /// Prints what `who` reports (each line after `indent`) until it has
    /// finished its command or is about to sleep in a system call.
    fn settle(&mut self, who: char, indent: &str) -> anyhow::Result<Outcome> {
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
    fn report_asleep(
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

    fn run(&mut self, command: Command) -> anyhow::Result<()> {
        match command {
            Command::Send { who, mtype, text } => self.send(who, mtype, &text),
            Command::Receive { who, mtype } => self.receive(who, mtype),
            Command::Show => self.show(),
            Command::Limit(limit) => self.limit(limit),
            Command::Compare(text) => self.compare(&text),
            Command::Help => self.console.say(COMMANDS),
            Command::Quit => Ok(()),
        }
    }

    /// The hint for a command to a process that is asleep, if it is.
    fn busy(&mut self, who: char) -> Option<String> {
        let tag = self.process(who).link.tag();
        let other = Self::other(who).to_ascii_lowercase();
        match self.process(who).state {
            State::Idle => None,
            State::Receiving(mtype) => Some(format!(
                "{tag} is asleep in msgrcv, waiting for {}; it takes commands again once it wakes \
                 (try: {other} send <text>)",
                describe_type(mtype)
            )),
            State::Sending(_, len) => Some(format!(
                "{tag} is asleep in msgsnd, waiting for room for {}; it takes commands again once it \
                 wakes (try: {other} recv, or limit <bytes>)",
                bytes(len)
            )),
        }
    }

    /// The hint for a command that needs A and B both awake.
    fn both_idle(&mut self, command: &str) -> Option<String> {
        let busy = self.busy('A').or_else(|| self.busy('B'))?;
        Some(format!("{command} needs A and B awake: {busy}"))
    }

    fn send(&mut self, who: char, mtype: c_long, text: &str) -> anyhow::Result<()> {
        if let Some(hint) = self.busy(who) {
            return self.console.say(hint);
        }
        let outcome = self.order(who, &format!("send {mtype} {text}"), "")?;
        if outcome.blocked {
            self.process(who).state = State::Sending(mtype, text.len());
            self.report_asleep(who, libc::SYS_msgsnd, "msgsnd", "")?;
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
        let other = Self::other(who);
        if let State::Receiving(wanted) = self.process(other).state
            && selects(wanted, mtype)
        {
            let tag = self.process(other).link.tag();
            self.console.say(format_args!(
                "{tag} waits for {}: the kernel hands it {who}'s message and wakes it",
                describe_type(wanted)
            ))?;
            self.settle(other, "")?;
            self.process(other).state = State::Idle;
        }
        Ok(())
    }

    fn receive(&mut self, who: char, mtype: c_long) -> anyhow::Result<()> {
        if let Some(hint) = self.busy(who) {
            return self.console.say(hint);
        }
        let before = queue::stat(self.id)?;
        let outcome = self.order(who, &format!("recv {mtype}"), "")?;
        if outcome.blocked {
            self.process(who).state = State::Receiving(mtype);
            self.report_asleep(who, libc::SYS_msgrcv, "msgrcv", "")?;
            return self.both_asleep();
        }
        // The other process, asleep in msgsnd, wakes if its message fits
        // now: the kernel checks the same sums.
        let other = Self::other(who);
        if let State::Sending(_, len) = self.process(other).state
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
        if let (State::Sending(..), State::Sending(..)) = (self.a.state, self.b.state) {
            return self
                .console
                .say("A and B are both asleep in msgsnd: a new limit would wake both in a race; quit ends them")
                ;
        }
        let old = queue::stat(self.id)?.msg_qbytes;
        queue::set_limit(self.id, limit)?;
        self.console.say(format_args!(
            "msgctl(queue {}, IPC_SET): msg_qbytes {old} -> {limit}: the queue now holds at most {limit} bytes of text",
            self.id
        ))?;
        let now = queue::stat(self.id)?;
        for who in ['A', 'B'] {
            if let State::Sending(_, len) = self.process(who).state
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
        let State::Sending(mtype, len) = self.process(who).state else {
            return Ok(());
        };
        let tag = self.process(who).link.tag();
        self.console.say(format_args!(
            "the queue has room now for the {} that {tag} sends: the kernel wakes it",
            bytes(len)
        ))?;
        let outcome = self.settle(who, "")?;
        self.process(who).state = State::Idle;
        if outcome.fact("sent") > 0 {
            self.sent(who, mtype)?;
        }
        Ok(())
    }

    /// Says so when neither process can take a command.
    fn both_asleep(&mut self) -> anyhow::Result<()> {
        if self.a.state != State::Idle && self.b.state != State::Idle {
            // A larger limit wakes a sender; with both asleep in msgsnd, it
            // would wake both in a race, which `limit` refuses.
            let senders = [self.a.state, self.b.state]
                .iter()
                .filter(|state| matches!(state, State::Sending(..)))
                .count();
            let way_out = if senders == 1 {
                "a larger limit, or quit"
            } else {
                "only quit"
            };
            self.console.say(format_args!(
                "A and B are both asleep: neither can make the call that would wake the other \
                 (a deadlock; {way_out} ends it)"
            ))?;
        }
        Ok(())
    }

    /// The kernel's view of the queue, and the messages it holds.
    fn show(&mut self) -> anyhow::Result<()> {
        let ds = queue::stat(self.id)?;
        let who = |pid: libc::pid_t| {
            if pid == 0 {
                "nobody yet".to_owned()
            } else if pid == self.a.link.pid().as_raw() {
                format!("pid {pid} (A)")
            } else if pid == self.b.link.pid().as_raw() {
                format!("pid {pid} (B)")
            } else {
                format!("pid {pid}")
            }
        };
        let lines = [
            format!("queue {}, as msgctl(IPC_STAT) reports it:", self.id),
            format!(
                "  msg_qnum {}, msg_cbytes {}: {} and {} of text queued in the kernel",
                ds.msg_qnum,
                ds.__msg_cbytes,
                plural(ds.msg_qnum, "message"),
                plural(ds.__msg_cbytes, "byte")
            ),
            format!(
                "  msg_qbytes {}: the limit; a msgsnd that would pass it sleeps",
                ds.msg_qbytes
            ),
            format!(
                "  last msgsnd: {}{} (msg_lspid, msg_stime)",
                who(ds.msg_lspid),
                at(ds.msg_stime)
            ),
            format!(
                "  last msgrcv: {}{} (msg_lrpid, msg_rtime)",
                who(ds.msg_lrpid),
                at(ds.msg_rtime)
            ),
            format!(
                "  created or last changed by IPC_SET{} (msg_ctime)",
                at(ds.msg_ctime)
            ),
        ];
        for line in lines {
            self.console.say(line)?;
        }

        // The messages themselves, oldest first, copied without removing them.
        if ds.msg_qnum > 0 {
            self.console.say(
                "  queued, oldest first (msgrcv with MSG_COPY copies a message and leaves it queued):",
            )?;
        }
        for index in 0.. {
            match queue::peek(self.id, index) {
                Ok(Some((mtype, text))) => self.console.say(format_args!(
                    "    {}. type {mtype}, {}: {}",
                    index + 1,
                    bytes(text.len()),
                    worker::quoted(&text)
                ))?,
                Ok(None) => break,
                Err(nix::errno::Errno::ENOSYS) => {
                    self.console.say(
                        "    (this kernel cannot copy a message without receiving it: \
                         msgrcv's MSG_COPY needs CONFIG_CHECKPOINT_RESTORE)",
                    )?;
                    break;
                }
                Err(errno) => return Err(common::SysError::new("msgrcv(MSG_COPY)", errno).into()),
            }
        }

        for who in ['A', 'B'] {
            let tag = self.process(who).link.tag();
            let doing = match self.process(who).state {
                State::Idle => "awake, waiting for the controller's next command".to_owned(),
                State::Receiving(mtype) => {
                    format!("asleep in msgrcv, waiting for {}", describe_type(mtype))
                }
                State::Sending(_, len) => {
                    format!("asleep in msgsnd, waiting for room for {}", bytes(len))
                }
            };
            self.console.say(format_args!("{tag}: {doing}"))?;
        }
        Ok(())
    }

    /// Quit: wake whoever sleeps on the queue by removing it, then let A
    /// and B exit, then remove the queue if it is still there.
    fn quit(mut self) -> anyhow::Result<()> {
        let asleep: Vec<char> = ['A', 'B']
            .into_iter()
            .filter(|&who| self.process(who).state != State::Idle)
            .collect();
        if !asleep.is_empty() {
            // A process asleep on the queue never reads its command pipe
            // again; removing the queue is what wakes it (EIDRM). The
            // kernel removes the queue at once, whoever waits on it.
            for &who in &asleep {
                let tag = self.process(who).link.tag();
                self.console.say(format_args!(
                    "{tag} is asleep on the queue: removing the queue wakes it"
                ))?;
            }
            if let Some(queue) = self.queue.take() {
                queue.remove()?;
                self.console
                    .say(format_args!("queue {} removed (msgctl IPC_RMID)", self.id))?;
            }
            for who in asleep {
                self.settle(who, "")?;
            }
        }
        let Sim {
            console,
            a,
            b,
            id,
            queue,
            ..
        } = self;
        for process in [a, b] {
            for line in process.link.finish()? {
                console.say(line)?;
            }
        }
        if let Some(queue) = queue {
            queue.remove()?;
            console.say(format_args!("queue {id} removed (msgctl IPC_RMID)"))?;
        }
        Ok(())
    }
}

/// Whether a message of `len` bytes fits a queue holding `queued` bytes in
/// `count` messages, under limit `limit`: the kernel's own test
/// (`msg_fits_inqueue` in ipc/msg.c) for letting a sender go on.
fn fits(queued: u64, count: u64, len: usize, limit: u64) -> bool {
    let len = u64::try_from(len).unwrap_or(u64::MAX);
    queued.saturating_add(len) <= limit && count.saturating_add(1) <= limit
}

/// Waits until `link`'s process sleeps in system call `syscall`, as
/// `/proc/<pid>/syscall` and `/proc/<pid>/stat` show it. False if they
/// cannot tell (a kernel without them), if the process reports instead
/// (it did not need to sleep after all), or after 10 s.
fn wait_asleep(link: &Link, syscall: c_long) -> anyhow::Result<bool> {
    let pid = link.pid();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match asleep_in(pid.as_raw(), syscall) {
            Some(true) => return Ok(true),
            None => return Ok(false),
            Some(false) if Instant::now() > deadline => return Ok(false),
            Some(false) => {}
        }
        // Give it a moment to get there, and stop if it reports instead.
        if wait_readable(&[link.reports_fd()], Some(Duration::from_millis(1)))?[0] {
            return Ok(false);
        }
    }
}

/// Whether process `pid` is asleep (state S) in system call `syscall`;
/// `None` if /proc does not say.
fn asleep_in(pid: libc::pid_t, syscall: c_long) -> Option<bool> {
    let call = fs::read_to_string(format!("/proc/{pid}/syscall")).ok()?;
    // "running", or the call's number and its arguments.
    let in_call = call.split_whitespace().next() == Some(syscall.to_string().as_str());
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The state follows the command name, which is in parentheses.
    let state = stat.rsplit_once(')')?.1.split_whitespace().next()?;
    Some(in_call && state == "S")
}

/// " at 12:34:56 UTC", or "" for a time that never was.
fn at(time: libc::time_t) -> String {
    if time == 0 {
        String::new()
    } else {
        let seconds = time.rem_euclid(86_400);
        format!(
            " at {:02}:{:02}:{:02} UTC",
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60
        )
    }
}

/// "1 message", "2 messages".
fn plural(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// Reads one command line; `Ok(None)` for an empty line, `Err(hint)` for a
/// line that is not a command.
fn parse(line: &str) -> Result<Option<Command>, String> {
    let line = line.trim();
    let (word, rest) = split_word(line);
    let command = match word.to_ascii_lowercase().as_str() {
        "" => return Ok(None),
        "help" | "?" => Command::Help,
        "quit" | "exit" => Command::Quit,
        "show" => Command::Show,
        "limit" => {
            let usage = || "usage: limit <bytes>, 1 or more".to_owned();
            let limit: u64 = rest.parse().map_err(|_| usage())?;
            if limit == 0 {
                return Err(usage());
            }
            Command::Limit(limit)
        }
        "compare" => {
            let text = if rest.is_empty() { "hello" } else { rest };
            check_text(text)?;
            Command::Compare(text.to_owned())
        }
        who @ ("a" | "b") => {
            let who = if who == "a" { 'A' } else { 'B' };
            let name = who.to_ascii_lowercase();
            let (verb, rest) = split_word(rest);
            match verb {
                "send" => {
                    let usage = || format!("usage: {name} send [type] <text>, type 1 or more");
                    // A first word that is a number, with text after it, is the type.
                    let (first, after) = split_word(rest);
                    let (mtype, text) = match first.parse::<c_long>() {
                        Ok(mtype) if !after.is_empty() => (mtype, after),
                        _ => (1, rest),
                    };
                    if text.is_empty() || mtype < 1 {
                        return Err(usage());
                    }
                    check_text(text)?;
                    Command::Send {
                        who,
                        mtype,
                        text: text.to_owned(),
                    }
                }
                "recv" | "receive" => {
                    let mtype = match rest {
                        "" => 0,
                        mtype => mtype
                            .parse::<c_long>()
                            .ok()
                            .filter(|&t| t != c_long::MIN)
                            .ok_or_else(|| {
                                format!("usage: {name} recv [type]: 0 any, n type n, -n the lowest up to n")
                            })?,
                    };
                    Command::Receive { who, mtype }
                }
                _ => {
                    return Err(format!(
                        "{name} what? {name} send [type] <text>, or {name} recv [type]"
                    ));
                }
            }
        }
        _ => return Err(format!("unknown command {word:?}: type help for the list")),
    };
    Ok(Some(command))
}

fn check_text(text: &str) -> Result<(), String> {
    if text.len() > MAX_TEXT {
        Err(format!(
            "a message here holds at most {MAX_TEXT} bytes; that one has {}",
            text.len()
        ))
    } else {
        Ok(())
    }
}

/// The first word of `line`, and the rest after the spaces that follow it.
fn split_word(line: &str) -> (&str, &str) {
    match line.split_once(' ') {
        Some((word, rest)) => (word, rest.trim_start()),
        None => (line, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_commands() {
        let send = |who, mtype, text: &str| {
            Ok(Some(Command::Send {
                who,
                mtype,
                text: text.into(),
            }))
        };
        assert_eq!(parse("a send hello world"), send('A', 1, "hello world"));
        assert_eq!(parse("b send 7 hello"), send('B', 7, "hello"));
        assert_eq!(parse("a send 42"), send('A', 1, "42"));
        assert_eq!(
            parse("b recv"),
            Ok(Some(Command::Receive { who: 'B', mtype: 0 }))
        );
        assert_eq!(
            parse("A recv -3"),
            Ok(Some(Command::Receive {
                who: 'A',
                mtype: -3
            }))
        );
        assert_eq!(parse("limit 20"), Ok(Some(Command::Limit(20))));
        assert_eq!(parse("compare"), Ok(Some(Command::Compare("hello".into()))));
        assert_eq!(parse("  "), Ok(None));
    }

    #[test]
    fn bad_commands_get_a_one_line_hint() {
        let long = format!("a send {}", "x".repeat(MAX_TEXT + 1));
        for bad in [
            "a send",
            "a send 0 zero",
            "a send -1 minus",
            "b recv x",
            "b fly",
            "limit",
            "limit 0",
            "limit lots",
            "jump",
            &long,
        ] {
            let hint = parse(bad).unwrap_err();
            assert!(!hint.contains('\n'), "{bad:?}: one line, got {hint:?}");
        }
    }

    #[test]
    fn a_sender_goes_on_when_the_kernel_says_it_fits() {
        assert!(fits(10, 2, 6, 16));
        assert!(!fits(10, 2, 7, 16));
        // Linux also counts messages against the limit.
        assert!(!fits(0, 3, 0, 3));
    }

    #[test]
    fn times_print_as_utc_clock_times() {
        assert_eq!(at(0), "");
        assert_eq!(at(86_400 + 3600 + 61), " at 01:01:01 UTC");
    }
}
