//! A Unix domain stream socket, as in the tutorial: the parent binds and
//! listens on a path in the run's private directory (mode 0700, so no other
//! user can connect; the socket file itself is made 0600), the child connects, the parent accepts. One socket
//! carries both directions. The socket file is removed when the channel is
//! dropped.
//!
//! The child connects before it says it is ready, so the connection is
//! already queued when the parent calls `accept`, which therefore never
//! waits for a child that died.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;

use common::Perror;

use super::{Channel, Ctx, Endpoint, Shape, Side, StreamEnd};
use crate::stop;

/// The socket file, removed when dropped.
#[derive(Debug)]
struct SocketFile(PathBuf);

impl Drop for SocketFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[derive(Debug)]
struct UnixSocket {
    // Fields drop in this order: close the listener, then remove the file.
    listener: UnixListener,
    path: SocketFile,
}

pub fn open(ctx: &Ctx<'_>, _: Shape) -> anyhow::Result<Box<dyn Channel>> {
    let path = ctx.dir.join(format!("socket-{}", ctx.serial));
    let listener = UnixListener::bind(&path).perror(format!("bind(\"{}\")", path.display()))?;
    let path = SocketFile(path);
    // Owner-only, like every other object of the run (the directory is
    // private already; this says so on the file itself).
    fs::set_permissions(&path.0, fs::Permissions::from_mode(0o600)).perror("chmod")?;
    Ok(Box::new(UnixSocket { listener, path }))
}

impl Channel for UnixSocket {
    fn end(&mut self, side: Side) -> anyhow::Result<Box<dyn Endpoint + '_>> {
        let stream = match side {
            Side::Child { .. } => {
                let path = &self.path.0;
                stop::restart(format!("connect(\"{}\")", path.display()).as_str(), || {
                    UnixStream::connect(path)
                })?
            }
            Side::Parent { .. } => stop::restart("accept", || self.listener.accept())?.0,
        };
        let rx = stream.try_clone().perror("dup")?;
        Ok(Box::new(StreamEnd {
            rx,
            tx: stream,
            read_call: "recv(unix socket)",
            write_call: "send(unix socket)",
        }))
    }
}
