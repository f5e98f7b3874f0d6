//! How the controller talks to Process A and Process B: each is forked with
//! two pipes, one for the commands the controller forwards, one for the
//! reports the process sends back (a line each; the controller prints them).
//!
//! A report line starts with a tag: `say <text>` (a line for the
//! transcript), `fact <word> <value>` (a number the controller needs),
//! `blocked` (the process is about to sleep in a system call; it reports
//! again when it wakes) and `done` (the command is finished).

use std::io::{self, BufRead, BufReader, PipeReader, PipeWriter, Write};
use std::mem;
use std::os::fd::BorrowedFd;

use anyhow::{Context, anyhow};
use common::{Child, Perror, run_child};
use nix::sys::signal::Signal;
use nix::unistd::{ForkResult, Pid, fork, getpid, getppid};

use crate::console::{Line, Lines, worker_signals};

/// One line of a process's report.
#[derive(Debug, PartialEq, Eq)]
pub enum Report {
    Say(String),
    Fact(String, u64),
    Blocked,
    Done,
}

/// The controller's end of a link to Process A or B.
#[derive(Debug)]
pub struct Link {
    name: char,
    pid: Pid,
    child: Option<Child>,
    commands: Option<PipeWriter>,
    reports: Lines<PipeReader>,
}

impl Link {
    /// Forks Process `name`, which runs `work` and exits when it returns.
    /// `others` are the links forked before: the new process closes its
    /// copies of their pipes, so each pipe has exactly the two ends it needs.
    pub fn spawn(
        name: char,
        others: &mut Vec<Link>,
        work: impl FnOnce(Worker) -> anyhow::Result<()>,
    ) -> anyhow::Result<Link> {
        let (command_reader, command_writer) = io::pipe().perror("pipe")?;
        let (report_reader, report_writer) = io::pipe().perror("pipe")?;
        let controller = getpid();
        // SAFETY: the process is single-threaded, so the child's copy of it
        // holds no lock that another thread was holding. Each line printed
        // so far is already written out (see `say!`), so the child cannot
        // print it again.
        match unsafe { fork() }.perror("fork")? {
            ForkResult::Child => {
                for other in others.drain(..) {
                    other.close_in_worker();
                }
                drop(command_writer);
                drop(report_reader);
                run_child(|| {
                    worker_signals()?;
                    // If the controller is killed outright (SIGKILL), its
                    // workers go with it rather than sleep on forever.
                    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).perror("prctl")?;
                    if getppid() != controller {
                        return Ok(()); // it died before prctl
                    }
                    work(Worker {
                        name,
                        pid: getpid(),
                        commands: BufReader::new(command_reader),
                        reports: report_writer,
                    })
                })
            }
            ForkResult::Parent { child } => Ok(Link {
                name,
                pid: child,
                child: Some(Child::new(child)),
                commands: Some(command_writer),
                reports: Lines::new(report_reader),
            }),
        }
    }

    /// In a worker forked later: this link is the controller's, not ours.
    /// Close our copies of its pipes; the process is not ours to end.
    fn close_in_worker(self) {
        let Link {
            child,
            commands,
            reports,
            ..
        } = self;
        mem::forget(child);
        drop(commands);
        drop(reports);
    }

    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// `A (pid 1234)`: how the transcript names the process.
    pub fn tag(&self) -> String {
        format!("{} (pid {})", self.name, self.pid())
    }

    /// The report pipe, for the controller to watch while it waits for a
    /// command.
    pub fn reports_fd(&self) -> BorrowedFd<'_> {
        self.reports.fd()
    }

    /// Ends the process now (SIGKILL) and reaps it, as dropping the link
    /// would: for a controller that is leaving early and must see the
    /// process gone before it removes what the process sleeps on.
    pub fn end(&mut self) {
        drop(self.child.take());
    }

    /// Forwards one command.
    pub fn send(&mut self, command: &str) -> anyhow::Result<()> {
        let pipe = self
            .commands
            .as_mut()
            .ok_or_else(|| anyhow!("{} has no command pipe", self.name))?;
        // One write(2) of one short line.
        pipe.write_all(format!("{command}\n").as_bytes())
            .perror("write command pipe")?;
        Ok(())
    }

    /// The next line of the process's report, waiting for it.
    pub fn next_report(&mut self) -> anyhow::Result<Report> {
        match self.reports.next_line()? {
            Line::Text(line) => parse_report(&line)
                .with_context(|| format!("{}: a report the controller cannot read", self.name)),
            Line::End => {
                // The process ended without being asked: say how.
                let tag = self.tag();
                let status = match self.child.take() {
                    Some(child) => child.wait().err(),
                    None => None,
                };
                Err(match status {
                    Some(error) => anyhow!("{tag} ended: {error}"),
                    None => anyhow!("{tag} ended before its work was done"),
                })
            }
        }
    }

    /// Closes the command pipe, which tells the process to finish; returns
    /// the lines it reports on its way out, after it has exited.
    pub fn finish(mut self) -> anyhow::Result<Vec<String>> {
        drop(self.commands.take());
        let mut said = Vec::new();
        while let Line::Text(line) = self.reports.next_line()? {
            if let Report::Say(text) = parse_report(&line)? {
                said.push(text);
            }
        }
        if let Some(child) = self.child.take() {
            child.wait().with_context(|| self.tag())?;
        }
        Ok(said)
    }
}

fn parse_report(line: &str) -> anyhow::Result<Report> {
    let (tag, rest) = line.split_once(' ').unwrap_or((line, ""));
    Ok(match tag {
        "say" => Report::Say(rest.to_owned()),
        "fact" => {
            let (name, value) = rest
                .split_once(' ')
                .ok_or_else(|| anyhow!("fact without a value: {line:?}"))?;
            Report::Fact(name.to_owned(), value.parse()?)
        }
        "blocked" => Report::Blocked,
        "done" => Report::Done,
        _ => return Err(anyhow!("unknown report {line:?}")),
    })
}

/// The worker's end of its link, in Process A or B.
#[derive(Debug)]
pub struct Worker {
    name: char,
    pid: Pid,
    commands: BufReader<PipeReader>,
    reports: PipeWriter,
}

impl Worker {
    /// `A (pid 1234)`: how the transcript names this process.
    pub fn tag(&self) -> String {
        format!("{} (pid {})", self.name, self.pid)
    }

    /// The next command, or `None` once the controller has closed the pipe.
    pub fn next_command(&mut self) -> anyhow::Result<Option<String>> {
        let mut line = String::new();
        let n =
            common::blocking(|| self.commands.read_line(&mut line)).perror("read command pipe")?;
        Ok((n > 0).then(|| line.trim_end_matches('\n').to_owned()))
    }

    fn report(&mut self, line: &str) -> anyhow::Result<()> {
        // One write(2) per line: the controller reads it as soon as it is sent.
        self.reports
            .write_all(format!("{line}\n").as_bytes())
            .perror("write report pipe")?;
        Ok(())
    }

    /// A line for the transcript (it must not hold a newline).
    pub fn say(&mut self, text: impl AsRef<str>) -> anyhow::Result<()> {
        self.report(&format!("say {}", text.as_ref()))
    }

    pub fn fact(&mut self, name: &str, value: u64) -> anyhow::Result<()> {
        self.report(&format!("fact {name} {value}"))
    }

    pub fn blocked(&mut self) -> anyhow::Result<()> {
        self.report("blocked")
    }

    pub fn done(&mut self) -> anyhow::Result<()> {
        self.report("done")
    }
}
