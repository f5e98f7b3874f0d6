//! Drives the `shm-sysv` binary as a user would, in a fresh directory per
//! test, and checks what it prints, its exit status, and that no segment is
//! left behind.

use std::process::Command;

use assert_cmd::cargo::{cargo_bin, cargo_bin_cmd};
use tests::sysv::{self, Kind, Squatter};
use tests::{
    FullPipe, TIMEOUT, TestDir, assert_in_order, assert_same_lines, closed_pipe, lines, wait_until,
};

/// The id in the first line, "Shared memory segment created: <id>".
fn segment_id(lines: &[String]) -> i32 {
    lines[0]
        .strip_prefix("Shared memory segment created: ")
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("first line names the segment: {lines:#?}"))
}

#[test]
fn prints_the_transcript_and_removes_the_segment() {
    let dir = TestDir::new();
    let output = cargo_bin_cmd!("shm-sysv")
        .current_dir(dir.path())
        .timeout(TIMEOUT)
        .assert()
        .success()
        .stderr("");
    let lines = lines(&output.get_output().stdout);
    let id = segment_id(&lines);
    let created = format!("Shared memory segment created: {id}");
    // %p: 0x and lowercase hex digits.
    let attached = lines[1].clone();
    let address = attached
        .strip_prefix("Shared memory attached at address: 0x")
        .unwrap_or_default();
    assert!(
        !address.is_empty()
            && address
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
        "{attached:?}"
    );

    assert_same_lines(
        &lines,
        &[
            &created,
            &attached,
            "Parent wrote to shared memory",
            "Child process waiting for data...",
            "Child process reading: Hello from the parent process!",
            "Shared memory removed",
        ],
    );
    // The parent says it wrote before it lets the child read.
    assert_in_order(
        &lines,
        &[
            &created,
            &attached,
            "Parent wrote to shared memory",
            "Child process reading: Hello from the parent process!",
            "Shared memory removed",
        ],
    );
    assert_in_order(
        &lines,
        &[
            &attached,
            "Child process waiting for data...",
            "Child process reading: Hello from the parent process!",
        ],
    );
    assert!(
        !sysv::exists(Kind::Shm, id, dir.ftok_key(b'a')),
        "segment {id} is gone"
    );
}

#[test]
fn prints_each_line_once_when_stdout_is_a_pipe() {
    let dir = TestDir::new();
    let output = cargo_bin_cmd!("shm-sysv")
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
fn creates_the_segment_for_its_owner_only() {
    let dir = TestDir::new();
    let key = dir.ftok_key(b'a');
    // The program blocks printing its first line, just after shmget.
    let mut stdout = FullPipe::new();
    let mut program = Command::new(cargo_bin!("shm-sysv"))
        .current_dir(dir.path())
        .stdout(stdout.stdout())
        .spawn()
        .unwrap();

    wait_until("the segment exists", || {
        sysv::find(Kind::Shm, key).is_some()
    });
    let segment = sysv::find(Kind::Shm, key).unwrap();
    let printed = stdout.finish();

    assert!(program.wait().unwrap().success());
    assert_eq!(segment.mode, 0o600, "mode of {segment:?}");
    assert_eq!(segment.uid, tests::uid());
    assert_eq!(segment_id(&lines(&printed)), segment.id);
    assert!(sysv::find(Kind::Shm, key).is_none(), "segment removed");
}

#[test]
fn the_argument_chooses_the_ftok_path() {
    let dir = TestDir::new();
    let cwd = TestDir::new();
    let mut stdout = FullPipe::new();
    let mut program = Command::new(cargo_bin!("shm-sysv"))
        .current_dir(cwd.path())
        .arg(dir.path())
        .stdout(stdout.stdout())
        .spawn()
        .unwrap();

    wait_until("the segment exists", || {
        sysv::find(Kind::Shm, dir.ftok_key(b'a')).is_some()
    });
    assert!(sysv::find(Kind::Shm, cwd.ftok_key(b'a')).is_none());
    stdout.finish();
    assert!(program.wait().unwrap().success());
}

#[test]
fn refuses_a_segment_that_already_has_its_key() {
    let dir = TestDir::new();
    let key = dir.ftok_key(b'a');
    let other = Squatter::new(Kind::Shm, key, 0o600);

    let assert = cargo_bin_cmd!("shm-sysv")
        .current_dir(dir.path())
        .timeout(TIMEOUT)
        .assert();

    assert!(
        sysv::exists(Kind::Shm, other.id, key),
        "the other segment is left alone"
    );
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert.code(1).stdout("");
    assert!(stderr.starts_with("shmget: File exists;"), "{stderr}");
    assert!(
        stderr.contains(&format!("ipcrm -M {key:#010x}")),
        "{stderr}"
    );
}

#[test]
fn a_missing_ftok_path_is_an_error_and_creates_nothing() {
    let dir = TestDir::new();
    let missing = dir.join("no-such-file");
    cargo_bin_cmd!("shm-sysv")
        .arg(&missing)
        .timeout(TIMEOUT)
        .assert()
        .code(1)
        .stdout("")
        .stderr(format!(
            "ftok(\"{}\", 'a'): No such file or directory\n",
            missing.display()
        ));
}

#[test]
fn a_closed_stdout_is_an_error_and_the_segment_is_removed() {
    let dir = TestDir::new();
    let output = Command::new(cargo_bin!("shm-sysv"))
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
        sysv::find(Kind::Shm, dir.ftok_key(b'a')).is_none(),
        "segment removed"
    );
}

#[test]
fn bad_usage_prints_the_usage_line_and_exits_2() {
    cargo_bin_cmd!("shm-sysv")
        .args(["a", "b"])
        .timeout(TIMEOUT)
        .assert()
        .code(2)
        .stdout("")
        .stderr("shm-sysv: unexpected argument b\nUsage: shm-sysv [FTOK_PATH]\n");
}
