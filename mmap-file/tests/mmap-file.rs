//! Drives the `mmap-file` binary as a user would, in a fresh directory per
//! test, and checks what it prints, its exit status, and the file it leaves:
//! the one thing this example keeps on purpose.

// Helpers here are test code too: a panic is a failure with a message.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use assert_cmd::cargo::{cargo_bin, cargo_bin_cmd};
use tests::check::{self, Level};
use tests::{TIMEOUT, TestDir, assert_each_line_once, closed_pipe, exists, lines};

const PARENT: &str = "Hello from the parent via a memory-mapped file!";
const CHILD: &str = "Hello from the child via the same file!";

/// The transcript of tests/examples/mmap-file.toml (the checker's data),
/// with the file shown as `shown`.
fn transcript(shown: &str) -> Vec<String> {
    check::spec::transcript("mmap-file")
        .iter()
        .map(|line| line.replace("ipc_mmap.dat", shown))
        .collect()
}

/// The file holds 4096 bytes, with each message and its NUL at its offset.
fn assert_file_holds_both_messages(path: &Path) {
    assert_eq!(fs::metadata(path).unwrap().len(), 4096);
    let bytes = fs::read(path).unwrap();
    assert_eq!(&bytes[..PARENT.len() + 1], format!("{PARENT}\0").as_bytes());
    assert_eq!(
        &bytes[2048..2048 + CHILD.len() + 1],
        format!("{CHILD}\0").as_bytes()
    );
}

#[test]
fn prints_the_transcript_and_leaves_the_file() {
    let dir = TestDir::new();
    let output = cargo_bin_cmd!("mmap-file")
        .envs(tests::faults::test_pace())
        .current_dir(dir.path())
        .timeout(TIMEOUT)
        .assert()
        .success()
        .stderr("");

    // Each line follows from the one before: fork after line 2, wait before line 4.
    assert_eq!(
        lines(&output.get_output().stdout),
        transcript("ipc_mmap.dat")
    );
    let path = dir.join("ipc_mmap.dat");
    assert_file_holds_both_messages(&path);
    // A file it creates is its owner's only.
    let metadata = fs::metadata(&path).unwrap();
    assert_eq!(metadata.permissions().mode() & 0o777, 0o600);
    assert_eq!(metadata.uid(), tests::uid());
}

#[test]
fn the_argument_names_the_file_and_an_earlier_runs_file_is_reused() {
    let dir = TestDir::new();
    let path = dir.join("data.bin");
    // What an earlier run leaves: 4096 bytes, mode 0600, this user's.
    fs::write(&path, vec![b'x'; 4096]).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();

    let output = cargo_bin_cmd!("mmap-file")
        .envs(tests::faults::test_pace())
        .arg(&path)
        .timeout(TIMEOUT)
        .assert()
        .success()
        .stderr("");

    assert_eq!(
        lines(&output.get_output().stdout),
        transcript(&path.display().to_string())
    );
    assert_file_holds_both_messages(&path);
    // It was emptied first, as O_TRUNC empties it: no byte of the old file is left.
    assert!(!fs::read(&path).unwrap().contains(&b'x'));
    assert!(!exists(&dir.join("ipc_mmap.dat")));
}

#[test]
fn prints_each_line_once_when_stdout_is_a_pipe() {
    let dir = TestDir::new();
    let output = cargo_bin_cmd!("mmap-file")
        .envs(tests::faults::test_pace())
        .current_dir(dir.path())
        .timeout(TIMEOUT)
        .assert()
        .success();
    let lines = lines(&output.get_output().stdout);
    assert_eq!(lines.len(), 5, "{lines:#?}");
    assert_each_line_once(&lines);
}

#[test]
fn a_directory_that_does_not_exist_is_an_error() {
    let dir = TestDir::new();
    let path = dir.join("missing").join("ipc_mmap.dat");
    cargo_bin_cmd!("mmap-file")
        .envs(tests::faults::test_pace())
        .arg(&path)
        .timeout(TIMEOUT)
        .assert()
        .code(1)
        .stdout("")
        .stderr(format!(
            "open(\"{}\"): No such file or directory\n",
            path.display()
        ));
    assert!(!exists(&path));
}

#[test]
fn a_directory_the_user_cannot_write_is_an_error() {
    let dir = TestDir::new();
    let read_only = dir.join("read-only");
    fs::create_dir(&read_only).unwrap();
    fs::set_permissions(&read_only, fs::Permissions::from_mode(0o555)).unwrap();
    let path = read_only.join("ipc_mmap.dat");
    let Some(mut command) = tests::unprivileged(cargo_bin!("mmap-file")) else {
        eprintln!("skipped: running as root without setpriv, so every directory is writable");
        return;
    };

    let output = command.arg(&path).output().unwrap();

    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!("open(\"{}\"): Permission denied\n", path.display())
    );
    assert!(!exists(&path));
}

#[test]
fn a_closed_stdout_is_an_error_not_a_panic() {
    let dir = TestDir::new();
    let output = Command::new(cargo_bin!("mmap-file"))
        .current_dir(dir.path())
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
fn bad_usage_prints_the_usage_line_and_exits_2() {
    cargo_bin_cmd!("mmap-file")
        .envs(tests::faults::test_pace())
        .args(["a", "b"])
        .timeout(TIMEOUT)
        .assert()
        .code(2)
        .stdout("")
        .stderr("mmap-file: unexpected argument b\nUsage: mmap-file [FILE]\n");
}

/// The checks any program written as this example must pass, from
/// tests/examples/mmap-file.toml: what a teacher runs with
/// `cargo run -p tests -- mmap-file PROGRAM`.
#[test]
fn passes_every_check_of_the_listing_level() {
    let report = check::check_example("mmap-file", cargo_bin!("mmap-file"), Level::Listing);
    assert!(report.all_passed(), "{}", report.text(false));
}

/// The robust level too: Ctrl-C, SIGTERM, a killed child, a crashed run, a
/// closed stdout, each after every line.
#[test]
fn passes_every_check_of_the_robust_level() {
    let report = check::check_example("mmap-file", cargo_bin!("mmap-file"), Level::Robust);
    assert!(report.all_passed(), "{}", report.text(false));
}
