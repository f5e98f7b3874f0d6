//! Pipes: one for the requests (parent to child), one for the replies. A
//! pipe goes one way only, so a round trip takes two. Each process closes
//! the ends it does not use, so that a dead peer shows as end-of-file (or
//! `EPIPE`). Nothing to remove: a pipe has no name and goes away with its
//! last descriptor.

use std::io::{self, PipeReader, PipeWriter};

use anyhow::anyhow;
use common::Perror;

use super::{Channel, Ctx, Endpoint, Shape, Side, StreamEnd, size_pipe};

#[derive(Debug)]
struct Pipes {
    request: Option<(PipeReader, PipeWriter)>,
    reply: Option<(PipeReader, PipeWriter)>,
}

pub fn open(_: &Ctx<'_>, shape: Shape) -> anyhow::Result<Box<dyn Channel>> {
    let request = io::pipe().perror("pipe")?;
    // The one-way streams go parent to child: make that pipe large.
    size_pipe(&request.1, shape.pipe_bytes)?;
    Ok(Box::new(Pipes {
        request: Some(request),
        reply: Some(io::pipe().perror("pipe")?),
    }))
}

impl Channel for Pipes {
    fn end(&mut self, side: Side) -> anyhow::Result<Box<dyn Endpoint + '_>> {
        let taken = || anyhow!("the pipes were already taken");
        let (request_rx, request_tx) = self.request.take().ok_or_else(taken)?;
        let (reply_rx, reply_tx) = self.reply.take().ok_or_else(taken)?;
        // Keep our two ends; the other two are dropped (closed) here.
        let end: Box<dyn Endpoint> = match side {
            Side::Parent { .. } => Box::new(StreamEnd {
                rx: reply_rx,
                tx: request_tx,
                read_call: "read(pipe)",
                write_call: "write(pipe)",
            }),
            Side::Child { .. } => Box::new(StreamEnd {
                rx: request_rx,
                tx: reply_tx,
                read_call: "read(pipe)",
                write_call: "write(pipe)",
            }),
        };
        Ok(end)
    }
}
