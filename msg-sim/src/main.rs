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
//! | (too big) | after `EAGAIN`, `msgctl(IPC_STAT)`: larger than the limit, it is not sent | A or B |
//! | `recv` | `msgrcv(IPC_NOWAIT)`; if nothing matches, `msgrcv` again, which sleeps | A or B |
//! | `show` | `msgctl(IPC_STAT)`, then `msgrcv(MSG_COPY \| IPC_NOWAIT)` for each message | the controller |
//! | `limit` | `msgctl(IPC_STAT)`, `msgctl(IPC_SET)` | the controller |
//! | `compare` | a second queue and a segment: `msgget`, `shmget`, `msgsnd`/`msgrcv`, `shmat`/`futex`/`shmdt`, then `IPC_RMID` for both | all three |
//! | quit | `msgctl(IPC_RMID)` in `Queue::remove` (first, if A or B sleeps on the queue: removing it wakes them with `EIDRM`) | the controller |
//!
//! The parts: [`session`] (the controller's state machine: who wakes whom),
//! [`peers`] (A and B as the controller sees them, and their reports),
//! [`command`] (the command parser), [`view`] (`show`: the kernel's view),
//! [`probe`] (`/proc`: is a process asleep in a call), [`compare`] (the
//! controller's side of it) and [`segment`] (its shared memory), [`worker`]
//! (what A and B do), [`queue`] (the queue and its messages); from the
//! `sim` crate, `link` (forking A and B, and the pipes to them) and
//! `console` (the terminal or script, and Ctrl-C). The queue is
//! created `IPC_PRIVATE` with mode 0600, so no other program meets it by
//! key, and removed by the controller on every way out: `quit`, end of
//! input, an error, a panic (`Queue`'s `Drop`), and SIGINT or SIGTERM
//! (exit status 130 or 143; A and B ignore SIGINT, and the controller ends
//! them). If the queue is removed from outside (`ipcrm -q`, which wakes a
//! sleeper with `EIDRM`), the session ends at once with one line saying so,
//! and exit status 1. A limit above `kernel.msgmnb` that the kernel refuses
//! (`EPERM`), and a message larger than the limit, which could never fit,
//! are explained, and the session goes on.

mod command;
mod compare;
mod peers;
mod probe;
mod queue;
mod segment;
mod session;
mod view;
mod worker;

use std::process::ExitCode;

use sim::console::{self, Console, Interrupted, catch_signals};
use sim::link::Link;
use sim::say;

use queue::Queue;
use session::Sim;

const HELP: &str = "\
Usage: msg-sim
Process A and Process B, two forked processes, pass messages through a System V
message queue; type commands for them (`help` lists them), or pipe a script in.
";

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

    let mut sim = Sim::new(Console::new(PROMPT)?, a, b, queue);

    match sim.session() {
        Ok(()) => sim.quit(),
        Err(error) => {
            let Interrupted(signal) = error.downcast::<Interrupted>()?;
            let terminal = sim.peers.console.interactive();
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
