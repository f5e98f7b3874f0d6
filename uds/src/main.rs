//! # uds: a Unix domain socket
//!
//! The tutorial's "Socket Example (Unix Domain)", ported line for line from
//! `c/uds.c`. The process forks first; the parent becomes the server, the
//! child the client. The server binds a stream socket to a path in the file
//! system, listens and accepts; the client connects to the same path. They
//! exchange one message each way over the connection, which is
//! bidirectional, unlike a pipe.
//!
//! ```text
//! cargo run -p uds [SOCKET_PATH]     # default /tmp/ipc_socket
//! ```
//!
//! prints (the client's first line may come before the server's first):
//!
//! ```text
//! Server waiting for connection...
//! Client connected to server
//! Server accepted connection
//! Server received: Hello from the client!
//! Client received: Hello from the server!
//! ```
//!
//! | C | Rust |
//! |---|---|
//! | `SOCKET_PATH "/tmp/ipc_socket"` | the optional argument, this by default |
//! | `fork()` | `nix::unistd::fork`; the client is `client`, ended by `run_child` |
//! | `socket(AF_UNIX, SOCK_STREAM, 0)` | `nix::sys::socket::socket`: an `OwnedFd` |
//! | `server_addr`: `memset`, `strncpy` | `UnixAddr::new`, once, before `fork` |
//! | `bind`, `listen`, `accept`, `connect` | the same, from `nix::sys::socket` |
//! | `send`, `recv` | the same, inside [`common::blocking`]: retried on `EINTR` |
//! | `close(client_sock)` | `drop(client_sock)`: closing is dropping |
//! | `unlink(SOCKET_PATH)` at the end | `socket_file.unlink()` (`nix::unistd::unlink`) |
//! | `printf` | `say!`: a closed stdout is one error line, exit 1 (C dies of SIGPIPE) |
//! | `sleep(1)` | [`common::sleep`]: Ctrl-C ends it |
//! | `wait(NULL)` | [`common::Child::wait`]: a child that failed makes the parent fail |
//! | `perror("bind"); exit(EXIT_FAILURE);` | `.perror("bind")?`: `main` prints it, exit 1 |
//!
//! ## Beyond the listing
//!
//! `robust.rs` holds what the C leaves to luck. A path too long for
//! `sun_path` is bad usage (C cuts it short). One run per path at a time:
//! the C would unlink a running server's socket. The `unlink` before `bind`
//! removes only a socket that a crashed run provably left, never a file of
//! another kind or a live server's. The socket file is owner-only (0600),
//! and removed on every way out: Ctrl-C ends both processes with
//! `uds: interrupted by SIGINT; removed socket /tmp/ipc_socket`, exit 130.
//! The client connects again while the server is not listening yet, and a
//! client that hangs up early makes the server say how the child ended.
//! Another program that removes or replaces the socket file, or connects
//! first, or sends SIGUSR1 or SIGHUP, stops the run with one line.

mod robust;

use std::ffi::OsString;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use common::{Child, Perror, blocking, run_child, say};
use nix::errno::Errno;
use nix::sys::socket::{
    AddressFamily, Backlog, MsgFlags, SockFlag, SockType, UnixAddr, accept, bind, connect, listen,
    recv, send, socket,
};
use nix::unistd::{ForkResult, fork, unlink};
use robust::SocketFile;

const HELP: &str = "\
Usage: uds [SOCKET_PATH]
A server (the parent) and a client (its forked child) talk over a Unix domain stream socket
bound to SOCKET_PATH (default: /tmp/ipc_socket).
";

const SOCKET_PATH: &str = "/tmp/ipc_socket";
const BUFFER_SIZE: usize = 100;

fn main() -> ExitCode {
    common::main(HELP, SOCKET_PATH, run)
}

fn run(socket_path: OsString) -> anyhow::Result<()> {
    let socket_path = PathBuf::from(socket_path);

    // Setup address structure, for both processes (it must fit: robust.rs)
    let server_addr = UnixAddr::new(&socket_path).map_err(|_| robust::bad_path(&socket_path))?;

    // One run per socket path at a time (robust.rs)
    let _claim = robust::claim(&socket_path)?;

    // Create child process
    // SAFETY: the process is single-threaded, so the child's copy of it holds
    // no lock that another thread was holding. Nothing has been printed yet.
    let child = match unsafe { fork() }.perror("fork")? {
        ForkResult::Child => run_child(|| client(&server_addr)),
        ForkResult::Parent { child } => Child::watch(child)?,
    };
    // SIGHUP, SIGUSR1 and SIGUSR2 stop the server as SIGTERM does (robust.rs)
    robust::stop_on_other_signals()?;

    // Parent process: server
    let mut buffer = [0; BUFFER_SIZE];

    // Create socket
    let server_sock = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::empty(),
        None,
    )
    .perror("socket")?;

    // Remove socket file if it already exists
    // (only a socket that a crashed run left: robust.rs)
    if robust::left_by_a_crashed_run(&socket_path, &server_addr)? {
        unlink(&socket_path).perror(format!("unlink(\"{}\")", socket_path.display()))?;
        robust::reclaimed(&socket_path);
    }

    // Bind socket (the file it creates is owner-only: robust.rs)
    robust::owner_only(|| bind(server_sock.as_raw_fd(), &server_addr))
        .perror(format!("bind(\"{}\")", socket_path.display()))?;
    // From here on, the socket file is removed on every way out (robust.rs)
    let socket_file = SocketFile::adopt(&socket_path);

    // Listen for connections (Backlog::new checks that 5 is in range)
    let backlog = Backlog::new(5).perror("listen")?;
    listen(&server_sock, backlog).perror("listen")?;

    say!("Server waiting for connection...")?;

    // Accept connection (no longer if the socket file goes: robust.rs)
    let client_sock = robust::while_bound(&socket_file, &server_sock, || {
        blocking(|| accept(&server_sock))
    })?;

    say!("Server accepted connection")?;
    // Only the client may be at the other end (robust.rs)
    robust::from_the_client(&child, &client_sock, &socket_path)?;

    // Receive message
    let received = blocking(|| {
        let buffer = &mut buffer[..BUFFER_SIZE - 1];
        recv(client_sock.as_raw_fd(), buffer, MsgFlags::empty())
    });
    let bytes_received = match received {
        // The client hung up (ECONNRESET: with data still in flight), where
        // the C prints an empty message: say how the child ended (robust.rs)
        Ok(0) | Err(Errno::ECONNRESET) => {
            return Err(robust::client_gone(child, &client_sock, "recv"));
        }
        received => received.perror("recv")?,
    };

    let message = String::from_utf8_lossy(&buffer[..bytes_received]);
    say!("Server received: {message}")?;

    // Send response
    let response = "Hello from the server!";
    match blocking(|| {
        send(
            client_sock.as_raw_fd(),
            response.as_bytes(),
            MsgFlags::empty(),
        )
    }) {
        // The client hung up: say how the child ended (robust.rs)
        Err(Errno::EPIPE | Errno::ECONNRESET) => {
            return Err(robust::client_gone(child, &client_sock, "send"));
        }
        sent => sent.perror("send")?,
    };

    // Clean up: close(client_sock), close(server_sock), unlink(SOCKET_PATH)
    drop(client_sock);
    drop(server_sock);
    socket_file
        .unlink()
        .perror(format!("unlink(\"{}\")", socket_path.display()))?;

    // Wait for child to finish
    child.wait()
}

/// The child's part: the client.
fn client(server_addr: &UnixAddr) -> anyhow::Result<()> {
    // Child process: client
    common::sleep(Duration::from_secs(1))?; // Wait for server to set up

    let mut buffer = [0; BUFFER_SIZE];

    // Create socket
    let client_sock = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::empty(),
        None,
    )
    .perror("socket")?;

    // Connect to server (again while the server is not listening yet: robust.rs)
    robust::until_listening(|| {
        blocking(|| connect(client_sock.as_raw_fd(), server_addr))
            .perror(format!("connect({server_addr})"))
    })?;

    say!("Client connected to server")?;

    // Send message to server
    let message = "Hello from the client!";
    blocking(|| {
        send(
            client_sock.as_raw_fd(),
            message.as_bytes(),
            MsgFlags::empty(),
        )
    })
    .perror("send")?;

    // Receive response
    let received = blocking(|| {
        let buffer = &mut buffer[..BUFFER_SIZE - 1];
        recv(client_sock.as_raw_fd(), buffer, MsgFlags::empty())
    });
    let bytes_received = match received {
        // The server hung up (ECONNRESET: with data still in flight): it
        // is leaving, and says why (robust.rs)
        Ok(0) | Err(Errno::ECONNRESET) => return Err(robust::server_gone()),
        received => received.perror("recv")?,
    };

    let response = String::from_utf8_lossy(&buffer[..bytes_received]);
    say!("Client received: {response}")?;

    // Close connection
    drop(client_sock);
    Ok(())
}
