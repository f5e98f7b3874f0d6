//! Drives the `signals` binary as a user would and checks its output, which
//! the protocol fixes line by line: each line is printed after the signal
//! that the line before it caused.

use std::fs::File;
use std::process::Command;

use assert_cmd::cargo::{cargo_bin, cargo_bin_cmd};
use tests::check::{self, Level};
use tests::{TIMEOUT, TestDir, closed_pipe, lines};

/// The transcript, from tests/examples/signals.toml (the checker's data).
fn transcript() -> Vec<String> {
    check::spec::transcript("signals")
}

#[test]
fn prints_the_transcript_in_exactly_this_order() {
    // Three SIGUSR1 sent while blocked arrive as one, every time.
    let output = cargo_bin_cmd!("signals")
        .envs(tests::faults::test_pace())
        .timeout(TIMEOUT)
        .assert()
        .success()
        .stderr("");
    assert_eq!(lines(&output.get_output().stdout), transcript());
}

#[test]
fn prints_each_line_once_when_stdout_is_a_file() {
    let dir = TestDir::new();
    let path = dir.join("out.txt");
    let status = Command::new(cargo_bin!("signals"))
        .stdout(File::create(&path).unwrap())
        .status()
        .unwrap();

    assert!(status.success());
    assert_eq!(lines(&std::fs::read(&path).unwrap()), transcript());
}

#[test]
fn a_closed_stdout_is_an_error_before_anything_is_sent() {
    let output = Command::new(cargo_bin!("signals"))
        .stdout(closed_pipe())
        .output()
        .unwrap();

    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "write stdout: Broken pipe\n"
    );
}

#[test]
fn an_argument_is_bad_usage() {
    cargo_bin_cmd!("signals")
        .envs(tests::faults::test_pace())
        .arg("now")
        .timeout(TIMEOUT)
        .assert()
        .code(2)
        .stdout("")
        .stderr("signals: unexpected argument now\nUsage: signals\n");
}

/// The checks any program written as this example must pass, from
/// tests/examples/signals.toml: what a teacher runs with
/// `cargo run -p tests -- signals PROGRAM`.
#[test]
fn passes_every_check_of_the_listing_level() {
    let report = check::check_example("signals", cargo_bin!("signals"), Level::Listing);
    assert!(report.all_passed(), "{}", report.text(false));
}

/// The robust level too: Ctrl-C, SIGTERM, a killed child, a crashed run, a
/// closed stdout, each after every line.
#[test]
#[ignore = "opt-in, about 20 s: the same sweeps as faults.rs; cargo test -p signals -- --ignored"]
fn passes_every_check_of_the_robust_level() {
    let report = check::check_example("signals", cargo_bin!("signals"), Level::Robust);
    assert!(report.all_passed(), "{}", report.text(false));
}
