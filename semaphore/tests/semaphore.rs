//! Drives the `semaphore` binary as a user would, in a fresh directory per
//! test, and checks what it prints, its exit status, and that no semaphore
//! set is left behind.

use std::process::Command;

use assert_cmd::cargo::{cargo_bin, cargo_bin_cmd};
use tests::check::{self, Level};
use tests::sysv::{self, Kind};
use tests::{FullPipe, SysvExample, TIMEOUT, TestDir, lines, wait_until};

/// What this example shares with the other System V examples.
fn example() -> SysvExample {
    SysvExample {
        bin: cargo_bin!("semaphore"),
        kind: Kind::Sem,
        proj: b'c',
        created: "Semaphore set created: ",
    }
}

/// Checks the critical sections: each process enters three times, and every
/// "entered" line is followed by the same process's "leaving" line. Lines are
/// printed inside the critical section, so this fails if both processes
/// were ever inside at once.
fn assert_mutual_exclusion(sections: &[String]) {
    assert_eq!(sections.len(), 12, "{sections:#?}");
    for pair in sections.chunks(2) {
        let who = pair[0]
            .strip_suffix(": entered critical section")
            .unwrap_or_else(|| {
                panic!(
                    "expected an entered line, got {:?} in {sections:#?}",
                    pair[0]
                )
            });
        assert!(who == "Parent" || who == "Child", "{sections:#?}");
        assert_eq!(
            pair[1],
            format!("{who}: leaving critical section"),
            "{sections:#?}"
        );
    }
    for who in ["Parent", "Child"] {
        let entered = format!("{who}: entered critical section");
        assert_eq!(
            sections.iter().filter(|l| **l == entered).count(),
            3,
            "{sections:#?}"
        );
    }
}

#[test]
fn takes_turns_in_the_critical_section_and_removes_the_set() {
    let dir = TestDir::new();
    let output = cargo_bin_cmd!("semaphore")
        .envs(tests::faults::test_pace())
        .current_dir(dir.path())
        .timeout(TIMEOUT)
        .assert()
        .success()
        .stderr("");
    let lines = lines(&output.get_output().stdout);
    let id = example().id(&lines);

    assert_eq!(lines.len(), 14, "{lines:#?}");
    assert_mutual_exclusion(&lines[1..13]);
    assert_eq!(lines[13], "Semaphore set removed");
    assert!(
        !sysv::exists(Kind::Sem, id, dir.ftok_key(b'c')),
        "set {id} is gone"
    );
}

#[test]
fn creates_one_free_semaphore_for_its_owner_only() {
    example().creates_its_object_for_its_owner_only();
    // While the program waits at its first line, the set holds one
    // semaphore, set to 1: the resource is free.
    let (value, _) = example().while_running(&TestDir::new(), |set| sysv::semaphore_value(set.id));
    assert_eq!(value, 1);
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
fn a_closed_stdout_is_an_error_and_the_set_is_removed() {
    example().removes_its_object_when_stdout_is_closed();
}

#[test]
fn bad_usage_prints_the_usage_line_and_exits_2() {
    cargo_bin_cmd!("semaphore")
        .envs(tests::faults::test_pace())
        .args(["a", "b"])
        .timeout(TIMEOUT)
        .assert()
        .code(2)
        .stdout("")
        .stderr("semaphore: unexpected argument b\nUsage: semaphore [FTOK_PATH]\n");
}

#[test]
fn a_semop_interrupted_by_a_stop_and_continue_is_retried() {
    // Linux makes a semop that sleeps fail with EINTR when its process is
    // stopped and continued (Ctrl-Z, fg), even with no signal handler.
    let dir = TestDir::new();
    // The first line goes through; the first process to print after it
    // blocks, holding the semaphore...
    let mut stdout = FullPipe::with_room(40);
    let mut program = Command::new(cargo_bin!("semaphore"))
        .envs(tests::faults::test_pace())
        .current_dir(dir.path())
        .stdout(stdout.stdout())
        .spawn()
        .unwrap();
    let parent = program.id();

    // ...until the other one sleeps in semop: interrupt that one.
    let semtimedop = format!("{} ", libc::SYS_semtimedop);
    let in_semop = |pid: &str| {
        std::fs::read_to_string(format!("/proc/{pid}/syscall"))
            .is_ok_and(|s| s.starts_with(&semtimedop))
    };
    let mut waiter = String::new();
    wait_until("a process sleeps in semop", || {
        let children = std::fs::read_to_string(format!("/proc/{parent}/task/{parent}/children"))
            .unwrap_or_default();
        let found = std::iter::once(parent.to_string())
            .chain(children.split_whitespace().map(str::to_owned))
            .find(|pid| in_semop(pid));
        found.map(|pid| waiter = pid).is_some()
    });
    let pid = nix::unistd::Pid::from_raw(waiter.parse().unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGSTOP).unwrap();
    wait_until("it is stopped", || {
        std::fs::read_to_string(format!("/proc/{waiter}/stat")).is_ok_and(|s| s.contains(") T "))
    });
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGCONT).unwrap();

    let printed = lines(&stdout.finish());
    assert!(program.wait().unwrap().success(), "{printed:#?}");
    assert_mutual_exclusion(&printed[1..13]);
}

/// The checks any program written as this example must pass, from
/// tests/examples/semaphore.toml: what a teacher runs with
/// `cargo run -p tests -- semaphore PROGRAM`.
#[test]
fn passes_every_check_of_the_listing_level() {
    let report = check::check_example("semaphore", cargo_bin!("semaphore"), Level::Listing);
    assert!(report.all_passed(), "{}", report.text(false));
}

/// The robust level too: Ctrl-C, SIGTERM, a killed child, a crashed run, a
/// closed stdout, each after every line.
#[test]
#[ignore = "opt-in, about 60 s: the same sweeps as faults.rs; cargo test -p semaphore -- --ignored"]
fn passes_every_check_of_the_robust_level() {
    let report = check::check_example("semaphore", cargo_bin!("semaphore"), Level::Robust);
    assert!(report.all_passed(), "{}", report.text(false));
}
