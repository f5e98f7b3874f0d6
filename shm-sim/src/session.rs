//! The session: the controller reads a command, checks it, forwards it to A
//! or B, and prints what they report; `race` starts both at once on the
//! shared counter and counts the updates lost.

use std::sync::atomic::Ordering;

use sim::console::{Console, Input};
use sim::link::{Link, Report};

use crate::command::{COMMANDS, Command, parse};
use crate::segment::{Mapping, RACE_OFFSET};
use crate::view::{LastWrite, show};

/// The controller's session: its two processes and its view of the segment.
#[derive(Debug)]
pub struct Sim {
    pub console: Console,
    pub a: Link,
    pub b: Link,
    pub segment: libc::c_int,
    pub mapping: Mapping,
    pub last_write: Option<LastWrite>,
}

impl Sim {
    pub fn session(&mut self) -> anyhow::Result<()> {
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
            Command::Show => show(
                &self.console,
                &self.mapping,
                self.segment,
                self.last_write.as_ref(),
            )?,
            Command::Race(count) => self.race(count)?,
            Command::Help => self.console.say(COMMANDS)?,
            Command::Quit => {}
        }
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
pub fn finish_command(console: &Console, link: &mut Link, indent: &str) -> anyhow::Result<()> {
    loop {
        match link.next_report()? {
            Report::Say(line) => console.say(format_args!("{indent}{line}"))?,
            Report::Done => return Ok(()),
            // Loads and stores never block, and report no numbers.
            Report::Fact(..) | Report::Blocked => {}
        }
    }
}
