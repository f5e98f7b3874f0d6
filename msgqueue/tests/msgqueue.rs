//! Drives the `msgqueue` binary as a user would, in a fresh directory per
//! test, and checks what it prints, its exit status, and that no queue is
//! left behind.

use assert_cmd::cargo::{cargo_bin, cargo_bin_cmd};
use predicates::prelude::*;
use tests::check::{self, Level};
use tests::sysv::{self, Kind};
use tests::{
    SysvExample, TIMEOUT, TestDir, assert_each_line_once, assert_in_order, assert_same_lines, lines,
};

/// What this example shares with the other System V examples.
fn example() -> SysvExample {
    SysvExample {
        bin: cargo_bin!("msgqueue"),
        kind: Kind::Msg,
        proj: b'b',
        created: "Message queue created: ",
    }
}

#[test]
fn prints_the_transcript_and_removes_the_queue() {
    let dir = TestDir::new();
    let output = cargo_bin_cmd!("msgqueue")
        .envs(tests::faults::test_pace())
        .current_dir(dir.path())
        .timeout(TIMEOUT)
        .assert()
        .success()
        .stderr("");
    let lines = lines(&output.get_output().stdout);
    let id = example().id(&lines);
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
        .envs(tests::faults::test_pace())
        .current_dir(dir.path())
        .timeout(TIMEOUT)
        .assert()
        .success();
    let lines = lines(&output.get_output().stdout);
    assert_each_line_once(&lines);
    assert_eq!(lines.len(), 6);
}

#[test]
fn creates_the_queue_for_its_owner_only() {
    example().creates_its_object_for_its_owner_only();
}

#[test]
fn the_argument_chooses_the_ftok_path() {
    example().takes_the_ftok_path_from_its_argument();
}

#[test]
fn a_missing_ftok_path_is_an_error_and_creates_nothing() {
    example().fails_on_a_missing_ftok_path();
}

#[test]
fn a_closed_stdout_is_an_error_and_the_queue_is_removed() {
    example().removes_its_object_when_stdout_is_closed();
}

#[test]
fn bad_usage_prints_the_usage_line_and_exits_2() {
    for args in [&["a", "b"][..], &["--verbose"]] {
        cargo_bin_cmd!("msgqueue")
            .envs(tests::faults::test_pace())
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
        .envs(tests::faults::test_pace())
        .arg("--help")
        .timeout(TIMEOUT)
        .assert()
        .success()
        .stdout(predicate::str::starts_with("Usage: msgqueue [FTOK_PATH]\n"));
}

/// The checks any program written as this example must pass, from
/// tests/examples/msgqueue.toml: what a teacher runs with
/// `cargo run -p tests -- msgqueue PROGRAM`.
#[test]
fn passes_every_check_of_the_listing_level() {
    let report = check::check_example("msgqueue", cargo_bin!("msgqueue"), Level::Listing);
    assert!(report.all_passed(), "{}", report.text(false));
}

/// The robust level too: Ctrl-C, SIGTERM, a killed child, a crashed run, a
/// closed stdout, each after every line.
#[test]
fn passes_every_check_of_the_robust_level() {
    let report = check::check_example("msgqueue", cargo_bin!("msgqueue"), Level::Robust);
    assert!(report.all_passed(), "{}", report.text(false));
}
