//! Issue 5: uds under Ctrl-C, a dying client, a leftover socket file,
//! squatters at the path, a second run, limits and another user.
//!
//! Each test runs the real binary with a socket path in a fresh directory,
//! and checks what it printed, its exit status, that no process of the run
//! is left, and that the socket file is gone (or, for a squatter, that the
//! file at the path is exactly as it was).

// The helpers below fail the test that calls them, as a test's own unwrap does.
#![allow(clippy::unwrap_used)]

use std::ffi::CString;
use std::fs;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt, symlink};
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use assert_cmd::cargo::cargo_bin;
use tests::faults::{
    Ended, Example, Running, STOP_SIGNALS, as_nobody, assert_stdout_closed_after, become_subreaper,
    children, errno_of, kill, kill_child_at_each_line, reap, state, stop_at_each_line, syscall,
    wait_asleep_in,
};
use tests::{TestDir, assert_same_lines, exists, unprivileged, wait_until};

const TRANSCRIPT: [&str; 5] = [
    "Server waiting for connection...",
    "Client connected to server",
    "Server accepted connection",
    "Server received: Hello from the client!",
    "Client received: Hello from the server!",
];

const ADVICE: &str = "choose another SOCKET_PATH";

fn example(path: &Path) -> Example {
    Example::new(cargo_bin!("uds"), path.parent().unwrap()).arg(path)
}

fn signal_name(signal: libc::c_int) -> &'static str {
    if signal == libc::SIGINT {
        "SIGINT"
    } else {
        "SIGTERM"
    }
}

/// A whole, correct run: the transcript, nothing on stderr, no socket file.
fn assert_succeeded(ended: &Ended, path: &Path) {
    assert_eq!(ended.code, Some(0), "{ended:#?}");
    assert_same_lines(&ended.lines, &TRANSCRIPT);
    assert_eq!(ended.stderr, "", "{ended:#?}");
    ended.assert_group_gone();
    assert!(!exists(path), "socket file removed: {ended:#?}");
}

/// A run that refused to start: exit 1, no output, one line on stderr.
fn assert_refused(ended: &Ended, error: &str) {
    assert_eq!(ended.code, Some(1), "{ended:#?}");
    assert!(ended.lines.is_empty(), "{ended:#?}");
    assert_eq!(ended.stderr, format!("{error}\n"), "{ended:#?}");
    ended.assert_group_gone();
}

/// Starts a run, at the tutorial's pace, and stops it where the server is
/// asleep in `accept` and the client, stopped with SIGSTOP, is still in its
/// pacing sleep, so it cannot connect: the server stays in `accept` for as
/// long as the test likes. Returns the run and the client's pid. (A machine
/// so loaded that the client connected before the test stopped it gets
/// another run.)
fn server_in_accept(example: &Example) -> (Running, i32) {
    let example = example.clone().at_real_pace();
    for _ in 0..10 {
        let mut running = example.start();
        let client = running.child();
        assert!(kill(client, libc::SIGSTOP));
        wait_until("the client is stopped", || state(client) == Some('T'));
        if syscall(client) == Some(libc::SYS_clock_nanosleep) {
            assert!(running.read_lines(1), "{:#?}", running.seen());
            assert_eq!(running.seen(), ["Server waiting for connection..."]);
            wait_asleep_in(running.pid(), libc::SYS_accept, "accept");
            return (running, client);
        }
        // Too late: it connected already. Let this run finish.
        assert!(kill(client, libc::SIGCONT));
        assert_eq!(running.finish().code, Some(0));
    }
    panic!("the client connected before the test could stop it, 10 times");
}

// 1. Ctrl-C and SIGTERM.

#[test]
fn ctrl_c_or_sigterm_at_any_line_removes_the_socket_file() {
    let dir = TestDir::new();
    let path = dir.join("ipc_socket");
    let stopped = stop_at_each_line(&example(&path), |signal, status, ended| {
        // At each line the socket file is already bound: every line comes
        // after `listen`.
        let notice = format!(
            "interrupted by {}; removed socket {}",
            signal_name(signal),
            path.display()
        );
        ended.assert_stopped("uds", status, &notice);
        assert!(!exists(&path), "{ended:#?}");
    });
    // Held after each line but the last, the run is always there to stop.
    assert_eq!(stopped, STOP_SIGNALS.len() * TRANSCRIPT.len());
}

#[test]
fn ctrl_c_or_sigterm_while_the_server_waits_in_accept() {
    let dir = TestDir::new();
    let path = dir.join("ipc_socket");
    for (signal, status) in STOP_SIGNALS {
        let (running, client) = server_in_accept(&example(&path));
        running.signal_group(signal);
        // The terminal's signal is pending in the stopped client: it gets
        // it, and stops from its sleep, once it runs again.
        kill(client, libc::SIGCONT);
        let ended = running.finish();

        let notice = format!(
            "interrupted by {}; removed socket {}",
            signal_name(signal),
            path.display()
        );
        ended.assert_stopped("uds", status, &notice);
        assert_eq!(ended.lines, ["Server waiting for connection..."]);
        assert!(!exists(&path), "{ended:#?}");
    }
}

#[test]
fn ctrl_c_to_the_client_alone_stops_its_pacing_sleep_at_once() {
    let dir = TestDir::new();
    let path = dir.join("ipc_socket");
    let (running, client) = server_in_accept(&example(&path));
    // `kill -INT` of the client only, asleep in its `sleep(1)`: it stops
    // there and never connects, and the server, waiting in `accept`, says
    // how it ended.
    assert!(kill(client, libc::SIGINT));
    assert!(kill(client, libc::SIGCONT));
    let ended = running.finish();

    assert_eq!(ended.code, Some(1), "{ended:#?}");
    assert_eq!(ended.lines, ["Server waiting for connection..."]);
    assert_eq!(
        ended.stderr,
        "accept: interrupted: the child process exited with status 130\n"
    );
    ended.assert_group_gone();
    assert!(!exists(&path), "{ended:#?}");
}

// 2. A client that dies.

#[test]
fn a_client_killed_at_any_line_makes_the_server_say_so_and_clean_up() {
    let dir = TestDir::new();
    let path = dir.join("ipc_socket");
    let killed = kill_child_at_each_line(&example(&path), |ended| {
        assert_eq!(ended.code, Some(1), "{ended:#?}");
        assert_eq!(ended.stderr.lines().count(), 1, "{ended:#?}");
        assert!(
            ended.stderr.ends_with("child was killed by SIGKILL\n")
                || ended
                    .stderr
                    .ends_with("child process was killed by SIGKILL\n"),
            "{ended:#?}"
        );
        ended.assert_group_gone();
        assert!(!exists(&path), "{ended:#?}");
    });
    // The client is alive at each point but after the last line.
    assert_eq!(killed, TRANSCRIPT.len());
}

#[test]
fn a_client_killed_while_the_server_waits_in_accept() {
    let dir = TestDir::new();
    let path = dir.join("ipc_socket");
    let (running, client) = server_in_accept(&example(&path));
    assert!(kill(client, libc::SIGKILL));
    let ended = running.finish();

    assert_eq!(ended.code, Some(1), "{ended:#?}");
    assert_eq!(
        ended.stderr,
        "accept: interrupted: the child process was killed by SIGKILL\n"
    );
    ended.assert_group_gone();
    assert!(!exists(&path), "{ended:#?}");
}

#[test]
fn a_stranger_that_connects_and_hangs_up_does_not_make_the_server_wait() {
    let dir = TestDir::new();
    let path = dir.join("ipc_socket");
    let (running, _client) = server_in_accept(&example(&path));
    // Another process of the owner connects first, and closes at once.
    drop(UnixStream::connect(&path).unwrap());
    let ended = running.finish();

    // The server does not wait for its child (stopped, not the one that
    // closed): it says what happened and ends it.
    assert_eq!(ended.code, Some(1), "{ended:#?}");
    assert_eq!(
        ended.lines,
        [
            "Server waiting for connection...",
            "Server accepted connection"
        ]
    );
    assert_eq!(ended.stderr, "recv: the client closed the connection\n");
    ended.assert_group_gone();
    assert!(!exists(&path), "{ended:#?}");
}

// 3. A leftover of a crashed run.

#[test]
fn the_socket_file_of_a_killed_server_is_reclaimed_by_the_next_run() {
    become_subreaper();
    let dir = TestDir::new();
    let path = dir.join("ipc_socket");
    let example = example(&path);

    // `kill -9` of the server while its socket file exists (it is held
    // printing its first line, which comes after `bind`).
    let held = example.start_held(0);
    let client = children(held.pid())[0];
    assert!(kill(held.pid(), libc::SIGKILL));
    let crashed = held.finish();
    // The client dies with its parent (PR_SET_PDEATHSIG); the test adopted it.
    reap(client);
    assert_eq!(crashed.code, None, "{crashed:#?}");
    crashed.assert_group_gone();
    let leftover = fs::symlink_metadata(&path).unwrap();
    assert!(leftover.file_type().is_socket());
    assert_eq!(leftover.mode() & 0o777, 0o600);

    let ended = example.run();
    assert_eq!(ended.code, Some(0), "{ended:#?}");
    assert_same_lines(&ended.lines, &TRANSCRIPT);
    assert_eq!(
        ended.stderr,
        format!(
            "uds: removed socket {}, left behind by an earlier run that did not finish\n",
            path.display()
        )
    );
    assert!(!exists(&path));
}

// 4. Squatters: never connected to for real, never removed.

#[test]
fn a_regular_file_at_the_path_is_left_alone() {
    let dir = TestDir::new();
    let path = dir.join("ipc_socket");
    fs::write(&path, "my notes").unwrap();

    let ended = example(&path).run();
    assert_refused(
        &ended,
        &format!(
            "{} is a regular file, not a socket: left alone; {ADVICE}",
            path.display()
        ),
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), "my notes");
}

#[test]
fn a_symlink_at_the_path_is_left_alone_and_so_is_its_target() {
    let dir = TestDir::new();
    let path = dir.join("ipc_socket");
    let target = dir.join("precious");
    fs::write(&target, "keep me").unwrap();
    symlink(&target, &path).unwrap();
    // A dangling one, which `bind` would otherwise follow to create a socket.
    let dangling = dir.join("dangling");
    symlink(dir.join("nowhere"), &dangling).unwrap();

    let ended = example(&path).run();
    assert_refused(
        &ended,
        &format!(
            "{} is a symbolic link, not a socket: left alone; {ADVICE}",
            path.display()
        ),
    );
    assert_eq!(fs::read_link(&path).unwrap(), target);
    assert_eq!(fs::read_to_string(&target).unwrap(), "keep me");

    let ended = example(&dangling).run();
    assert_refused(
        &ended,
        &format!(
            "{} is a symbolic link, not a socket: left alone; {ADVICE}",
            dangling.display()
        ),
    );
    assert_eq!(fs::read_link(&dangling).unwrap(), dir.join("nowhere"));
    assert!(!exists(&dir.join("nowhere")));
}

#[test]
fn a_directory_at_the_path_is_left_alone() {
    let dir = TestDir::new();
    let path = dir.join("ipc_socket");
    fs::create_dir(&path).unwrap();
    fs::write(path.join("inside"), "x").unwrap();

    let ended = example(&path).run();
    assert_refused(
        &ended,
        &format!(
            "{} is a directory, not a socket: left alone; {ADVICE}",
            path.display()
        ),
    );
    assert_eq!(fs::read_to_string(path.join("inside")).unwrap(), "x");
}

/// A socket file with nobody listening, made by the test with `mode`.
fn dead_socket(path: &Path, mode: u32) -> u64 {
    drop(UnixListener::bind(path).unwrap());
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    fs::symlink_metadata(path).unwrap().ino()
}

#[test]
fn a_socket_of_another_user_is_left_alone() {
    if tests::uid() != 0 {
        eprintln!(
            "skipped: the tests do not run as root, so they cannot make a file of another user"
        );
        return;
    }
    let dir = TestDir::new();
    let path = dir.join("ipc_socket");
    let inode = dead_socket(&path, 0o600);
    std::os::unix::fs::lchown(&path, Some(65534), Some(65534)).unwrap();

    let ended = example(&path).run();
    assert_refused(
        &ended,
        &format!(
            "socket {} belongs to user 65534, not to you (user 0): left alone; {ADVICE}",
            path.display()
        ),
    );
    let after = fs::symlink_metadata(&path).unwrap();
    assert_eq!((after.ino(), after.uid()), (inode, 65534));
}

#[test]
fn a_socket_that_another_program_made_is_left_alone() {
    let dir = TestDir::new();
    let path = dir.join("ipc_socket");
    // Mode 0755: not the 0600 this program gives its socket files.
    let inode = dead_socket(&path, 0o755);

    let ended = example(&path).run();
    assert_refused(
        &ended,
        &format!(
            "socket {} has mode 0755, not the 0600 that this program creates, so another \
             program made it: left alone; {ADVICE}",
            path.display()
        ),
    );
    assert_eq!(fs::symlink_metadata(&path).unwrap().ino(), inode);
}

#[test]
fn a_socket_with_a_live_server_is_left_alone() {
    let dir = TestDir::new();
    let path = dir.join("ipc_socket");
    // A server of this user that listens there, on a file like ours.
    let listener = UnixListener::bind(&path).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    let inode = fs::symlink_metadata(&path).unwrap().ino();

    // At the tutorial's pace: the client, forked before the server looks at
    // the path, is in its `sleep(1)` while the server refuses. With no
    // pause, it can connect to the live server there first, and print its
    // line: the port leaves that race to the pacing sleep.
    let ended = example(&path).at_real_pace().run();
    assert_refused(
        &ended,
        &format!(
            "socket {} is in use by 1 process(es) now: left alone; {ADVICE}",
            path.display()
        ),
    );
    assert_eq!(fs::symlink_metadata(&path).unwrap().ino(), inode);
    // The probe's connection waits in the server's backlog, closed without
    // a byte sent; and the server still takes connections there.
    listener.set_nonblocking(true).unwrap();
    let (mut probe, _) = listener.accept().unwrap();
    let mut sent = Vec::new();
    probe.read_to_end(&mut sent).unwrap();
    assert!(sent.is_empty(), "the probe sent {sent:?}");
    let _client = UnixStream::connect(&path).unwrap();
    listener.accept().unwrap();
}

// 5. Two runs with one path; twenty with twenty paths.

#[test]
fn a_second_run_with_the_same_path_leaves_the_first_alone() {
    let dir = TestDir::new();
    let path = dir.join("ipc_socket");
    // The first run holds its socket file, printing its first line.
    let first = example(&path).start_held(0);
    let inode = fs::symlink_metadata(&path).unwrap().ino();

    let refused = format!(
        "socket {}: another run is using it now; wait for it to end, or {ADVICE}",
        path.display()
    );
    // At the tutorial's pace, as for a live server above: with no pause,
    // the second run's client can connect to the first run's server.
    let second = example(&path).at_real_pace().run();
    assert_refused(&second, &refused);
    // The same path, spelled relative to the directory the run starts in.
    let relative = Example::new(cargo_bin!("uds"), dir.path())
        .arg("./ipc_socket")
        .at_real_pace()
        .run();
    assert_refused(
        &relative,
        &refused.replace(&path.display().to_string(), "./ipc_socket"),
    );
    assert_eq!(fs::symlink_metadata(&path).unwrap().ino(), inode);

    assert_succeeded(&first.finish(), &path);
}

#[test]
fn twenty_runs_with_twenty_paths_at_once_all_succeed() {
    let dir = TestDir::new();
    let paths: Vec<_> = (0..20).map(|i| dir.join(format!("socket-{i}"))).collect();
    let runs: Vec<_> = paths.iter().map(|path| example(path).start()).collect();
    for (running, path) in runs.into_iter().zip(&paths) {
        assert_succeeded(&running.finish(), path);
    }
}

// 6. Limits and bad input.

#[test]
fn too_few_file_descriptors_is_a_one_line_error_and_leaves_nothing() {
    // 4: the claim gets fd 3, and the server's socket none. 5: the server
    // binds and listens, and `accept` gets no descriptor for the connection.
    // (At 3, the dynamic loader itself cannot start the program.) At the
    // tutorial's pace: `accept` fails at once, while the client still
    // sleeps; with no pause, the client may have connected and printed its
    // line first.
    for (limit, printed, error) in [
        (4, &[][..], "socket: Too many open files\n"),
        (5, &TRANSCRIPT[..1], "accept: Too many open files\n"),
    ] {
        let dir = TestDir::new();
        let path = dir.join("ipc_socket");
        let mut command = example(&path).at_real_pace().command();
        let ulimit_n = move || {
            let rlimit = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            // SAFETY: `rlimit` is a valid struct for setrlimit to read.
            match unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &rlimit) } {
                0 => Ok(()),
                _ => Err(std::io::Error::last_os_error()),
            }
        };
        // SAFETY: `ulimit_n` only makes a system call, which is safe
        // between fork and exec.
        unsafe { command.pre_exec(ulimit_n) };
        let output = command.output().unwrap();

        assert_eq!(output.status.code(), Some(1), "ulimit -n {limit}");
        assert_eq!(tests::lines(&output.stdout), printed, "ulimit -n {limit}");
        assert_eq!(
            String::from_utf8_lossy(&output.stderr),
            error,
            "ulimit -n {limit}"
        );
        assert!(!exists(&path), "ulimit -n {limit}: no socket file left");
    }
}

#[test]
fn an_unwritable_directory_is_a_one_line_error() {
    let dir = TestDir::new();
    let readonly = dir.join("readonly");
    fs::create_dir(&readonly).unwrap();
    fs::set_permissions(&readonly, fs::Permissions::from_mode(0o555)).unwrap();
    let path = readonly.join("ipc_socket");
    // Root may write anywhere: the run is made as nobody then.
    let Some(mut command) = unprivileged(cargo_bin!("uds")) else {
        eprintln!("skipped: running as root, and no setpriv to run as nobody");
        return;
    };
    let output = command.arg(&path).output().unwrap();

    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!("bind(\"{}\"): Permission denied\n", path.display())
    );
    assert!(!exists(&path));
}

#[test]
fn stdout_closed_after_the_first_line_is_a_one_line_error() {
    // The reader goes away once the server is blocked writing its second
    // line (and the client its first).
    let dir = TestDir::new();
    let path = dir.join("ipc_socket");
    assert_stdout_closed_after(&example(&path), TRANSCRIPT[0].len() + 1);
    assert!(!exists(&path));
}

#[test]
fn piped_into_head_1_it_is_a_one_line_error() {
    let dir = TestDir::new();
    let path = dir.join("ipc_socket");
    // At the tutorial's pace: the client's `sleep(1)` is what lets `head`
    // read the server's first line and close the pipe before the rest of the
    // run is printed. (With no pause, the whole run may fit in the pipe
    // first, and end with exit 0.)
    let mut program = example(&path)
        .at_real_pace()
        .command()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let head = Command::new("head")
        .arg("-1")
        .stdin(program.stdout.take().unwrap())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let first = head.wait_with_output().unwrap();
    let output = program.wait_with_output().unwrap();

    assert_eq!(tests::lines(&first.stdout), TRANSCRIPT[..1]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "write stdout: Broken pipe\n"
    );
    assert!(!exists(&path));
}

// 7. Another user.

#[test]
fn another_user_can_neither_connect_nor_remove_the_socket_file() {
    let dir = TestDir::new();
    // A directory everybody may enter and write, sticky, like /tmp.
    let shared = dir.join("shared");
    fs::create_dir(&shared).unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).unwrap();
    let path = shared.join("ipc_socket");

    let held = example(&path).start_held(0);
    // Everything the probes need is made before they fork.
    let c_path = CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: sockaddr_un is plain data; all zeroes is a valid value.
    let mut address: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    address.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (slot, &byte) in address.sun_path.iter_mut().zip(c_path.as_bytes()) {
        *slot = byte as libc::c_char;
    }
    let connected = as_nobody(|| {
        // SAFETY: socket takes no pointers.
        let sock = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0) };
        if sock == -1 {
            return errno_of(-1);
        }
        // SAFETY: `address` is a valid sockaddr_un of the size given.
        let done = unsafe {
            libc::connect(
                sock,
                (&raw const address).cast(),
                size_of::<libc::sockaddr_un>() as libc::socklen_t,
            )
        };
        errno_of(done.into())
    });
    // SAFETY: `c_path` is a NUL-terminated string that outlives the call.
    let removed = as_nobody(|| errno_of(unsafe { libc::unlink(c_path.as_ptr()) }.into()));
    let stayed = exists(&path);
    let ended = held.finish();

    if let (Some(connected), Some(removed)) = (connected, removed) {
        // 0600: connecting needs write permission on the file.
        assert_eq!(connected, libc::EACCES, "nobody may not connect");
        // The sticky bit of a /tmp-like directory: only the owner unlinks.
        assert_eq!(removed, libc::EPERM, "nobody may not remove the file");
    }
    assert!(stayed);
    assert_succeeded(&ended, &path);
}
