//! Issue 14: mmap-file while another program or the user interferes. The
//! run either completes with its whole transcript, or ends with one line on
//! stderr that says what happened and exit 1, having printed only true
//! lines of the transcript; it never dies of SIGBUS, never hangs, and
//! leaves no process behind.
//!
//! - the file removed (`rm`) at each line;
//! - another program of the same user writing into the file, truncating it
//!   (a mapping of a truncated file gives SIGBUS), or putting another file
//!   at the path, at each line;
//! - SIGUSR1, SIGUSR2 or SIGHUP from another program to either process;
//! - either process stopped and continued (Ctrl-Z, `fg`) at any line;
//! - a stdout that fails (`/dev/full`).

#![allow(clippy::unwrap_used)]

use std::fs::{self, OpenOptions};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::thread;

use assert_cmd::cargo::cargo_bin;
use tests::faults::{Ended, Example, stopping_points};
use tests::interference::{
    ONE_SIGNAL_TO_EACH, Whom, assert_dev_full_is_one_line, assert_whole,
    every_other_signal_to_either, signal_held, stop_and_continue_held,
};
use tests::{TestDir, exists};

const PARENT: &str = "Hello from the parent via a memory-mapped file!";
const CHILD: &str = "Hello from the child via the same file!";
const FILE: &str = "ipc_mmap.dat";
const STRANGER: &[u8] = b"Hello from another program!\0";

fn transcript() -> Vec<String> {
    vec![
        format!("Mapped {FILE} (4096 bytes)"),
        format!("Parent wrote: {PARENT}"),
        format!("Child read: {PARENT}"),
        format!("Parent read reply: {CHILD}"),
        format!("File {FILE} still holds: {PARENT}"),
    ]
}

fn example(dir: &TestDir) -> Example {
    Example::new(cargo_bin!("mmap-file"), dir.path())
}

/// Runs `each(room, dir)` for each stopping point of a run, all at once,
/// each in a fresh directory.
fn at_each_line(each: impl Fn(usize, &TestDir) + Sync) {
    let points = stopping_points(&example(&TestDir::new()));
    assert_eq!(points.len(), transcript().len() + 1);
    thread::scope(|scope| {
        for &room in &points {
            let each = &each;
            scope.spawn(move || each(room, &TestDir::new()));
        }
    });
}

/// The run completed, or stopped with exit 1 and one line on stderr that
/// holds `says`, having printed only lines of the transcript, in order.
fn assert_whole_or_one_line(ended: &Ended, says: &[&str], what: &str) {
    ended.assert_group_gone();
    let whole = transcript();
    if ended.code == Some(0) {
        assert_eq!(ended.lines, whole, "{what}: {ended:#?}");
        assert_eq!(ended.stderr, "", "{what}: {ended:#?}");
        return;
    }
    assert_eq!(ended.code, Some(1), "{what}: {ended:#?}");
    assert_eq!(ended.stderr.lines().count(), 1, "{what}: {ended:#?}");
    assert!(
        says.iter().any(|says| ended.stderr.contains(says)),
        "{what}: the line says {says:?}: {ended:#?}"
    );
    assert!(
        whole.starts_with(&ended.lines),
        "{what}: only true lines, in order: {ended:#?}"
    );
}

/// What another program does to the file.
#[derive(Debug, Clone, Copy)]
enum Meddle {
    /// `rm`.
    Remove,
    /// Opens it and writes its own message at offset 0.
    WriteStart,
    /// Opens it and writes its own message where the child replies.
    WriteReply,
    /// Opens it and truncates it to 0 bytes.
    Truncate,
    /// Removes it and puts a file of its own there, of the same size.
    Replace,
}

fn meddle(path: &Path, how: Meddle) {
    let open = || OpenOptions::new().write(true).open(path).unwrap();
    match how {
        Meddle::Remove => fs::remove_file(path).unwrap(),
        Meddle::WriteStart => open().write_all_at(STRANGER, 0).unwrap(),
        Meddle::WriteReply => open().write_all_at(STRANGER, 2048).unwrap(),
        Meddle::Truncate => open().set_len(0).unwrap(),
        Meddle::Replace => {
            fs::remove_file(path).unwrap();
            let file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .unwrap();
            file.set_len(4096).unwrap();
            file.write_all_at(STRANGER, 0).unwrap();
        }
    }
}

/// What the one line must say for each kind of meddling.
fn says(how: Meddle) -> &'static [&'static str] {
    match how {
        Meddle::Remove => &["No such file or directory"],
        Meddle::WriteStart | Meddle::WriteReply => &["changed by another program"],
        Meddle::Truncate => &["truncated by another program"],
        Meddle::Replace => &["another program"],
    }
}

fn meddle_at_each_line(how: Meddle) {
    at_each_line(|room, dir| {
        let path = dir.join(FILE);
        let held = example(dir).start_held(room);
        if exists(&path) {
            meddle(&path, how);
        }
        let ended = held.finish();
        assert_whole_or_one_line(&ended, says(how), &format!("{how:?} after {room} bytes"));
    });
}

#[test]
fn the_file_removed_at_any_line() {
    meddle_at_each_line(Meddle::Remove);
}

#[test]
fn another_program_writing_the_start_of_the_file_at_any_line() {
    meddle_at_each_line(Meddle::WriteStart);
}

#[test]
fn another_program_writing_where_the_child_replies_at_any_line() {
    meddle_at_each_line(Meddle::WriteReply);
}

#[test]
fn another_program_truncating_the_file_at_any_line_is_never_a_sigbus() {
    meddle_at_each_line(Meddle::Truncate);
}

#[test]
fn another_program_replacing_the_file_at_any_line() {
    meddle_at_each_line(Meddle::Replace);
}

#[test]
fn a_message_changed_between_the_parents_write_and_the_childs_read_is_noticed() {
    // Held after "Mapped": the parent has written its message and is about
    // to print it and fork. Another program writes its own in its place.
    let dir = TestDir::new();
    let path = dir.join(FILE);
    let room = transcript()[0].len() + 1;
    let held = example(&dir).start_held(room);
    meddle(&path, Meddle::WriteStart);
    let ended = held.finish();

    assert_eq!(ended.code, Some(1), "{ended:#?}");
    assert_eq!(ended.lines, transcript()[..2], "{ended:#?}");
    assert_eq!(
        ended.stderr,
        format!(
            "file {FILE} was changed by another program during the run: offset 0 holds \
             \"Hello from another program!\", not \"{PARENT}\"\n"
        ),
        "{ended:#?}"
    );
    ended.assert_group_gone();
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
    if ended.code == Some(0) && ended.lines == transcript() {
        assert_eq!(ended.stderr, "", "{ended:#?}");
        return;
    }
    match whom {
        Whom::Parent => ended.assert_stopped(
            "mmap-file",
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
    at_each_line(|room, dir| {
        for &(whom, signal) in signals {
            if let Some(ended) = signal_held(&example(dir), room, whom, signal) {
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
    at_each_line(|room, dir| {
        for whom in [Whom::Parent, Whom::Child] {
            if let Some(ended) = stop_and_continue_held(&example(dir), room, whom) {
                let what = format!("{whom:?} stopped after {room} bytes");
                assert_whole(&ended, transcript().len(), &what);
                assert_eq!(ended.lines, transcript(), "{what}");
            }
        }
    });
}

// A stdout that fails.

#[test]
fn stdout_on_dev_full_is_one_line() {
    let dir = TestDir::new();
    assert_dev_full_is_one_line(&example(&dir));
}
