//! pipe when things go wrong: Ctrl-C, a child that dies, too few file
//! descriptors, `| head -1`, and many runs at once. A pipe has no name, so
//! there is no leftover, squatter or second run at the same name to test,
//! and no other user can reach it: only the two processes hold its ends.

use std::process::Stdio;

use assert_cmd::cargo::cargo_bin;
use tests::TestDir;
use tests::faults::{
    Example, assert_head_1_is_one_clean_line, assert_reports_its_killed_child,
    assert_stops_with_nothing_to_remove, assert_twenty_runs_at_once_succeed, limit_descriptors,
};

fn example(dir: &TestDir) -> Example {
    Example::new(cargo_bin!("pipe"), dir.path())
}

#[test]
fn ctrl_c_or_sigterm_at_any_line_stops_both_processes() {
    let dir = TestDir::new();
    assert_stops_with_nothing_to_remove(&example(&dir), "pipe");
}

#[test]
fn a_killed_child_makes_the_parent_say_so() {
    let dir = TestDir::new();
    assert_reports_its_killed_child(&example(&dir));
}

#[test]
fn too_few_file_descriptors_is_one_clear_line() {
    // One descriptor beyond stdio (the loader needs it to start the
    // program): pipe(2) needs two.
    let dir = TestDir::new();
    let mut command = example(&dir).command();
    limit_descriptors(&mut command, 4);
    let output = command.stdin(Stdio::null()).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "pipe: Too many open files\n"
    );
}

#[test]
fn twenty_runs_at_once_all_succeed() {
    let dir = TestDir::new();
    assert_twenty_runs_at_once_succeed(&example(&dir), 2);
}

#[test]
fn head_1_stops_it_with_one_line() {
    let dir = TestDir::new();
    assert_head_1_is_one_clean_line(&example(&dir));
}
