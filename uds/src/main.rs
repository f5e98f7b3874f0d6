//! # uds: a Unix domain socket
//!
//! The tutorial's "Socket Example (Unix Domain)", ported line for line from
//! `shared/reference/c/uds.c`. The process forks first; the parent becomes
//! the server, the child the client. The server binds a stream socket to a
//! path in the file system, listens and accepts; the client connects to the
//! same path. They exchange one message each way over the connection, which
//! is bidirectional, unlike a pipe.
//!
//! The C client sleeps one second and hopes the server is listening by then;
//! on a loaded machine its `connect` can fail. This port keeps the sleep for
//! pacing, and the client connects again while the server is not yet there.
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
//! | C | Rust | what changes |
//! |---|---|---|
//! | `SOCKET_PATH "/tmp/ipc_socket"` | the optional argument, this by default | a path too long for `sun_path` is refused (C truncates it) |
//! | `fork()` | `nix::unistd::fork`; the client is `client`, ended by [`common::run_child`] | the child never returns into `main` |
//! | `socket(AF_UNIX, SOCK_STREAM, 0)` | `nix::sys::socket::socket` | an `OwnedFd`: closing is dropping |
//! | `unlink(SOCKET_PATH)` before `bind` | `remove_stale_socket` | only a socket is removed; any other file at the path is an error |
//! | `bind`, `listen(server_sock, 5)` | `bind` with umask 0177, `listen` | the socket file is owner-only (0600) |
//! | `accept`, `recv`, `send` | the same, inside [`common::blocking`] | retried when a signal interrupts them; an empty message is an error |
//! | `connect` after `sleep(1)` | `connect_to_server`: `connect`, again while the server is not listening yet | |
//! | `unlink(SOCKET_PATH)` at the end | `SocketFile::remove`; `Drop` on every other path | the file is removed even after an error or a panic |
//! | `wait(NULL)` | [`common::Child::wait`] | a child that failed makes the parent fail |

use std::ffi::OsString;
use std::fs;
use std::mem::{self, ManuallyDrop};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::thread::sleep;
use std::time::Duration;

use anyhow::bail;
use common::{Child, Perror, SysError, UsageError, blocking, note, run_child, say};
use nix::errno::Errno;
use nix::sys::socket::{
    AddressFamily, Backlog, MsgFlags, SockFlag, SockType, UnixAddr, accept, bind, connect, listen,
    recv, send, socket,
};
use nix::sys::stat::{Mode, umask};
use nix::unistd::{ForkResult, fork, getppid, unlink};

const HELP: &str = "\
Usage: uds [SOCKET_PATH]
A server (the parent) and a client (its forked child) talk over a Unix domain stream socket
bound to SOCKET_PATH (default: /tmp/ipc_socket).
";

const SOCKET_PATH: &str = "/tmp/ipc_socket";
const BUFFER_SIZE: usize = 100;

/// How long the client waits before it tries to connect again.
const CONNECT_RETRY: Duration = Duration::from_millis(10);

fn main() -> ExitCode {
    common::main(HELP, SOCKET_PATH, run)
}

fn run(socket_path: OsString) -> anyhow::Result<()> {
    // The address both processes use: the path must fit in sun_path.
    let socket_path = PathBuf::from(socket_path);
    let server_addr = UnixAddr::new(&socket_path).map_err(|_| {
        UsageError(format!(
            "socket path too long: {} bytes, at most {} fit in sun_path",
            socket_path.as_os_str().len(),
            sun_path_capacity()
        ))
    })?;

    // Create child process
    // SAFETY: the process is single-threaded, so the child's copy of it holds
    // no lock that another thread was holding. Nothing has been printed yet.
    let child = match unsafe { fork() }.perror("fork")? {
        ForkResult::Child => run_child(|| client(&server_addr)),
        ForkResult::Parent { child } => Child::watch(child)?,
    };

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
    remove_stale_socket(&socket_path)?;

    // Bind socket
    let socket_file = SocketFile::bind(&server_sock, &server_addr, &socket_path)?;

    // Listen for connections (Backlog::new checks that 5 is in range)
    let backlog = Backlog::new(5).perror("listen")?;
    listen(&server_sock, backlog).perror("listen")?;

    say!("Server waiting for connection...")?;

    // Accept connection
    let client_sock = blocking(|| accept(&server_sock)).perror("accept")?;

    say!("Server accepted connection")?;

    // Receive message
    let bytes_received = receive(&client_sock, &mut buffer)?;

    say!(
        "Server received: {}",
        String::from_utf8_lossy(&buffer[..bytes_received])
    )?;

    // Send response
    let response = "Hello from the server!";
    blocking(|| {
        send(
            client_sock.as_raw_fd(),
            response.as_bytes(),
            MsgFlags::empty(),
        )
    })
    .perror("send")?;

    // Clean up
    drop(client_sock);
    drop(server_sock);
    socket_file
        .remove()
        .perror(format!("unlink(\"{}\")", socket_path.display()))?;

    // Wait for child to finish
    child.wait()
}

/// The child's part: the client.
fn client(server_addr: &UnixAddr) -> anyhow::Result<()> {
    // Child process: client
    sleep(Duration::from_secs(1)); // Wait for server to set up

    let mut buffer = [0; BUFFER_SIZE];

    // Create socket
    let client_sock = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::empty(),
        None,
    )
    .perror("socket")?;

    // Connect to server
    connect_to_server(&client_sock, server_addr)?;

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
    let bytes_received = receive(&client_sock, &mut buffer)?;

    say!(
        "Client received: {}",
        String::from_utf8_lossy(&buffer[..bytes_received])
    )?;

    // Close connection
    drop(client_sock);
    Ok(())
}

/// `connect(2)`, and again while the server is not listening yet: `ENOENT`
/// (no socket file yet) or `ECONNREFUSED` (a file, but nobody listening on
/// it yet, or an old one that the server is about to replace). It gives up
/// if the parent, the server, is gone.
fn connect_to_server(client_sock: &OwnedFd, server_addr: &UnixAddr) -> Result<(), SysError> {
    let server = getppid();
    loop {
        match blocking(|| connect(client_sock.as_raw_fd(), server_addr)) {
            Err(Errno::ENOENT | Errno::ECONNREFUSED) if getppid() == server => sleep(CONNECT_RETRY),
            result => return result.perror(format!("connect({server_addr})")),
        }
    }
}

/// `recv(sock, buffer, BUFFER_SIZE - 1, 0)`: one message, which a peer that
/// closed the connection before sending makes an error (the C listing would
/// print an empty string).
fn receive(sock: &OwnedFd, buffer: &mut [u8; BUFFER_SIZE]) -> anyhow::Result<usize> {
    let bytes_received = blocking(|| {
        recv(
            sock.as_raw_fd(),
            &mut buffer[..BUFFER_SIZE - 1],
            MsgFlags::empty(),
        )
    })
    .perror("recv")?;
    if bytes_received == 0 {
        bail!("recv: the connection was closed before a message arrived");
    }
    Ok(bytes_received)
}

/// The listing's `unlink(SOCKET_PATH)` before `bind`, which makes room for
/// the new socket where a crashed run left its file. Only a socket is
/// removed: a regular file, a directory or a symlink at the path is not a
/// leftover of this program, and is reported instead.
fn remove_stale_socket(path: &Path) -> anyhow::Result<()> {
    if let Ok(metadata) = fs::symlink_metadata(path)
        && !metadata.file_type().is_socket()
    {
        bail!(
            "unlink(\"{}\"): not a socket, so not removed; choose another SOCKET_PATH",
            path.display()
        );
    }
    match unlink(path) {
        Ok(()) | Err(Errno::ENOENT) => Ok(()),
        Err(errno) => Err(SysError::new(
            format!("unlink(\"{}\")", path.display()),
            errno,
        ))?,
    }
}

/// The socket file that `bind` created: `remove` is the listing's
/// `unlink(SOCKET_PATH)` at the end. If the server leaves before that (an
/// error or a panic), dropping it unlinks the file. Only the parent owns a
/// `SocketFile`; the client only knows the address.
struct SocketFile {
    path: PathBuf,
}

impl SocketFile {
    /// `bind(server_sock, server_addr)`, which creates the socket file. The
    /// file gets mode 0777 minus the umask, so the umask is 0177 meanwhile:
    /// only the owner may connect.
    fn bind(server_sock: &OwnedFd, server_addr: &UnixAddr, path: &Path) -> Result<Self, SysError> {
        let umask_before = umask(Mode::from_bits_truncate(0o177));
        let bound = bind(server_sock.as_raw_fd(), server_addr);
        umask(umask_before);
        bound.perror(format!("bind(\"{}\")", path.display()))?;
        Ok(Self {
            path: path.to_owned(),
        })
    }

    /// Unlinks the file, once: the guard is not dropped afterwards.
    fn remove(self) -> Result<(), Errno> {
        let mut this = ManuallyDrop::new(self);
        unlink(&mem::take(&mut this.path))
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        if let Err(errno) = unlink(&self.path) {
            note!(
                "unlink(\"{}\"): {}; remove the socket file yourself",
                self.path.display(),
                errno.desc()
            );
        }
    }
}

/// How many bytes of path `sun_path` holds (108 on Linux), less its NUL.
fn sun_path_capacity() -> usize {
    size_of::<libc::sockaddr_un>() - size_of::<libc::sa_family_t>() - 1
}

#[cfg(test)]
mod late_server {
    use std::os::unix::net::UnixListener;
    use std::sync::mpsc;
    use std::thread;

    use super::*;

    #[test]
    fn the_client_connects_to_a_server_that_listens_late() {
        let dir = tests::TestDir::new();
        let path = dir.join("late.sock");
        let addr = UnixAddr::new(&path).unwrap();
        let (tid_sender, tid) = mpsc::channel();
        let client = thread::spawn(move || {
            tid_sender.send(nix::unistd::gettid()).unwrap();
            let sock = socket(
                AddressFamily::Unix,
                SockType::Stream,
                SockFlag::empty(),
                None,
            )
            .unwrap();
            connect_to_server(&sock, &addr)
        });

        // The client has failed to connect at least once and sleeps before
        // its next try: only then does the server start listening.
        let syscall = format!("/proc/self/task/{}/syscall", tid.recv().unwrap());
        let nanosleep = format!("{} ", libc::SYS_clock_nanosleep);
        tests::wait_until("the client retries", || {
            fs::read_to_string(&syscall).is_ok_and(|s| s.starts_with(&nanosleep))
        });
        let listener = UnixListener::bind(&path).unwrap();

        client.join().unwrap().unwrap();
        drop(listener);
    }
}
