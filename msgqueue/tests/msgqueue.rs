//! Drives the `msgqueue` binary as a user would, in a fresh directory per
//! test, and checks what it prints, its exit status, and that no queue is
//! left behind.

use std::process::Command;

use assert_cmd::cargo::{cargo_bin, cargo_bin_cmd};
use predicates::prelude::*;
use tests::sysv::{self, Kind, Squatter};
use tests::{
    FullPipe, TIMEOUT, TestDir, assert_in_order, assert_same_lines, closed_pipe, lines, wait_until,
};

/// The id in the first line, "Message queue created: <id>".
fn queue_id(lines: &[String]) -> i32 {
    lines[0]
        .strip_prefix("Message queue created: ")
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("first line names the queue: {lines:#?}"))
}

#[test]
fn prints_the_transcript_and_removes_the_queue() {
    let dir = TestDir::new();
    let output = cargo_bin_cmd!("msgqueue")
        .current_dir(dir.path())
        .timeout(TIMEOUT)
        .assert()
        .success()
        .stderr("");
    let lines = lines(&output.get_output().stdout);
    let id = queue_id(&lines);
    let created = format!("Message queue created: {id}");

    assert_same_lines(
        &lines,
        &[
            &created,
            "Parent sent message",
            "Child waiting for message...",
            "Child received: Hello from the parent process!",
            "Parent received: Hello from the child process!",
            "Message queue removed",
        ],
    );
    // The parent's own steps, in order.
    assert_in_order(
        &lines,
        &[
            &created,
            "Parent sent message",
            "Parent received: Hello from the child process!",
            "Message queue removed",
        ],
    );
    // The child answers only what it received, and the parent removes the
    // queue only after the answer.
    assert_in_order(
        &lines,
        &[
            &created,
            "Child waiting for message...",
            "Child received: Hello from the parent process!",
            "Parent received: Hello from the child process!",
        ],
    );
    assert!(
        !sysv::exists(Kind::Msg, id, dir.ftok_key(b'b')),
        "queue {id} is gone"
    );
}

#[test]
fn prints_each_line_once_when_stdout_is_a_pipe() {
    // assert_cmd reads stdout through a pipe: the case where C's stdio
    // buffers a whole block and fork() copies it into the child.
    let dir = TestDir::new();
    let output = cargo_bin_cmd!("msgqueue")
        .current_dir(dir.path())
        .timeout(TIMEOUT)
        .assert()
        .success();
    let lines = lines(&output.get_output().stdout);
    for line in &lines {
        assert_eq!(
            lines.iter().filter(|l| *l == line).count(),
            1,
            "{line:?} printed once in {lines:#?}"
        );
    }
    assert_eq!(lines.len(), 6);
}

#[test]
fn creates_the_queue_for_its_owner_only() {
    let dir = TestDir::new();
    let key = dir.ftok_key(b'b');
    // The program blocks printing its first line, just after msgget.
    let mut stdout = FullPipe::new();
    let mut program = Command::new(cargo_bin!("msgqueue"))
        .current_dir(dir.path())
        .stdout(stdout.stdout())
        .spawn()
        .unwrap();

    wait_until("the queue exists", || sysv::find(Kind::Msg, key).is_some());
    let queue = sysv::find(Kind::Msg, key).unwrap();
    let printed = stdout.finish();

    assert!(program.wait().unwrap().success());
    assert_eq!(queue.mode, 0o600, "mode of {queue:?}");
    assert_eq!(queue.uid, tests::uid());
    assert_eq!(queue_id(&lines(&printed)), queue.id);
    assert!(sysv::find(Kind::Msg, key).is_none(), "queue removed");
}

#[test]
fn the_argument_chooses_the_ftok_path() {
    // Run elsewhere, naming the directory: the queue's key is ftok(dir, 'b').
    let dir = TestDir::new();
    let cwd = TestDir::new();
    let mut stdout = FullPipe::new();
    let mut program = Command::new(cargo_bin!("msgqueue"))
        .current_dir(cwd.path())
        .arg(dir.path())
        .stdout(stdout.stdout())
        .spawn()
        .unwrap();

    wait_until("the queue exists", || {
        sysv::find(Kind::Msg, dir.ftok_key(b'b')).is_some()
    });
    assert!(sysv::find(Kind::Msg, cwd.ftok_key(b'b')).is_none());
    stdout.finish();
    assert!(program.wait().unwrap().success());
}

#[test]
fn refuses_a_queue_that_already_has_its_key() {
    let dir = TestDir::new();
    let key = dir.ftok_key(b'b');
    // Another queue at our key: a leftover, or another run's.
    let other = Squatter::new(Kind::Msg, key, 0o600);

    let assert = cargo_bin_cmd!("msgqueue")
        .current_dir(dir.path())
        .timeout(TIMEOUT)
        .assert();

    assert!(
        sysv::exists(Kind::Msg, other.id, key),
        "the other queue is left alone"
    );
    assert
        .code(1)
        .stdout("")
        .stderr(predicate::str::starts_with("msgget: File exists;"))
        .stderr(predicate::str::contains(format!("ipcrm -Q {key:#010x}")));
}

#[test]
fn a_missing_ftok_path_is_an_error_and_creates_nothing() {
    let dir = TestDir::new();
    let missing = dir.join("no-such-file");
    cargo_bin_cmd!("msgqueue")
        .arg(&missing)
        .timeout(TIMEOUT)
        .assert()
        .code(1)
        .stdout("")
        .stderr(format!(
            "ftok(\"{}\", 'b'): No such file or directory\n",
            missing.display()
        ));
}

#[test]
fn bad_usage_prints_the_usage_line_and_exits_2() {
    for args in [&["a", "b"][..], &["--verbose"]] {
        cargo_bin_cmd!("msgqueue")
            .args(args)
            .timeout(TIMEOUT)
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::ends_with("\nUsage: msgqueue [FTOK_PATH]\n"));
    }
}

#[test]
fn help_prints_the_usage() {
    cargo_bin_cmd!("msgqueue")
        .arg("--help")
        .timeout(TIMEOUT)
        .assert()
        .success()
        .stdout(predicate::str::starts_with("Usage: msgqueue [FTOK_PATH]\n"));
}

#[test]
fn a_closed_stdout_is_an_error_and_the_queue_is_removed() {
    // The reader is gone before the first line: the parent's first print
    // fails after msgget, and the queue must not outlive the error.
    let dir = TestDir::new();
    let output = Command::new(cargo_bin!("msgqueue"))
        .current_dir(dir.path())
        .stdout(closed_pipe())
        .output()
        .unwrap();

    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "write stdout: Broken pipe\n"
    );
    assert!(
        sysv::find(Kind::Msg, dir.ftok_key(b'b')).is_none(),
        "queue removed"
    );
}
