//! TCP over the loopback interface: the same calls as between two machines,
//! which is the tutorial's "network support", paid for here by the whole
//! TCP/IP stack on every message. The parent listens on 127.0.0.1 with a
//! port the kernel picks (so parallel runs never collide), the child
//! connects. `TCP_NODELAY` on both ends sends each message at once (without
//! it, Nagle's algorithm holds small messages back).
//!
//! Any local process could connect to a TCP port, so the child first sends
//! a token that only the parent and child know, and the parent refuses a
//! connection that does not send it.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};

use anyhow::bail;
use common::Perror;

use super::{Channel, Ctx, Endpoint, Shape, Side, StreamEnd};
use crate::stats::now_ns;
use crate::stop;

#[derive(Debug)]
struct Tcp {
    listener: TcpListener,
    token: [u8; 8],
}

pub fn open(_: &Ctx<'_>, _: Shape) -> anyhow::Result<Box<dyn Channel>> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).perror("bind(127.0.0.1:0)")?;
    // Not a secret against an attacker on the machine, but never what a
    // stray client sends first.
    let token = (now_ns() ^ (u64::from(std::process::id()) << 32)).to_le_bytes();
    Ok(Box::new(Tcp { listener, token }))
}

impl Channel for Tcp {
    fn end(&mut self, side: Side) -> anyhow::Result<Box<dyn Endpoint + '_>> {
        let stream = match side {
            Side::Child { .. } => {
                let address = self.listener.local_addr().perror("getsockname")?;
                let mut stream =
                    stop::restart("connect(127.0.0.1)", || TcpStream::connect(address))?;
                stream.write_all(&self.token).perror("send(token)")?;
                stream
            }
            Side::Parent { .. } => {
                let (mut stream, _) = stop::restart("accept", || self.listener.accept())?;
                let mut token = [0; 8];
                stream.read_exact(&mut token).perror("recv(token)")?;
                if token != self.token {
                    bail!("accept: a connection from another process; run again");
                }
                stream
            }
        };
        stream.set_nodelay(true).perror("setsockopt(TCP_NODELAY)")?;
        let rx = stream.try_clone().perror("dup")?;
        Ok(Box::new(StreamEnd {
            rx,
            tx: stream,
            read_call: "recv(tcp)",
            write_call: "send(tcp)",
        }))
    }
}
