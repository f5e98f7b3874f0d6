//! A parent and a forked child, pinned, with a small control pipe from the
//! child to the parent for what is not the measured traffic: "ready",
//! "warm-up done", and the child's final report (its clock reading, how many
//! messages it checked, where it ran).
//!
//! The child dies with the parent (`PR_SET_PDEATHSIG`), so a parent killed
//! with SIGKILL leaves no child spinning. A parent that leaves early in any
//! other way drops the [`Pair`], which kills and reaps the child
//! ([`common::Child`]); the IPC objects are removed after that, because
//! their guards were made before the pair.

use std::io::{self, Read, Write};

use anyhow::{anyhow, bail};
use common::{Child, Perror, run_child};
use nix::sys::prctl;
use nix::sys::signal::Signal;
use nix::unistd::{ForkResult, Pid, fork, getpid, getppid};

use crate::placement::{Plan, current_cpu};
use crate::stop::{self, Stopped};

/// What the child tells the parent on the control pipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum Note {
    /// Pinned and connected: `a` is the child's CPU.
    Ready = 1,
    /// Every warm-up message received and checked.
    Warm = 2,
    /// Finished: `a` is the child's clock reading (or CPU), `b` the number
    /// of messages it checked.
    Done = 3,
}

/// The child's end of the control pipe.
#[derive(Debug)]
pub struct Control {
    writer: io::PipeWriter,
}

impl Control {
    /// Sends `note` with two numbers: one write of 24 bytes, which a pipe
    /// delivers whole (it is less than PIPE_BUF).
    pub fn send(&mut self, note: Note, a: u64, b: u64) -> anyhow::Result<()> {
        let mut bytes = [0; 24];
        for (chunk, value) in bytes.chunks_exact_mut(8).zip([note as u64, a, b]) {
            chunk.copy_from_slice(&value.to_le_bytes());
        }
        stop::restart("write control pipe", || self.writer.write_all(&bytes))
    }
}

/// The parent's side: the child and the read end of the control pipe.
#[derive(Debug)]
pub struct Pair {
    control: io::PipeReader,
    child: Child,
}

impl Pair {
    /// Forks a child pinned to `plan.child` that runs `work`; pins the parent
    /// to `plan.parent`. Call it while the process has one thread.
    pub fn fork(
        plan: &Plan,
        child_cpu: Option<usize>,
        parent_cpu: Option<usize>,
        work: impl FnOnce(&mut Control) -> anyhow::Result<()>,
    ) -> anyhow::Result<Self> {
        plan.pin(parent_cpu)?;
        let (control, writer) = io::pipe().perror("pipe")?;
        let parent = getpid();
        stop::new_child();
        // SAFETY: the bench never starts a thread, so the child's copy of the
        // process holds no lock that another thread was holding. Nothing is
        // waiting in stdout's buffer: the report is printed at the end.
        match unsafe { fork() }.perror("fork")? {
            ForkResult::Child => run_child(|| {
                drop(control);
                let mut control = Control { writer };
                match child_start(plan, child_cpu, parent).and_then(|()| work(&mut control)) {
                    // Ctrl-C reaches both processes; the parent reports it.
                    Err(error) if error.is::<Stopped>() => Ok(()),
                    result => result,
                }
            }),
            ForkResult::Parent { child } => {
                drop(writer);
                Ok(Self {
                    control,
                    child: Child::new(child),
                })
            }
        }
    }

    pub fn child_pid(&self) -> Pid {
        self.child.pid()
    }

    /// Waits for `note` from the child and returns its two numbers.
    pub fn receive(&mut self, note: Note) -> anyhow::Result<(u64, u64)> {
        let mut bytes = [0; 24];
        let mut got = 0;
        while got < bytes.len() {
            let n = stop::restart("read control pipe", || self.control.read(&mut bytes[got..]))?;
            if n == 0 {
                bail!("the child process ended before it said {note:?} (see its error above)");
            }
            got += n;
        }
        let mut words = bytes.chunks_exact(8).map(|chunk| {
            chunk
                .iter()
                .rev()
                .fold(0, |word, &b| word << 8 | u64::from(b))
        });
        let mut next = || words.next().ok_or_else(|| anyhow!("short control message"));
        let (tag, a, b) = (next()?, next()?, next()?);
        if tag != note as u64 {
            bail!("the child said {tag} where the parent expected {note:?}");
        }
        Ok((a, b))
    }

    /// Waits for the child to exit; an error unless it exited with status 0.
    pub fn finish(self) -> anyhow::Result<()> {
        self.child.wait()
    }
}

/// The child's first steps: die with the parent, then move to its CPU.
fn child_start(plan: &Plan, cpu: Option<usize>, parent: Pid) -> anyhow::Result<()> {
    prctl::set_pdeathsig(Signal::SIGKILL).perror("prctl(PR_SET_PDEATHSIG)")?;
    // The parent may have died before the line above: then nobody waits.
    if getppid() != parent {
        bail!("the parent process ended before the child started");
    }
    plan.pin(cpu)?;
    // Start on the CPU we were pinned to, not the one we were forked on.
    let _ = current_cpu()?;
    Ok(())
}
