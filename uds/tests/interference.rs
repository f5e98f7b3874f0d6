//! Issue 14: uds while another program or the user interferes. The run
//! either completes with its whole transcript, or ends with one line on
//! stderr that says what happened and a non-zero exit; it never hangs, and
//! leaves no process and no socket file of its own behind.
//!
//! - the socket file removed, or replaced, from outside while the server
//!   waits for its client, or later;
//! - another program of the same user connecting before the client;
//! - SIGUSR1, SIGUSR2 or SIGHUP from another program to either process;
//! - either process stopped and continued (Ctrl-Z, `fg`) at any line;
//! - a stdout that fails (`/dev/full`).

#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::thread;

use assert_cmd::cargo::cargo_bin;
use tests::faults::{
    Ended, Example, Pace, Running, kill, state, stopping_points, syscall, wait_asleep_in,
};
use tests::interference::{
    ONE_SIGNAL_TO_EACH, Whom, assert_dev_full_is_one_line, assert_whole,
    every_other_signal_to_either, signal_held, stop_and_continue_held,
};
use tests::{TestDir, exists, wait_until};

const LINES: usize = 5;

fn example(path: &Path) -> Example {
    // Paced (0.3 of the tutorial's second): the tests hold the client in its
    // pacing sleep while the server waits in accept.
    Example::new(cargo_bin!("uds"), path.parent().unwrap())
        .arg(path)
        .at(Pace::Scaled("0.3"))
}

/// Runs `each(room, dir)` for each stopping point of a run, all at once,
/// each in a fresh directory: the runs are independent, and each one takes
/// the client's pacing second.
fn at_each_line(each: impl Fn(usize, &TestDir) + Sync) {
    let dir = TestDir::new();
    let points = stopping_points(&example(&dir.join("s")));
    assert_eq!(points.len(), LINES + 1);
    thread::scope(|scope| {
        for &room in &points {
            let each = &each;
            scope.spawn(move || each(room, &TestDir::new()));
        }
    });
}

/// Starts a run and holds it where the server is asleep in `accept` and
/// the client, stopped with SIGSTOP, is still in its pacing sleep, so it
/// has not connected: the test then acts, and continues the client.
fn server_in_accept(example: &Example) -> (Running, i32) {
    for _ in 0..10 {
        let mut running = example.start();
        let client = running.child();
        assert!(kill(client, libc::SIGSTOP));
        wait_until("the client is stopped", || state(client) == Some('T'));
        if syscall(client) == Some(libc::SYS_clock_nanosleep) {
            assert!(running.read_lines(1), "{:#?}", running.seen());
            wait_asleep_in(running.pid(), libc::SYS_accept, "accept");
            return (running, client);
        }
        assert!(kill(client, libc::SIGCONT));
        assert_eq!(running.finish().code, Some(0));
    }
    panic!("the client connected before the test could stop it, 10 times");
}

/// A run that stopped with one line on stderr, `line`, and exit 1, having
/// printed only the server's first line, and left no process behind.
fn assert_one_line(ended: &Ended, line: &str) {
    assert_eq!(ended.code, Some(1), "{ended:#?}");
    assert_eq!(
        ended.lines,
        ["Server waiting for connection..."],
        "{ended:#?}"
    );
    assert_eq!(ended.stderr, format!("{line}\n"), "{ended:#?}");
    ended.assert_group_gone();
}

// The socket file removed or replaced from outside.

#[test]
fn the_socket_file_removed_while_the_server_waits_is_one_line() {
    let dir = TestDir::new();
    let path = dir.join("ipc_socket");
    let (running, client) = server_in_accept(&example(&path));
    // `rm /tmp/ipc_socket` from another terminal: the client can never
    // connect, and the server must not wait for it forever.
    std::fs::remove_file(&path).unwrap();
    // The server may have ended the client already.
    kill(client, libc::SIGCONT);
    let ended = running.finish();

    assert_one_line(
        &ended,
        &format!(
            "accept: the socket file {} was removed by another program; the client cannot \
             connect",
            path.display()
        ),
    );
    assert!(!exists(&path), "{ended:#?}");
}

#[test]
fn the_socket_file_replaced_while_the_server_waits_is_one_line_and_left_alone() {
    let dir = TestDir::new();
    let path = dir.join("ipc_socket");
    let (running, client) = server_in_accept(&example(&path));
    // Another program removes the file and listens at the same path: the
    // client would talk to it.
    std::fs::remove_file(&path).unwrap();
    let impostor = UnixListener::bind(&path).unwrap();
    // The server may have ended the client already.
    kill(client, libc::SIGCONT);
    let ended = running.finish();

    assert_eq!(ended.code, Some(1), "{ended:#?}");
    assert_eq!(
        ended.stderr,
        format!(
            "accept: the socket file {} was replaced by another program; the client cannot \
             connect\n",
            path.display()
        ),
        "{ended:#?}"
    );
    ended.assert_group_gone();
    assert!(exists(&path), "the other program's socket is left alone");
    drop(impostor);
}

#[test]
fn the_socket_file_removed_once_connected_changes_nothing() {
    // After line 1 the client has connected (it prints, or the server
    // accepts): the file is no longer needed, and the run completes; the
    // server has nothing left to remove.
    at_each_line(|room, dir| {
        if room == 0 {
            return;
        }
        let path = dir.join("ipc_socket");
        let held = example(&path).start_held(room);
        let _ = std::fs::remove_file(&path);
        let ended = held.finish();
        assert_whole(&ended, LINES, &format!("removed after {room} bytes"));
        assert!(!exists(&path), "{ended:#?}");
    });
}

// Another program of the same user at the same path.

#[test]
fn another_program_that_connects_first_and_talks_is_noticed() {
    let dir = TestDir::new();
    let path = dir.join("ipc_socket");
    let (running, client) = server_in_accept(&example(&path));
    // The server stopped, so that the stranger's message is there when it
    // accepts: what the C's server would print as the client's.
    let server = running.pid();
    assert!(kill(server, libc::SIGSTOP));
    wait_until("the server is stopped", || state(server) == Some('T'));
    let mut stranger = UnixStream::connect(&path).unwrap();
    stranger.write_all(b"Hello from a stranger!").unwrap();
    assert!(kill(server, libc::SIGCONT));
    // The server may have ended the client already.
    kill(client, libc::SIGCONT);
    let ended = running.finish();

    assert_eq!(ended.code, Some(1), "{ended:#?}");
    assert_eq!(
        ended.lines,
        [
            "Server waiting for connection...",
            "Server accepted connection"
        ],
        "{ended:#?}"
    );
    assert_eq!(
        ended.stderr,
        format!(
            "accept: the connection is from process {}, not from the client: another program \
             connected to {} first\n",
            std::process::id(),
            path.display()
        ),
        "{ended:#?}"
    );
    ended.assert_group_gone();
    assert!(!exists(&path), "{ended:#?}");
    drop(stranger);
}

#[test]
fn another_program_that_connects_first_and_stays_silent_is_noticed() {
    let dir = TestDir::new();
    let path = dir.join("ipc_socket");
    let (running, client) = server_in_accept(&example(&path));
    let stranger = UnixStream::connect(&path).unwrap();
    // The server may have ended the client already.
    kill(client, libc::SIGCONT);
    let ended = running.finish();

    assert_eq!(ended.code, Some(1), "{ended:#?}");
    assert!(
        ended
            .stderr
            .starts_with("accept: the connection is from process "),
        "{ended:#?}"
    );
    ended.assert_group_gone();
    assert!(!exists(&path), "{ended:#?}");
    drop(stranger);
}

// Signals from another program.

/// SIGUSR1, SIGUSR2 or SIGHUP (whose default action kills a process
/// without its cleanup) to one process: the run completes, or, if the
/// server got it, stops as SIGTERM stops it; if the client got it, the
/// server says how the client ended. Never a socket file left behind.
fn assert_signal_handled(ended: &Ended, whom: Whom, signal: libc::c_int, path: &Path) {
    assert!(!exists(path), "{ended:#?}");
    if ended.code == Some(0) && ended.lines.len() == LINES {
        assert_eq!(ended.stderr, "", "{ended:#?}");
        return;
    }
    match whom {
        Whom::Parent => ended.assert_stopped(
            "uds",
            128 + signal,
            &format!(
                "interrupted by {}; removed socket {}",
                name(signal),
                path.display()
            ),
        ),
        Whom::Child => {
            assert_eq!(ended.code, Some(1), "{ended:#?}");
            assert_eq!(ended.stderr.lines().count(), 1, "{ended:#?}");
            assert!(
                ended
                    .stderr
                    .ends_with(&format!("was killed by {}\n", name(signal))),
                "{ended:#?}"
            );
            ended.assert_group_gone();
        }
    }
}

fn name(signal: libc::c_int) -> &'static str {
    match signal {
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGHUP => "SIGHUP",
        _ => unreachable!(),
    }
}

fn signals_at_each_line(signals: &[(Whom, libc::c_int)]) {
    at_each_line(|room, dir| {
        for &(whom, signal) in signals {
            let path = dir.join("ipc_socket");
            if let Some(ended) = signal_held(&example(&path), room, whom, signal) {
                assert_signal_handled(&ended, whom, signal, &path);
            }
        }
    });
}

#[test]
fn sigusr1_or_sighup_to_either_process_at_any_line() {
    signals_at_each_line(&ONE_SIGNAL_TO_EACH);
}

#[test]
#[ignore = "a longer sweep: every signal to each process at each line"]
fn every_other_signal_to_either_process_at_any_line() {
    signals_at_each_line(&every_other_signal_to_either());
}

// Job control.

#[test]
fn either_process_stopped_and_continued_at_any_line_completes_the_run() {
    at_each_line(|room, dir| {
        for whom in [Whom::Parent, Whom::Child] {
            let path = dir.join("ipc_socket");
            if let Some(ended) = stop_and_continue_held(&example(&path), room, whom) {
                assert_whole(
                    &ended,
                    LINES,
                    &format!("{whom:?} stopped after {room} bytes"),
                );
                assert!(!exists(&path), "{ended:#?}");
            }
        }
    });
}

#[test]
fn the_server_stopped_while_the_client_connects_completes_the_run() {
    // The client, continued, connects into the backlog of a server that is
    // stopped in `accept`, and waits for its reply; the server then goes on.
    let dir = TestDir::new();
    let path = dir.join("ipc_socket");
    let (running, client) = server_in_accept(&example(&path));
    let server = running.pid();
    assert!(kill(server, libc::SIGSTOP));
    wait_until("the server is stopped", || state(server) == Some('T'));
    assert!(kill(client, libc::SIGCONT));
    wait_asleep_in(client, libc::SYS_recvfrom, "recv");
    assert!(kill(server, libc::SIGCONT));
    let ended = running.finish();
    assert_whole(
        &ended,
        LINES,
        "the server stopped while the client connected",
    );
    assert!(!exists(&path), "{ended:#?}");
}

// A stdout that fails.

#[test]
fn stdout_on_dev_full_is_one_line_and_leaves_nothing() {
    let dir = TestDir::new();
    let path = dir.join("ipc_socket");
    assert_dev_full_is_one_line(&example(&path));
    assert!(!exists(&path));
}
