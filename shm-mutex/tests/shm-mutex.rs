//! Drives the `shm-mutex` binary as a user would, with a unique shared
//! memory name per test, and checks what it prints, its exit status, and that
//! the object is gone from /dev/shm afterwards.

// Helpers here are test code too: a panic is a failure with a message.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::Command;

use assert_cmd::cargo::{cargo_bin, cargo_bin_cmd};
use tests::{FullPipe, TIMEOUT, closed_pipe, dev_shm, exists, lines, unique_name, wait_until};

/// A shared memory name no other test uses.
fn shm_name() -> String {
    format!("/{}", unique_name("shm-mutex-test"))
}

/// Checks the ten lines: five per process, and each line's value is the one
/// before plus that process's step (10 for the parent, 1 for the child). The
/// lines are printed under the mutex, so this holds in whatever order the
/// processes took turns; it fails if an update was lost or a line repeated.
fn assert_counts_to_55(lines: &[String]) {
    let mut counter = 0;
    let (mut parent, mut child) = (0, 0);
    for line in lines {
        let (who, value) = line
            .split_once(": Incremented counter to ")
            .unwrap_or_else(|| panic!("unexpected line {line:?}"));
        let step = match who {
            "Parent" => {
                parent += 1;
                10
            }
            "Child" => {
                child += 1;
                1
            }
            _ => panic!("unexpected line {line:?}"),
        };
        counter += step;
        assert_eq!(
            value.parse::<i32>().unwrap(),
            counter,
            "{line:?} in {lines:#?}"
        );
    }
    assert_eq!((parent, child), (5, 5), "{lines:#?}");
    assert_eq!(counter, 55);
}

#[test]
fn both_processes_count_to_55_and_the_object_is_removed() {
    let name = shm_name();
    let output = cargo_bin_cmd!("shm-mutex")
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
fn refuses_an_object_that_already_has_its_name() {
    let name = shm_name();
    fs::write(dev_shm(&name), "someone else's").unwrap();

    let assert = cargo_bin_cmd!("shm-mutex")
        .arg(&name)
        .timeout(TIMEOUT)
        .assert();
    let content = fs::read_to_string(dev_shm(&name));
    let _ = fs::remove_file(dev_shm(&name));

    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert.code(1).stdout("");
    assert!(
        stderr.starts_with(&format!("shm_open(\"{name}\"): File exists;")),
        "{stderr}"
    );
    assert!(stderr.contains(&format!("rm /dev/shm{name}")), "{stderr}");
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
        .arg(&name)
        .stdout(closed_pipe())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);

    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    // The first process to print fails; the other may too before it is
    // stopped. Each says so in one whole line.
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(matches!(lines.len(), 1 | 2), "{stderr}");
    for line in lines {
        assert_eq!(line, "write stdout: Broken pipe");
    }
    assert!(!exists(&dev_shm(&name)), "{name} removed");
}
