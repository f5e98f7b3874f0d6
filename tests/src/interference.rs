//! Interference from outside a run (issue 14), for any example with one
//! forked child: a signal from another program to one process of the run,
//! job control (a process stopped, then continued, while the other waits
//! on it), and a stdout that fails (`/dev/full`). Each driver holds the run
//! after each of its lines in turn (see [`Example::start_held`]), acts
//! there, and hands the end of the run to the test to check.

use std::fs::OpenOptions;
use std::process::Stdio;
use std::thread;

use crate::faults::{Ended, Example, Held, children, kill, state, syscall};
use crate::wait_until;

/// Which process of a run a test acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Whom {
    /// The example itself, the parent.
    Parent,
    /// Its forked child, once it has one and while it runs.
    Child,
}

/// The signals the default run sends at each line: SIGUSR1 to the parent,
/// SIGHUP to the child (whose default actions would end either silently).
pub const ONE_SIGNAL_TO_EACH: [(Whom, libc::c_int); 2] =
    [(Whom::Parent, libc::SIGUSR1), (Whom::Child, libc::SIGHUP)];

/// The longer sweep: SIGUSR1, SIGUSR2 and SIGHUP, each to either process.
pub fn every_other_signal_to_either() -> Vec<(Whom, libc::c_int)> {
    let mut all = Vec::new();
    for whom in [Whom::Parent, Whom::Child] {
        for signal in [libc::SIGUSR1, libc::SIGUSR2, libc::SIGHUP] {
            all.push((whom, signal));
        }
    }
    all
}

/// The pid of `whom` in the held run, if that process is there and not
/// yet ended (a zombie is ended).
pub fn target(held: &Held, whom: Whom) -> Option<i32> {
    match whom {
        Whom::Parent => Some(held.pid()),
        Whom::Child => children(held.pid())
            .into_iter()
            .find(|&child| state(child).is_some_and(|s| s != 'Z')),
    }
}

/// Runs `example` held after `room` bytes of its output (see
/// [`Example::start_held`]), sends `signal` to `whom` alone there, as
/// `kill PID` from another terminal does, lets the run go on, and returns
/// how it ended; `None` if `whom` was not there (the child is not there
/// before the fork nor after it ends).
pub fn signal_held(
    example: &Example,
    room: usize,
    whom: Whom,
    signal: libc::c_int,
) -> Option<Ended> {
    let held = example.start_held(room);
    let Some(pid) = target(&held, whom) else {
        held.finish();
        return None;
    };
    kill(pid, signal);
    Some(held.finish())
}

/// Runs `example` held after `room` bytes of its output, stops `whom`
/// there with SIGSTOP (Ctrl-Z, or `kill -STOP`), lets the rest of the run
/// go on until every other process of it waits (asleep in a call other
/// than its held `write`) or has ended, then continues `whom` with SIGCONT
/// (`fg`), and returns how the run ended; `None` if `whom` was not there.
pub fn stop_and_continue_held(example: &Example, room: usize, whom: Whom) -> Option<Ended> {
    let held = example.start_held(room);
    let Some(pid) = target(&held, whom) else {
        held.finish();
        return None;
    };
    let parent = held.pid();
    if !kill(pid, libc::SIGSTOP) {
        // It ended just now, by itself: nothing to stop.
        return Some(held.finish());
    }
    wait_until(&format!("{whom:?} {pid} is stopped"), || {
        state(pid).is_none_or(|s| s == 'T' || s == 'Z')
    });

    // The rest of the run goes on, and comes to wait for the stopped one.
    let finishing = thread::spawn(move || held.finish());
    let mut seen = Vec::new();
    wait_until(
        &format!("the rest of the run waits for the stopped {whom:?}"),
        || {
            let mut others = children(parent);
            others.push(parent);
            seen = others
                .iter()
                .filter(|&&other| other != pid)
                .map(|&other| (other, state(other), syscall(other)))
                .collect();
            finishing.is_finished()
                || seen.iter().all(|&(_, state, call)| match state {
                    None | Some('Z' | 'T') => true,
                    Some('S') => call != Some(libc::SYS_write),
                    _ => false,
                })
        },
    );
    kill(pid, libc::SIGCONT);
    Some(finishing.join().unwrap())
}

/// Asserts that `ended` is a whole, untouched run of `total` lines: exit 0,
/// nothing on stderr, no process of the run left. `what` says what was
/// done to it.
pub fn assert_whole(ended: &Ended, total: usize, what: &str) {
    assert_eq!(
        (ended.code, ended.stderr.as_str(), ended.lines.len()),
        (Some(0), "", total),
        "{what}: {ended:#?}"
    );
    ended.assert_group_gone();
}

/// Runs `example` with its stdout on `/dev/full`, where every write fails
/// with `ENOSPC`: it ends with exit 1, the one line `write stdout: No space
/// left on device`, and no process of the run left. Returns the end, for
/// the test to check what it left.
pub fn assert_dev_full_is_one_line(example: &Example) -> std::process::Output {
    let full = OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("open /dev/full");
    let output = example
        .command()
        .stdin(Stdio::null())
        .stdout(full)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).as_ref()
        ),
        (Some(1), "write stdout: No space left on device\n"),
        "{output:#?}"
    );
    output
}
