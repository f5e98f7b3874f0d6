//! Drives the `uds` binary as a user would, with a socket path in a fresh
//! directory per test, and checks what it prints, its exit status, and that
//! the socket file is gone afterwards.

use std::fs;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::process::Command;

use assert_cmd::cargo::{cargo_bin, cargo_bin_cmd};
use tests::check::{self, Level};
use tests::{
    FullPipe, TIMEOUT, TestDir, assert_each_line_once, assert_in_order, assert_same_lines,
    closed_pipe, exists, lines, wait_until,
};

#[test]
fn prints_the_transcript_and_removes_the_socket_file() {
    let dir = TestDir::new();
    let path = dir.join("ipc_socket");
    let output = cargo_bin_cmd!("uds")
        .envs(tests::faults::test_pace())
        .arg(&path)
        .timeout(TIMEOUT)
        .assert()
        .success()
        .stderr("");
    let lines = lines(&output.get_output().stdout);

    // The lines of tests/examples/uds.toml (the checker's data).
    let transcript = check::spec::transcript("uds");
    let expected: Vec<&str> = transcript.iter().map(String::as_str).collect();
    assert_same_lines(&lines, &expected);
    // The server's steps, and the reply after the request it answers.
    assert_in_order(
        &lines,
        &[
            "Server waiting for connection...",
            "Server accepted connection",
            "Server received: Hello from the client!",
            "Client received: Hello from the server!",
        ],
    );
    // The client sends only after it says it is connected.
    assert_in_order(
        &lines,
        &[
            "Client connected to server",
            "Server received: Hello from the client!",
        ],
    );
    assert!(!exists(&path), "socket file removed");
}

#[test]
fn prints_each_line_once_when_stdout_is_a_pipe() {
    let dir = TestDir::new();
    let output = cargo_bin_cmd!("uds")
        .envs(tests::faults::test_pace())
        .arg(dir.join("s"))
        .timeout(TIMEOUT)
        .assert()
        .success();
    let lines = lines(&output.get_output().stdout);
    assert_each_line_once(&lines);
    assert_eq!(lines.len(), 5);
}

#[test]
fn the_socket_file_is_for_its_owner_only() {
    let dir = TestDir::new();
    let path = dir.join("ipc_socket");
    // The server blocks printing its first line, just after listen.
    let mut stdout = FullPipe::new();
    let mut program = Command::new(cargo_bin!("uds"))
        .arg(&path)
        .stdout(stdout.stdout())
        .spawn()
        .unwrap();

    wait_until("the socket file exists", || exists(&path));
    let metadata = fs::symlink_metadata(&path).unwrap();
    stdout.finish();

    assert!(program.wait().unwrap().success());
    assert!(metadata.file_type().is_socket());
    assert_eq!(metadata.permissions().mode() & 0o777, 0o600);
    assert!(!exists(&path), "socket file removed");
}

#[test]
fn replaces_a_socket_file_left_by_a_crashed_run() {
    let dir = TestDir::new();
    let path = dir.join("ipc_socket");
    // A socket file with nobody listening, owner-only: what a killed server
    // leaves.
    drop(UnixListener::bind(&path).unwrap());
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();

    cargo_bin_cmd!("uds")
        .envs(tests::faults::test_pace())
        .arg(&path)
        .timeout(TIMEOUT)
        .assert()
        .success()
        .stderr(format!(
            "uds: removed socket {}, left behind by an earlier run that did not finish\n",
            path.display()
        ));
    assert!(!exists(&path), "socket file removed");
}

#[test]
fn refuses_to_remove_a_file_that_is_not_a_socket() {
    let dir = TestDir::new();
    let path = dir.join("notes.txt");
    fs::write(&path, "not a socket").unwrap();

    cargo_bin_cmd!("uds")
        .envs(tests::faults::test_pace())
        .arg(&path)
        .timeout(TIMEOUT)
        .assert()
        .code(1)
        .stdout("")
        .stderr(format!(
            "{} is a regular file, not a socket: left alone; choose another SOCKET_PATH\n",
            path.display()
        ));
    assert_eq!(fs::read_to_string(&path).unwrap(), "not a socket");
}

#[test]
fn a_path_too_long_for_sun_path_is_bad_usage_and_creates_nothing() {
    let dir = TestDir::new();
    let path = dir.join("s".repeat(120));
    let bytes = path.as_os_str().len();

    cargo_bin_cmd!("uds")
        .envs(tests::faults::test_pace())
        .arg(&path)
        .timeout(TIMEOUT)
        .assert()
        .code(2)
        .stdout("")
        .stderr(format!(
            "uds: socket path too long: {bytes} bytes, at most 107 fit in sun_path\nUsage: uds [SOCKET_PATH]\n"
        ));
    assert!(!exists(&path));
}

#[test]
fn a_directory_that_does_not_exist_is_an_error() {
    let dir = TestDir::new();
    let path = dir.join("missing").join("ipc_socket");

    cargo_bin_cmd!("uds")
        .envs(tests::faults::test_pace())
        .arg(&path)
        .timeout(TIMEOUT)
        .assert()
        .code(1)
        .stdout("")
        .stderr(format!(
            "bind(\"{}\"): No such file or directory\n",
            path.display()
        ));
}

#[test]
fn a_closed_stdout_is_an_error_and_the_socket_file_is_removed() {
    let dir = TestDir::new();
    let path = dir.join("ipc_socket");
    let output = Command::new(cargo_bin!("uds"))
        .arg(&path)
        .stdout(closed_pipe())
        .output()
        .unwrap();

    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "write stdout: Broken pipe\n"
    );
    assert!(!exists(&path), "socket file removed");
}

/// The checks any program written as this example must pass, from
/// tests/examples/uds.toml: what a teacher runs with
/// `cargo run -p tests -- uds PROGRAM`.
#[test]
fn passes_every_check_of_the_listing_level() {
    let report = check::check_example("uds", cargo_bin!("uds"), Level::Listing);
    assert!(report.all_passed(), "{}", report.text(false));
}

/// The robust level too: Ctrl-C, SIGTERM, a killed child, a crashed run, a
/// closed stdout, each after every line.
#[test]
#[ignore = "opt-in, about 20 s: the same sweeps as faults.rs; cargo test -p uds -- --ignored"]
fn passes_every_check_of_the_robust_level() {
    let report = check::check_example("uds", cargo_bin!("uds"), Level::Robust);
    assert!(report.all_passed(), "{}", report.text(false));
}
