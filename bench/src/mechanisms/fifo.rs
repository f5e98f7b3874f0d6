//! FIFOs (named pipes): two, like the two pipes, but reached by a path in
//! the run's private directory (mode 0600), so that unrelated processes
//! could open them too.
//!
//! Opening a FIFO blocks until the other end is opened as well, and a
//! read returns end-of-file while no writer has it open; both would go
//! wrong if the child died, or started reading, before the parent opened
//! its end. So the parent opens its two ends before the fork: the reply
//! FIFO for reading with `O_NONBLOCK` (which never waits), and the request
//! FIFO for writing, made possible by a placeholder reader it opens first.
//! After the fork, the child opens the request FIFO for reading (it has a
//! writer) and the reply FIFO for writing (it has a reader), and says it is
//! ready; only then does the parent close the placeholder. Each process
//! closes its copies of the other's ends, so that a dead peer shows as
//! end-of-file or `EPIPE`. The FIFOs are removed when the channel is
//! dropped.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::anyhow;
use common::Perror;
use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::sys::stat::Mode;
use nix::unistd::mkfifo;

use super::{Channel, Ctx, Endpoint, Shape, Side, StreamEnd, size_pipe};

/// A FIFO's path, removed when dropped.
#[derive(Debug)]
struct Fifo(PathBuf);

impl Fifo {
    fn create(path: PathBuf) -> anyhow::Result<Self> {
        mkfifo(&path, Mode::S_IRUSR | Mode::S_IWUSR)
            .perror(format!("mkfifo(\"{}\")", path.display()))?;
        Ok(Self(path))
    }
}

impl Drop for Fifo {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[derive(Debug)]
struct Fifos {
    request: Fifo,
    reply: Fifo,
    /// The parent's ends and the placeholder, opened before the fork.
    parent_ends: Option<ParentEnds>,
}

#[derive(Debug)]
struct ParentEnds {
    request_writer: File,
    reply_reader: File,
    placeholder: File,
}

pub fn open(ctx: &Ctx<'_>, shape: Shape) -> anyhow::Result<Box<dyn Channel>> {
    let request = Fifo::create(ctx.dir.join(format!("request-{}", ctx.serial)))?;
    let reply = Fifo::create(ctx.dir.join(format!("reply-{}", ctx.serial)))?;
    let placeholder = open_reader(&request.0)?;
    let request_writer = open_writer(&request.0)?;
    // The one-way streams go parent to child: make that pipe large.
    size_pipe(&request_writer, shape.pipe_bytes)?;
    let parent_ends = ParentEnds {
        request_writer,
        reply_reader: open_reader(&reply.0)?,
        placeholder,
    };
    Ok(Box::new(Fifos {
        request,
        reply,
        parent_ends: Some(parent_ends),
    }))
}

/// Opens a FIFO for reading without waiting for a writer, then makes the
/// descriptor blocking again for the measurement.
fn open_reader(path: &Path) -> anyhow::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .perror(format!(
            "open(\"{}\", O_RDONLY | O_NONBLOCK)",
            path.display()
        ))?;
    fcntl(&file, FcntlArg::F_SETFL(OFlag::empty())).perror("fcntl(F_SETFL)")?;
    Ok(file)
}

/// Opens a FIFO for writing; it has a reader already, so this does not block.
fn open_writer(path: &Path) -> anyhow::Result<File> {
    OpenOptions::new()
        .write(true)
        .open(path)
        .perror(format!("open(\"{}\", O_WRONLY)", path.display()))
        .map_err(Into::into)
}

impl Channel for Fifos {
    fn end(&mut self, side: Side) -> anyhow::Result<Box<dyn Endpoint + '_>> {
        let parent_ends = self
            .parent_ends
            .take()
            .ok_or_else(|| anyhow!("the FIFOs were already taken"))?;
        let (rx, tx) = match side {
            Side::Child { .. } => {
                // The child's copies of the parent's ends are not its own.
                drop(parent_ends);
                let rx = open_reader(&self.request.0)?;
                (rx, open_writer(&self.reply.0)?)
            }
            Side::Parent { .. } => {
                // The child reads the request FIFO now: the placeholder can go.
                drop(parent_ends.placeholder);
                (parent_ends.reply_reader, parent_ends.request_writer)
            }
        };
        Ok(Box::new(StreamEnd {
            rx,
            tx,
            read_call: "read(FIFO)",
            write_call: "write(FIFO)",
        }))
    }
}
