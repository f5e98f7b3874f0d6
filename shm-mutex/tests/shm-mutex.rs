//! Drives the `shm-mutex` binary as a user would, with a unique shared
//! memory name per test, and checks what it prints, its exit status, and that
//! the object is gone from /dev/shm afterwards.

// Helpers here are test code too: a panic is a failure with a message.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::Command;

use assert_cmd::cargo::{cargo_bin, cargo_bin_cmd};
use tests::check::{self, Level};
use tests::{FullPipe, TIMEOUT, closed_pipe, dev_shm, exists, lines, wait_until};

mod support;
use support::{assert_counts_to_55, assert_stdout_closed_error, shm_name};

#[test]
fn both_processes_count_to_55_and_the_object_is_removed() {
    let name = shm_name();
    let output = cargo_bin_cmd!("shm-mutex")
        .envs(tests::faults::test_pace())
        .arg(&name)
        .timeout(TIMEOUT)
        .assert()
        .success()
        .stderr("");
    let lines = lines(&output.get_output().stdout);

    assert_counts_to_55(&lines);
    assert_eq!(
        lines
            .last()
            .map(String::as_str)
            .unwrap_or_default()
            .rsplit(' ')
            .next(),
        Some("55")
    );
    assert!(!exists(&dev_shm(&name)), "{name} removed");
}

#[test]
fn the_object_is_for_its_owner_only() {
    let name = shm_name();
    // The first process to print blocks inside the mutex, the other on it.
    let mut stdout = FullPipe::new();
    let mut program = Command::new(cargo_bin!("shm-mutex"))
        .envs(tests::faults::test_pace())
        .arg(&name)
        .stdout(stdout.stdout())
        .spawn()
        .unwrap();

    wait_until("the object exists", || exists(&dev_shm(&name)));
    let metadata = fs::metadata(dev_shm(&name)).unwrap();
    let printed = stdout.finish();

    assert!(program.wait().unwrap().success());
    assert_eq!(metadata.permissions().mode() & 0o777, 0o600);
    assert_eq!(metadata.uid(), tests::uid());
    assert_counts_to_55(&lines(&printed));
    assert!(!exists(&dev_shm(&name)), "{name} removed");
}

#[test]
fn refuses_an_object_that_another_program_made_at_its_name() {
    let name = shm_name();
    fs::write(dev_shm(&name), "someone else's").unwrap();

    let assert = cargo_bin_cmd!("shm-mutex")
        .envs(tests::faults::test_pace())
        .arg(&name)
        .timeout(TIMEOUT)
        .assert();
    let content = fs::read_to_string(dev_shm(&name));
    let _ = fs::remove_file(dev_shm(&name));

    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert.code(1).stdout("");
    // Its mode (the umask's) or its size tells it is not a crashed run's.
    assert!(
        stderr.starts_with(&format!("shared memory object {name} (/dev/shm{name}) ")),
        "{stderr}"
    );
    assert!(
        stderr.ends_with("left alone; choose another SHM_NAME\n"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert_eq!(
        content.unwrap(),
        "someone else's",
        "the other object is left alone"
    );
}

#[test]
fn an_invalid_name_is_bad_usage_and_creates_nothing() {
    for name in ["no-slash", "/", "/a/b"] {
        cargo_bin_cmd!("shm-mutex")
        .envs(tests::faults::test_pace())
            .arg(name)
            .timeout(TIMEOUT)
            .assert()
            .code(2)
            .stdout("")
            .stderr(format!(
                "shm-mutex: invalid shared memory name {name}: it must be a slash followed by a file name \
                 of 1 to 255 bytes, such as /my_shared_memory\nUsage: shm-mutex [SHM_NAME]\n"
            ));
    }
}

#[test]
fn a_closed_stdout_is_an_error_and_the_object_is_removed() {
    let name = shm_name();
    let output = Command::new(cargo_bin!("shm-mutex"))
        .envs(tests::faults::test_pace())
        .arg(&name)
        .stdout(closed_pipe())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);

    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    assert_stdout_closed_error(&stderr);
    assert!(!exists(&dev_shm(&name)), "{name} removed");
}

/// The checks any program written as this example must pass, from
/// tests/examples/shm-mutex.toml: what a teacher runs with
/// `cargo run -p tests -- shm-mutex PROGRAM`.
#[test]
fn passes_every_check_of_the_listing_level() {
    let report = check::check_example("shm-mutex", cargo_bin!("shm-mutex"), Level::Listing);
    assert!(report.all_passed(), "{}", report.text(false));
}

/// The robust level too: Ctrl-C, SIGTERM, a killed child, a crashed run, a
/// closed stdout, each after every line.
#[test]
#[ignore = "opt-in, about 80 s: the same sweeps as faults.rs; cargo test -p shm-mutex -- --ignored"]
fn passes_every_check_of_the_robust_level() {
    let report = check::check_example("shm-mutex", cargo_bin!("shm-mutex"), Level::Robust);
    assert!(report.all_passed(), "{}", report.text(false));
}
