//! # shm-sim: the tutorial's "Shared Memory Simulation", with real processes
//!
//! The tutorial's interactive simulation "Shared Memory Simulation": write
//! data from Process A, read it from Process B, and look at the shared
//! region. Here Process A and Process B are two real processes, forked by
//! this program, and the region is a real System V shared memory segment
//! that both have attached. You type commands; the controller (the process
//! you started) forwards each one to A or B over a pipe, and the process
//! does it with plain loads and stores in its own mapping and reports back.
//!
//! The tutorial's learning tip is the point: after `shmat`, shared memory
//! is used **without the kernel**. A write by A is a store instruction;
//! B's read is a load; no system call is made, and `shmctl(IPC_STAT)` in
//! `show` proves that the kernel saw the attaches and nothing else. (The
//! first touch of the page in each process takes one page fault, in which
//! the kernel maps the page; after that it stays out of the way.) The price
//! is `race`: with nobody mediating, two processes that increment one
//! counter lose updates, unless they take a lock.
//!
//! ```text
//! cargo run -p shm-sim              # interactive, on a terminal
//! cargo run -p shm-sim < script     # the same session as a transcript
//! ```
//!
//! Commands (`help` lists them):
//!
//! ```text
//! a write <offset> <text>   A stores <text> at <offset> (0-127); b write too
//! b read <offset> <len>     B loads <len> bytes from <offset>; a read too
//! show                      hex and ASCII dump of bytes 0-127, the last write marked ^
//! race [count]              A and B each add 1 to a shared counter <count> times
//!                           (default 1000000), without a lock, then with one
//! help, quit                (end of input, Ctrl-C and SIGTERM also end the session)
//! ```
//!
//! A session (the pids, ids and addresses vary):
//!
//! ```text
//! shm-sim: Process A and Process B share one System V shared memory segment.
//! segment 426007 created: 144 bytes, private to this run (IPC_PRIVATE), owner only (0600)
//! A (pid 19367) attached segment 426007 at 0x7fc161e93000 (shmat)
//! B (pid 19368) attached segment 426007 at 0x7fc161e93000 (shmat)
//! Type help for the commands.
//! shm-sim> a write 0 hello
//! A (pid 19367) wrote 5 bytes at offset 0: "hello" (plain stores into its mapping: no system call)
//! shm-sim> b read 0 5
//! B (pid 19368) read 5 bytes at offset 0: "hello" (plain loads from its mapping: no system call)
//! shm-sim> quit
//! A (pid 19367) detached the segment (shmdt) and exits
//! B (pid 19368) detached the segment (shmdt) and exits
//! segment 426007 removed (shmctl IPC_RMID)
//! ```
//!
//! `show` prints the 128 bytes as 8 rows of hex and ASCII, with a line of
//! `^` under the bytes of the last write (also in colour on a terminal),
//! then `shmctl(IPC_STAT)`. `race` prints each process's loop and the
//! counter: the updates lost without the lock (how many is up to the
//! scheduler: usually hundreds of thousands, now and then none), and none
//! with it.
//!
//! On a terminal the controller prompts, and the terminal's own line editing
//! (Backspace, Ctrl-W, Ctrl-U) edits the line; colour only if stdout is a
//! terminal and `NO_COLOR` is unset or empty. From a script it prints each
//! command after the prompt instead, and no escape codes: the output is the
//! transcript a person would have seen.
//!
//! | step | system call | by |
//! |---|---|---|
//! | create the segment | `shmget(IPC_PRIVATE, 144, IPC_CREAT \| 0600)` in `Segment::create` | the controller |
//! | fork A and B | `fork`, with two pipes each, in `link::Link::spawn` | the controller |
//! | attach | `shmat(id, NULL, 0)` in `Mapping::attach` | A, B, then the controller |
//! | `write`, `read` | none: `Relaxed` atomic stores and loads, one `mov` a byte | A or B |
//! | `race` without the lock | none | A and B at once |
//! | `race` with the lock | `futex` wait and wake, only when the lock is contended | A and B at once |
//! | `show` | `shmctl(IPC_STAT)` | the controller |
//! | quit | `shmdt` in A and B, then `shmctl(IPC_RMID)` in `Segment::remove` | A, B, the controller |
//!
//! The parts: [`session`] (the controller's loop, and `race`), [`command`]
//! (the command parser), [`view`] (`show`), [`segment`] (the segment and
//! its layout), [`worker`] (what A and B do); from the `sim` crate, `link`
//! (forking them, and the pipes to them) and `console` (the terminal or
//! script, and Ctrl-C). The segment is created
//! `IPC_PRIVATE` with mode 0600, so no other program meets it by key, and
//! removed by the controller on every way out: `quit`, end of input, an
//! error, a panic (`Segment`'s `Drop`), and SIGINT or SIGTERM (exit status
//! 130 or 143; A and B ignore SIGINT, and the controller ends them). If
//! someone removes it from outside meanwhile (`ipcrm -m`), it stays usable
//! while attached, as Linux does: `show` says it is marked for removal
//! (`SHM_DEST`), and the session ends as usual, saying that the segment
//! went with the last `shmdt`.

mod command;
mod segment;
mod session;
mod view;
mod worker;

use std::process::ExitCode;

use sim::say;

use segment::{Mapping, SEGMENT_LEN, Segment};
use session::{Sim, finish_command};
use sim::console::{self, Console, Interrupted, catch_signals};
use sim::link::Link;

const HELP: &str = "\
Usage: shm-sim
Process A and Process B, two forked processes, share a System V shared memory
segment; type commands for them (`help` lists them), or pipe a script in.
";

const PROMPT: &str = "shm-sim> ";

fn main() -> ExitCode {
    let status = common::main_no_args(HELP, run);
    // Interrupted: the segment is removed; exit as the signal would have.
    match console::caught() {
        Some(signal) => ExitCode::from(128 + signal as u8),
        None => status,
    }
}

fn run() -> anyhow::Result<()> {
    // From here on, Ctrl-C and SIGTERM end the session cleanly.
    catch_signals()?;

    // Create the segment: private to this run, for its owner only.
    let segment = Segment::create()?;
    say!("shm-sim: Process A and Process B share one System V shared memory segment.")?;
    say!(
        "segment {} created: {SEGMENT_LEN} bytes, private to this run (IPC_PRIVATE), owner only (0600)",
        segment.id()
    )?;

    // Fork Process A and Process B; each attaches the segment itself.
    let id = segment.id();
    let mut links = Vec::new();
    let a = Link::spawn('A', &mut links, |link| worker::work(link, id))?;
    links.push(a);
    let b = Link::spawn('B', &mut links, |link| worker::work(link, id))?;
    links.push(b);
    let [mut a, mut b]: [Link; 2] = links
        .try_into()
        .map_err(|_| anyhow::anyhow!("two processes were forked"))?;

    let console = Console::new(PROMPT)?;
    // Each process reports once it has attached the segment.
    finish_command(&console, &mut a, "")?;
    finish_command(&console, &mut b, "")?;

    // The controller attaches it too, last, to show it and to reset the race.
    let mapping = Mapping::attach(id)?;
    let mut sim = Sim {
        console,
        a,
        b,
        segment: id,
        mapping,
        last_write: None,
    };

    match sim.session() {
        Ok(()) => {
            // Quit: A and B detach and exit; then the segment goes.
            let Sim { a, b, mapping, .. } = sim;
            for link in [a, b] {
                for line in link.finish()? {
                    say!("{line}")?;
                }
            }
            mapping.detach()?;
            if segment.remove()? {
                say!("segment {id} removed (shmctl IPC_RMID)")?;
            } else {
                say!(
                    "segment {id} was already marked for removal from outside (ipcrm -m {id}, \
                     or shmctl IPC_RMID): the kernel removed it at the last shmdt"
                )?;
            }
            Ok(())
        }
        Err(error) => {
            let Interrupted(signal) = error.downcast::<Interrupted>()?;
            let terminal = sim.console.interactive();
            // Dropping the links kills and reaps A and B.
            drop(sim);
            let removed = segment.remove()?;
            if terminal {
                say!("")?; // after the ^C the terminal echoed
            }
            let how = if removed {
                "removed"
            } else {
                "gone (it was marked for removal from outside)"
            };
            say!("interrupted by {signal}: A and B ended, segment {id} {how}")?;
            Ok(())
        }
    }
}
