//! Drives the `pipe` binary as a user would and checks what it prints and
//! its exit status. A pipe has no name and nothing to remove: it is gone
//! when both processes have closed it, which the end of both processes
//! (checked by the exit status) guarantees.

use std::process::Command;

use assert_cmd::cargo::{cargo_bin, cargo_bin_cmd};
use predicates::prelude::*;
use tests::check::{self, Level};
use tests::{TIMEOUT, TestDir, assert_same_lines, closed_pipe, lines};

#[test]
fn prints_the_transcript() {
    let dir = TestDir::new();
    let output = cargo_bin_cmd!("pipe")
        .envs(tests::faults::test_pace())
        .current_dir(dir.path())
        .timeout(TIMEOUT)
        .assert()
        .success()
        .stderr("");
    // The parent prints after its write and the child after its read: the
    // scheduler decides which comes first, so only the set is checked.
    // The lines are those of tests/examples/pipe.toml (the checker's data).
    let transcript = check::spec::transcript("pipe");
    let expected: Vec<&str> = transcript.iter().map(String::as_str).collect();
    assert_same_lines(&lines(&output.get_output().stdout), &expected);
}

#[test]
fn prints_each_line_once_when_stdout_is_a_pipe() {
    let output = cargo_bin_cmd!("pipe")
        .envs(tests::faults::test_pace())
        .timeout(TIMEOUT)
        .assert()
        .success();
    let lines = lines(&output.get_output().stdout);
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert_ne!(lines[0], lines[1]);
}

#[test]
fn a_closed_stdout_is_an_error_not_a_panic() {
    let output = Command::new(cargo_bin!("pipe"))
        .stdout(closed_pipe())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);

    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    // The parent's line fails; the child's may fail too before it is stopped.
    assert!(!stderr.is_empty());
    for line in stderr.lines() {
        assert_eq!(line, "write stdout: Broken pipe");
    }
}

#[test]
fn an_argument_is_bad_usage() {
    cargo_bin_cmd!("pipe")
        .envs(tests::faults::test_pace())
        .arg("extra")
        .timeout(TIMEOUT)
        .assert()
        .code(2)
        .stdout("")
        .stderr("pipe: unexpected argument extra\nUsage: pipe\n");
}

#[test]
fn help_prints_the_usage() {
    cargo_bin_cmd!("pipe")
        .envs(tests::faults::test_pace())
        .arg("--help")
        .timeout(TIMEOUT)
        .assert()
        .success()
        .stdout(predicate::str::starts_with("Usage: pipe\n"));
}

/// The checks any program written as this example must pass, from
/// tests/examples/pipe.toml: what a teacher runs with
/// `cargo run -p tests -- pipe PROGRAM`.
#[test]
fn passes_every_check_of_the_listing_level() {
    let report = check::check_example("pipe", cargo_bin!("pipe"), Level::Listing);
    assert!(report.all_passed(), "{}", report.text(false));
}

/// The robust level too: Ctrl-C, SIGTERM, a killed child, a crashed run, a
/// closed stdout, each after every line.
#[test]
fn passes_every_check_of_the_robust_level() {
    let report = check::check_example("pipe", cargo_bin!("pipe"), Level::Robust);
    assert!(report.all_passed(), "{}", report.text(false));
}
