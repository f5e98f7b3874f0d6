//! Drives the `shm-sysv` binary as a user would, in a fresh directory per
//! test, and checks what it prints, its exit status, and that no segment is
//! left behind.

use assert_cmd::cargo::{cargo_bin, cargo_bin_cmd};
use tests::check::{self, Level};
use tests::sysv::{self, Kind};
use tests::{
    SysvExample, TIMEOUT, TestDir, assert_each_line_once, assert_in_order, assert_same_lines, lines,
};

/// What this example shares with the other System V examples.
fn example() -> SysvExample {
    SysvExample {
        bin: cargo_bin!("shm-sysv"),
        kind: Kind::Shm,
        proj: b'a',
        created: "Shared memory segment created: ",
    }
}

#[test]
fn prints_the_transcript_and_removes_the_segment() {
    let dir = TestDir::new();
    let output = cargo_bin_cmd!("shm-sysv")
        .envs(tests::faults::test_pace())
        .current_dir(dir.path())
        .timeout(TIMEOUT)
        .assert()
        .success()
        .stderr("");
    let lines = lines(&output.get_output().stdout);
    let id = example().id(&lines);
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
fn creates_the_segment_for_its_owner_only() {
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
fn a_closed_stdout_is_an_error_and_the_segment_is_removed() {
    example().removes_its_object_when_stdout_is_closed();
}

#[test]
fn bad_usage_prints_the_usage_line_and_exits_2() {
    cargo_bin_cmd!("shm-sysv")
        .envs(tests::faults::test_pace())
        .args(["a", "b"])
        .timeout(TIMEOUT)
        .assert()
        .code(2)
        .stdout("")
        .stderr("shm-sysv: unexpected argument b\nUsage: shm-sysv [FTOK_PATH]\n");
}

/// The checks any program written as this example must pass, from
/// tests/examples/shm-sysv.toml: what a teacher runs with
/// `cargo run -p tests -- shm-sysv PROGRAM`.
#[test]
fn passes_every_check_of_the_listing_level() {
    let report = check::check_example("shm-sysv", cargo_bin!("shm-sysv"), Level::Listing);
    assert!(report.all_passed(), "{}", report.text(false));
}

/// The robust level too: Ctrl-C, SIGTERM, a killed child, a crashed run, a
/// closed stdout, each after every line.
#[test]
#[ignore = "opt-in, about 30 s: the same sweeps as faults.rs; cargo test -p shm-sysv -- --ignored"]
fn passes_every_check_of_the_robust_level() {
    let report = check::check_example("shm-sysv", cargo_bin!("shm-sysv"), Level::Robust);
    assert!(report.all_passed(), "{}", report.text(false));
}
