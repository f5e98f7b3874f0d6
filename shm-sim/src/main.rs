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
//! The parts: [`segment`] (the segment and its layout), [`worker`] (what A
//! and B do), [`link`] (forking them, and the pipes to them), [`console`]
//! (the terminal or script, and Ctrl-C). The segment is created
//! `IPC_PRIVATE` with mode 0600, so no other program meets it by key, and
//! removed by the controller on every way out: `quit`, end of input, an
//! error, a panic (`Segment`'s `Drop`), and SIGINT or SIGTERM (exit status
//! 130 or 143; A and B ignore SIGINT, and the controller ends them).

mod segment;
mod worker;

use std::process::ExitCode;
use std::sync::atomic::Ordering;

use common::say;

use segment::{DATA_LEN, Mapping, RACE_OFFSET, SEGMENT_LEN, Segment};
use sim::console::{self, Console, Input, Interrupted, catch_signals};
use sim::link::{Link, Report};
use worker::bytes;

const HELP: &str = "\
Usage: shm-sim
Process A and Process B, two forked processes, share a System V shared memory
segment; type commands for them (`help` lists them), or pipe a script in.
";

const COMMANDS: &str = "\
commands (either process can read or write; offsets are decimal, 0-127):
  a write <offset> <text>   A stores <text> at <offset>         (b write: B does)
  b read <offset> <len>     B loads <len> bytes from <offset>   (a read: A does)
  show                      hex and ASCII dump of bytes 0-127, the last write marked ^
  race [count]              A and B each add 1 to a shared counter <count> times
                            (default 1000000), without a lock, then with one
  help                      this list
  quit                      end A and B and remove the segment (so do end of input and Ctrl-C)";

const PROMPT: &str = "shm-sim> ";

/// How many times each process increments the counter in `race`.
const DEFAULT_RACE: u64 = 1_000_000;
const MAX_RACE: u64 = 100_000_000;

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
            segment.remove()?;
            say!("segment {id} removed (shmctl IPC_RMID)")?;
            Ok(())
        }
        Err(error) => {
            let Interrupted(signal) = error.downcast::<Interrupted>()?;
            let terminal = sim.console.interactive();
            // Dropping the links kills and reaps A and B.
            drop(sim);
            segment.remove()?;
            if terminal {
                say!("")?; // after the ^C the terminal echoed
            }
            say!("interrupted by {signal}: A and B ended, segment {id} removed")?;
            Ok(())
        }
    }
}

/// The controller's session: its two processes and its view of the segment.
#[derive(Debug)]
struct Sim {
    console: Console,
    a: Link,
    b: Link,
    segment: libc::c_int,
    mapping: Mapping,
    last_write: Option<LastWrite>,
}

/// Who wrote which bytes last, for `show` to mark.
#[derive(Debug)]
struct LastWrite {
    who: String,
    offset: usize,
    len: usize,
}

/// A command, checked before it is forwarded.
#[derive(Debug, PartialEq, Eq)]
enum Command {
    Write {
        who: char,
        offset: usize,
        text: String,
    },
    Read {
        who: char,
        offset: usize,
        len: usize,
    },
    Show,
    Race(u64),
    Help,
    Quit,
}

impl Sim {
    fn session(&mut self) -> anyhow::Result<()> {
        self.console.say("Type help for the commands.")?;

        loop {
            // While it waits for a command, the controller also watches A
            // and B: if one of them ends, the session ends with the reason.
            let watch = [self.a.reports_fd(), self.b.reports_fd()];
            let line = match self.console.read_command(&watch)? {
                Input::Command(line) => line,
                Input::End => return Ok(()),
                Input::Event(n) => {
                    let who = if n == 0 { 'A' } else { 'B' };
                    if let Report::Say(line) = self.link(who).next_report()? {
                        self.console.say(line)?;
                    }
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

    fn link(&mut self, who: char) -> &mut Link {
        if who == 'A' { &mut self.a } else { &mut self.b }
    }

    fn finish_command(&mut self, who: char, indent: &str) -> anyhow::Result<()> {
        let link = if who == 'A' { &mut self.a } else { &mut self.b };
        finish_command(&self.console, link, indent)
    }

    fn run(&mut self, command: Command) -> anyhow::Result<()> {
        match command {
            Command::Write { who, offset, text } => {
                self.link(who).send(&format!("write {offset} {text}"))?;
                self.finish_command(who, "")?;
                let who = self.link(who).tag();
                self.last_write = Some(LastWrite {
                    who,
                    offset,
                    len: text.len(),
                });
            }
            Command::Read { who, offset, len } => {
                self.link(who).send(&format!("read {offset} {len}"))?;
                self.finish_command(who, "")?;
            }
            Command::Show => self.show()?,
            Command::Race(count) => self.race(count)?,
            Command::Help => self.console.say(COMMANDS)?,
            Command::Quit => {}
        }
        Ok(())
    }

    /// The data region as the controller sees it through its own mapping,
    /// 16 bytes a row, then what the kernel knows of the segment.
    fn show(&self) -> anyhow::Result<()> {
        let region: Vec<u8> = self
            .mapping
            .data()
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        let marked = |i: usize| {
            self.last_write
                .as_ref()
                .is_some_and(|w| (w.offset..w.offset + w.len).contains(&i))
        };
        let say = |line: &dyn std::fmt::Display| self.console.say(line);

        say(&format_args!(
            "segment {}, bytes 0-{}, as the controller (pid {}) sees them (offsets in decimal):",
            self.segment,
            DATA_LEN - 1,
            std::process::id()
        ))?;
        for (row, chunk) in region.chunks(16).enumerate() {
            let start = row * 16;
            let mut hex = String::new();
            let mut marks = String::new();
            let mut ascii = String::new();
            let mut ascii_marks = String::new();
            for (i, &byte) in chunk.iter().enumerate() {
                let gap = if i == 8 { " " } else { "" };
                let mark = marked(start + i);
                let shown = char::from(if byte.is_ascii_graphic() || byte == b' ' {
                    byte
                } else {
                    b'.'
                });
                let (cell, letter) = (format!("{byte:02x}"), shown.to_string());
                let (cell, letter) = if mark {
                    (
                        self.console.paint(&cell, "1;33"),
                        self.console.paint(&letter, "1;33"),
                    )
                } else {
                    (cell, letter)
                };
                hex.push_str(&format!("{gap} {cell}"));
                marks.push_str(&format!("{gap} {}", if mark { "^^" } else { "  " }));
                ascii.push_str(&letter);
                ascii_marks.push(if mark { '^' } else { ' ' });
            }
            say(&format_args!("{start:4} {hex}  |{ascii}|"))?;
            if marks.contains('^') {
                let line = format!("     {marks}   {ascii_marks}");
                say(&line.trim_end())?;
            }
        }
        match &self.last_write {
            Some(w) => say(&format_args!(
                "^ marks the last write: {} by {}, offsets {}-{}",
                bytes(w.len),
                w.who,
                w.offset,
                w.offset + w.len - 1
            ))?,
            None => say(&"no write yet")?,
        }

        // The kernel's view: it counted the attaches, and saw no access.
        let segment = segment::stat(self.segment)?;
        say(&format_args!(
            "kernel's view (shmctl IPC_STAT): {} bytes, {} attached (A, B and the controller), \
             created by pid {}, last shmat/shmdt by pid {}",
            segment.shm_segsz, segment.shm_nattch, segment.shm_cpid, segment.shm_lpid
        ))?;
        say(&"the kernel saw the attaches, and no read or write: those are loads and stores")?;
        Ok(())
    }

    /// Both processes increment the shared counter `count` times at once,
    /// first without a lock, then with one; the controller counts.
    fn race(&mut self, count: u64) -> anyhow::Result<()> {
        let expected = 2 * count;
        self.console.say(format_args!(
            "race: A and B each add 1 to the counter at offset {RACE_OFFSET}, {count} times, both at once"
        ))?;
        for (mode, heading) in [
            ("nolock", "without a lock (load, add 1, store):"),
            (
                "lock",
                "with a lock (a futex mutex at offset 136: take it, load, add 1, store, release it):",
            ),
        ] {
            self.console.say(heading)?;
            let area = self.mapping.race();
            area.counter.store(0, Ordering::Relaxed);
            area.lock.store(0, Ordering::Relaxed);
            area.ready.store(0, Ordering::Relaxed);
            // Both start; each waits for the other at the start line.
            self.a.send(&format!("race {count} {mode}"))?;
            self.b.send(&format!("race {count} {mode}"))?;
            self.finish_command('A', "  ")?;
            self.finish_command('B', "  ")?;
            let counter = self.mapping.race().counter.load(Ordering::Relaxed);
            let lost = expected.saturating_sub(counter);
            let verdict = match (lost, mode) {
                (0, "lock") => "no update lost".to_owned(),
                (0, _) => "no update lost this time (the two loops hardly overlapped; \
                           try race again, or a larger count)"
                    .to_owned(),
                (lost, _) => format!(
                    "{lost} updates lost: both loaded the same value, and one store overwrote the other"
                ),
            };
            self.console.say(format_args!(
                "  counter = {counter}, expected {expected}: {verdict}"
            ))?;
        }
        Ok(())
    }
}

/// Prints what the process reports (each line after `indent`) until it has
/// finished its command.
fn finish_command(console: &Console, link: &mut Link, indent: &str) -> anyhow::Result<()> {
    loop {
        match link.next_report()? {
            Report::Say(line) => console.say(format_args!("{indent}{line}"))?,
            Report::Done => return Ok(()),
            // Loads and stores never block, and report no numbers.
            Report::Fact(..) | Report::Blocked => {}
        }
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
        "race" => {
            let count = match rest {
                "" => DEFAULT_RACE,
                count => count
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_RACE).contains(n))
                    .ok_or_else(|| format!("usage: race [count], count 1-{MAX_RACE}"))?,
            };
            Command::Race(count)
        }
        who @ ("a" | "b") => {
            let who = if who == "a" { 'A' } else { 'B' };
            let name = who.to_ascii_lowercase();
            let (verb, rest) = split_word(rest);
            match verb {
                "write" => {
                    let usage = || {
                        format!(
                            "usage: {name} write <offset> <text>, offset 0-{}",
                            DATA_LEN - 1
                        )
                    };
                    let (offset, text) = split_word(rest);
                    let offset: usize = offset.parse().map_err(|_| usage())?;
                    if text.is_empty() || offset >= DATA_LEN {
                        return Err(usage());
                    }
                    if offset + text.len() > DATA_LEN {
                        return Err(format!(
                            "{} at offset {offset} would end past byte {}: the region is bytes 0-{}",
                            bytes(text.len()),
                            DATA_LEN - 1,
                            DATA_LEN - 1
                        ));
                    }
                    Command::Write {
                        who,
                        offset,
                        text: text.to_owned(),
                    }
                }
                "read" => {
                    let usage = || {
                        format!(
                            "usage: {name} read <offset> <len>, within bytes 0-{}",
                            DATA_LEN - 1
                        )
                    };
                    let (offset, len) = split_word(rest);
                    let (offset, len): (usize, usize) = match (offset.parse(), len.parse()) {
                        (Ok(offset), Ok(len)) => (offset, len),
                        _ => return Err(usage()),
                    };
                    if len == 0 || offset.checked_add(len).is_none_or(|end| end > DATA_LEN) {
                        return Err(usage());
                    }
                    Command::Read { who, offset, len }
                }
                _ => {
                    return Err(format!(
                        "{name} what? {name} write <offset> <text>, or {name} read <offset> <len>"
                    ));
                }
            }
        }
        _ => return Err(format!("unknown command {word:?}: type help for the list")),
    };
    Ok(Some(command))
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
        assert_eq!(
            parse("a write 3 hello world"),
            Ok(Some(Command::Write {
                who: 'A',
                offset: 3,
                text: "hello world".into()
            }))
        );
        assert_eq!(
            parse("  B   read 0   5 "),
            Ok(Some(Command::Read {
                who: 'B',
                offset: 0,
                len: 5
            }))
        );
        assert_eq!(parse("race"), Ok(Some(Command::Race(DEFAULT_RACE))));
        assert_eq!(parse("race 10"), Ok(Some(Command::Race(10))));
        assert_eq!(parse(""), Ok(None));
        assert_eq!(parse("quit"), Ok(Some(Command::Quit)));
    }

    #[test]
    fn bad_commands_get_a_hint() {
        for bad in [
            "a write",
            "a write x hi",
            "a write 128 hi",
            "a write 127 hi",
            "b read 0",
            "b read 120 9",
            "b read 0 0",
            "b fly",
            "race 0",
            "race many",
            "jump",
        ] {
            let hint = parse(bad).unwrap_err();
            assert!(
                !hint.contains('\n'),
                "{bad:?}: a one-line hint, got {hint:?}"
            );
        }
    }
}
