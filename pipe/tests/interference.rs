//! Issue 14: pipe while another program or the user interferes. The run
//! either completes with its whole transcript, or ends with one line on
//! stderr that says what happened and a non-zero exit; it never hangs, and
//! leaves no process behind.
//!
//! - another program of the same user writing into the pipe, which it
//!   reaches through `/proc/PID/fd` (a pipe has no other name);
//! - SIGUSR1 or SIGHUP from another program to either process;
//! - either process stopped and continued (Ctrl-Z, `fg`) at any line;
//! - a stdout that fails (`/dev/full`).

#![allow(clippy::unwrap_used)]

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::thread;

use assert_cmd::cargo::cargo_bin;
use nix::libc;
use tests::faults::{Ended, Example, children, stopping_points};
use tests::interference::{
    ONE_SIGNAL_TO_EACH, Whom, assert_dev_full_is_one_line, assert_whole,
    every_other_signal_to_either, signal_held, stop_and_continue_held,
};
use tests::{TestDir, assert_same_lines};

const TRANSCRIPT: [&str; 2] = [
    "Parent sent: Hello from parent via pipe!",
    "Child received: Hello from parent via pipe!",
];

fn example(dir: &TestDir) -> Example {
    Example::new(cargo_bin!("pipe"), dir.path())
}

/// Runs `each(room)` for each stopping point of a run, all at once.
fn at_each_line(each: impl Fn(usize) + Sync) {
    let points = stopping_points(&example(&TestDir::new()));
    thread::scope(|scope| {
        for &room in &points {
            let each = &each;
            scope.spawn(move || each(room));
        }
    });
}

fn assert_whole_transcript(ended: &Ended, what: &str) {
    assert_whole(ended, TRANSCRIPT.len(), what);
    assert_same_lines(&ended.lines, &TRANSCRIPT);
}

// Another program writing into the pipe.

/// The pipe of the run: the descriptor, above stdio, that the parent holds
/// on a pipe (its write end, until it has written and printed).
fn the_pipe(parent: i32) -> Option<String> {
    let dir = format!("/proc/{parent}/fd");
    fs::read_dir(&dir).ok()?.find_map(|entry| {
        let entry = entry.ok()?;
        let fd: i32 = entry.file_name().to_str()?.parse().ok()?;
        let target = fs::read_link(entry.path()).ok()?;
        (fd > 2 && target.to_str()?.starts_with("pipe:")).then(|| format!("{dir}/{fd}"))
    })
}

#[test]
fn another_program_writing_into_the_pipe_is_noticed_or_changes_nothing() {
    // Another program opens the pipe through /proc as soon as the child
    // exists, and writes its own message. If the child reads it (with the
    // parent's, or alone), the child says so; if the child has read the
    // parent's message already, the run completes as usual.
    let mut noticed = 0;
    for _ in 0..10 {
        let dir = TestDir::new();
        let held = example(&dir).spawn_held(0);
        let parent = held.pid();
        let mut pipe = None;
        tests::wait_until("the run has forked and holds its pipe", || {
            pipe = the_pipe(parent).filter(|_| !children(parent).is_empty());
            pipe.is_some()
        });
        if let Ok(mut meddler) = OpenOptions::new().write(true).open(pipe.unwrap()) {
            let _ = meddler.write_all(b"Hello from another program!");
        }
        let ended = held.finish();
        ended.assert_group_gone();
        if ended.code == Some(0) {
            assert_whole_transcript(&ended, "another program wrote into the pipe");
            continue;
        }
        noticed += 1;
        assert_eq!(ended.code, Some(1), "{ended:#?}");
        assert!(
            TRANSCRIPT[..1] == ended.lines[..] || ended.lines.is_empty(),
            "{ended:#?}"
        );
        assert!(
            ended.stderr.starts_with("read: ")
                && ended.stderr.contains("another program")
                && ended.stderr.lines().count() == 1,
            "{ended:#?}"
        );
    }
    eprintln!("the child noticed the other program's message in {noticed} runs of 10");
}

// Signals from another program.

fn name(signal: libc::c_int) -> &'static str {
    match signal {
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGHUP => "SIGHUP",
        _ => unreachable!(),
    }
}

/// A signal whose default action kills, to one process: the run
/// completes, or the parent stops as SIGTERM stops it, or (the child got
/// it) the parent says how the child ended.
fn assert_signal_handled(ended: &Ended, whom: Whom, signal: libc::c_int) {
    if ended.code == Some(0) && ended.lines.len() == TRANSCRIPT.len() {
        assert_whole_transcript(ended, name(signal));
        return;
    }
    match whom {
        Whom::Parent => ended.assert_stopped(
            "pipe",
            128 + signal,
            &format!("interrupted by {}; nothing to remove", name(signal)),
        ),
        Whom::Child => {
            assert_eq!(ended.code, Some(1), "{ended:#?}");
            assert_eq!(
                ended.stderr,
                format!("child was killed by {}\n", name(signal)),
                "{ended:#?}"
            );
            ended.assert_group_gone();
        }
    }
}

fn signals_at_each_line(signals: &[(Whom, libc::c_int)]) {
    at_each_line(|room| {
        for &(whom, signal) in signals {
            let dir = TestDir::new();
            if let Some(ended) = signal_held(&example(&dir), room, whom, signal) {
                assert_signal_handled(&ended, whom, signal);
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
    at_each_line(|room| {
        for whom in [Whom::Parent, Whom::Child] {
            let dir = TestDir::new();
            if let Some(ended) = stop_and_continue_held(&example(&dir), room, whom) {
                assert_whole_transcript(&ended, &format!("{whom:?} stopped after {room} bytes"));
            }
        }
    });
}

// A stdout that fails.

#[test]
fn stdout_on_dev_full_is_one_line() {
    // Both processes print, and both writes fail: still one line.
    for _ in 0..10 {
        assert_dev_full_is_one_line(&example(&TestDir::new()));
    }
}
