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
//! Ctrl-C (or SIGTERM) at any moment stops both processes; the server
//! removes its socket file and says so in one line, such as
//! `uds: interrupted by SIGINT; removed socket /tmp/ipc_socket`, and the
//! exit status is 130 (143). One run at a time uses a socket path: a second
//! run with the same path stops at once with an error.
//!
//! | C | Rust | what changes |
//! |---|---|---|
//! | `SOCKET_PATH "/tmp/ipc_socket"` | the optional argument, this by default | a path too long for `sun_path` is refused (C truncates it) |
//! | | [`common::leftover::claim`] of the path, before `fork` | a second run with the same path exits 1 and leaves the first alone (C would unlink the first run's socket) |
//! | `fork()` | `nix::unistd::fork`; the client is `client`, ended by [`common::run_child`] | the child never returns into `main` |
//! | `socket(AF_UNIX, SOCK_STREAM, 0)` | `nix::sys::socket::socket` | an `OwnedFd`: closing is dropping |
//! | `unlink(SOCKET_PATH)` before `bind` | `reclaim_leftover` | C removes whatever is there. Here a file that is not a socket (a regular file, a symlink, a directory) is an error and left alone; a socket is removed only if a crashed run provably left it (yours, mode 0600, nobody listening: a probe `connect` is refused), with a one-line notice |
//! | `bind`, `listen(server_sock, 5)` | `bind` with umask 0177, `listen` | the socket file is owner-only (0600) |
//! | `accept`, `recv`, `send` | the same, inside [`common::blocking`] | retried when a signal interrupts them; they stop at Ctrl-C, or when the child has ended. A client that hangs up early is an error; if it was the child (`SO_PEERCRED`), the server says how the child ended (C would print an empty message) |
//! | (SIGPIPE kills a C process that writes to a closed stdout) | [`common::run_child`]: a client whose stdout is closed exits quietly with 141 | the server gets `EPIPE` too, or learns it from `wait`, cleans up, and alone prints the one error line (`\| head -1`) |
//! | `sleep(1)` | [`common::sleep`] | Ctrl-C ends it (`std::thread::sleep` would sleep on) |
//! | `connect` after `sleep(1)` | `connect_to_server`: `connect`, again while the server is not listening yet | |
//! | `unlink(SOCKET_PATH)` at the end | `SocketFile::remove`; `Drop` on every other path | the file is removed even after an error, a panic or Ctrl-C |
//! | `wait(NULL)` | [`common::Child::wait`] | a child that failed makes the parent fail |

use std::ffi::OsString;
use std::fs::{self, FileType};
use std::io;
use std::mem::{self, ManuallyDrop};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, bail};
use common::leftover::{self, Found};
use common::{Child, Perror, SysError, UsageError, blocking, note, run_child, say};
use nix::errno::Errno;
use nix::sys::socket::{
    AddressFamily, Backlog, MsgFlags, SockFlag, SockType, UnixAddr, accept, bind, connect,
    getsockopt, listen, recv, send, socket, sockopt::PeerCredentials,
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

/// What to do about a file at our path that is not ours to remove.
const ADVICE: &str = "choose another SOCKET_PATH";

/// How long the client waits before it tries to connect again.
const CONNECT_RETRY: Duration = Duration::from_millis(10);

fn main() -> ExitCode {
    common::main(HELP, SOCKET_PATH, run)
}

fn run(socket_path: OsString) -> anyhow::Result<()> {
    // The address both processes use: the path must fit in sun_path.
    let socket_path = PathBuf::from(socket_path);
    let server_addr = server_address(&socket_path)?;

    // (One run at a time per socket path: a second run stops here, and an
    // old socket file at the path can only be a crashed run's; see
    // common::leftover.)
    let _claim = leftover::claim(
        &format!("uds {}", absolute(&socket_path).display()),
        &format_args!("socket {}", socket_path.display()),
        ADVICE,
    )?;

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

    // Remove socket file if it already exists (only a crashed run's)
    reclaim_leftover(&socket_path, &server_addr)?;

    // Bind socket
    let socket_file = SocketFile::bind(&server_sock, &server_addr, &socket_path)?;

    // Listen for connections (Backlog::new checks that 5 is in range)
    let backlog = Backlog::new(5).perror("listen")?;
    listen(&server_sock, backlog).perror("listen")?;

    say!("Server waiting for connection...")?;

    // Accept connection
    let client_sock = blocking(|| accept(&server_sock)).perror("accept")?;

    say!("Server accepted connection")?;

    // Receive message (none if the client hung up: see client_gone)
    let bytes_received = match receive(&client_sock, &mut buffer)? {
        0 => return Err(client_gone(child, &client_sock, "recv")),
        bytes_received => bytes_received,
    };

    say!(
        "Server received: {}",
        String::from_utf8_lossy(&buffer[..bytes_received])
    )?;

    // Send response
    let response = "Hello from the server!";
    match blocking(|| {
        send(
            client_sock.as_raw_fd(),
            response.as_bytes(),
            MsgFlags::empty(),
        )
    }) {
        Err(Errno::EPIPE | Errno::ECONNRESET) => {
            return Err(client_gone(child, &client_sock, "send"));
        }
        sent => sent.perror("send")?,
    };

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
    if bytes_received == 0 {
        bail!("recv: the connection was closed before a message arrived");
    }

    say!(
        "Client received: {}",
        String::from_utf8_lossy(&buffer[..bytes_received])
    )?;

    // Close connection
    drop(client_sock);
    Ok(())
}

/// The server's address: `SOCKET_PATH` in a `sockaddr_un`. A path that
/// does not fit in `sun_path`, or that holds a NUL byte, is bad usage.
fn server_address(socket_path: &Path) -> Result<UnixAddr, UsageError> {
    let bytes = socket_path.as_os_str().as_encoded_bytes();
    if bytes.contains(&0) {
        return Err(UsageError("socket path contains a NUL byte".to_owned()));
    }
    UnixAddr::new(socket_path).map_err(|_| {
        UsageError(format!(
            "socket path too long: {} bytes, at most {} fit in sun_path",
            bytes.len(),
            sun_path_capacity()
        ))
    })
}

/// The socket path as one name for the claim, however it is spelled
/// (`s`, `./s`, `/tmp/dir/s`): its directory made absolute, then its file
/// name. As given if the directory cannot be resolved (then `bind` fails).
fn absolute(socket_path: &Path) -> PathBuf {
    let dir = match socket_path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    match (fs::canonicalize(dir), socket_path.file_name()) {
        (Ok(dir), Some(name)) => dir.join(name),
        _ => socket_path.to_owned(),
    }
}

/// `connect(2)`, and again while the server is not listening yet: `ENOENT`
/// (no socket file yet) or `ECONNREFUSED` (a file, but nobody listening on
/// it yet, or an old one that the server is about to replace). It gives up
/// if the parent, the server, is gone.
fn connect_to_server(client_sock: &OwnedFd, server_addr: &UnixAddr) -> Result<(), SysError> {
    let server = getppid();
    loop {
        match blocking(|| connect(client_sock.as_raw_fd(), server_addr)) {
            Err(Errno::ENOENT | Errno::ECONNREFUSED) if getppid() == server => {
                common::sleep(CONNECT_RETRY)?;
            }
            result => return result.perror(format!("connect({server_addr})")),
        }
    }
}

/// `recv(sock, buffer, BUFFER_SIZE - 1, 0)`: one message, or 0 bytes if
/// the peer closed the connection without sending one (where the C listing
/// would print an empty string).
fn receive(sock: &OwnedFd, buffer: &mut [u8; BUFFER_SIZE]) -> Result<usize, SysError> {
    match blocking(|| {
        recv(
            sock.as_raw_fd(),
            &mut buffer[..BUFFER_SIZE - 1],
            MsgFlags::empty(),
        )
    }) {
        // The peer ended while data was still in flight: closed all the same.
        Err(Errno::ECONNRESET) => Ok(0),
        received => received.perror("recv"),
    }
}

/// The client closed its end of the connection before the exchange was
/// over. If the connection was the child's (`SO_PEERCRED` names the process
/// that connected), the child has ended or is ending: the server waits for
/// it and says how it ended, `recv: the client closed the connection: child
/// was killed by SIGKILL`. A connection from any other process (the owner
/// and root may connect) says only that; the child is then ended by
/// dropping its handle, as on every early return.
fn client_gone(child: Child, client_sock: &OwnedFd, call: &str) -> anyhow::Error {
    let closed = format!("{call}: the client closed the connection");
    match getsockopt(client_sock, PeerCredentials) {
        Ok(peer) if peer.pid() == child.pid().as_raw() => match child.wait() {
            Err(how) => how.context(closed),
            Ok(()) => anyhow!(closed),
        },
        _ => anyhow!(closed),
    }
}

/// The listing's `unlink(SOCKET_PATH)` before `bind`, which makes room for
/// the new socket where a crashed run left its file. The C removes whatever
/// is there; this removes only what the leftover rule says a crashed run of
/// this program left (see [`common::leftover`]), and says so. Nothing there:
/// nothing to do. A file that is not a socket (looked at with `lstat`, so a
/// symlink is not followed) is an error, and is left alone. A socket with a
/// server listening on it (a probe `connect` succeeds), another user's, or
/// one with another mode is an error too.
fn reclaim_leftover(path: &Path, server_addr: &UnixAddr) -> anyhow::Result<()> {
    let metadata = match fs::symlink_metadata(path) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        found => found.perror(format!("lstat(\"{}\")", path.display()))?,
    };
    if !metadata.file_type().is_socket() {
        bail!(
            "{} is {}, not a socket: left alone; {ADVICE}",
            path.display(),
            kind(metadata.file_type())
        );
    }

    // Whether a server listens there: a connection of our own, closed at
    // once without a byte sent; not blocking, so a full backlog (EAGAIN)
    // answers too.
    let probe_sock = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        None,
    )
    .perror("socket")?;
    let probe = connect(probe_sock.as_raw_fd(), server_addr);
    drop(probe_sock);

    let object = format!("socket {}", path.display());
    leftover::judge(&Found {
        object: object.clone(),
        owner: metadata.uid(),
        mode: metadata.mode(),
        size: None,
        users: u64::from(matches!(probe, Ok(()) | Err(Errno::EAGAIN))),
        pids: vec![],
        advice: ADVICE,
    })?;
    match probe {
        // Nobody listens: what a crashed server leaves.
        Err(Errno::ECONNREFUSED) => {}
        // Gone meanwhile: nothing left to remove.
        Err(Errno::ENOENT) => return Ok(()),
        other => other.perror(format!("connect({server_addr})"))?,
    }
    unlink(path).perror(format!("unlink(\"{}\")", path.display()))?;
    leftover::reclaimed(&object);
    Ok(())
}

/// What a file that is not a socket is, for the error.
fn kind(file_type: FileType) -> &'static str {
    if file_type.is_symlink() {
        "a symbolic link"
    } else if file_type.is_dir() {
        "a directory"
    } else if file_type.is_file() {
        "a regular file"
    } else if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else {
        "a file of an unknown kind"
    }
}

/// The socket file that `bind` created: `remove` is the listing's
/// `unlink(SOCKET_PATH)` at the end. If the server leaves before that (an
/// error, a panic or Ctrl-C), dropping it unlinks the file. Only the parent
/// owns a `SocketFile`; the client only knows the address.
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
        unlink_socket(&mem::take(&mut this.path))
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        if let Err(errno) = unlink_socket(&self.path) {
            note!(
                "unlink(\"{}\"): {}; remove the socket file yourself",
                self.path.display(),
                errno.desc()
            );
        }
    }
}

/// `unlink(SOCKET_PATH)`, recorded for the notice of a run that Ctrl-C
/// stopped.
fn unlink_socket(path: &Path) -> Result<(), Errno> {
    unlink(path)?;
    common::removed(format!("socket {}", path.display()));
    Ok(())
}

/// How many bytes of path `sun_path` holds (108 on Linux), less its NUL.
fn sun_path_capacity() -> usize {
    size_of::<libc::sockaddr_un>() - size_of::<libc::sa_family_t>() - 1
}

#[cfg(test)]
mod bad_paths {
    use std::os::unix::ffi::OsStringExt;

    use super::*;

    #[test]
    fn a_path_with_a_nul_byte_is_bad_usage() {
        let path = PathBuf::from(OsString::from_vec(b"/tmp/ipc\0socket".to_vec()));
        let error = server_address(&path).unwrap_err();
        assert_eq!(error.to_string(), "socket path contains a NUL byte");
    }

    #[test]
    fn every_spelling_of_a_path_is_one_name_to_claim() {
        let dir = tests::TestDir::new();
        let absolute_path = absolute(&dir.join("s"));
        let dotted = dir.path().join(".").join("s");
        assert_eq!(absolute(&dotted), absolute_path);
        let cwd = std::env::current_dir().unwrap();
        let relative = absolute(Path::new("s"));
        assert_eq!(relative, fs::canonicalize(cwd).unwrap().join("s"));
    }
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
