//! What the C listing leaves to luck, kept out of the listing's way: `run`
//! and `client` in `main.rs` call each of these in one line where it
//! matters.
//!
//! - [`bad_path`]: a path that does not fit in `sun_path` is bad usage (the
//!   C's `strncpy` cuts it short and binds another path).
//! - [`claim`]: one run per socket path at a time, so that a second run
//!   stops at once instead of unlinking the first run's socket.
//! - [`left_by_a_crashed_run`]: the C's `unlink` before `bind` removes
//!   whatever is at the path; here only a socket that a crashed run
//!   provably left, with a notice ([`reclaimed`]).
//! - [`owner_only`]: umask 0177 around `bind`, so the socket file is 0600.
//! - [`SocketFile`]: removes the socket file on every way out, Ctrl-C
//!   included, and records it for the notice of an interrupted run; only
//!   its own file, never one that another program put at the path.
//! - [`while_bound`]: the server stops waiting in `accept` if another
//!   program removes or replaces the socket file, as no client can reach
//!   it then.
//! - [`from_the_client`]: a connection from another program than the
//!   client is refused with one line, rather than answered.
//! - [`stop_on_other_signals`]: SIGHUP, SIGUSR1 and SIGUSR2 stop the server
//!   as SIGTERM does, so the socket file is removed.
//! - [`until_listening`]: the client connects again while the server is
//!   not listening yet (the C's `sleep(1)` only hopes it is).
//! - [`server_gone`]: a client whose server hangs up leaves the one line to
//!   the server, which ends it.
//! - [`client_gone`]: a client that hangs up early is an error that says
//!   how the child ended (`SO_PEERCRED`), where the C prints an empty
//!   message.

use std::fs::{self, FileType};
use std::io;
use std::mem::{self, ManuallyDrop};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::Duration;

use anyhow::{anyhow, bail};
use common::leftover::{self, Claim, Found};
use common::{Child, Perror, SysError, UsageError, note};
use nix::errno::Errno;
use nix::sys::signal::{SigSet, SigmaskHow, pthread_sigmask};
use nix::sys::socket::{
    AddressFamily, MsgFlags, Shutdown, SockFlag, SockType, UnixAddr, connect, getsockopt, recv,
    shutdown, socket, sockopt::PeerCredentials,
};
use nix::sys::stat::{Mode, umask};
use nix::unistd::{getppid, unlink};

/// What to do about a file at our path that is not ours to remove.
const ADVICE: &str = "choose another SOCKET_PATH";

/// How long the client waits before it tries to connect again.
const CONNECT_RETRY: Duration = Duration::from_millis(10);

/// Why `UnixAddr::new` refused `socket_path`, as bad usage: it holds a NUL
/// byte, or it does not fit in `sun_path`.
pub fn bad_path(socket_path: &Path) -> UsageError {
    let bytes = socket_path.as_os_str().as_encoded_bytes();
    if bytes.contains(&0) {
        return UsageError("socket path contains a NUL byte".to_owned());
    }
    UsageError(format!(
        "socket path too long: {} bytes, at most {} fit in sun_path",
        bytes.len(),
        sun_path_capacity()
    ))
}

/// How many bytes of path `sun_path` holds (108 on Linux), less its NUL.
fn sun_path_capacity() -> usize {
    size_of::<libc::sockaddr_un>() - size_of::<libc::sa_family_t>() - 1
}

/// Claims the socket path for this run (see [`common::leftover`]): a second
/// run with the same path stops here, and an old socket file at the path
/// can then only be a crashed run's.
pub fn claim(socket_path: &Path) -> anyhow::Result<Claim> {
    leftover::claim(
        &format!("uds {}", absolute(socket_path).display()),
        &format_args!("socket {}", socket_path.display()),
        ADVICE,
    )
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

/// Whether the listing's `unlink(SOCKET_PATH)` before `bind` may remove
/// what is at `path`: only a socket that the leftover rule says a crashed
/// run of this program left (see [`common::leftover`]). Nothing there:
/// nothing to remove. A file that is not a socket (looked at with `lstat`,
/// so a symlink is not followed) is an error, and is left alone. A socket
/// with a server listening on it (a probe `connect` succeeds), another
/// user's, or one with another mode is an error too.
pub fn left_by_a_crashed_run(path: &Path, server_addr: &UnixAddr) -> anyhow::Result<bool> {
    let metadata = match fs::symlink_metadata(path) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(false),
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

    leftover::judge(&Found {
        object: format!("socket {}", path.display()),
        owner: metadata.uid(),
        mode: metadata.mode(),
        size: None,
        users: u64::from(matches!(probe, Ok(()) | Err(Errno::EAGAIN))),
        pids: vec![],
        advice: ADVICE,
    })?;
    match probe {
        // Nobody listens: what a crashed server leaves.
        Err(Errno::ECONNREFUSED) => Ok(true),
        // Gone meanwhile: nothing left to remove.
        Err(Errno::ENOENT) => Ok(false),
        other => {
            other.perror(format!("connect({server_addr})"))?;
            Ok(true)
        }
    }
}

/// Says, in one line on stderr, that the socket file at `path` was a
/// crashed run's and has been removed.
pub fn reclaimed(path: &Path) {
    leftover::reclaimed(&format!("socket {}", path.display()));
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

/// Runs `bind` with the umask at 0177. The socket file that `bind` creates
/// gets mode 0777 minus the umask: 0600, so only the owner may connect.
pub fn owner_only<T>(bind: impl FnOnce() -> T) -> T {
    let umask_before = umask(Mode::from_bits_truncate(0o177));
    let bound = bind();
    umask(umask_before);
    bound
}

/// The socket file that `bind` created: [`unlink`](Self::unlink) is the
/// listing's `unlink(SOCKET_PATH)` at the end. If the server leaves before
/// that (an error, a panic or Ctrl-C), dropping it unlinks the file. Only
/// the parent owns a `SocketFile`; the client only knows the address.
///
/// It knows its file by device and inode (`lstat` right after `bind`), and
/// removes only that file: if another program removed it meanwhile there
/// is nothing to remove, and a file that another program put in its place
/// is left alone.
pub struct SocketFile {
    path: PathBuf,
    identity: Option<(u64, u64)>,
}

/// What is at the socket path now, against the file that `bind` made.
#[derive(Debug, PartialEq, Eq)]
enum AtPath {
    Ours,
    Removed,
    Replaced,
}

impl SocketFile {
    /// Takes charge of the socket file that `bind` just created at `path`.
    pub fn adopt(path: &Path) -> Self {
        let identity = identity(path);
        Self {
            path: path.to_owned(),
            identity,
        }
    }

    /// `unlink(SOCKET_PATH)`, once: the guard is not dropped afterwards.
    pub fn unlink(self) -> Result<(), Errno> {
        let mut this = ManuallyDrop::new(self);
        let path = mem::take(&mut this.path);
        match this.at_path(&path) {
            AtPath::Ours => unlink_socket(&path),
            AtPath::Removed | AtPath::Replaced => Ok(()),
        }
    }

    fn at_path(&self, path: &Path) -> AtPath {
        match (identity(path), self.identity) {
            (None, _) => AtPath::Removed,
            (found, Some(ours)) if found == Some(ours) => AtPath::Ours,
            _ => AtPath::Replaced,
        }
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        if self.at_path(&self.path) != AtPath::Ours {
            return;
        }
        if let Err(errno) = unlink_socket(&self.path) {
            note!(
                "unlink(\"{}\"): {}; remove the socket file yourself",
                self.path.display(),
                errno.desc()
            );
        }
    }
}

/// The device and inode of what is at `path` (`lstat`), if anything.
fn identity(path: &Path) -> Option<(u64, u64)> {
    fs::symlink_metadata(path)
        .ok()
        .map(|found| (found.dev(), found.ino()))
}

/// `unlink(SOCKET_PATH)`, recorded for the notice of a run that Ctrl-C
/// stopped.
fn unlink_socket(path: &Path) -> Result<(), Errno> {
    unlink(path)?;
    common::removed(format!("socket {}", path.display()));
    Ok(())
}

/// How often the server looks at its socket file while it waits in `accept`.
const LOOK_EVERY: Duration = Duration::from_millis(20);

/// Runs the listing's `accept` while a thread looks at the socket file
/// every 20 ms: if another program removes it (`rm`), or puts another
/// file in its place, no client can reach the server any more, so the
/// thread shuts the listening socket down (`shutdown(SHUT_RD)`, which ends
/// the wait in `accept`), and the server stops with one line that says why,
/// instead of waiting forever. A connection already waiting is accepted all
/// the same: the file is not needed once connected.
pub fn while_bound<T>(
    socket_file: &SocketFile,
    server_sock: &OwnedFd,
    accept: impl FnOnce() -> Result<T, Errno>,
) -> anyhow::Result<T> {
    let (done, finished) = mpsc::channel::<()>();
    let (accepted, gone) = thread::scope(|scope| {
        let watcher = scope.spawn(move || {
            // Signals are for the main thread, which waits in `accept`.
            let _ = pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&SigSet::all()), None);
            while let Err(RecvTimeoutError::Timeout) = finished.recv_timeout(LOOK_EVERY) {
                let found = socket_file.at_path(&socket_file.path);
                if found != AtPath::Ours {
                    let _ = shutdown(server_sock.as_raw_fd(), Shutdown::Read);
                    return Some(found);
                }
            }
            None
        });
        let accepted = accept();
        drop(done);
        (accepted, watcher.join().ok().flatten())
    });
    match (accepted, gone) {
        (Ok(client_sock), _) => Ok(client_sock),
        (Err(_), Some(found)) => bail!(
            "accept: the socket file {} was {} by another program; the client cannot connect",
            socket_file.path.display(),
            if found == AtPath::Removed {
                "removed"
            } else {
                "replaced"
            }
        ),
        (Err(errno), None) => Err(errno).perror("accept")?,
    }
}

/// The listing takes the first connection for its client's. Another
/// program of the same user may connect first: then the server says so and
/// stops, rather than talk to it, and wait forever for a client whose
/// connection it never accepts. `SO_PEERCRED` names the process that
/// connected. (A stranger that has hung up without a word is left for
/// `recv` to report, as a client that hung up.)
pub fn from_the_client(child: &Child, client_sock: &OwnedFd, path: &Path) -> anyhow::Result<()> {
    let peer = getsockopt(client_sock, PeerCredentials).perror("getsockopt(SO_PEERCRED)")?;
    if peer.pid() == child.pid().as_raw() {
        return Ok(());
    }
    let mut byte = [0; 1];
    let flags = MsgFlags::MSG_PEEK | MsgFlags::MSG_DONTWAIT;
    if let Ok(0) = recv(client_sock.as_raw_fd(), &mut byte, flags) {
        return Ok(());
    }
    bail!(
        "accept: the connection is from process {}, not from the client: another program \
         connected to {} first",
        peer.pid(),
        path.display()
    )
}

/// SIGHUP, SIGUSR1 and SIGUSR2 (`kill -USR1` from another program) would
/// end the server at once and leave its socket file behind: they stop it
/// as SIGTERM does, with the notice of what was removed (see
/// `common::other_signals`). The client dies of them, and the server says so.
pub fn stop_on_other_signals() -> Result<(), SysError> {
    common::other_signals::install()
}

/// Runs `connect`, and again while the server is not listening yet:
/// `ENOENT` (no socket file yet) or `ECONNREFUSED` (a file, but nobody
/// listening on it yet, or an old one that the server is about to replace).
/// It gives up if the parent, the server, is gone.
pub fn until_listening(mut connect: impl FnMut() -> Result<(), SysError>) -> Result<(), SysError> {
    let server = getppid();
    loop {
        match connect() {
            Err(error)
                if matches!(error.errno(), Some(Errno::ENOENT | Errno::ECONNREFUSED))
                    && getppid() == server =>
            {
                common::sleep(CONNECT_RETRY)?;
            }
            result => return result,
        }
    }
}

/// How long the client waits for its server, which closed the connection
/// early, to end it.
const SERVER_GRACE: Duration = Duration::from_secs(2);

/// The server closed the connection before it replied. The server does
/// that only on its way out (an error, Ctrl-C, a signal), and then it ends
/// this child itself and says why, in one line. So the client waits for
/// that, up to 2 s, rather than add a second line; it reports the closed
/// connection only if nobody ended it by then.
pub fn server_gone() -> anyhow::Error {
    match common::sleep(SERVER_GRACE) {
        Err(stopped) => stopped.into(),
        Ok(()) => anyhow!("recv: the connection was closed before a message arrived"),
    }
}

/// The client closed its end of the connection before the exchange was
/// over (`call` saw it). If the connection was the child's (`SO_PEERCRED`
/// names the process that connected), the child has ended or is ending: the
/// server waits for it and says how it ended, `recv: the client closed the
/// connection: child was killed by SIGKILL`. A connection from any other
/// process (the owner and root may connect) says only that; the child is
/// then ended by dropping its handle, as on every early return.
pub fn client_gone(child: Child, client_sock: &OwnedFd, call: &str) -> anyhow::Error {
    let closed = format!("{call}: the client closed the connection");
    match getsockopt(client_sock, PeerCredentials) {
        Ok(peer) if peer.pid() == child.pid().as_raw() => match child.wait() {
            Err(how) => how.context(closed),
            Ok(()) => anyhow!(closed),
        },
        _ => anyhow!(closed),
    }
}

#[cfg(test)]
mod bad_paths {
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;

    use super::*;

    #[test]
    fn a_path_with_a_nul_byte_is_bad_usage() {
        let path = PathBuf::from(OsString::from_vec(b"/tmp/ipc\0socket".to_vec()));
        // As `run` sets up the server's address.
        let error = UnixAddr::new(&path)
            .map_err(|_| bad_path(&path))
            .unwrap_err();
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

    use common::blocking;

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
            // As `client` connects.
            until_listening(|| {
                blocking(|| connect(sock.as_raw_fd(), &addr)).perror(format!("connect({addr})"))
            })
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
